package provider

import (
	"context"
	"io"
	"net/http"
	"time"

	"github.com/xgate-im/xgate/transports/sms/phone"
)

// MessageID is a provider's ID of one message (Twilio's SM…/MM… SID, or the
// ID a gateway without IDs was given by its provider package). Only the
// provider that made it parses it.
type MessageID string

// Provider is one account at one SMS service. See the package doc for the
// contract.
type Provider interface {
	// Send hands m to the service and returns the service's ID for it.
	// Errors are *Error values (use errors.As, or the helpers in
	// errors.go); an error that is not classified is to be treated as
	// temporary.
	Send(ctx context.Context, m Outbound) (Sent, error)
	// Webhook returns the handler for the service's callbacks (incoming
	// texts and delivery reports), delivering them to sink. The bridge
	// mounts it under a prefix of its choosing, stripped before the
	// handler sees the request.
	Webhook(sink Sink) http.Handler
	// Capabilities says what this provider can do.
	Capabilities() Capabilities
}

// MediaFetcher is implemented by providers whose inbound media URLs need
// the provider's credentials: the bridge fetches media through it to
// re-host them.
type MediaFetcher interface {
	// FetchMedia opens the media at url (a URL from Inbound.Media). The
	// caller closes the body.
	FetchMedia(ctx context.Context, url string) (body io.ReadCloser, contentType string, err error)
}

// Runner is implemented by providers that fetch messages instead of (or
// besides) receiving webhooks: a phone gateway polled over its local API,
// a modem, a persistent connection. The transport runs Run for the
// provider's lifetime; it blocks until ctx ends and delivers to sink under
// the same contract as webhooks (a message is acknowledged to the service
// only after the Sink returned nil).
type Runner interface {
	Run(ctx context.Context, sink Sink) error
}

// Sink receives what a provider's webhook parsed. Its methods return only
// after the message is stored durably; an error makes the webhook answer
// 5xx so the service retries. Duplicates (the same ID delivered twice by a
// retrying service) are the Sink's to suppress.
type Sink interface {
	// Inbound receives a text or MMS from a phone.
	Inbound(ctx context.Context, m Inbound) error
	// DeliveryReport receives a status change of a sent message.
	DeliveryReport(ctx context.Context, r DeliveryReport) error
}

// Capabilities describes a provider as data, so the transport never tests
// for a provider kind.
type Capabilities struct {
	// MMS: Outbound.Media is sent and Inbound.Media may be set.
	MMS bool
	// Concatenates: the service splits long texts itself (Send takes the
	// whole text); otherwise the transport sends one Send per part.
	Concatenates bool
	// DeliveryReports: DeliveryReport calls follow a Send.
	DeliveryReports bool
	// MaxBody is the longest body Send accepts, in characters; 0 means no
	// limit of this kind.
	MaxBody int
	// MaxSegments is the most SMS segments (see package segment) one Send
	// accepts; 0 means no limit of this kind. Longer texts are refused,
	// never truncated: the transport splits them first.
	MaxSegments int
}

// Outbound is one text or MMS to send.
type Outbound struct {
	// From is the provider number (or short code) to send from.
	From phone.Number
	// To is the recipient.
	To phone.Number
	// Body is the text, UTF-8. It may be empty when Media is not.
	Body string
	// Media are public URLs of attachments (MMS); ignored by providers
	// without MMS.
	Media []string
	// StatusCallback is where the service should report delivery, as a
	// hint: providers that take a callback per message use it, others use
	// what they were configured with. Empty means the provider's default.
	StatusCallback string
}

// Sent is what Send returns.
type Sent struct {
	// ID is the service's ID of the message; delivery reports carry it.
	ID MessageID
	// Status is the status the service answered with (usually Queued or
	// Accepted).
	Status Status
	// Segments is how many SMS the service says it is billed as, when it
	// says (0 when unknown).
	Segments int
}

// Inbound is a text or MMS received from a phone.
type Inbound struct {
	// ID is the service's ID, used to suppress duplicates.
	ID MessageID
	// From is the phone that sent it.
	From phone.Number
	// To is the provider number it was sent to: it says which XMPP user
	// owns the conversation.
	To phone.Number
	// Body is the text, UTF-8.
	Body string
	// Media are the attachments' URLs at the service (may need the
	// provider's credentials: see MediaFetcher).
	Media []Media
	// Received is when the service received it, or when the webhook did
	// if the service does not say.
	Received time.Time
}

// Media is one attachment of an inbound MMS.
type Media struct {
	// URL is where the service serves it.
	URL string
	// ContentType is its MIME type as the service reports it.
	ContentType string
}

// DeliveryReport is a status change of a sent message. Reports may arrive
// out of order (Kannel reports a concatenated text's delivery before the
// SMSC's acknowledgement), more than once (per part, or retried by the
// service), and even before Send has returned the ID they carry: a message
// never moves back from a final status, and a report for an unknown ID is
// kept until Send's answer is stored.
type DeliveryReport struct {
	// ID is the ID Send returned.
	ID MessageID
	// Status is the new status.
	Status Status
	// Err explains a Failed or Undelivered status (nil otherwise).
	Err *Error
	// At is when the service reported it.
	At time.Time
}

// Status is where a sent message is.
type Status int

// Statuses, in the order a message goes through them.
const (
	// StatusUnknown is a status the provider could not map.
	StatusUnknown Status = iota
	// StatusAccepted: the service took the request.
	StatusAccepted
	// StatusQueued: waiting at the service or gateway.
	StatusQueued
	// StatusSent: handed to the carrier (SMSC).
	StatusSent
	// StatusDelivered: the phone has it. Final.
	StatusDelivered
	// StatusUndelivered: the carrier could not deliver it. Final.
	StatusUndelivered
	// StatusFailed: the service could not send it. Final.
	StatusFailed
)

var statusNames = [...]string{"unknown", "accepted", "queued", "sent", "delivered", "undelivered", "failed"}

// String returns the status in lower case.
func (s Status) String() string {
	if s < 0 || int(s) >= len(statusNames) {
		return "unknown"
	}
	return statusNames[s]
}

// Final reports whether no status follows s.
func (s Status) Final() bool {
	return s == StatusDelivered || s == StatusUndelivered || s == StatusFailed
}

// Failed reports whether s says the message did not arrive.
func (s Status) Failed() bool { return s == StatusUndelivered || s == StatusFailed }
