package bridge

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/xgate-im/xgate/xmpp"
	"github.com/xgate-im/xgate/xmpp/jid"
)

// Event → stanza conversion: plain functions of an event and what the
// caller resolved about its chat. They do no I/O.

// selfPrefix marks, without XEP-0356 privileges, a message the user sent
// from another client of the network, shown in the chat with the contact.
const selfPrefix = "You wrote: "

// chatStanza is what the conversion of one chat's event needs: the
// addresses of the stanza, a fresh id, and how to name the chat's messages
// and people in XMPP.
type chatStanza struct {
	From, To jid.JID
	ID       string
	// XMPPID returns the XMPP id of a remote message of the chat.
	XMPPID func(MessageID) string
	// TargetID is XMPPID for a message an event refers to (corrected,
	// retracted, reacted to, replied to): it may wait for the ID pair of a
	// message the user is sending at this moment.
	TargetID func(MessageID) string
	// JIDOf returns the contact JID of a remote person, if it has one.
	JIDOf func(UserID) (jid.JID, bool)
	// Markable adds XEP-0333 markable to messages.
	Markable bool
	// Domain is the gateway's domain, the origin of catch-up delays.
	Domain string
}

func (c chatStanza) message() *xmpp.Message {
	return &xmpp.Message{Header: xmpp.Header{From: c.From, To: c.To, ID: c.ID, Type: xmpp.MessageChat}}
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

// references turns mentions into XEP-0372 references to contact JIDs,
// shifted by what was put before the text. Mentions out of the body's
// bounds or of unknown people are left out.
func references(ms []Mention, shift int, body string, jidOf func(UserID) (jid.JID, bool)) []*xmpp.Element {
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
		cj, ok := jidOf(mn.User)
		if !ok {
			continue
		}
		out = append(out, xmpp.NewElement(NSReference, "reference", "type", "mention",
			"uri", xmppURI(cj), "begin", strconv.Itoa(b), "end", strconv.Itoa(e)))
	}
	return out
}

// xmppURI returns the RFC 5122 IRI of a JID: in the localpart and the
// resource, ASCII characters other than unreserved ones, sub-delims, ":"
// and "@" are percent-encoded (a room's "#", a nick's space); other
// characters stay as they are.
func xmppURI(j jid.JID) string {
	enc := func(s string) string {
		var b strings.Builder
		for i := 0; i < len(s); i++ {
			c := s[i]
			if c >= 0x80 || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("-._~!$&'()*+,;=:@", c) >= 0 {
				b.WriteByte(c)
				continue
			}
			fmt.Fprintf(&b, "%%%02X", c)
		}
		return b.String()
	}
	u := "xmpp:"
	if j.Local() != "" {
		u += enc(j.Local()) + "@"
	}
	u += j.Domain()
	if j.Resource() != "" {
		u += "/" + enc(j.Resource())
	}
	return u
}

// messageStanza converts a new message.
func messageStanza(c chatStanza, ev MessageEvent) *xmpp.Message {
	m := c.message()
	m.ID = c.XMPPID(ev.ID)
	var shift int
	m.Body, shift = ownText(ev.Text, ev.FromSelf)
	if ev.SenderName != "" && !ev.FromSelf {
		m.Extra = append(m.Extra, xmpp.TextElement(NSNick, "nick", ev.SenderName))
	}
	m.Extra = append(m.Extra, references(ev.Mentions, shift, m.Body, c.JIDOf)...)
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
		m.Extra = append(m.Extra, xmpp.NewElement(NSReply, "reply", "to", m.From.String(), "id", c.TargetID(ev.ReplyTo)))
	}
	if ev.Thread != "" {
		m.Thread = string(ev.Thread)
	}
	if ev.Historical && !ev.Time.IsZero() {
		m.Delay = &xmpp.Delay{Stamp: ev.Time, From: c.Domain, Reason: "Catch-up"}
	}
	if c.Markable {
		m.Extra = append(m.Extra, xmpp.NewElement(NSMarkers, "markable"))
	}
	m.Extra = append(m.Extra, xmpp.NewElement(NSChatState, "active"))
	return m
}

// editStanza converts a correction (XEP-0308).
func editStanza(c chatStanza, ev EditEvent) *xmpp.Message {
	m := c.message()
	var shift int
	m.Body, shift = ownText(ev.Text, ev.FromSelf)
	m.Extra = append(m.Extra, xmpp.NewElement(NSCorrect, "replace", "id", c.TargetID(ev.ID)))
	m.Extra = append(m.Extra, references(ev.Mentions, shift, m.Body, c.JIDOf)...)
	return m
}

// retractionStanza converts a deletion (XEP-0424, with a fallback body).
func retractionStanza(c chatStanza, ev RetractionEvent) *xmpp.Message {
	m := c.message()
	m.Body = "This message was deleted, but your client does not support retractions."
	m.Extra = []*xmpp.Element{
		xmpp.NewElement(NSRetract, "retract", "id", c.TargetID(ev.ID)),
		xmpp.NewElement(NSFallback, "fallback", "for", NSRetract),
		xmpp.NewElement(NSHints, "store"),
	}
	return m
}

// reactionStanza converts a set of reactions (XEP-0444).
func reactionStanza(c chatStanza, ev ReactionEvent) *xmpp.Message {
	m := c.message()
	r := xmpp.NewElement(NSReactions, "reactions", "id", c.TargetID(ev.ID))
	for _, e := range ev.Emojis {
		r.Append(xmpp.TextElement("", "reaction", e))
	}
	m.Extra = []*xmpp.Element{r, xmpp.NewElement(NSHints, "store")}
	if ev.FromSelf {
		// Without carbons the user's own reaction cannot be shown as theirs.
		m.Body = selfPrefix + "reacted " + strings.Join(ev.Emojis, " ")
	}
	return m
}

// typingNames are the XEP-0085 element names of the typing states.
var typingNames = map[TypingState]string{
	TypingActive: "active", TypingComposing: "composing", TypingPaused: "paused",
	TypingInactive: "inactive", TypingGone: "gone",
}

// typingStanza converts a chat state (XEP-0085); it carries no id.
func typingStanza(c chatStanza, ev TypingEvent) *xmpp.Message {
	m := c.message()
	m.ID = "" // a chat state is not a message to refer to
	m.Extra = []*xmpp.Element{xmpp.NewElement(NSChatState, typingNames[ev.State]), xmpp.NewElement(NSHints, "no-store")}
	return m
}

// deliveryStanza converts a delivery state: a XEP-0184 receipt, a
// XEP-0333 displayed marker, or, for a failure, an error on the message
// (its id, from the contact), which clients show on the message itself.
func deliveryStanza(c chatStanza, ev DeliveryEvent) *xmpp.Message {
	m := c.message()
	id := c.TargetID(ev.ID)
	switch ev.State {
	case Read:
		m.Extra = []*xmpp.Element{xmpp.NewElement(NSMarkers, "displayed", "id", id)}
	case Failed:
		reason := ev.Reason
		if reason == "" {
			reason = "The network could not deliver this message."
		}
		m.ID, m.Type = id, xmpp.MessageError
		m.Error = xmpp.NewStanzaError(xmpp.CondUndefinedCondition, reason)
	default:
		m.Extra = []*xmpp.Element{xmpp.NewElement(NSReceipts, "received", "id", id)}
	}
	return m
}
