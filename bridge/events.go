package bridge

import (
	"context"
	"time"
)

// Sink receives a session's events. Emit returns once the event is
// delivered to the XMPP side or stored durably for later delivery, so a
// transport may acknowledge it to its network only after a nil error. Emit
// is safe for concurrent use; events of one chat must be emitted in order
// from one goroutine to keep that order.
//
// A MessageEvent is delivered once per XMPP user and chat, by its ID: the
// same message emitted again (a redelivery after a crash, the same channel
// seen through two accounts of one user) is recorded as a duplicate and
// not delivered again, for MessageRetention.
type Sink interface {
	Emit(ctx context.Context, ev Event) error
}

// Event is a normalized remote event. The concrete types are the structs
// below; an event the transport cannot map is sent as Unknown so that it is
// logged and counted instead of silently dropped.
type Event interface{ isEvent() }

// MessageEvent is a new message in a chat.
type MessageEvent struct {
	Chat   ChatRef
	Sender UserID
	// SenderName and SenderAvatarURL describe the sender when the network
	// tells it with the message (a Discord webhook, a bot, an SMS from an
	// unknown number): the name is shown as the message's XEP-0172 nick.
	SenderName      string
	SenderAvatarURL string
	// FromSelf marks a message the account owner sent from another
	// client (an official app): it is reflected to the XMPP user as a
	// carbon copy.
	FromSelf bool
	ID       MessageID
	Time     time.Time
	Text     string // XEP-0393 styled
	// Mentions point at people named in Text (XEP-0372 references).
	Mentions    []Mention
	ReplyTo     MessageID
	Thread      MessageID
	Attachments []Attachment
	// Historical marks catch-up after downtime: delivered with a delay.
	Historical bool
	// Origin is the OutgoingMessage.Origin the message was sent with
	// through a gateway, when the network gives it back: with FromSelf,
	// the message is the copy of one the user sent from XMPP.
	Origin string
}

// EditEvent replaces the text of message ID.
type EditEvent struct {
	Chat     ChatRef
	Sender   UserID
	FromSelf bool
	ID       MessageID
	Text     string
	Mentions []Mention
	Time     time.Time
}

// Mention marks where Text names a person: Begin and End are offsets in
// Unicode code points, End exclusive, as XEP-0372 counts them.
type Mention struct {
	User       UserID
	Begin, End int
}

// RetractionEvent removes message ID.
type RetractionEvent struct {
	Chat     ChatRef
	Sender   UserID
	FromSelf bool
	ID       MessageID
}

// ReactionEvent carries the full current set of Sender's reactions to
// message ID (empty: all removed).
type ReactionEvent struct {
	Chat   ChatRef
	Sender UserID
	// SenderName is the reactor's display name where the transport tells
	// it (bridged channels of community rooms), "" otherwise.
	SenderName string
	FromSelf   bool
	ID         MessageID
	Emojis     []string
}

// TypingEvent is a chat state of Sender.
type TypingEvent struct {
	Chat   ChatRef
	Sender UserID
	State  TypingState
}

// DeliveryState is what became of a message the user sent, after the
// network accepted it. The bridge sends the XEP-0184 receipt when Send
// returns, or, for a transport that declares Capabilities.DeliveryReports,
// on Delivered (delivery.go).
type DeliveryState int

// Delivery states.
const (
	// Delivered: the message reached the peer (XEP-0184 received).
	Delivered DeliveryState = iota
	// Read: the peer saw it (XEP-0333 displayed).
	Read
	// Failed: the network gave up on a message it had accepted (an SMS
	// delivery report, a message removed by moderation); Reason says why.
	// The user gets a stanza error on the message.
	Failed
)

// DeliveryEvent reports the state of message ID that the user sent.
type DeliveryEvent struct {
	Chat   ChatRef
	ID     MessageID
	State  DeliveryState
	Reason string // for Failed: why, fit for the user
}

// PresenceEvent is a contact's new availability.
type PresenceEvent struct {
	User     UserID
	Presence Presence
}

// ContactEvent adds or updates a contact (name, avatar, deactivation).
type ContactEvent struct {
	Contact Contact
}

// LoginState is an account's login condition.
type LoginState int

// Login states.
const (
	LoggedIn LoginState = iota
	// Connecting: the session is (re)connecting; messages are queued.
	Connecting
	// LoggedOut: the credentials stopped working (revoked, expired); the
	// user must register again. The session stays closed.
	LoggedOut
)

// LoginStateEvent reports a change of the account's login condition.
// Reason is shown to the user.
type LoginStateEvent struct {
	State  LoginState
	Reason string
}

// GroupEvent adds or updates a group the account is in (its name, topic).
type GroupEvent struct {
	Group GroupInfo
	// Left is set when the account left the group or it was deleted.
	Left bool
}

// MemberEvent is a person joining or leaving a group, or changing nick or
// role.
type MemberEvent struct {
	Chat   ChatID
	Member GroupMember
	Left   bool
}

// TopicEvent is a group's new topic, set by By.
type TopicEvent struct {
	Chat  ChatID
	Topic string
	By    UserID
}

// UnknownEvent is a remote event the transport does not map.
type UnknownEvent struct {
	Kind   string
	Detail string
}

func (MessageEvent) isEvent()    {}
func (EditEvent) isEvent()       {}
func (RetractionEvent) isEvent() {}
func (ReactionEvent) isEvent()   {}
func (TypingEvent) isEvent()     {}
func (DeliveryEvent) isEvent()   {}
func (PresenceEvent) isEvent()   {}
func (ContactEvent) isEvent()    {}
func (LoginStateEvent) isEvent() {}
func (UnknownEvent) isEvent()    {}
func (GroupEvent) isEvent()      {}
func (MemberEvent) isEvent()     {}
func (TopicEvent) isEvent()      {}
