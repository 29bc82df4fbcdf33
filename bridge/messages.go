package bridge

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/xgate-im/xgate/xmpp"
)

// item kinds of the per-chat queues.
const (
	kindMessage = "message"
	kindEdit    = "edit"
	kindRetract = "retract"
	kindReact   = "react"
)

// remoteItem is one queued action of an XMPP user towards the network. It is
// stored as JSON in the outbox until the network accepted it.
type remoteItem struct {
	Kind     string       `json:"kind"`
	User     string       `json:"user"`    // full JID of the sender, for bounces and receipts
	Account  string       `json:"account"` // remote account ID
	Contact  string       `json:"contact"` // contact JID the stanza was sent to
	Peer     UserID       `json:"peer"`
	ID       string       `json:"id,omitempty"`        // id of the stanza
	OriginID string       `json:"origin_id,omitempty"` // XEP-0359 origin-id
	Target   string       `json:"target,omitempty"`    // XMPP id of the corrected/retracted/reacted message
	Text     string       `json:"text,omitempty"`
	ReplyTo  string       `json:"reply_to,omitempty"` // XMPP id
	Thread   string       `json:"thread,omitempty"`
	Emojis   []string     `json:"emojis,omitempty"`
	Files    []Attachment `json:"files,omitempty"`
	Receipt  bool         `json:"receipt,omitempty"` // XEP-0184 receipt requested
}

// handleMessage handles a message addressed to the gateway or a contact.
func (g *Gateway) handleMessage(ctx context.Context, m *xmpp.Message) {
	if m.Type == xmpp.MessageError {
		if m.Error != nil {
			g.log.Info("user's server refused a message", "from", m.From, "to", m.To, "condition", m.Error.Condition)
		}
		return
	}
	if m.To.Local() == "" {
		select {
		case g.slowSlots <- struct{}{}:
			g.wg.Go(func() {
				defer func() { <-g.slowSlots }()
				g.handleChatCommand(g.runCtx, m)
			})
		default:
			g.bounce(ctx, m, xmpp.NewStanzaError(xmpp.CondResourceConstraint, "The gateway is busy; try again in a moment."))
		}
		return
	}
	if m.Type == xmpp.MessageGroupchat {
		g.bounce(ctx, m, xmpp.NewStanzaError(xmpp.CondServiceUnavailable, "Group chats are not available on this gateway yet."))
		return
	}
	if !g.cfg.Access.Allowed(m.From) {
		g.bounce(ctx, m, userError(ErrNotAllowed))
		return
	}
	uid, err := g.contacts.userFor(m.To.Local())
	if err != nil {
		g.bounce(ctx, m, xmpp.NewStanzaError(xmpp.CondItemNotFound, "No such contact on this gateway."))
		return
	}
	acc, err := g.accountFor(m.From, uid)
	if err != nil {
		g.bounce(ctx, m, userError(err))
		return
	}
	it := remoteItem{
		User: m.From.String(), Account: acc.key.Remote, Contact: m.To.Bare().String(), Peer: uid,
		ID: m.ID, OriginID: m.OriginID, Text: m.Body,
	}
	var chatState string
	displayed := ""
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
	if (it.ReplyTo != "" && g.info.Capabilities.Replies) || it.Kind == kindRetract {
		// The quote is only a fallback when the network shows the reply
		// itself; otherwise it is the context the reader needs.
		it.Text = stripFallbacks(m.Body, m.Extra)
	}
	if !g.info.Capabilities.Replies {
		it.ReplyTo = ""
	}
	if it.Kind == "" && (m.Body != "" || len(it.Files) > 0) {
		it.Kind = kindMessage
		if len(it.Files) == 1 && it.Text == it.Files[0].URL {
			it.Text = "" // the body is only the link of the attachment
		}
		it.Thread = m.Thread
	}
	if chatState != "" && it.Kind == "" {
		g.sendTyping(acc, uid, chatState)
	}
	if displayed != "" {
		g.sendDisplayed(acc, uid, displayed)
	}
	if it.Kind == "" {
		return
	}
	if err := g.remote.enqueue(ctx, acc, it); err != nil {
		g.log.Error("queueing message", "err", err)
		g.bounce(ctx, m, xmpp.NewStanzaError(xmpp.CondInternalServerError, "The gateway could not store your message; it was not sent."))
	}
}

// stripFallbacks removes the parts of a body that XEP-0428 marks as
// fallback for a feature the gateway understands (quoted replies,
// retraction notices).
func stripFallbacks(body string, extra []*xmpp.Element) string {
	runes := []rune(body)
	drop := make([]bool, len(runes))
	any := false
	for _, x := range extra {
		if x.Name.Space != NSFallback || x.Name.Local != "fallback" {
			continue
		}
		if f := x.AttrValue("for"); f != NSReply && f != NSRetract {
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

func (g *Gateway) ephemeral(acc *account, f func(ctx context.Context, s Session) error) {
	sess, state, _ := acc.snapshot()
	if state != LoggedIn || sess == nil {
		return
	}
	select {
	case g.ephemeralSlots <- struct{}{}:
	default:
		g.metrics.dropped.Add(1)
		return
	}
	g.wg.Go(func() {
		defer func() { <-g.ephemeralSlots }()
		ctx, cancel := context.WithTimeout(g.runCtx, 10*time.Second)
		defer cancel()
		if err := f(ctx, sess); err != nil && !errors.Is(err, ErrUnsupported) {
			acc.log.Debug("ephemeral action failed", "err", err)
		}
	})
}

func (g *Gateway) sendTyping(acc *account, peer UserID, state string) {
	ts, ok := map[string]TypingState{
		"active": TypingActive, "composing": TypingComposing, "paused": TypingPaused,
		"inactive": TypingInactive, "gone": TypingGone,
	}[state]
	if !ok || !g.info.Capabilities.Typing {
		return
	}
	g.ephemeral(acc, func(ctx context.Context, s Session) error {
		t, ok := s.(Typer)
		if !ok {
			return ErrUnsupported
		}
		return t.Typing(ctx, ChatRef{Kind: Direct, Peer: peer}, ts)
	})
}

func (g *Gateway) sendDisplayed(acc *account, peer UserID, id string) {
	if !g.info.Capabilities.ReadMarkers {
		return
	}
	remote := g.remoteID(g.scope(acc, peer), id)
	g.ephemeral(acc, func(ctx context.Context, s Session) error {
		r, ok := s.(ReadMarker)
		if !ok {
			return ErrUnsupported
		}
		return r.MarkRead(ctx, ChatRef{Kind: Direct, Peer: peer}, remote)
	})
}
