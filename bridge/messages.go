package bridge

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"time"

	"github.com/xgate-im/xgate/store"
	"github.com/xgate-im/xgate/xmpp"
)

// item kinds of the per-chat queues.
const (
	kindMessage = "message"
	kindEdit    = "edit"
	kindRetract = "retract"
	kindReact   = "react"
)

// toNetworkItem is one queued action of an XMPP user towards the network.
// It is stored as JSON in the outbox until the network accepted it.
type toNetworkItem struct {
	Kind    string `json:"kind"`
	User    string `json:"user"`    // full JID of the sender, for bounces and receipts
	Account string `json:"account"` // remote account ID
	Contact string `json:"contact"` // contact JID the stanza was sent to
	Peer    UserID `json:"peer"`
	// Chat is the chat, unless it is the direct chat with Peer that the
	// network has no conversation ID for (the only kind schema 1 knew).
	Chat     *ChatRef     `json:"chat,omitempty"`
	ID       string       `json:"id,omitempty"`        // id of the stanza
	OriginID string       `json:"origin_id,omitempty"` // XEP-0359 origin-id
	Target   string       `json:"target,omitempty"`    // XMPP id of the corrected/retracted/reacted message
	Text     string       `json:"text,omitempty"`
	ReplyTo  string       `json:"reply_to,omitempty"` // XMPP id
	Thread   string       `json:"thread,omitempty"`
	Emojis   []string     `json:"emojis,omitempty"`
	Files    []Attachment `json:"files,omitempty"`
	Receipt  bool         `json:"receipt,omitempty"` // XEP-0184 receipt requested
	// PartsSent and FirstID record the progress of a message the network
	// takes in several parts (longer than its MaxMessageLength): a retry
	// goes on after the parts already sent, and the user's id maps to
	// the first part.
	PartsSent int    `json:"parts_sent,omitempty"`
	FirstID   string `json:"first_id,omitempty"`
	// Origin is the OutgoingMessage.Origin of a message, given when it
	// was queued (an item from before it existed uses its place in the
	// queue: see origin).
	Origin string `json:"origin,omitempty"`
}

// chat returns the chat of the item.
func (it toNetworkItem) chat() ChatRef {
	if it.Chat != nil {
		return *it.Chat
	}
	return ChatRef{Kind: Direct, Peer: it.Peer}
}

// handleMessage handles a message addressed to the gateway or a contact.
func (rt *router) handleMessage(ctx context.Context, m *xmpp.Message) {
	if m.Type == xmpp.MessageError {
		if m.Error != nil {
			rt.log.Info("user's server refused a message", "from", m.From, "to", m.To, "condition", m.Error.Condition)
		}
		if rt.rooms != nil && isRoomLocal(m.To.Local()) {
			rt.rooms.refused(ctx, m.From, m.To, m.Error)
		}
		return
	}
	if m.To.Local() == "" {
		select {
		case rt.slowSlots <- struct{}{}:
			rt.life.wg.Go(func() {
				defer func() { <-rt.slowSlots }()
				rt.reg.handleChatCommand(rt.life.ctx, m)
			})
		default:
			rt.out.bounce(ctx, m, xmpp.NewStanzaError(xmpp.CondResourceConstraint, "The gateway is busy; try again in a moment."))
		}
		return
	}
	if rt.rooms != nil && isRoomLocal(m.To.Local()) {
		rt.rooms.handleMessage(ctx, m)
		return
	}
	if m.Type == xmpp.MessageGroupchat {
		rt.out.bounce(ctx, m, xmpp.NewStanzaError(xmpp.CondServiceUnavailable, "Group chats are not available on this gateway yet."))
		return
	}
	if !rt.cfg.Access.Allowed(m.From) {
		rt.out.bounce(ctx, m, userError(ErrNotAllowed))
		return
	}
	uid, err := rt.contacts.userFor(m.To.Local())
	if err != nil {
		rt.out.bounce(ctx, m, xmpp.NewStanzaError(xmpp.CondItemNotFound, "No such contact on this gateway."))
		return
	}
	rt.directMessage(ctx, m, uid)
}

// directMessage handles a message of a user to the remote person uid (to
// their contact JID, or privately to their occupant JID in a room).
func (rt *router) directMessage(ctx context.Context, m *xmpp.Message, uid UserID) {
	acc, err := rt.accounts.accountFor(m.From, uid)
	if err != nil {
		rt.out.bounce(ctx, m, userError(err))
		return
	}
	it, chatState, displayed := parseUserMessage(m, rt.info.Capabilities)
	it.User, it.Contact = m.From.String(), m.To.Bare().String()
	chat := directChat(acc.key, uid)
	if chatState != "" && it.Kind == "" {
		rt.toNet.sendTyping(chat, chatState)
	}
	if displayed != "" {
		rt.toNet.sendDisplayed(chat, displayed)
	}
	if it.Kind == "" {
		return
	}
	if err := rt.toNet.enqueue(ctx, chat, it); err != nil {
		rt.log.Error("queueing message", "err", err)
		rt.out.bounce(ctx, m, xmpp.NewStanzaError(xmpp.CondInternalServerError, "The gateway could not store your message; it was not sent."))
	}
}

// parseUserMessage reads what a user's message to a contact asks of the
// network: the queued action (message, correction, retraction, reaction;
// Kind "" for none), a chat state and a displayed marker. Sender, account
// and peer are the caller's to fill in.
func parseUserMessage(m *xmpp.Message, caps Capabilities) (it toNetworkItem, chatState, displayed string) {
	it = toNetworkItem{ID: m.ID, OriginID: m.OriginID, Text: m.Body}
	for _, x := range m.Extra {
		switch x.Name.Space {
		case NSCorrect:
			if x.Name.Local == "replace" {
				it.Kind, it.Target = kindEdit, x.AttrValue("id")
			}
		case NSRetract:
			if x.Name.Local == "retract" {
				it.Kind, it.Target = kindRetract, x.AttrValue("id")
			}
		case NSReactions:
			if x.Name.Local == "reactions" {
				it.Kind, it.Target = kindReact, x.AttrValue("id")
				it.Emojis = []string{}
				for _, r := range x.Children() {
					if r.Name.Local == "reaction" && r.Text() != "" {
						it.Emojis = append(it.Emojis, r.Text())
					}
				}
			}
		case NSReply:
			if x.Name.Local == "reply" {
				it.ReplyTo = x.AttrValue("id")
			}
		case NSReceipts:
			if x.Name.Local == "request" {
				it.Receipt = true
			}
		case NSChatState:
			chatState = x.Name.Local
		case NSMarkers:
			if x.Name.Local == "displayed" {
				displayed = x.AttrValue("id")
			}
		case NSOOB:
			if u := x.ChildText("", "url"); u != "" {
				it.Files = append(it.Files, Attachment{URL: u, Name: x.ChildText("", "desc")})
			}
		}
	}
	if (it.ReplyTo != "" && caps.Replies) || it.Kind == kindRetract {
		// The quote is only a fallback when the network shows the reply
		// itself; otherwise it is the context the reader needs.
		it.Text = stripFallbacks(m.Body, m.Extra)
	}
	if !caps.Replies {
		it.ReplyTo = ""
	}
	if it.Kind == "" && (m.Body != "" || len(it.Files) > 0) {
		it.Kind = kindMessage
		if len(it.Files) == 1 && it.Text == it.Files[0].URL {
			it.Text = "" // the body is only the link of the attachment
		}
		if caps.Threads {
			it.Thread = m.Thread
		}
	}
	return it, chatState, displayed
}

// stripFallbacks removes the parts of a body that XEP-0428 marks as
// fallback for a feature the gateway understands (quoted replies,
// retraction notices).
func stripFallbacks(body string, extra []*xmpp.Element) string {
	return StripFallbacks(body, extra, NSReply, NSRetract)
}

// StripFallbacks removes from body the parts that XEP-0428 <fallback/>
// elements in extra mark (as code point ranges; a fallback without ranges
// marks the whole body) for one of the features named by fors (their
// namespaces, such as NSReply). Ranges that do not fit the body are
// ignored.
func StripFallbacks(body string, extra []*xmpp.Element, fors ...string) string {
	runes := []rune(body)
	drop := make([]bool, len(runes))
	any := false
	for _, x := range extra {
		if x.Name.Space != NSFallback || x.Name.Local != "fallback" || !slices.Contains(fors, x.AttrValue("for")) {
			continue
		}
		ranges := 0
		for _, b := range x.Children() {
			if b.Name.Local != "body" {
				continue
			}
			ranges++
			start, err1 := strconv.Atoi(b.AttrValue("start"))
			end, err2 := strconv.Atoi(b.AttrValue("end"))
			if err1 != nil || err2 != nil || start < 0 || end > len(runes) || start > end {
				continue
			}
			for i := start; i < end; i++ {
				drop[i] = true
			}
			any = true
		}
		if ranges == 0 {
			return "" // the whole body is fallback
		}
	}
	if !any {
		return body
	}
	out := make([]rune, 0, len(runes))
	for i, r := range runes {
		if !drop[i] {
			out = append(out, r)
		}
	}
	return string(out)
}

// ephemeral runs an action that is worthless late (typing, read markers)
// outside the dispatcher, if the account is logged in and a slot is free;
// otherwise it is dropped and counted.
func (q *toNetwork) ephemeral(k store.AccountKey, f func(ctx context.Context, s Session) error) {
	sess, err := q.session(k)
	if err != nil {
		return
	}
	select {
	case q.ephemeralSlots <- struct{}{}:
	default:
		q.metrics.droppedToNetwork.Add(1)
		return
	}
	q.life.wg.Go(func() {
		defer func() { <-q.ephemeralSlots }()
		ctx, cancel := context.WithTimeout(q.life.ctx, 10*time.Second)
		defer cancel()
		if err := f(ctx, sess); err != nil && !errors.Is(err, ErrUnsupported) {
			q.log.Debug("ephemeral action failed", "user", k.User, "account", k.Remote, "err", err)
		}
	})
}

func (q *toNetwork) sendTyping(chat chatKey, state string) {
	ts, ok := map[string]TypingState{
		"active": TypingActive, "composing": TypingComposing, "paused": TypingPaused,
		"inactive": TypingInactive, "gone": TypingGone,
	}[state]
	if !ok || !q.caps.Typing {
		return
	}
	q.ephemeral(chat.Account, func(ctx context.Context, s Session) error {
		t, ok := s.(Typer)
		if !ok {
			return ErrUnsupported
		}
		return t.Typing(ctx, chat.Chat, ts)
	})
}

func (q *toNetwork) sendDisplayed(chat chatKey, id string) {
	if !q.caps.ReadMarkers {
		return
	}
	remote := q.remoteID(chat.scope(q.name), id)
	q.ephemeral(chat.Account, func(ctx context.Context, s Session) error {
		r, ok := s.(ReadMarker)
		if !ok {
			return ErrUnsupported
		}
		return r.MarkRead(ctx, chat.Chat, remote)
	})
}
