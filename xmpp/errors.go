package xmpp

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Sentinel errors.
var (
	// ErrStreamClosed means the peer closed its stream with </stream:stream>.
	ErrStreamClosed = errors.New("xmpp: stream closed by peer")
	// ErrNotAuthorized means the host server refused the component secret.
	// Retrying with the same secret cannot succeed.
	ErrNotAuthorized = errors.New("xmpp: component secret refused by the server")
	// ErrConnClosed is returned by Send and Request once the connection is
	// shut down.
	ErrConnClosed = errors.New("xmpp: connection closed")
	// ErrNotConnected is returned by Send when the stream is not up and
	// the caller asked not to wait for it.
	ErrNotConnected = errors.New("xmpp: not connected")
	// ErrTimeout is returned by Request when no response arrived in time.
	ErrTimeout = errors.New("xmpp: request timed out")
	// ErrHostUnknown means the host server does not serve the component's
	// domain (it answered with a host-unknown stream error). Retrying
	// cannot succeed until the server's configuration changes.
	ErrHostUnknown = errors.New("xmpp: the host server does not serve the component domain")
	// ErrQueueFull is returned by TrySendRaw when the outgoing queue has
	// no room: the stanza was not queued.
	ErrQueueFull = errors.New("xmpp: send queue full")
	// ErrUnconfirmed is returned by Flush when the connection ended
	// before the server confirmed the stanzas; they are written again,
	// first, on the next connection.
	ErrUnconfirmed = errors.New("xmpp: connection ended before the server confirmed the stanzas")
)

// maxRemoteText bounds the remote text kept in errors (stream error text,
// element names), so a hostile or broken peer cannot flood logs.
const maxRemoteText = 256

// Truncate returns s cut to at most max bytes on a UTF-8 boundary, with
// "…" appended when something was cut. Use it for text a peer controls
// before it reaches a log line or an error message.
func Truncate(s string, max int) string {
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// Condition is a defined error condition of RFC 6120 (stream errors,
// §4.9.3, and stanza errors, §8.3.3).
type Condition string

// Stream error conditions (RFC 6120 §4.9.3).
const (
	CondBadFormat           Condition = "bad-format"
	CondBadNamespacePrefix  Condition = "bad-namespace-prefix"
	CondConflict            Condition = "conflict"
	CondConnectionTimeout   Condition = "connection-timeout"
	CondHostGone            Condition = "host-gone"
	CondHostUnknown         Condition = "host-unknown"
	CondImproperAddressing  Condition = "improper-addressing"
	CondInternalServerError Condition = "internal-server-error"
	CondInvalidFrom         Condition = "invalid-from"
	CondInvalidNamespace    Condition = "invalid-namespace"
	CondInvalidXML          Condition = "invalid-xml"
	CondNotAuthorized       Condition = "not-authorized"
	CondNotWellFormed       Condition = "not-well-formed"
	CondPolicyViolation     Condition = "policy-violation"
	CondRemoteConnFailed    Condition = "remote-connection-failed"
	CondReset               Condition = "reset"
	CondResourceConstraint  Condition = "resource-constraint"
	CondRestrictedXML       Condition = "restricted-xml"
	CondSeeOtherHost        Condition = "see-other-host"
	CondSystemShutdown      Condition = "system-shutdown"
	CondUndefinedCondition  Condition = "undefined-condition"
	CondUnsupportedEncoding Condition = "unsupported-encoding"
	CondUnsupportedFeature  Condition = "unsupported-feature"
	CondUnsupportedVersion  Condition = "unsupported-version"
)

// Stanza error conditions (RFC 6120 §8.3.3) not already listed above.
const (
	CondBadRequest            Condition = "bad-request"
	CondFeatureNotImplemented Condition = "feature-not-implemented"
	CondForbidden             Condition = "forbidden"
	CondGone                  Condition = "gone"
	CondItemNotFound          Condition = "item-not-found"
	CondJIDMalformed          Condition = "jid-malformed"
	CondNotAcceptable         Condition = "not-acceptable"
	CondNotAllowed            Condition = "not-allowed"
	CondPaymentRequired       Condition = "payment-required"
	CondRecipientUnavailable  Condition = "recipient-unavailable"
	CondRedirect              Condition = "redirect"
	CondRegistrationRequired  Condition = "registration-required"
	CondRemoteServerNotFound  Condition = "remote-server-not-found"
	CondRemoteServerTimeout   Condition = "remote-server-timeout"
	CondServiceUnavailable    Condition = "service-unavailable"
	CondSubscriptionRequired  Condition = "subscription-required"
	CondUnexpectedRequest     Condition = "unexpected-request"
)

// ErrorType is the type attribute of a stanza error (RFC 6120 §8.3.2).
type ErrorType string

// Stanza error types.
const (
	ErrorAuth     ErrorType = "auth"
	ErrorCancel   ErrorType = "cancel"
	ErrorContinue ErrorType = "continue"
	ErrorModify   ErrorType = "modify"
	ErrorWait     ErrorType = "wait"
)

// defaultErrorType is the type RFC 6120 §8.3.3 suggests for each condition.
var defaultErrorType = map[Condition]ErrorType{
	CondBadRequest:            ErrorModify,
	CondConflict:              ErrorCancel,
	CondFeatureNotImplemented: ErrorCancel,
	CondForbidden:             ErrorAuth,
	CondGone:                  ErrorCancel,
	CondInternalServerError:   ErrorCancel,
	CondItemNotFound:          ErrorCancel,
	CondJIDMalformed:          ErrorModify,
	CondNotAcceptable:         ErrorModify,
	CondNotAllowed:            ErrorCancel,
	CondNotAuthorized:         ErrorAuth,
	CondPaymentRequired:       ErrorAuth,
	CondPolicyViolation:       ErrorModify,
	CondRecipientUnavailable:  ErrorWait,
	CondRedirect:              ErrorModify,
	CondRegistrationRequired:  ErrorAuth,
	CondRemoteServerNotFound:  ErrorCancel,
	CondRemoteServerTimeout:   ErrorWait,
	CondResourceConstraint:    ErrorWait,
	CondServiceUnavailable:    ErrorCancel,
	CondSubscriptionRequired:  ErrorAuth,
	CondUndefinedCondition:    ErrorCancel,
	CondUnexpectedRequest:     ErrorWait,
}

// StanzaError is an error carried in a stanza (RFC 6120 §8.3). It is also a
// Go error, so handlers can return one and have it sent back as a bounce.
type StanzaError struct {
	Type      ErrorType
	Condition Condition
	Text      string
	Lang      string
	By        string
	// App is an optional application-specific condition element.
	App *Element
}

// NewStanzaError returns a stanza error with the type RFC 6120 suggests for
// the condition.
func NewStanzaError(cond Condition, text string) *StanzaError {
	t, ok := defaultErrorType[cond]
	if !ok {
		t = ErrorCancel
	}
	return &StanzaError{Type: t, Condition: cond, Text: text}
}

// Error implements error.
func (e *StanzaError) Error() string {
	if e.Text != "" {
		return fmt.Sprintf("xmpp: stanza error %s (%s): %s", e.Condition, e.Type, e.Text)
	}
	return fmt.Sprintf("xmpp: stanza error %s (%s)", e.Condition, e.Type)
}

// Is makes errors.Is match two stanza errors with the same condition.
func (e *StanzaError) Is(target error) bool {
	t, ok := target.(*StanzaError)
	return ok && t.Condition == e.Condition
}

// Element returns the <error/> element.
func (e *StanzaError) Element() *Element {
	typ := e.Type
	if typ == "" {
		typ = defaultErrorType[e.Condition]
		if typ == "" {
			typ = ErrorCancel
		}
	}
	el := NewElement("", "error", "type", string(typ), "by", e.By)
	cond := e.Condition
	if cond == "" {
		cond = CondUndefinedCondition
	}
	el.Append(NewElement(NSStanzas, string(cond)))
	if e.Text != "" {
		el.Append(TextElement(NSStanzas, "text", e.Text).SetAttr("xml:lang", e.Lang))
	}
	if e.App != nil {
		el.Append(e.App)
	}
	return el
}

// ParseStanzaError reads an <error/> element.
func ParseStanzaError(el *Element) *StanzaError {
	e := &StanzaError{Type: ErrorType(el.AttrValue("type")), By: el.AttrValue("by")}
	for _, c := range el.Children() {
		switch {
		case c.Name.Space == NSStanzas && c.Name.Local == "text":
			e.Text = c.Text()
			e.Lang = c.AttrValue("xml:lang")
		case c.Name.Space == NSStanzas:
			e.Condition = Condition(c.Name.Local)
		default:
			e.App = c
		}
	}
	if e.Condition == "" {
		e.Condition = CondUndefinedCondition
	}
	return e
}

// StreamError is a stream-level error (RFC 6120 §4.9). Remote is true when
// the peer sent it; otherwise it describes what this side detected and
// should send before closing the stream.
//
// Text received from a peer is truncated to 256 bytes when parsed.
type StreamError struct {
	Condition Condition
	Text      string
	Remote    bool
	// Other is the content of a see-other-host condition: the host (and
	// port) the peer asks to be reached at instead.
	Other string
}

// Error implements error.
func (e *StreamError) Error() string {
	who := "local"
	if e.Remote {
		who = "from peer"
	}
	if e.Text != "" {
		return fmt.Sprintf("xmpp: stream error %s (%s): %s", e.Condition, who, e.Text)
	}
	return fmt.Sprintf("xmpp: stream error %s (%s)", e.Condition, who)
}

// Is makes errors.Is match two stream errors with the same condition.
func (e *StreamError) Is(target error) bool {
	t, ok := target.(*StreamError)
	return ok && t.Condition == e.Condition
}

// Bytes returns the <stream:error/> element as written on the wire.
func (e *StreamError) Bytes() []byte {
	el := NewElement(NSStreams, string(e.Condition))
	s := "<stream:error>" + el.String()
	if e.Text != "" {
		s += TextElement(NSStreams, "text", e.Text).String()
	}
	return []byte(s + "</stream:error>")
}

func parseStreamError(el *Element) *StreamError {
	e := &StreamError{}
	for _, c := range el.Children() {
		if c.Name.Space != NSStreams {
			continue
		}
		if c.Name.Local == "text" {
			e.Text = Truncate(c.Text(), maxRemoteText)
		} else {
			e.Condition = Condition(Truncate(c.Name.Local, maxRemoteText))
			if e.Condition == CondSeeOtherHost {
				e.Other = Truncate(strings.TrimSpace(c.Text()), maxRemoteText)
			}
		}
	}
	if e.Condition == "" {
		e.Condition = CondUndefinedCondition
	}
	return e
}
