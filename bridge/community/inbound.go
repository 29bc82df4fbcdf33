package community

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/xgate-im/xgate/store"
	"github.com/xgate-im/xgate/xmpp"
)

// inbound queues a stanza from the room; it never blocks (the gateway's
// dispatcher calls it).
func (h *Hub) inbound(s xmpp.Stanza) {
	h.inMu.Lock()
	h.inQ = append(h.inQ, s)
	h.inMu.Unlock()
	select {
	case h.inWake <- struct{}{}:
	default:
	}
}

// readStanzas handles the room's stanzas in order until ctx is done.
func (h *Hub) readStanzas(ctx context.Context) {
	for {
		h.inMu.Lock()
		q := h.inQ
		h.inQ = nil
		h.inMu.Unlock()
		for _, s := range q {
			h.room.handle(ctx, s)
		}
		select {
		case <-ctx.Done():
			return
		case <-h.inWake:
		}
	}
}

// handle takes one stanza from the room to one of our occupants.
func (r *room) handle(ctx context.Context, s xmpp.Stanza) {
	head := s.Head()
	r.mu.Lock()
	o := r.byJID[head.To]
	r.mu.Unlock()
	if o == nil {
		return // an occupant of an earlier run, or not ours
	}
	switch s := s.(type) {
	case *xmpp.Presence:
		r.onPresence(o, s)
	case *xmpp.Message:
		r.onMessage(ctx, o, s)
	case *xmpp.IQ:
		r.onIQ(ctx, o, s)
	}
}

// mucUser returns the muc#user child of a stanza and its status codes.
func mucUser(extra []*xmpp.Element) (*xmpp.Element, map[string]bool) {
	codes := map[string]bool{}
	for _, e := range extra {
		if e.Name.Space == nsMUCUser && e.Name.Local == "x" {
			for _, c := range e.Children() {
				if c.Name.Local == "status" {
					codes[c.AttrValue("code")] = true
				}
			}
			return e, codes
		}
	}
	return nil, codes
}

// onPresence follows our occupants' own presence in the room.
func (r *room) onPresence(o *occupant, p *xmpp.Presence) {
	r.mu.Lock()
	nick, answer, joining := o.nick, o.answer, o.state == stJoining
	r.mu.Unlock()
	x, codes := mucUser(p.Extra)
	self := codes["110"] || p.From.Resource() == nick
	switch {
	case p.Type == xmpp.PresenceError:
		if joining && answer != nil {
			answer <- joinError(p.Error)
		}
	case p.Type == xmpp.PresenceAvailable && self:
		if codes["210"] && p.From.Resource() != "" { // the room changed our nick
			r.mu.Lock()
			if r.byNick[o.nick] == o {
				delete(r.byNick, o.nick)
			}
			o.nick = p.From.Resource()
			r.byNick[o.nick] = o
			r.mu.Unlock()
		}
		if joining && answer != nil {
			select {
			case answer <- nil:
			default:
			}
		}
	case p.Type == xmpp.PresenceUnavailable && self:
		var destroyed bool
		if x != nil {
			destroyed = x.Child("", "destroy") != nil || x.Child(nsMUCUser, "destroy") != nil
		}
		switch {
		case destroyed:
			r.roomGone(fmt.Errorf("community: the room was destroyed: %w", ErrRoomGone))
		case codes["301"] || codes["307"]:
			r.bar(o, codes["301"])
		case codes["303"]:
			// A nick change: the available presence under the new nick follows.
		case o.listener:
			r.lost() // the room is shutting down, or lost us: so are the puppets
		default:
			r.setOut(o)
		}
	}
}

// joinError maps a join's presence error.
func joinError(e *xmpp.StanzaError) error {
	if e == nil {
		return fmt.Errorf("community: the room refused the join: %w", errTimeout)
	}
	switch e.Condition {
	case xmpp.CondConflict:
		return errConflict
	case xmpp.CondForbidden:
		return fmt.Errorf("community: the room bans this person: %w", ErrBarred)
	case xmpp.CondItemNotFound, xmpp.CondRegistrationRequired, xmpp.CondNotAllowed, xmpp.CondNotAuthorized, xmpp.CondGone:
		return fmt.Errorf("community: the room refused the join (%s): %w", e.Condition, ErrRoomGone)
	}
	return fmt.Errorf("community: the room refused the join (%s)", e.Condition)
}

// bar records a puppet the room kicked or banned and reports it.
func (r *room) bar(o *occupant, banned bool) {
	r.mu.Lock()
	o.state = stBarred
	nick := o.nick
	if r.byNick[nick] == o {
		delete(r.byNick, nick)
	}
	r.mu.Unlock()
	what := "kicked"
	if banned {
		what = "banned"
	}
	if o.listener {
		r.roomGone(fmt.Errorf("community: the room %s the listener %q: %w", what, nick, ErrRoomGone))
		return
	}
	r.h.barred.Add(1)
	r.h.notify()
	r.h.log.Error("the room "+what+" a puppet: it is not joined again, and its person's messages are not bridged to the room", "nick", nick, "network", o.network, "jid", o.jid.String())
}

// roomGone records that the room cannot be used any more and reports it.
func (r *room) roomGone(err error) {
	r.mu.Lock()
	already := r.gone != nil
	if !already {
		r.gone = err
	}
	r.mu.Unlock()
	if !already {
		r.h.gone.Add(1)
		r.h.notify()
		r.h.log.Error("the room is gone: posts to it are dropped until the configuration changes", "err", err)
	}
}

// onMessage handles the room's messages: reflections of ours, errors, and,
// on the listener, everything the XMPP occupants say.
func (r *room) onMessage(ctx context.Context, o *occupant, m *xmpp.Message) {
	if m.Type == xmpp.MessageError {
		r.mu.Lock()
		ch := r.waits[m.ID]
		r.mu.Unlock()
		if ch != nil {
			select {
			case ch <- sendError(m.Error):
			default:
			}
		}
		return
	}
	if m.Type != xmpp.MessageGroupchat {
		if m.Body != "" && !o.listener {
			// A private message to a remote person through the room: not
			// bridged, and the sender is told so.
			r.refusePrivate(ctx, o, m)
		}
		return
	}
	nick := m.From.Resource()
	r.mu.Lock()
	ours := r.byNick[nick] != nil || nick == r.listener.nick
	ch := r.waits[m.ID]
	own := nick == o.nick
	if o.listener {
		r.lastIn = time.Now()
	}
	r.mu.Unlock()
	if ch != nil && !o.listener && own {
		if sid := stanzaID(m, r.jid.String()); sid != "" {
			r.mu.Lock()
			r.sids[m.ID] = sid
			if g := r.groups[m.ID]; g != "" {
				r.aliases[sid] = g // a reaction to it may follow at once
			}
			r.mu.Unlock()
		}
		select {
		case ch <- nil:
		default:
		}
		return
	}
	if !o.listener || ours || nick == "" || ch != nil {
		return
	}
	if err := r.fromOccupant(ctx, nick, m); err != nil {
		r.h.log.Error("taking a message from the room", "nick", nick, "id", m.ID, "err", err)
	}
}

// refusePrivate answers a private message to a puppet with an error.
func (r *room) refusePrivate(ctx context.Context, o *occupant, m *xmpp.Message) {
	reply := xmpp.Bounce(m, xmpp.NewStanzaError(xmpp.CondFeatureNotImplemented,
		"Private messages to people bridged from another network are not passed on; write in the room."))
	reply.Head().From = o.jid
	sctx, cancel := context.WithTimeout(ctx, r.h.cfg.AnswerTimeout)
	defer cancel()
	_ = o.comp.Send(sctx, reply)
}

// sendError maps the room's error about a message we sent.
func sendError(e *xmpp.StanzaError) error {
	if e == nil {
		return errNotJoined
	}
	switch e.Condition {
	case xmpp.CondNotAcceptable, xmpp.CondItemNotFound:
		return fmt.Errorf("community: %s: %w", e.Condition, errNotJoined)
	case xmpp.CondForbidden:
		return fmt.Errorf("community: the room forbids this person to speak: %w", ErrBarred)
	}
	return fmt.Errorf("community: the room refused a message (%s)", e.Condition)
}

// fromOccupant turns a message of an XMPP occupant into a post.
func (r *room) fromOccupant(ctx context.Context, nick string, m *xmpp.Message) error {
	h := r.h
	id := m.ID
	if id == "" {
		id = m.OriginID
	}
	if id == "" {
		return nil // nothing to recognize it by, or to correct it by later
	}
	if g, err := h.groupID(xmppSide, id); err != nil || g != "" {
		return err // one of ours, seen again (history after a rejoin)
	}
	var replace, retract, replyTo string
	var reactions *xmpp.Element
	for _, e := range m.Extra {
		switch {
		case e.Name.Space == nsCorrect && e.Name.Local == "replace":
			replace = e.AttrValue("id")
		case e.Name.Space == nsRetract && e.Name.Local == "retract":
			retract = e.AttrValue("id")
		case e.Name.Space == nsReactions && e.Name.Local == "reactions":
			reactions = e
		case e.Name.Space == nsReply && e.Name.Local == "reply":
			replyTo = e.AttrValue("id")
		}
	}
	key := "occ:" + nick + "/" + id
	switch {
	case reactions != nil:
		g, err := h.roomMessage(reactions.AttrValue("id"))
		if err != nil || g == "" {
			return err
		}
		emojis := []string{}
		for _, c := range reactions.Children() {
			if c.Name.Local == "reaction" && c.Text() != "" && !slices.Contains(emojis, c.Text()) {
				emojis = append(emojis, c.Text())
			}
		}
		return h.react(post{Kind: kindReact, From: xmppSide, G: g, Sender: nick, Name: nick, Emojis: emojis})
	case retract != "":
		g, err := h.groupID(xmppSide, "occ:"+nick+"/"+retract)
		if err != nil || g == "" {
			return err
		}
		return h.enqueue(post{Kind: kindRetract, From: xmppSide, G: g, Sender: nick})
	case replace != "":
		if seen, err := h.groupID(xmppSide, key); err != nil || seen != "" {
			return err
		}
		g, err := h.groupID(xmppSide, "occ:"+nick+"/"+replace)
		if err != nil || g == "" {
			return err
		}
		if err := h.linkID(xmppSide, g, key); err != nil {
			return err
		}
		return h.enqueue(post{Kind: kindEdit, From: xmppSide, G: g, Sender: nick, Name: nick, Text: m.Body})
	case m.Body == "" || m.Subject != "":
		return nil
	}
	if seen, err := h.groupID(xmppSide, key); err != nil || seen != "" {
		return err // seen before (history after a rejoin)
	}
	g := "xmpp:" + nick + "/" + id
	// Its key first (memberID finds it), then the IDs by which the
	// occupants name it: stored with the post, before the next stanza.
	sid := stanzaID(m, r.jid.String())
	refs := []store.MessageRef{{Scope: h.scope(xmppSide), XMPPID: g, RemoteID: key}}
	refs = append(refs, h.roomRefs(g, m.ID, sid)...)
	p := post{Kind: kindMessage, From: xmppSide, G: g, Sender: nick, Name: nick, Text: m.Body}
	if replyTo != "" {
		answered, err := h.roomMessage(replyTo)
		if err != nil {
			return err
		}
		if answered != "" { // else the quote is the only context the others get
			p.ReplyTo, p.Text = answered, withoutFallback(m.Body, m.Extra)
		}
	}
	h.quotes.put(g, quote{name: nick, nick: nick, text: p.Text})
	return h.enqueue(p, refs...)
}

// onIQ answers pings to our occupants (other occupants' XEP-0410 checks)
// and refuses everything else.
func (r *room) onIQ(ctx context.Context, o *occupant, iq *xmpp.IQ) {
	if iq.Type != xmpp.IQGet && iq.Type != xmpp.IQSet {
		return
	}
	var reply *xmpp.IQ
	if iq.Type == xmpp.IQGet && iq.Payload != nil && iq.Payload.Name.Space == xmpp.NSPing {
		reply = iq.Result(nil)
	} else {
		reply = iq.ErrorReply(xmpp.NewStanzaError(xmpp.CondFeatureNotImplemented, ""))
	}
	sctx, cancel := context.WithTimeout(ctx, r.h.cfg.AnswerTimeout)
	defer cancel()
	_ = o.comp.Send(sctx, reply)
}

// listen keeps the listener in the room: it joins, then pings itself every
// SelfPing and joins again, with every puppet, when the room lost it.
func (r *room) listen(ctx context.Context) {
	t := time.NewTicker(r.h.cfg.SelfPing)
	defer t.Stop()
	reported, joinedOnce := false, false
	if b, err := r.h.db.KVGet(r.h.queue, sinceKey); err == nil {
		var at time.Time
		if at.UnmarshalText(b) == nil {
			r.mu.Lock()
			r.lastIn = at
			r.mu.Unlock()
		}
	}
	for ctx.Err() == nil {
		r.mu.Lock()
		in, gone := r.listener.state == stIn, r.gone
		r.mu.Unlock()
		if gone != nil {
			return
		}
		if in {
			if err := r.selfPing(ctx); err != nil {
				if ctx.Err() != nil {
					return
				}
				r.h.log.Warn("the room lost the bridge's occupants; joining again", "err", err)
				r.lost()
				r.h.kick()
				continue
			}
		} else if err := r.join(ctx, r.listener); err != nil {
			if ctx.Err() != nil {
				return
			}
			if !reported {
				r.h.log.Warn("joining the room; will retry", "err", err)
				reported = true
			}
		} else {
			if joinedOnce {
				r.h.rejoins.Add(1)
				r.h.notify()
				r.h.log.Info("joined the room again")
			}
			reported, joinedOnce = false, true
			r.markIn()
			r.h.kick()
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// selfPing asks the room whether the listener is still an occupant
// (XEP-0410). A nil error means it is, or that the room cannot tell.
func (r *room) selfPing(ctx context.Context) error {
	r.mu.Lock()
	nick := r.listener.nick
	r.mu.Unlock()
	to, err := r.jid.WithResource(nick)
	if err != nil {
		return err
	}
	pctx, cancel := context.WithTimeout(ctx, r.h.cfg.AnswerTimeout)
	defer cancel()
	res, err := r.listener.comp.Request(pctx, &xmpp.IQ{
		Header:  xmpp.Header{From: r.listener.jid, To: to, Type: xmpp.IQGet},
		Payload: xmpp.NewElement(xmpp.NSPing, "ping"),
	})
	if err != nil {
		return err
	}
	if res.Type == xmpp.IQResult || res.Error == nil {
		r.markIn()
		return nil
	}
	switch res.Error.Condition {
	case xmpp.CondServiceUnavailable, xmpp.CondFeatureNotImplemented:
		return nil // joined; the ping went to a client that does not answer pings
	}
	return fmt.Errorf("community: self-ping: %s: %w", res.Error.Condition, errNotJoined)
}

// sweep makes puppets idle for IdleTimeout leave the room.
func (r *room) sweep(ctx context.Context) {
	every := max(r.h.cfg.IdleTimeout/4, 10*time.Millisecond)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		var leave []*occupant
		var nicks []string
		r.mu.Lock()
		for _, o := range r.puppets {
			if o.state == stIn && o.busy == 0 && time.Since(o.lastUsed) >= r.h.cfg.IdleTimeout {
				o.state = stOut
				if r.byNick[o.nick] == o {
					delete(r.byNick, o.nick)
				}
				leave = append(leave, o)
				nicks = append(nicks, o.nick)
			}
		}
		r.mu.Unlock()
		for i, o := range leave {
			to, err := r.jid.WithResource(nicks[i])
			if err != nil {
				continue
			}
			sctx, cancel := context.WithTimeout(ctx, r.h.cfg.AnswerTimeout)
			err = o.comp.Send(sctx, &xmpp.Presence{Header: xmpp.Header{From: o.jid, To: to, Type: xmpp.PresenceUnavailable}})
			cancel()
			if err != nil && !errors.Is(err, context.Canceled) {
				r.h.log.Debug("leaving the room", "nick", nicks[i], "err", err)
			}
		}
	}
}

// sinceKey keeps when the listener was last known in the room, so that
// after a restart of xgate it asks the room for what it missed.
const sinceKey = "listener-since"

// markIn records that the listener is in the room now.
func (r *room) markIn() {
	now := time.Now()
	r.mu.Lock()
	r.lastIn = now
	r.mu.Unlock()
	b, _ := now.UTC().MarshalText()
	if err := r.h.db.KVPut(r.h.queue, sinceKey, b); err != nil {
		r.h.log.Warn("recording when the listener was in the room", "err", err)
	}
}
