package bridge

import (
	"context"
	"errors"

	"github.com/xgate-im/xgate/xmpp"
	"github.com/xgate-im/xgate/xmpp/disco"
	"github.com/xgate-im/xgate/xmpp/jid"
)

// What users send to rooms and occupants: groupchat messages (to the
// network through the chat's queue, reflected to the sender's
// resources), private messages (to the person's direct chat), and iqs
// (XEP-0410 self-ping, disco).

// handleMessage handles a message to a room or an occupant.
func (r *rooms) handleMessage(ctx context.Context, m *xmpp.Message) {
	if !r.access.Allowed(m.From) {
		r.out.bounce(ctx, m, userError(ErrNotAllowed))
		return
	}
	v := r.existingView(m.From, m.To.Local())
	var nick string
	joined := false
	if v != nil {
		v.mu.Lock()
		joined, nick = v.joined[m.From], v.nick
		v.mu.Unlock()
	}
	if !joined {
		r.out.bounce(ctx, m, xmpp.NewStanzaError(xmpp.CondNotAcceptable, "You are not in this room; join it first."))
		return
	}
	if m.To.Resource() != "" {
		r.privateMessage(ctx, v, m)
		return
	}
	if m.Type != xmpp.MessageGroupchat {
		r.out.bounce(ctx, m, xmpp.NewStanzaError(xmpp.CondBadRequest, "Messages to a room are of type groupchat."))
		return
	}
	if m.ID == "" {
		m.ID = r.out.newID()
	}
	if m.Subject != "" && m.Body == "" {
		r.setSubject(ctx, v, m)
		return
	}
	it, chatState, displayed := parseUserMessage(m, r.info.Capabilities)
	it.Receipt = false // a room's reflection says it was taken
	it.User, it.Contact = m.From.String(), m.To.Bare().String()
	v.mu.Lock()
	key := chatKey{Account: v.acc.key, Chat: v.chat}
	v.mu.Unlock()
	if chatState != "" && it.Kind == "" {
		r.toNet.sendTyping(key, chatState)
	}
	if displayed != "" {
		r.toNet.sendDisplayed(key, displayed)
	}
	if it.Kind != "" {
		if err := r.toNet.enqueue(ctx, key, it); err != nil {
			r.log.Error("queueing a room message", "err", err)
			r.out.bounce(ctx, m, xmpp.NewStanzaError(xmpp.CondInternalServerError, "The gateway could not store your message; it was not sent."))
			return
		}
	}
	r.reflect(ctx, v, m, nick)
}

// reflect sends a user's groupchat message back to each of their
// resources in the room, from their nick, with its id and the room's
// stanza-id (its origin-id if it has one, else its id: the ids the
// gateway maps to the remote message).
func (r *rooms) reflect(ctx context.Context, v *roomView, m *xmpp.Message, nick string) {
	sid := m.ID
	if m.OriginID != "" {
		sid = m.OriginID
	}
	v.mu.Lock()
	to := v.resources()
	v.mu.Unlock()
	for _, res := range to {
		c := *m
		c.From, c.To = v.occupantJID(nick), res
		c.StanzaIDs = []xmpp.StanzaID{{ID: sid, By: v.room.String()}}
		_ = r.out.send(ctx, &c)
	}
}

// setSubject changes the group's topic (TopicSetter) when a user sets the
// room's subject, outside the dispatcher; once the network took it, every
// resource of the user in the room gets the new subject from their nick.
func (r *rooms) setSubject(ctx context.Context, v *roomView, m *xmpp.Message) {
	v.mu.Lock()
	acc, chat, nick := v.acc, v.chat, v.nick
	v.mu.Unlock()
	sess, _, _ := acc.snapshot()
	ts, ok := sess.(TopicSetter)
	if !ok {
		r.out.bounce(ctx, m, xmpp.NewStanzaError(xmpp.CondForbidden, "The subject of this room cannot be changed from here."))
		return
	}
	select {
	case r.slots <- struct{}{}:
	default:
		r.out.bounce(ctx, m, xmpp.NewStanzaError(xmpp.CondResourceConstraint, "The gateway is busy; try again in a moment."))
		return
	}
	r.life.wg.Go(func() {
		defer func() { <-r.slots }()
		ctx, cancel := context.WithTimeout(r.life.ctx, joinTimeout)
		defer cancel()
		if err := ts.SetTopic(ctx, chat.ID, m.Subject); err != nil {
			r.out.bounce(ctx, m, sendError(err))
			return
		}
		r.noteTopic(chat.ID, m.Subject)
		v.order.Lock()
		defer v.order.Unlock()
		v.mu.Lock()
		v.subject = m.Subject
		to := v.resources()
		v.mu.Unlock()
		for _, res := range to {
			s := subjectMessage(v.room, res, m.ID, m.Subject)
			s.From = v.occupantJID(nick)
			_ = r.out.send(ctx, s)
		}
	})
}

// privateMessage passes a message to an occupant on to the person's
// direct chat; the answers come from the person's contact JID.
func (r *rooms) privateMessage(ctx context.Context, v *roomView, m *xmpp.Message) {
	v.mu.Lock()
	uid, ok := v.nicks[m.To.Resource()]
	v.mu.Unlock()
	if !ok {
		r.out.bounce(ctx, m, xmpp.NewStanzaError(xmpp.CondItemNotFound, "There is no such occupant in this room."))
		return
	}
	cj, err := r.contacts.jidFor(uid)
	if err != nil {
		r.out.bounce(ctx, m, xmpp.NewStanzaError(xmpp.CondItemNotFound, "This occupant cannot be reached directly."))
		return
	}
	pm := *m
	pm.To = cj
	if pm.Type == xmpp.MessageGroupchat {
		pm.Type = xmpp.MessageChat
	}
	r.direct(ctx, &pm, uid)
}

// handleIQ answers an iq to a room or an occupant: XEP-0410 self-ping,
// disco#info and disco#items of the room, occupants' vCards.
func (r *rooms) handleIQ(ctx context.Context, iq *xmpp.IQ) {
	p := iq.Payload
	get := iq.Type == xmpp.IQGet
	switch {
	case p.Name.Space == xmpp.NSPing && get && iq.To.Resource() != "":
		r.selfPing(ctx, iq)
	case p.Name.Space == xmpp.NSPing && get && r.access.Allowed(iq.From):
		r.background(ctx, iq, func(ctx context.Context, iq *xmpp.IQ) {
			if _, _, err := r.memberChat(ctx, iq); err == nil {
				r.out.reply(ctx, iq, nil)
			}
		})
	case !r.access.Allowed(iq.From):
		r.out.replyError(ctx, iq, userError(ErrNotAllowed))
	case p.Name.Space == NSVCard && p.Name.Local == "vCard" && iq.To.Resource() != "":
		r.background(ctx, iq, r.occupantVCard)
	case p.Name.Space == NSMAM && p.Name.Local == "query" && iq.Type == xmpp.IQSet && iq.To.Resource() == "":
		r.background(ctx, iq, r.handleMAM)
	case p.Name.Space == disco.NSInfo && get && iq.To.Resource() == "" && p.AttrValue("node") == "":
		r.background(ctx, iq, r.discoInfo)
	case p.Name.Space == disco.NSItems && get && iq.To.Resource() == "":
		r.background(ctx, iq, func(ctx context.Context, iq *xmpp.IQ) {
			if _, _, err := r.memberChat(ctx, iq); err == nil {
				r.out.reply(ctx, iq, (&disco.Items{Node: p.AttrValue("node")}).Element())
			}
		})
	default:
		r.out.replyError(ctx, iq, xmpp.NewStanzaError(xmpp.CondServiceUnavailable, ""))
	}
}

// selfPing answers XEP-0410: a ping to an occupant JID from the resource
// that holds it is answered; from anyone else not-acceptable, which tells
// a client that it is no longer in the room (after a gateway restart) and
// should join again.
func (r *rooms) selfPing(ctx context.Context, iq *xmpp.IQ) {
	ok := false
	if v := r.existingView(iq.From, iq.To.Local()); v != nil {
		v.mu.Lock()
		ok = v.joined[iq.From] && v.nick == iq.To.Resource()
		v.mu.Unlock()
	}
	if !ok {
		r.out.replyError(ctx, iq, xmpp.NewStanzaError(xmpp.CondNotAcceptable, "You are not in this room."))
		return
	}
	r.out.reply(ctx, iq, nil)
}

// discoInfo answers disco#info on a room, to members of its chat only,
// from the account's group list and the user's view of the room.
func (r *rooms) discoInfo(ctx context.Context, iq *xmpp.IQ) {
	acc, g, err := r.memberChat(ctx, iq)
	if err != nil {
		return
	}
	name, subject, private, occupants := g.Name, g.Topic, g.Private, g.Members
	sess, _, _ := acc.snapshot()
	_, archive := sess.(HistoryFetcher)
	if v := r.existingView(iq.From, iq.To.Local()); v != nil {
		v.mu.Lock()
		if v.acc != nil {
			subject, occupants = v.subject, len(v.members)+1
		}
		v.mu.Unlock()
	}
	if name == "" {
		name = iq.To.Local()
	}
	r.out.reply(ctx, iq, roomDisco(name, subject, private, occupants, archive).Element())
}

// memberChat returns the account of the user of an iq that is in the
// room's chat, with what it knows of the group. Otherwise it answers the
// iq with item-not-found (registration-required for a room that exists
// but none of the user's groups) and returns an error: a room tells
// nothing of itself to those outside it.
func (r *rooms) memberChat(ctx context.Context, iq *xmpp.IQ) (*account, GroupInfo, error) {
	chat, _, err := r.chatOf(iq.To.Local())
	if errors.Is(err, ErrNotFound) {
		chat, err = r.discoverRoom(ctx, iq.From, iq.To.Local())
	}
	if err != nil {
		r.out.replyError(ctx, iq, xmpp.NewStanzaError(xmpp.CondItemNotFound, ""))
		return nil, GroupInfo{}, err
	}
	acc, g, err := r.groupAccount(ctx, iq.From, chat.ID)
	if err != nil {
		r.out.replyError(ctx, iq, joinError(err))
		return nil, GroupInfo{}, err
	}
	return acc, g, nil
}

// background runs an iq's handling, which may wait for the network,
// outside the dispatcher, within the join slots.
func (r *rooms) background(ctx context.Context, iq *xmpp.IQ, handle func(context.Context, *xmpp.IQ)) {
	select {
	case r.slots <- struct{}{}:
	default:
		r.out.replyError(ctx, iq, xmpp.NewStanzaError(xmpp.CondResourceConstraint, "The gateway is busy; try again in a moment."))
		return
	}
	r.life.wg.Go(func() {
		defer func() { <-r.slots }()
		bctx, cancel := context.WithTimeout(r.life.ctx, joinTimeout)
		defer cancel()
		handle(bctx, iq)
	})
}

// roomChat is what the conversion of a room event for the user needs:
// from the sender's occupant JID (the user's nick for what they wrote
// elsewhere), ids mapped in the chat's scope, mentions as occupant JIDs.
// The caller sets To.
func (r *rooms) roomChat(ctx context.Context, v *roomView, key chatKey, sender UserID, fromSelf bool, senderName string) chatStanza {
	scope := key.scope(r.name)
	v.mu.Lock()
	nick := v.nickOf(sender, senderName)
	if fromSelf {
		nick = v.nick
	}
	v.mu.Unlock()
	return chatStanza{
		From: v.occupantJID(nick), ID: r.out.newID(),
		XMPPID: func(id MessageID) string {
			x, _ := xmppID(r.db, scope, id)
			return x
		},
		TargetID: func(id MessageID) string {
			x, ok := xmppID(r.db, scope, id)
			if !ok && r.sending.wait(ctx, scope) {
				x, _ = xmppID(r.db, scope, id)
			}
			return x
		},
		JIDOf: func(u UserID) (jid.JID, bool) {
			v.mu.Lock()
			defer v.mu.Unlock()
			if u == v.self && v.nick != "" {
				return v.occupantJID(v.nick), true
			}
			if m, ok := v.members[u]; ok {
				return v.occupantJID(m.Nick), true
			}
			j, err := r.contacts.jidFor(u)
			return j, err == nil
		},
		Domain: v.room.String(),
	}
}
