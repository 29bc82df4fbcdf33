package xmpp

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/xgate-im/xgate/xmpp/jid"
)

// Stanza is a message, presence or iq. The concrete types are *Message,
// *Presence and *IQ.
type Stanza interface {
	// Head returns the common attributes, for reading or changing.
	Head() *Header
	// Element encodes the stanza.
	Element() *Element
}

// Header holds the attributes every stanza has.
type Header struct {
	From, To jid.JID
	ID       string
	Type     string
	Lang     string
}

// Head implements Stanza.
func (h *Header) Head() *Header { return h }

func (h *Header) element(local string) *Element {
	e := NewElement("", local)
	if !h.From.IsZero() {
		e.SetAttr("from", h.From.String())
	}
	if !h.To.IsZero() {
		e.SetAttr("to", h.To.String())
	}
	e.SetAttr("id", h.ID)
	e.SetAttr("type", h.Type)
	e.SetAttr("xml:lang", h.Lang)
	return e
}

// Message types (RFC 6121 §5.2.2).
const (
	MessageChat      = "chat"
	MessageNormal    = "normal"
	MessageGroupchat = "groupchat"
	MessageHeadline  = "headline"
	MessageError     = "error"
)

// Presence types (RFC 6121 §4.7.1). Available presence has no type.
const (
	PresenceAvailable    = ""
	PresenceUnavailable  = "unavailable"
	PresenceSubscribe    = "subscribe"
	PresenceSubscribed   = "subscribed"
	PresenceUnsubscribe  = "unsubscribe"
	PresenceUnsubscribed = "unsubscribed"
	PresenceProbe        = "probe"
	PresenceError        = "error"
)

// IQ types (RFC 6120 §8.2.3).
const (
	IQGet    = "get"
	IQSet    = "set"
	IQResult = "result"
	IQError  = "error"
)

// Delay is XEP-0203 delayed delivery information.
type Delay struct {
	Stamp  time.Time
	From   string
	Reason string
}

// StanzaID is a XEP-0359 stanza-id assigned by the entity By.
type StanzaID struct {
	ID, By string
}

// Message is a <message/> stanza.
type Message struct {
	Header
	Body         string
	Subject      string
	Thread       string
	ThreadParent string
	Error        *StanzaError
	Delay        *Delay
	// OriginID is the XEP-0359 origin-id set by the sender.
	OriginID  string
	StanzaIDs []StanzaID
	// Extra holds every other child verbatim, in order, so that unknown
	// extensions round-trip.
	Extra []*Element
}

// Presence is a <presence/> stanza.
type Presence struct {
	Header
	// Show is "", "away", "chat", "dnd" or "xa".
	Show     string
	Status   string
	Priority int
	Error    *StanzaError
	Delay    *Delay
	Extra    []*Element
}

// IQ is an <iq/> stanza. Payload is its child (the query) and Error the
// error of a type="error" response.
type IQ struct {
	Header
	Payload *Element
	Error   *StanzaError
}

// Element implements Stanza.
func (m *Message) Element() *Element {
	e := m.Header.element("message")
	if m.Subject != "" {
		e.Append(TextElement("", "subject", m.Subject))
	}
	if m.Body != "" {
		e.Append(TextElement("", "body", m.Body))
	}
	if m.Thread != "" {
		e.Append(TextElement("", "thread", m.Thread).SetAttr("parent", m.ThreadParent))
	}
	if m.OriginID != "" {
		e.Append(NewElement(NSStanzaID, "origin-id", "id", m.OriginID))
	}
	for _, s := range m.StanzaIDs {
		e.Append(NewElement(NSStanzaID, "stanza-id", "id", s.ID, "by", s.By))
	}
	e.Append(m.Delay.element())
	e.Append(m.Extra...)
	if m.Error != nil {
		e.Append(m.Error.Element())
	}
	return e
}

// Element implements Stanza.
func (p *Presence) Element() *Element {
	e := p.Header.element("presence")
	if p.Show != "" {
		e.Append(TextElement("", "show", p.Show))
	}
	if p.Status != "" {
		e.Append(TextElement("", "status", p.Status))
	}
	if p.Priority != 0 {
		e.Append(TextElement("", "priority", strconv.Itoa(p.Priority)))
	}
	e.Append(p.Delay.element())
	e.Append(p.Extra...)
	if p.Error != nil {
		e.Append(p.Error.Element())
	}
	return e
}

// Element implements Stanza.
func (iq *IQ) Element() *Element {
	e := iq.Header.element("iq")
	e.Append(iq.Payload)
	if iq.Error != nil {
		e.Append(iq.Error.Element())
	}
	return e
}

func (d *Delay) element() *Element {
	if d == nil {
		return nil
	}
	e := NewElement(NSDelay, "delay", "stamp", d.Stamp.UTC().Format("2006-01-02T15:04:05.999Z"), "from", d.From)
	return e.AppendText(d.Reason)
}

// MalformedError is returned by Parse for a stanza that is well-formed XML
// but cannot be accepted (a bad JID, a missing id on an iq, ...). Reply is the
// stanza error to bounce to the sender, and Elem is what was received.
type MalformedError struct {
	Elem  *Element
	Reply *StanzaError
}

// Error implements error.
func (e *MalformedError) Error() string {
	return fmt.Sprintf("xmpp: malformed <%s/>: %s", e.Elem.Name.Local, e.Reply.Text)
}

// Unwrap returns the stanza error.
func (e *MalformedError) Unwrap() error { return e.Reply }

// ErrNotStanza is returned by Parse for an element that is not a message,
// presence or iq in a stanza namespace.
var ErrNotStanza = errors.New("xmpp: not a stanza")

// IsStanzaNamespace reports whether space is one of the stanza namespaces
// (or empty, meaning inherited).
func IsStanzaNamespace(space string) bool {
	return space == "" || space == NSComponent || space == NSClient
}

// Parse turns a top-level element into a typed stanza. Children in the
// stanza namespace that the type knows are decoded; every other child is
// kept in Extra (or as the IQ payload).
func Parse(el *Element) (Stanza, error) {
	if !IsStanzaNamespace(el.Name.Space) {
		return nil, ErrNotStanza
	}
	h, err := parseHeader(el)
	if err != nil {
		return nil, err
	}
	switch el.Name.Local {
	case "message":
		return parseMessage(el, h), nil
	case "presence":
		return parsePresence(el, h)
	case "iq":
		return parseIQ(el, h)
	}
	return nil, ErrNotStanza
}

func parseHeader(el *Element) (Header, error) {
	h := Header{ID: el.AttrValue("id"), Type: el.AttrValue("type"), Lang: el.AttrValue("xml:lang")}
	for _, f := range []struct {
		name string
		dst  *jid.JID
	}{{"from", &h.From}, {"to", &h.To}} {
		raw := el.AttrValue(f.name)
		if raw == "" {
			continue
		}
		j, err := jid.Parse(raw)
		if err != nil {
			return h, &MalformedError{Elem: el, Reply: NewStanzaError(CondJIDMalformed, fmt.Sprintf("bad %s address: %v", f.name, err))}
		}
		*f.dst = j
	}
	return h, nil
}

// inStanzaNS reports whether child c belongs to the stanza's own namespace.
func inStanzaNS(c *Element, stanza *Element) bool {
	return c.Name.Space == "" || c.Name.Space == stanza.Name.Space
}

func parseMessage(el *Element, h Header) *Message {
	m := &Message{Header: h}
	for _, c := range el.Children() {
		switch {
		case inStanzaNS(c, el) && c.Name.Local == "body" && m.Body == "" && c.AttrValue("xml:lang") == "":
			m.Body = c.Text()
		case inStanzaNS(c, el) && c.Name.Local == "subject" && m.Subject == "" && c.AttrValue("xml:lang") == "":
			m.Subject = c.Text()
		case inStanzaNS(c, el) && c.Name.Local == "thread" && m.Thread == "":
			m.Thread, m.ThreadParent = c.Text(), c.AttrValue("parent")
		case inStanzaNS(c, el) && c.Name.Local == "error" && m.Error == nil:
			m.Error = ParseStanzaError(c)
		case c.Name.Space == NSStanzaID && c.Name.Local == "origin-id" && m.OriginID == "":
			m.OriginID = c.AttrValue("id")
		case c.Name.Space == NSStanzaID && c.Name.Local == "stanza-id":
			m.StanzaIDs = append(m.StanzaIDs, StanzaID{ID: c.AttrValue("id"), By: c.AttrValue("by")})
		case c.Name.Space == NSDelay && c.Name.Local == "delay" && m.Delay == nil:
			m.Delay = parseDelay(c)
		default:
			m.Extra = append(m.Extra, detach(c, el))
		}
	}
	return m
}

func parsePresence(el *Element, h Header) (*Presence, error) {
	p := &Presence{Header: h}
	for _, c := range el.Children() {
		switch {
		case inStanzaNS(c, el) && c.Name.Local == "show" && p.Show == "":
			p.Show = c.Text()
		case inStanzaNS(c, el) && c.Name.Local == "status" && p.Status == "" && c.AttrValue("xml:lang") == "":
			p.Status = c.Text()
		case inStanzaNS(c, el) && c.Name.Local == "priority":
			n, err := strconv.Atoi(c.Text())
			if err != nil || n < -128 || n > 127 {
				return nil, &MalformedError{Elem: el, Reply: NewStanzaError(CondBadRequest, "priority must be an integer from -128 to 127")}
			}
			p.Priority = n
		case inStanzaNS(c, el) && c.Name.Local == "error" && p.Error == nil:
			p.Error = ParseStanzaError(c)
		case c.Name.Space == NSDelay && c.Name.Local == "delay" && p.Delay == nil:
			p.Delay = parseDelay(c)
		default:
			p.Extra = append(p.Extra, detach(c, el))
		}
	}
	return p, nil
}

func parseIQ(el *Element, h Header) (*IQ, error) {
	iq := &IQ{Header: h}
	if h.ID == "" {
		return nil, &MalformedError{Elem: el, Reply: NewStanzaError(CondBadRequest, "iq without id")}
	}
	switch h.Type {
	case IQGet, IQSet, IQResult, IQError:
	default:
		return nil, &MalformedError{Elem: el, Reply: NewStanzaError(CondBadRequest, "iq type must be get, set, result or error")}
	}
	for _, c := range el.Children() {
		if inStanzaNS(c, el) && c.Name.Local == "error" {
			iq.Error = ParseStanzaError(c)
			continue
		}
		if iq.Payload == nil {
			iq.Payload = detach(c, el)
		}
	}
	if (h.Type == IQGet || h.Type == IQSet) && iq.Payload == nil {
		return nil, &MalformedError{Elem: el, Reply: NewStanzaError(CondBadRequest, "iq get/set without payload")}
	}
	return iq, nil
}

// detach prepares a child to live on without its parent: a child in the
// stanza namespace inherits whatever stream it is written to next.
func detach(c, stanza *Element) *Element {
	if c.Name.Space == stanza.Name.Space {
		c.Name.Space = ""
	}
	return c
}

func parseDelay(c *Element) *Delay {
	d := &Delay{From: c.AttrValue("from"), Reason: c.Text()}
	if t, err := time.Parse(time.RFC3339Nano, c.AttrValue("stamp")); err == nil {
		d.Stamp = t
	}
	return d
}

// ReplyHeader returns a header addressed back to the sender of h, with the
// same id.
func (h *Header) ReplyHeader(typ string) Header {
	return Header{From: h.To, To: h.From, ID: h.ID, Type: typ}
}

// Result returns the type="result" response to a get or set.
func (iq *IQ) Result(payload *Element) *IQ {
	return &IQ{Header: iq.ReplyHeader(IQResult), Payload: payload}
}

// ErrorReply returns the type="error" response to a get or set.
func (iq *IQ) ErrorReply(e *StanzaError) *IQ {
	return &IQ{Header: iq.ReplyHeader(IQError), Error: e}
}

// Bounce returns the error reply to any stanza. It returns nil for a stanza
// that is itself an error (or an iq result), which must never be answered
// with an error.
func Bounce(s Stanza, e *StanzaError) Stanza {
	h := s.Head()
	if h.Type == "error" {
		return nil
	}
	switch s := s.(type) {
	case *IQ:
		if s.Type == IQResult {
			return nil
		}
		return s.ErrorReply(e)
	case *Message:
		// Keep the body so the sender's client can show what failed.
		return &Message{Header: h.ReplyHeader("error"), Body: s.Body, Error: e}
	case *Presence:
		return &Presence{Header: h.ReplyHeader("error"), Error: e}
	}
	return nil
}

// BounceElement answers an element that could not be parsed into a stanza
// (see MalformedError), using its raw attributes. It returns nil when the
// element must not be answered.
func BounceElement(el *Element, e *StanzaError) *Element {
	if el.AttrValue("type") == "error" || (el.Name.Local == "iq" && el.AttrValue("type") == IQResult) {
		return nil
	}
	r := NewElement("", el.Name.Local, "from", el.AttrValue("to"), "to", el.AttrValue("from"), "id", el.AttrValue("id"), "type", "error")
	return r.Append(e.Element())
}
