package bridge

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/xgate-im/xgate/xmpp"
	"github.com/xgate-im/xgate/xmpp/jid"
)

// selfPrefix marks, without XEP-0356 privileges, a message the user sent
// from another client of the network, shown in the chat with the contact.
const selfPrefix = "You wrote: "

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
	case ReceiptEvent:
		return "receipt"
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

// handleEvent turns a remote event into stanzas for the account's user.
func (g *Gateway) handleEvent(ctx context.Context, acc *account, ev Event) error {
	g.metrics.countEvent(eventKind(ev))
	switch ev := ev.(type) {
	case MessageEvent:
		return g.onMessage(ctx, acc, ev)
	case EditEvent:
		return g.onEdit(ctx, acc, ev)
	case RetractionEvent:
		return g.onRetraction(ctx, acc, ev)
	case ReactionEvent:
		return g.onReaction(ctx, acc, ev)
	case TypingEvent:
		return g.onTyping(ctx, acc, ev)
	case ReceiptEvent:
		return g.onReceipt(ctx, acc, ev)
	case PresenceEvent:
		g.mu.Lock()
		g.presence[ev.User] = ev.Presence
		g.mu.Unlock()
		cj, err := g.contacts.jidFor(ev.User)
		if err != nil {
			return err
		}
		g.sendEphemeral(ctx, g.contactPresence(cj, acc.user))
		return nil
	case ContactEvent:
		g.offerContact(ctx, acc, ev.Contact)
		return nil
	case LoginStateEvent:
		g.onLoginState(ctx, acc, ev)
		return nil
	case GroupEvent, MemberEvent, TopicEvent:
		return g.unmapped(acc, eventKind(ev), fmt.Errorf("bridge: group chats are not bridged yet: %w", ErrUnsupported))
	case UnknownEvent:
		acc.log.Warn("unmapped remote event", "kind", ev.Kind, "detail", ev.Detail)
		return nil
	}
	acc.log.Warn("unknown event type", "type", fmt.Sprintf("%T", ev))
	return nil
}

func (g *Gateway) onLoginState(ctx context.Context, acc *account, ev LoginStateEvent) {
	switch ev.State {
	case LoggedOut:
		g.loggedOut(ctx, acc, ev.Reason)
	case Connecting, LoggedIn:
		acc.mu.Lock()
		changed := acc.state != ev.State
		if acc.state != LoggedOut {
			acc.state, acc.reason = ev.State, ev.Reason
		}
		acc.mu.Unlock()
		if changed {
			g.announceGateway(ctx, acc.user)
		}
	}
}

// chatPeer returns the contact JID a direct chat event comes from.
func (g *Gateway) chatPeer(acc *account, chat ChatRef, sender UserID) (jid.JID, UserID, error) {
	if chat.Kind != Direct {
		return jid.JID{}, "", fmt.Errorf("bridge: group chats are not bridged yet: %w", ErrUnsupported)
	}
	peer := chat.Peer
	if peer == "" {
		peer = sender
	}
	cj, err := g.contacts.jidFor(peer)
	if err != nil {
		return jid.JID{}, "", err
	}
	g.noteRoute(acc, peer)
	return cj, peer, nil
}

// peerMessage starts a chat message, with a fresh id, from the peer of a
// direct chat to the account's user, and returns the chat's ID-mapping
// scope.
func (g *Gateway) peerMessage(acc *account, chat ChatRef, sender UserID) (*xmpp.Message, string, error) {
	cj, peer, err := g.chatPeer(acc, chat, sender)
	if err != nil {
		return nil, "", err
	}
	m := &xmpp.Message{Header: xmpp.Header{From: cj, To: acc.user, ID: g.comp.NewID(), Type: xmpp.MessageChat}}
	return m, g.scope(acc, peer), nil
}

// ownText marks the text of a message the user wrote on another client of
// the network, and returns how many code points it put before the text
// (mention offsets shift by that much).
func ownText(text string, fromSelf bool) (string, int) {
	if !fromSelf {
		return text, 0
	}
	return selfPrefix + text, utf8.RuneCountInString(selfPrefix)
}

// scope is the message-ID mapping scope of a chat of an account.
func (g *Gateway) scope(acc *account, peer UserID) string {
	return g.cfg.Name + "|" + acc.key.User + "|" + acc.key.Remote + "|" + string(peer)
}

// xmppID returns the XMPP id to use for a remote message: the id the user
// gave it when it was sent from XMPP, else the remote ID itself.
func (g *Gateway) xmppID(scope string, id MessageID) string {
	if x, err := g.db.XMPPMessageID(scope, string(id)); err == nil {
		return x
	}
	return string(id)
}

// remoteID is the reverse of xmppID.
func (g *Gateway) remoteID(scope, xmppID string) MessageID {
	if r, err := g.db.RemoteMessageID(scope, xmppID); err == nil {
		return MessageID(r)
	}
	return MessageID(xmppID)
}

// references turns mentions into XEP-0372 references to contact JIDs,
// shifted by what was put before the text. Mentions out of the body's
// bounds or of unknown people are left out.
func (g *Gateway) references(ms []Mention, shift int, body string) []*xmpp.Element {
	if len(ms) == 0 {
		return nil
	}
	n := utf8.RuneCountInString(body)
	var out []*xmpp.Element
	for _, mn := range ms {
		b, e := mn.Begin+shift, mn.End+shift
		if mn.Begin < 0 || b >= e || e > n || mn.User == "" {
			continue
		}
		cj, err := g.contacts.jidFor(mn.User)
		if err != nil {
			continue
		}
		out = append(out, xmpp.NewElement(NSReference, "reference", "type", "mention",
			"uri", "xmpp:"+cj.String(), "begin", strconv.Itoa(b), "end", strconv.Itoa(e)))
	}
	return out
}

// unmapped handles an event the bridge cannot place (group chats for now):
// it is logged and counted, never silently dropped.
func (g *Gateway) unmapped(acc *account, what string, err error) error {
	if errors.Is(err, ErrUnsupported) {
		g.metrics.countEvent("unmapped")
		acc.log.Info("event not bridged", "event", what, "reason", err)
		return nil
	}
	return err
}

func (g *Gateway) onMessage(ctx context.Context, acc *account, ev MessageEvent) error {
	m, scope, err := g.peerMessage(acc, ev.Chat, ev.Sender)
	if err != nil {
		return g.unmapped(acc, "message", err)
	}
	m.ID = g.xmppID(scope, ev.ID)
	var shift int
	m.Body, shift = ownText(ev.Text, ev.FromSelf)
	m.Extra = append(m.Extra, g.references(ev.Mentions, shift, m.Body)...)
	for i, a := range ev.Attachments {
		if m.Body != "" {
			m.Body += "\n"
		}
		m.Body += a.URL
		if i == 0 {
			m.Extra = append(m.Extra, xmpp.NewElement(NSOOB, "x").Append(xmpp.TextElement("", "url", a.URL), xmpp.TextElement("", "desc", a.Name)))
		}
	}
	if ev.ReplyTo != "" {
		m.Extra = append(m.Extra, xmpp.NewElement(NSReply, "reply", "to", m.From.String(), "id", g.xmppID(scope, ev.ReplyTo)))
	}
	if ev.Thread != "" {
		m.Thread = string(ev.Thread)
	}
	if ev.Historical && !ev.Time.IsZero() {
		m.Delay = &xmpp.Delay{Stamp: ev.Time, From: g.domain.String(), Reason: "Catch-up"}
	}
	if g.info.Capabilities.ReadMarkers {
		m.Extra = append(m.Extra, xmpp.NewElement(NSMarkers, "markable"))
	}
	m.Extra = append(m.Extra, xmpp.NewElement(NSChatState, "active"))
	return g.send(ctx, m)
}

func (g *Gateway) onEdit(ctx context.Context, acc *account, ev EditEvent) error {
	m, scope, err := g.peerMessage(acc, ev.Chat, ev.Sender)
	if err != nil {
		return g.unmapped(acc, "edit", err)
	}
	var shift int
	m.Body, shift = ownText(ev.Text, ev.FromSelf)
	m.Extra = append(m.Extra, xmpp.NewElement(NSCorrect, "replace", "id", g.xmppID(scope, ev.ID)))
	m.Extra = append(m.Extra, g.references(ev.Mentions, shift, m.Body)...)
	return g.send(ctx, m)
}

func (g *Gateway) onRetraction(ctx context.Context, acc *account, ev RetractionEvent) error {
	m, scope, err := g.peerMessage(acc, ev.Chat, ev.Sender)
	if err != nil {
		return g.unmapped(acc, "retraction", err)
	}
	m.Body = "This message was deleted, but your client does not support retractions."
	m.Extra = []*xmpp.Element{
		xmpp.NewElement(NSRetract, "retract", "id", g.xmppID(scope, ev.ID)),
		xmpp.NewElement(NSFallback, "fallback", "for", NSRetract),
		xmpp.NewElement(NSHints, "store"),
	}
	return g.send(ctx, m)
}

func (g *Gateway) onReaction(ctx context.Context, acc *account, ev ReactionEvent) error {
	m, scope, err := g.peerMessage(acc, ev.Chat, ev.Sender)
	if err != nil {
		return g.unmapped(acc, "reaction", err)
	}
	r := xmpp.NewElement(NSReactions, "reactions", "id", g.xmppID(scope, ev.ID))
	for _, e := range ev.Emojis {
		r.Append(xmpp.TextElement("", "reaction", e))
	}
	m.Extra = []*xmpp.Element{r, xmpp.NewElement(NSHints, "store")}
	if ev.FromSelf {
		// Without carbons the user's own reaction cannot be shown as theirs.
		m.Body = selfPrefix + "reacted " + strings.Join(ev.Emojis, " ")
	}
	return g.send(ctx, m)
}

func (g *Gateway) onTyping(ctx context.Context, acc *account, ev TypingEvent) error {
	m, _, err := g.peerMessage(acc, ev.Chat, ev.Sender)
	if err != nil {
		return g.unmapped(acc, "typing", err)
	}
	state := map[TypingState]string{
		TypingActive: "active", TypingComposing: "composing", TypingPaused: "paused",
		TypingInactive: "inactive", TypingGone: "gone",
	}[ev.State]
	m.ID = "" // a chat state is not a message to refer to
	m.Extra = []*xmpp.Element{xmpp.NewElement(NSChatState, state), xmpp.NewElement(NSHints, "no-store")}
	g.sendEphemeral(ctx, m)
	return nil
}

func (g *Gateway) onReceipt(ctx context.Context, acc *account, ev ReceiptEvent) error {
	m, scope, err := g.peerMessage(acc, ev.Chat, "")
	if err != nil {
		return g.unmapped(acc, "receipt", err)
	}
	id := g.xmppID(scope, ev.ID)
	el := xmpp.NewElement(NSReceipts, "received", "id", id)
	if ev.Read {
		el = xmpp.NewElement(NSMarkers, "displayed", "id", id)
	}
	m.Extra = []*xmpp.Element{el}
	return g.send(ctx, m)
}
