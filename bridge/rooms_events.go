package bridge

import (
	"context"

	"github.com/xgate-im/xgate/xmpp"
	"github.com/xgate-im/xgate/xmpp/jid"
)

// Remote events of group chats: messages and their edits, retractions,
// reactions and chat states go to every joined resource of the account's
// user as groupchat stanzas from the sender's occupant JID; membership and
// topic changes update the occupants and the subject live.

// groupChatOf returns the chat of an event that belongs to a group chat.
func groupChatOf(ev Event) (ChatRef, bool) {
	var c ChatRef
	switch ev := ev.(type) {
	case MessageEvent:
		c = ev.Chat
	case EditEvent:
		c = ev.Chat
	case RetractionEvent:
		c = ev.Chat
	case ReactionEvent:
		c = ev.Chat
	case TypingEvent:
		c = ev.Chat
	default:
		return ChatRef{}, false
	}
	return c, c.Kind == Group
}

// fromNetwork handles the events of group chats and reports whether ev
// was one.
func (r *rooms) fromNetwork(ctx context.Context, acc *account, ev Event) (bool, error) {
	switch ev := ev.(type) {
	case GroupEvent:
		r.onGroup(ctx, acc, ev)
		return true, nil
	case MemberEvent:
		r.onMember(ctx, acc, ev)
		return true, nil
	case TopicEvent:
		r.onTopic(ctx, acc, ev.Chat, ev.Topic)
		return true, nil
	case PresenceEvent:
		r.onPresence(ctx, acc, ev.User, ev.Presence)
		return false, nil // the roster shows it to the contact's subscribers too
	}
	chat, ok := groupChatOf(ev)
	if !ok {
		return false, nil
	}
	room, err := r.roomFor(chat, r.cachedName(acc, chat.ID))
	if err != nil {
		return true, err
	}
	// The chat as the room records it, so that both directions use one
	// queue and one ID-mapping scope.
	chat, _, err = r.chatOf(room.Local())
	if err != nil {
		return true, err
	}
	key := chatKey{Account: acc.key, Chat: chat}
	v := r.existingView(acc.user, room.Local())
	if v != nil {
		v.mu.Lock()
		if v.acc != nil {
			v.chat = chat // a parent recorded since the join
		}
		v.mu.Unlock()
	}
	switch ev := ev.(type) {
	case MessageEvent:
		if ev.FromSelf && ev.ID != "" && r.sentFromXMPP(ctx, key, ev.ID) {
			return true, nil // the reflection showed it already
		}
		deliver := func() error {
			return r.toResources(ctx, v, true, func() *xmpp.Message {
				return roomMessageStanza(r.roomChat(ctx, v, key, ev.Sender, ev.FromSelf, ev.SenderName), ev, false)
			})
		}
		if ev.ID == "" {
			return true, deliver()
		}
		return true, r.dedupe.once(ctx, key.seenKey(r.name, ev.ID), ev.Time, deliver)
	case EditEvent:
		self := ev.FromSelf
		ev.FromSelf = false // in a room the user's own nick says it
		return true, r.toResources(ctx, v, true, func() *xmpp.Message {
			return inRoom(editStanza(r.roomChat(ctx, v, key, ev.Sender, self, ""), ev))
		})
	case RetractionEvent:
		return true, r.toResources(ctx, v, true, func() *xmpp.Message {
			return inRoom(retractionStanza(r.roomChat(ctx, v, key, ev.Sender, ev.FromSelf, ""), ev))
		})
	case ReactionEvent:
		self := ev.FromSelf
		ev.FromSelf = false // in a room the user's own nick says it
		return true, r.toResources(ctx, v, true, func() *xmpp.Message {
			return inRoom(reactionStanza(r.roomChat(ctx, v, key, ev.Sender, self, ""), ev))
		})
	case TypingEvent:
		return true, r.toResources(ctx, v, false, func() *xmpp.Message {
			return inRoom(typingStanza(r.roomChat(ctx, v, key, ev.Sender, false, ""), ev))
		})
	}
	return true, nil
}

// toResources sends a stanza build makes (a fresh one per resource) to
// every joined resource of a view, after any join in progress. Durable
// stanzas return once they can no longer be lost. Nothing is sent when
// the user is not in the room: the room's history has it when they join.
func (r *rooms) toResources(ctx context.Context, v *roomView, durable bool, build func() *xmpp.Message) error {
	if v == nil {
		return nil
	}
	v.order.Lock()
	defer v.order.Unlock()
	v.mu.Lock()
	to := v.resources()
	v.mu.Unlock()
	for _, res := range to {
		m := build()
		m.To = res
		if !durable {
			r.out.sendEphemeral(ctx, m)
			continue
		}
		if err := r.out.sendConfirmed(ctx, m); err != nil {
			return err
		}
	}
	return nil
}

// cachedName returns the name a group's room JID is made from, from the
// account's cached group list, or "".
func (r *rooms) cachedName(acc *account, id ChatID) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, g := range r.groups[acc.key].groups {
		if g.ID == id {
			return g.jidName()
		}
	}
	return ""
}

// joinedView returns the user's view of a chat's room if a resource of
// theirs is in it.
func (r *rooms) joinedView(acc *account, chat ChatID) *roomView {
	rm, err := r.mapping().byChatID(string(chat))
	if err != nil {
		return nil
	}
	v := r.existingView(acc.user, rm.Local)
	if v == nil {
		return nil
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if len(v.joined) == 0 {
		return nil
	}
	return v
}

// onMember shows a person joining or leaving the group, or changing nick
// or role, as their occupant presence.
func (r *rooms) onMember(ctx context.Context, acc *account, ev MemberEvent) {
	v := r.joinedView(acc, ev.Chat)
	if v == nil {
		return
	}
	v.order.Lock()
	defer v.order.Unlock()
	v.mu.Lock()
	var send []occupantChange
	if old, had := v.removeMember(ev.Member.User); had {
		if ev.Left || old.Nick != uniqueNickIn(v, ev.Member) {
			send = append(send, occupantChange{old, true})
		}
	}
	if !ev.Left {
		if m, ok := v.addMember(ev.Member); ok {
			send = append(send, occupantChange{m, false})
		}
	}
	room, to := v.room, v.resources()
	v.mu.Unlock()
	for _, c := range send {
		for _, res := range to {
			_ = r.out.send(ctx, occupantPresence(room, res, r.remoteOccupant(room, res, c.m), c.gone))
		}
	}
}

// onPresence shows a person's new presence in every room of the
// account's user where they are an occupant.
func (r *rooms) onPresence(ctx context.Context, acc *account, u UserID, pr Presence) {
	r.reshowOccupant(ctx, acc, u, func(o *occupant) { o.Presence = &pr })
}

// reshowOccupant sends the occupant u again, changed by change (nil: as
// they are), to the user's resources in every room of the account's user
// where u is an occupant.
func (r *rooms) reshowOccupant(ctx context.Context, acc *account, u UserID, change func(*occupant)) {
	r.mu.Lock()
	var vs []*roomView
	for k, v := range r.views {
		if k.user == acc.user {
			vs = append(vs, v)
		}
	}
	r.mu.Unlock()
	for _, v := range vs {
		v.mu.Lock()
		m, ok := v.members[u]
		room, to := v.room, v.resources()
		v.mu.Unlock()
		if !ok {
			continue
		}
		o := r.remoteOccupant(room, acc.user, m)
		if change != nil {
			change(&o)
		}
		for _, res := range to {
			r.out.sendEphemeral(ctx, occupantPresence(room, res, o, false))
		}
	}
}

// occupantChange is a presence to send about an occupant.
type occupantChange struct {
	m    GroupMember
	gone bool
}

// uniqueNickIn returns the nick a member would get in a view now.
func uniqueNickIn(v *roomView, m GroupMember) string {
	return uniqueNick(m.Nick, string(m.User), func(n string) bool {
		_, taken := v.nicks[n]
		return taken || n == v.nick
	})
}

// onTopic shows a group's new topic as the room's subject.
func (r *rooms) onTopic(ctx context.Context, acc *account, chat ChatID, topic string) {
	r.noteTopic(chat, topic)
	if rm, err := r.mapping().byChatID(string(chat)); err == nil && rm.Topic != topic {
		rm.Topic = topic
		if err := r.mapping().put(rm); err != nil {
			acc.log.Error("storing a room's topic", "err", err)
		}
	}
	v := r.joinedView(acc, chat)
	if v == nil {
		return
	}
	v.order.Lock()
	defer v.order.Unlock()
	v.mu.Lock()
	changed := v.subject != topic
	v.subject = topic
	room, to := v.room, v.resources()
	v.mu.Unlock()
	if !changed {
		return
	}
	for _, res := range to {
		_ = r.out.send(ctx, subjectMessage(room, res, r.out.newID(), topic))
	}
}

// onGroup records a group's new name and topic, or, when the account left
// it, takes the user's resources out of its room.
func (r *rooms) onGroup(ctx context.Context, acc *account, ev GroupEvent) {
	r.mu.Lock()
	delete(r.groups, acc.key) // listed again when next needed
	r.mu.Unlock()
	if !ev.Left {
		if rm, err := r.mapping().byChatID(string(ev.Group.ID)); err == nil && rm.Name != ev.Group.Name && ev.Group.Name != "" {
			rm.Name = ev.Group.Name
			if err := r.mapping().put(rm); err != nil {
				acc.log.Error("storing a room's name", "err", err)
			}
		}
		r.onTopic(ctx, acc, ev.Group.ID, ev.Group.Topic)
		return
	}
	v := r.joinedView(acc, ev.Group.ID)
	if v == nil {
		return
	}
	v.order.Lock()
	defer v.order.Unlock()
	v.mu.Lock()
	room, nick, to := v.room, v.nick, v.resources()
	v.joined = map[jid.JID]bool{}
	v.mu.Unlock()
	for _, res := range to {
		self := occupant{Nick: nick, RealJID: res, Role: RoleMember, ID: occupantID(room, acc.user.String())}
		_ = r.out.send(ctx, occupantPresence(room, res, self, true, statusSelf, statusRemoved))
	}
}
