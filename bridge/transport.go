package bridge

import (
	"context"
	"time"
)

// AccountID identifies a remote account within one transport instance, for
// example a Slack workspace membership "T0123.U0456". Only the transport
// that made it parses it.
type AccountID string

// UserID identifies a remote person (a contact) within one transport
// instance. It must be unique across all accounts of the instance (a Slack
// user ID carries its team, a phone number is global). Opaque to the bridge.
type UserID string

// ChatID identifies a remote conversation (a Slack channel or DM, a Discord
// channel, an SMS thread). Opaque to the bridge.
type ChatID string

// MessageID identifies a remote message within its chat. Opaque to the
// bridge.
type MessageID string

// ChatKind says what a conversation is on the XMPP side.
type ChatKind int

// Chat kinds.
const (
	// Direct is a one-to-one conversation with Peer: its messages come
	// from the peer's contact JID.
	Direct ChatKind = iota
	// Group is a multi-party conversation: a MUC room on the XMPP side.
	Group
)

// ChatRef names a conversation. For a Direct chat Peer is always set and ID
// may be empty when the bridge addresses a contact the transport has no
// conversation with yet; the transport opens one. A Group chat is named by
// ID, and by Parent when it lives inside another (a thread in its channel,
// a Discord channel in its guild).
type ChatRef struct {
	Kind   ChatKind
	ID     ChatID
	Peer   UserID
	Parent ChatID
}

// Info describes a transport: what the network is called, what it can do,
// and what it asks of a user who registers.
type Info struct {
	// Network is the short lowercase network name ("slack").
	Network string
	// Name is the network's display name ("Slack").
	Name string
	// Description is one sentence for disco and help texts.
	Description string
	// Capabilities are the features the network supports.
	Capabilities Capabilities
	// Registration is the form a user fills in to add an account.
	Registration RegistrationForm
	// ContactPrompt, when set, enables XEP-0100 jabber:iq:gateway: it is
	// the prompt for a remote address ("Phone number", "Slack user ID")
	// that the transport's ContactResolver turns into a contact.
	ContactPrompt string
	// ContactDesc is the longer explanation shown with ContactPrompt.
	ContactDesc string
}

// Capabilities are declared as data, never inferred from a network name.
// The optional interfaces a Session implements must agree with them.
type Capabilities struct {
	Edits       bool // Editor
	Retractions bool // Retractor
	Reactions   bool // Reactor
	Replies     bool // replies to a message (OutgoingMessage.ReplyTo)
	Threads     bool // threads (OutgoingMessage.Thread)
	Typing      bool // Typer, and Typing events
	ReadMarkers bool // ReadMarker, and displayed markers
	Presence    bool // contacts' presence (PresenceUpdate events)
	SetPresence bool // PresenceSetter: the user's XMPP presence goes to the network
	Attachments bool // files both ways
	Avatars     bool // contact avatars
	// DeliveryReports: the network reports what became of a message
	// after accepting it (DeliveryEvent Delivered or Failed, e.g. SMS
	// delivery reports). The XEP-0184 receipt then waits for Delivered,
	// and a late failure is addressed to the client that sent the
	// message (delivery.go). Without it the receipt is sent on acceptance.
	DeliveryReports bool
	// Groups: group chats (GroupLister and the other group interfaces),
	// for the bridge's room side.
	Groups bool
	// StableTimes: every delivery of a message carries the same
	// MessageEvent.Time, the network's own timestamp of it (not the time
	// it was received). The bridge then tells a new message from one it
	// delivered before by its time, without reading the store (dedupe.go).
	StableTimes bool
	// MaxMessageLength is the longest text the network accepts in one
	// message, in runes; 0 means no limit. Longer texts are split.
	MaxMessageLength int
}

// FieldType is the kind of a registration field (the XEP-0004 types a
// registration form needs).
type FieldType string

// Registration field types.
const (
	FieldText     FieldType = "text-single"
	FieldPassword FieldType = "text-private"
	FieldBoolean  FieldType = "boolean"
	FieldList     FieldType = "list-single"
	FieldFixed    FieldType = "fixed"
)

// Field is one input of a registration form.
type Field struct {
	Var      string
	Label    string
	Desc     string
	Type     FieldType
	Required bool
	// Secret fields are stored encrypted and never logged. Password fields
	// are always secret.
	Secret  bool
	Default string
	Options []Option
}

// Option is a choice of a list field.
type Option struct{ Label, Value string }

// RegistrationForm is what a user fills in to register an account.
type RegistrationForm struct {
	Title        string
	Instructions string
	Fields       []Field
}

// AccountData is what the bridge stores for one remote account and hands
// back to the transport at login. Secrets are encrypted at rest and never
// logged.
type AccountData struct {
	ID       AccountID
	Name     string // for people: "alice in Acme (acme.slack.com)"
	Settings map[string]string
	Secrets  map[string]string
}

// LogValue keeps secrets out of logs.
func (a AccountData) LogValue() any {
	return struct {
		ID   AccountID
		Name string
	}{a.ID, a.Name}
}

// Transport adapts one remote network. One value serves one configured
// instance (one component domain) and all its users' accounts.
//
// Constructors do no network I/O. A transport that needs shared background
// work (one Socket Mode connection for every account, a webhook listener)
// also implements Runner; the bridge runs it for the gateway's lifetime.
type Transport interface {
	// Info describes the network. It is called often and must be cheap.
	Info() Info
	// Register checks the values of a submitted registration form (network
	// I/O allowed, e.g. validating a token) and returns the account to
	// store. A credential problem wraps ErrAuth; a reason fit for the user
	// goes in the error text.
	Register(ctx context.Context, values map[string]string) (AccountData, error)
	// Login starts a session for a stored account. Events for it go to
	// sink until Close. A credential problem wraps ErrAuth.
	Login(ctx context.Context, acct AccountData, sink Sink) (Session, error)
	// ContactLocalpart proposes the JID localpart of a contact, before
	// XEP-0106 escaping. It must be stable and, case-folded, still unique
	// per user ID; the bridge remembers the mapping.
	ContactLocalpart(id UserID) string
}

// MultiStepRegistrar is implemented by transports whose registration takes
// more than one form (a phone number, then the code the network texted to
// it). The bridge calls RegisterStep instead of Register with every value
// submitted so far; it returns the next form to fill in, or the account
// when the network has all it needs. Errors are those of Register.
type MultiStepRegistrar interface {
	RegisterStep(ctx context.Context, values map[string]string) (AccountData, *RegistrationForm, error)
}

// Runner is implemented by transports with background work of their own.
type Runner interface {
	// Run blocks until ctx is done or the work fails for good.
	Run(ctx context.Context) error
}

// Session is one logged-in remote account.
//
// Methods are called from several goroutines, but the bridge never calls
// Send (or Edit, Retract, React) for the same chat concurrently: it keeps
// one ordered queue per chat.
type Session interface {
	// Send delivers a message and returns its remote ID. Errors are
	// classified with the sentinels of this package: a RateLimitError or
	// ErrTemporary is retried; ErrNotFound, ErrForbidden, ErrUnsupported and
	// anything else bounce to the sender.
	Send(ctx context.Context, chat ChatRef, msg OutgoingMessage) (MessageID, error)
	// Contacts lists the people the account can talk to, for the roster.
	Contacts(ctx context.Context) ([]Contact, error)
	// Close ends the session; no events are emitted after it returns.
	Close() error
}

// Editor is implemented by sessions that can correct a sent message
// (XEP-0308).
type Editor interface {
	Edit(ctx context.Context, chat ChatRef, id MessageID, msg OutgoingMessage) error
}

// Retractor is implemented by sessions that can delete a sent message
// (XEP-0424).
type Retractor interface {
	Retract(ctx context.Context, chat ChatRef, id MessageID) error
}

// Reactor is implemented by sessions that can react to messages (XEP-0444).
// emojis is the user's complete new set of reactions on the message, as in
// XEP-0444: the transport adds and removes to match.
type Reactor interface {
	React(ctx context.Context, chat ChatRef, id MessageID, emojis []string) error
}

// ChatCapabilities is implemented by sessions whose chats differ in what
// they can do (an SMS thread with a landline, a read-only channel, a chat
// whose network member cannot receive reactions). The bridge asks it
// before it corrects, retracts or reacts in a chat, and refuses what the
// chat cannot do with feature-not-implemented. Without it every chat can
// do what Info's Capabilities say.
type ChatCapabilities interface {
	ChatCapabilities(ctx context.Context, chat ChatRef) (Capabilities, error)
}

// Typer is implemented by sessions that can show typing (XEP-0085).
type Typer interface {
	Typing(ctx context.Context, chat ChatRef, state TypingState) error
}

// ReadMarker is implemented by sessions that can mark a chat read up to a
// message (XEP-0333 displayed).
type ReadMarker interface {
	MarkRead(ctx context.Context, chat ChatRef, id MessageID) error
}

// PresenceSetter is implemented by sessions that can publish the user's
// own presence and status on the network.
type PresenceSetter interface {
	SetPresence(ctx context.Context, p Presence) error
}

// ContactResolver is implemented by sessions that turn what a user typed
// (a phone number, a user name) into a contact, for XEP-0100.
type ContactResolver interface {
	ResolveContact(ctx context.Context, input string) (Contact, error)
}

// Profiler is implemented by sessions that can describe a contact in
// detail, for XEP-0054 vCards and XEP-0153 avatars.
type Profiler interface {
	Profile(ctx context.Context, id UserID) (Profile, error)
}

// Profile is what a network knows about a person.
type Profile struct {
	Name  string // full name
	Nick  string // display name
	Email string
	Phone string
	Title string
	URL   string
	// Avatar is the picture's content and AvatarType its MIME type; empty
	// when the person has none.
	Avatar     []byte
	AvatarType string
}

// Group chats (XEP-0045 rooms on the XMPP side) and community bridging.
//
// These interfaces are the contract for remote channels shown as rooms
// (the bridge's rooms*.go) and for bridged channels (bridge/community).

// GroupInfo describes a remote multi-party conversation.
type GroupInfo struct {
	ID ChatID
	// Parent is the group this one lives in, as in ChatRef.Parent (a
	// Discord channel's guild, a thread's channel); "" if none.
	Parent ChatID
	// ParentName is how the parent is shown (a Discord guild's name), or
	// "" when unknown; disco#items names the parent's node with it.
	ParentName string
	// Name is how the room is shown (its disco and room name). Unless
	// Handle is set it also makes the room JID, on first sight.
	Name string
	// Handle is the network's own name of the group when Name is made up
	// by the transport for display (a Slack group DM, named "mpdm-…" by
	// Slack and by its members' names here): the room JID is made from it
	// instead, so that it stays what the network's name gives. "" if Name
	// is the network's.
	Handle  string
	Topic   string
	Private bool
	// Members is the number of members, when known (0 otherwise).
	Members int
}

// Role is a member's standing in a group.
type Role int

// Roles, from least to most privileged.
const (
	RoleMember Role = iota
	RoleModerator
	RoleAdmin
	RoleOwner
)

// GroupMember is one person in a group.
type GroupMember struct {
	User UserID
	Nick string
	Role Role
	// Self marks the account's own member.
	Self bool
}

// GroupLister is implemented by sessions with group chats: it lists the
// groups the account is in, for room discovery (disco#items).
type GroupLister interface {
	Groups(ctx context.Context) ([]GroupInfo, error)
}

// GroupMembers is implemented by sessions that can list a group's members
// (the occupants of its room). The account's own member is marked Self
// (a member whose UserID equals the AccountID counts as marked): that
// member is the XMPP user, not another occupant, and mentions of it and
// messages from it appear under the user's own nick.
type GroupMembers interface {
	Members(ctx context.Context, chat ChatID) ([]GroupMember, error)
}

// GroupJoiner is implemented by sessions that can join and leave groups
// on the network. The room side calls JoinGroup when the user's client
// joins a room whose group none of the user's accounts lists (a public
// channel they are not in: afterwards the group must be in the account's
// GroupLister list, or the join is refused), and on the join of the
// user's first resource into the room of a group listed under another of
// the account's groups (a thread under its channel, which membership
// makes the account follow). JoinGroup succeeds without doing anything
// for a group the account is in already, and returns an error wrapping
// ErrNotFound for a group the account cannot see. The room side never
// calls LeaveGroup: leaving a room is not leaving the group (bridge's
// rooms_join.go says why).
type GroupJoiner interface {
	JoinGroup(ctx context.Context, chat ChatID) error
	LeaveGroup(ctx context.Context, chat ChatID) error
}

// TopicSetter is implemented by sessions that can change a group's topic
// (the room subject).
type TopicSetter interface {
	SetTopic(ctx context.Context, chat ChatID, topic string) error
}

// HistoryFetcher is implemented by sessions that can read past messages of
// a chat: for catch-up after downtime (no silent gaps) and for room
// history. It returns up to limit messages older than before ("" for the
// newest), oldest first, with Historical set.
type HistoryFetcher interface {
	History(ctx context.Context, chat ChatRef, before MessageID, limit int) ([]MessageEvent, error)
}

// SentFinder is implemented by sessions whose network keeps, with each
// message, the Origin it was sent with (OutgoingMessage.Origin; Slack
// keeps it in message metadata) and can search for it. FindSent returns
// the remote IDs of the account's messages in chat, posted since since,
// whose Origin is one of origins; origins not found are left out.
//
// A chat's queue uses it to find, after a crash or a send that failed
// without an answer, the messages already sent whose completion was not
// recorded, instead of sending them again. Because of it the queue of a
// session that implements it sends the next message while the previous
// one's completion is being committed (group commits, see to_network.go);
// other sessions' queues wait for each commit.
type SentFinder interface {
	FindSent(ctx context.Context, chat ChatRef, since time.Time, origins []string) (map[string]MessageID, error)
}

// Relay is implemented by sessions that can post on behalf of someone else
// with their own name and picture (Slack chat:write.customize, Discord
// webhooks): community bridging shows XMPP occupants on the network as
// themselves rather than as a bot with "[nick]" prefixes. The message's
// SenderName and SenderAvatarURL say who.
type Relay interface {
	SendAs(ctx context.Context, chat ChatRef, msg OutgoingMessage) (MessageID, error)
}

// OutgoingMessage is a message from the XMPP user to the network. Text uses
// XEP-0393 styling; the transport converts it to the network's markup.
type OutgoingMessage struct {
	Text        string
	ReplyTo     MessageID // replied-to message, "" if none
	Thread      MessageID // thread root, "" if none
	Attachments []Attachment
	// SenderName is set when relaying on behalf of someone else (bridged
	// rooms): the network shows the message under that name if it can.
	SenderName      string
	SenderAvatarURL string
	// Origin names the message for the gateway that sends it: an opaque
	// string that a network able to (SentFinder) keeps with the message
	// and gives back with the copy it sends of it (MessageEvent.Origin).
	// "" when the gateway asks for none.
	Origin string
}

// Attachment is a file carried by URL.
type Attachment struct {
	URL  string
	Name string
	MIME string
	Size int64
	// FetchURL, when set on an incoming file, is where the bridge
	// downloads it to re-host it (FileSource) when that is not URL: Slack's
	// url_private, which needs the session's token, while URL is the
	// permalink a person can open in a browser.
	FetchURL string
}

// Contact is a remote person as the roster shows them.
type Contact struct {
	ID          UserID
	Name        string // display name, used as roster name and XEP-0172 nick
	AvatarURL   string
	Bot         bool
	Deactivated bool
	Groups      []string
}

// Show is a presence availability.
type Show int

// Availabilities. The zero value is offline.
const (
	ShowOffline Show = iota
	ShowChat
	ShowAvailable
	ShowAway
	ShowXA
	ShowDND
)

// Presence is a person's availability and status message.
type Presence struct {
	Show   Show
	Status string
	// Since is when the person was last active, if known.
	Since time.Time
}

// TypingState is a XEP-0085 chat state.
type TypingState int

// Chat states that travel to networks.
const (
	TypingActive TypingState = iota
	TypingComposing
	TypingPaused
	TypingInactive
	TypingGone
)
