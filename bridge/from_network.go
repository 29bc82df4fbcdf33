package bridge

import (
	"cmp"
	"context"
	"errors"
	"fmt"

	"github.com/xgate-im/xgate/store"
	"github.com/xgate-im/xgate/xmpp"
	"github.com/xgate-im/xgate/xmpp/jid"
)

// fromNetwork turns the events of the sessions into stanzas for their
// users: it resolves the chat (contact JIDs, the ID-mapping scope), lets
// the plain functions of stanzas.go build the stanza, and hands it to
// toXMPP. Contact, presence and login events go to the roster and
// accounts parts.
type fromNetwork struct {
	name     string // the gateway instance
	info     Info
	domain   jid.JID
	db       *store.DB
	contacts *contactMap
	accounts *accounts
	roster   *roster
	out      *toXMPP
	dedupe   *dedupe
	sending  *sendsInFlight
	sent     *sentLog // delivery.go
	metrics  *Metrics
	// rooms handles the events of group chats; nil when the transport
	// has none.
	rooms *rooms
	// files re-hosts the attachments of new messages (rehost.go); nil
	// when re-hosting is off.
	files *rehoster
}

// eventKind names an event for metrics and logs.
func eventKind(ev Event) string {
	switch ev.(type) {
	case MessageEvent:
		return "message"
	case EditEvent:
		return "edit"
	case RetractionEvent:
		return "retraction"
	case ReactionEvent:
		return "reaction"
	case TypingEvent:
		return "typing"
	case DeliveryEvent:
		return "delivery"
	case PresenceEvent:
		return "presence"
	case ContactEvent:
		return "contact"
	case LoginStateEvent:
		return "login_state"
	case GroupEvent:
		return "group"
	case MemberEvent:
		return "member"
	case TopicEvent:
		return "topic"
	}
	return "unknown"
}

// sink returns the Sink of an account's sessions.
func (f *fromNetwork) sink(acc *account) Sink { return accountSink{f, acc} }

// accountSink delivers a session's events.
type accountSink struct {
	f   *fromNetwork
	acc *account
}

// Emit implements Sink.
func (s accountSink) Emit(ctx context.Context, ev Event) error {
	return s.f.handle(ctx, s.acc, ev)
}

// handle turns a remote event into stanzas for the account's user.
func (f *fromNetwork) handle(ctx context.Context, acc *account, ev Event) error {
	f.metrics.countEvent(eventKind(ev))
	if m, ok := ev.(MessageEvent); ok && len(m.Attachments) > 0 && f.files != nil && !f.directEcho(ctx, acc, m) {
		// Before the event goes on, within Emit: see rehoster.
		sess, _, _ := acc.snapshot()
		f.files.rehost(ctx, sess, &m, acc.log)
		if err := ctx.Err(); err != nil {
			return err // stopping: not delivered with a note, redelivered later
		}
		ev = m
	}
	if f.rooms != nil {
		if handled, err := f.rooms.fromNetwork(ctx, acc, ev); handled {
			return err
		}
	}
	switch ev := ev.(type) {
	case MessageEvent:
		return f.onMessage(ctx, acc, ev)
	case EditEvent:
		return f.chatEvent(ctx, acc, "edit", ev.Chat, ev.Sender, true, func(c chatStanza) *xmpp.Message { return editStanza(c, ev) })
	case RetractionEvent:
		return f.chatEvent(ctx, acc, "retraction", ev.Chat, ev.Sender, true, func(c chatStanza) *xmpp.Message { return retractionStanza(c, ev) })
	case ReactionEvent:
		return f.chatEvent(ctx, acc, "reaction", ev.Chat, ev.Sender, true, func(c chatStanza) *xmpp.Message { return reactionStanza(c, ev) })
	case TypingEvent:
		return f.chatEvent(ctx, acc, "typing", ev.Chat, ev.Sender, false, func(c chatStanza) *xmpp.Message { return typingStanza(c, ev) })
	case DeliveryEvent:
		return f.onDelivery(ctx, acc, ev)
	case PresenceEvent:
		return f.roster.contactPresenceChanged(ctx, acc, ev.User, ev.Presence)
	case ContactEvent:
		f.roster.offerContact(ctx, acc, ev.Contact)
		return nil
	case LoginStateEvent:
		f.onLoginState(ctx, acc, ev)
		return nil
	case GroupEvent, MemberEvent, TopicEvent:
		return f.unmapped(acc, eventKind(ev), fmt.Errorf("bridge: group chats are not bridged yet: %w", ErrUnsupported))
	case UnknownEvent:
		acc.log.Warn("unmapped remote event", "kind", ev.Kind, "detail", ev.Detail)
		return nil
	}
	acc.log.Warn("unknown event type", "type", fmt.Sprintf("%T", ev))
	return nil
}

func (f *fromNetwork) onLoginState(ctx context.Context, acc *account, ev LoginStateEvent) {
	switch ev.State {
	case LoggedOut:
		f.accounts.loggedOut(ctx, acc, ev.Reason)
	case Connecting, LoggedIn:
		acc.mu.Lock()
		changed := acc.state != ev.State
		if acc.state != LoggedOut {
			acc.state, acc.reason = ev.State, ev.Reason
		}
		acc.mu.Unlock()
		if changed {
			f.accounts.changed(ctx, acc.user)
		}
	}
}

// chatEvent resolves the chat of an event and sends what build makes of
// it. The error is non-nil only when a durable stanza could be neither
// sent nor stored.
func (f *fromNetwork) chatEvent(ctx context.Context, acc *account, what string, chat ChatRef, sender UserID, durable bool, build func(chatStanza) *xmpp.Message) error {
	c, _, err := f.chatPeer(ctx, acc, chat, sender)
	if err != nil {
		return f.unmapped(acc, what, err)
	}
	m := build(c)
	if !durable {
		f.out.sendEphemeral(ctx, m)
		return nil
	}
	return f.out.sendConfirmed(ctx, m)
}

// onMessage delivers a new message once per XMPP conversation.
func (f *fromNetwork) onMessage(ctx context.Context, acc *account, ev MessageEvent) error {
	c, key, err := f.chatPeer(ctx, acc, ev.Chat, ev.Sender)
	if err != nil {
		return f.unmapped(acc, "message", err)
	}
	if ev.FromSelf && (ev.Origin != "" || ev.ID != "" && f.sentFromXMPP(ctx, key, ev.ID)) {
		return nil // the copy of a message the user sent from XMPP
	}
	// Only a message the user sent from XMPP has an XMPP id of its own,
	// and that is not this one: no ID-map lookup for it.
	c.XMPPID = func(id MessageID) string { return string(id) }
	deliver := func() error { return f.out.sendConfirmed(ctx, messageStanza(c, ev)) }
	if ev.ID == "" {
		return deliver()
	}
	return f.dedupe.once(ctx, key.seenKey(f.name, ev.ID), ev.Time, deliver)
}

// directEcho reports whether m is the network's copy of a direct message
// the user sent through the gateway, which onMessage drops: its files need
// no copy.
func (f *fromNetwork) directEcho(ctx context.Context, acc *account, m MessageEvent) bool {
	if !m.FromSelf || m.ID == "" || m.Chat.Kind != Direct {
		return false
	}
	peer := cmp.Or(m.Chat.Peer, m.Sender)
	return f.sentFromXMPP(ctx, chatKey{Account: acc.key, Chat: ChatRef{Kind: Direct, ID: m.Chat.ID, Peer: peer}}, m.ID)
}

// sentFromXMPP reports whether a message the account's owner wrote is one
// they sent through the gateway: its remote ID is paired with an XMPP id in
// the chat's scope (once a send in flight has stored its pair). The
// network's copy of such a message, its echo, is not shown again as
// written elsewhere, even after a restart made the transport forget what it
// had sent.
func (f *fromNetwork) sentFromXMPP(ctx context.Context, key chatKey, id MessageID) bool {
	scope := key.scope(f.name)
	if _, ok := xmppID(f.db, scope, id); ok {
		return true
	}
	if !f.sending.wait(ctx, scope) {
		return false
	}
	_, ok := xmppID(f.db, scope, id)
	return ok
}

// chatPeer resolves a direct chat: its stanzas come from the peer's
// contact JID to the account's user, and its message IDs map in the
// chat's scope.
func (f *fromNetwork) chatPeer(ctx context.Context, acc *account, chat ChatRef, sender UserID) (chatStanza, chatKey, error) {
	if chat.Kind != Direct {
		return chatStanza{}, chatKey{}, fmt.Errorf("bridge: group chats are not bridged yet: %w", ErrUnsupported)
	}
	peer := chat.Peer
	if peer == "" {
		peer = sender
	}
	cj, err := f.contacts.jidFor(peer)
	if err != nil {
		return chatStanza{}, chatKey{}, err
	}
	f.accounts.noteRoute(acc, peer)
	key := chatKey{Account: acc.key, Chat: ChatRef{Kind: Direct, ID: chat.ID, Peer: peer}}
	scope := key.scope(f.name)
	return chatStanza{
		From: cj, To: acc.user, ID: f.out.newID(),
		XMPPID: func(id MessageID) string {
			x, _ := xmppID(f.db, scope, id)
			return x
		},
		TargetID: func(id MessageID) string {
			x, ok := xmppID(f.db, scope, id)
			if !ok && f.sending.wait(ctx, scope) {
				x, _ = xmppID(f.db, scope, id)
			}
			return x
		},
		JIDOf: func(u UserID) (jid.JID, bool) {
			j, err := f.contacts.jidFor(u)
			return j, err == nil
		},
		Markable: f.info.Capabilities.ReadMarkers,
		Domain:   f.domain.String(),
	}, key, nil
}

// unmapped handles an event the bridge cannot place (group chats for now):
// it is logged and counted, never silently dropped.
func (f *fromNetwork) unmapped(acc *account, what string, err error) error {
	if errors.Is(err, ErrUnsupported) {
		f.metrics.countEvent("unmapped")
		acc.log.Info("event not bridged", "event", what, "reason", err)
		return nil
	}
	return err
}

// xmppID returns the XMPP id to use for a remote message: the id the user
// gave it when it was sent from XMPP (ok), else the remote ID itself.
func xmppID(db *store.DB, scope string, id MessageID) (x string, ok bool) {
	if x, err := db.XMPPMessageID(scope, string(id)); err == nil {
		return x, true
	}
	return string(id), false
}
