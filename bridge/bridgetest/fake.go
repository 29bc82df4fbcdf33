// Package bridgetest provides an in-memory network for testing the bridge:
// a Transport whose remote side is a Go API. Tests act as remote people
// (Emit), inspect what the gateway sent to the network (Sent, WaitSent),
// and inject failures (FailSends). It supports every optional capability.
//
// It is a fake of a network, not of the bridge: the bridge under test is
// real, and so are the store and the XMPP connection it runs over.
//
// All methods are safe for concurrent use.
package bridgetest

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/xgate-im/xgate/bridge"
)

// Sent is one action the gateway performed on the network.
type Sent struct {
	Account bridge.AccountID
	Kind    string // "message", "edit", "retract", "react", "typing", "read", "presence"
	Chat    bridge.ChatRef
	ID      bridge.MessageID // of the message sent, or the target
	Msg     bridge.OutgoingMessage
	Emojis  []string
	Typing  bridge.TypingState
	Pres    bridge.Presence
}

// Transport is the fake network. Tokens "good-NAME" register as account
// "acct-NAME"; "bad..." is refused with bridge.ErrAuth; "down..." fails with
// bridge.ErrTemporary (and an account stored with it keeps failing to log
// in). "multi-NAME" registers in two steps: a second form
// asks for the code Fakenet "texted", 1234, then the account is
// "acct-NAME".
type Transport struct {
	mu       sync.Mutex
	changed  chan struct{} // closed and replaced on every change
	sent     []Sent
	perKind  map[string]int
	sinks    map[bridge.AccountID]bridge.Sink
	contacts map[bridge.AccountID][]bridge.Contact
	fails    []error // errors returned by the next sends, in order
	logins   int
	seq      int
	closed   map[bridge.AccountID]int
	finds    int        // FindSent calls
	gd       *groupData // group chats, made on first use
	// Caps, when set before the gateway is created, changes the declared
	// capabilities.
	Caps func(*bridge.Capabilities)
	// ChatCaps, when set, changes what one chat can do (the session
	// implements bridge.ChatCapabilities).
	ChatCaps func(bridge.ChatRef, *bridge.Capabilities)
	// Taken, when set before the gateway is created, is called with each
	// action the network took (a message with its new ID), before the
	// call that made it returns: a test plays a network that reacts at
	// once, before the gateway heard back from its call.
	Taken func(Sent)
	// BeforeLogin, when set before the gateway starts, is called at the
	// start of every login: a test holds a login back by blocking in it.
	BeforeLogin func(bridge.AccountID)
	// BeforeMembers, when set, is called at the start of every Members
	// call: a test holds a join back by blocking in it.
	BeforeMembers func(bridge.ChatID)
}

// New returns an empty fake network.
func New() *Transport {
	return &Transport{
		changed:  make(chan struct{}),
		sinks:    map[bridge.AccountID]bridge.Sink{},
		contacts: map[bridge.AccountID][]bridge.Contact{},
		closed:   map[bridge.AccountID]int{},
		perKind:  map[string]int{},
	}
}

var _ bridge.Transport = (*Transport)(nil)

// Info implements bridge.Transport.
func (t *Transport) Info() bridge.Info {
	info := t.info()
	if t.Caps != nil {
		t.Caps(&info.Capabilities)
	}
	return info
}

func (t *Transport) info() bridge.Info {
	return bridge.Info{
		Network:     "fake",
		Name:        "Fakenet",
		Description: "An in-memory network for tests",
		Capabilities: bridge.Capabilities{
			Edits: true, Retractions: true, Reactions: true, Replies: true, Threads: true,
			Typing: true, ReadMarkers: true, Presence: true, SetPresence: true, Avatars: true,
		},
		Registration: bridge.RegistrationForm{
			Instructions: "Enter your Fakenet token.",
			Fields:       []bridge.Field{{Var: "token", Label: "Token", Type: bridge.FieldPassword, Required: true, Secret: true}},
		},
		ContactPrompt: "Fakenet user",
		ContactDesc:   "Enter the name of a Fakenet user.",
	}
}

// Register implements bridge.Transport.
func (t *Transport) Register(_ context.Context, values map[string]string) (bridge.AccountData, error) {
	tok := values["token"]
	switch {
	case strings.HasPrefix(tok, "good-"):
		name := strings.TrimPrefix(tok, "good-")
		return bridge.AccountData{
			ID:      bridge.AccountID("acct-" + name),
			Name:    name + " on Fakenet",
			Secrets: map[string]string{"token": tok},
		}, nil
	case strings.HasPrefix(tok, "down"):
		return bridge.AccountData{}, fmt.Errorf("fakenet unreachable: %w", bridge.ErrTemporary)
	}
	return bridge.AccountData{}, fmt.Errorf("invalid token: %w", bridge.ErrAuth)
}

// MultiStepCode is the code the second step of a "multi-" registration
// wants.
const MultiStepCode = "1234"

var _ bridge.MultiStepRegistrar = (*Transport)(nil)

// RegisterStep implements bridge.MultiStepRegistrar.
func (t *Transport) RegisterStep(ctx context.Context, values map[string]string) (bridge.AccountData, *bridge.RegistrationForm, error) {
	tok := values["token"]
	name, multi := strings.CutPrefix(tok, "multi-")
	if !multi {
		data, err := t.Register(ctx, values)
		return data, nil, err
	}
	switch values["code"] {
	case "":
		return bridge.AccountData{}, &bridge.RegistrationForm{
			Title:        "Confirm your Fakenet account",
			Instructions: "Enter the code Fakenet sent you.",
			Fields:       []bridge.Field{{Var: "code", Label: "Code", Type: bridge.FieldText, Required: true}},
		}, nil
	case MultiStepCode:
		return bridge.AccountData{
			ID: bridge.AccountID("acct-" + name), Name: name + " on Fakenet",
			Secrets: map[string]string{"token": "good-" + name},
		}, nil, nil
	}
	return bridge.AccountData{}, nil, fmt.Errorf("wrong code: %w", bridge.ErrAuth)
}

// Login implements bridge.Transport.
func (t *Transport) Login(_ context.Context, acct bridge.AccountData, sink bridge.Sink) (bridge.Session, error) {
	if t.BeforeLogin != nil {
		t.BeforeLogin(acct.ID)
	}
	if acct.Secrets["token"] == "" || strings.HasPrefix(acct.Secrets["token"], "bad") {
		return nil, fmt.Errorf("token refused: %w", bridge.ErrAuth)
	}
	if strings.HasPrefix(acct.Secrets["token"], "down") {
		return nil, fmt.Errorf("fakenet unreachable: %w", bridge.ErrTemporary)
	}
	t.mu.Lock()
	t.sinks[acct.ID] = sink
	t.logins++
	t.notifyLocked()
	t.mu.Unlock()
	return &session{t: t, id: acct.ID, sink: sink}, nil
}

// ContactLocalpart implements bridge.Transport.
func (t *Transport) ContactLocalpart(id bridge.UserID) string { return string(id) }

func (t *Transport) notifyLocked() {
	close(t.changed)
	t.changed = make(chan struct{})
}

// wait blocks until cond holds (checked under the lock) or ctx ends.
func (t *Transport) wait(ctx context.Context, cond func() bool) error {
	for {
		t.mu.Lock()
		ok := cond()
		ch := t.changed
		t.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// WaitLogin waits until the account has a live session.
func (t *Transport) WaitLogin(ctx context.Context, acct bridge.AccountID) error {
	err := t.wait(ctx, func() bool { return t.sinks[acct] != nil })
	if err != nil {
		return fmt.Errorf("bridgetest: %s never logged in: %w", acct, err)
	}
	return nil
}

// Emit sends an event from the network to the account's session.
func (t *Transport) Emit(ctx context.Context, acct bridge.AccountID, ev bridge.Event) error {
	t.mu.Lock()
	sink := t.sinks[acct]
	t.mu.Unlock()
	if sink == nil {
		return fmt.Errorf("bridgetest: %s is not logged in", acct)
	}
	return sink.Emit(ctx, ev)
}

// SetContacts sets what Contacts returns for an account.
func (t *Transport) SetContacts(acct bridge.AccountID, cs ...bridge.Contact) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.contacts[acct] = cs
}

// FailSends makes the next sends fail with errs, in order.
func (t *Transport) FailSends(errs ...error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.fails = append(t.fails, errs...)
}

// ErrAnswerLost, given to FailSends, makes a message taken by the network
// while its send still fails (with bridge.ErrTemporary), as when a
// connection drops after the network took the request.
var ErrAnswerLost = fmt.Errorf("bridgetest: connection lost after the network took the message: %w", bridge.ErrTemporary)

// FindCalls returns how many times a session looked for messages it sent
// (bridge.SentFinder).
func (t *Transport) FindCalls() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.finds
}

// ClearFailures forgets the failures FailSends scheduled and wakes the
// waiting.
func (t *Transport) ClearFailures() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.fails = nil
	t.notifyLocked()
}

// Sent returns a copy of everything sent so far.
func (t *Transport) Sent() []Sent {
	t.mu.Lock()
	defer t.mu.Unlock()
	return slices.Clone(t.sent)
}

// WaitSent waits until at least n actions were sent and returns them.
func (t *Transport) WaitSent(ctx context.Context, n int) ([]Sent, error) {
	err := t.wait(ctx, func() bool { return len(t.sent) >= n })
	s := t.Sent()
	if err != nil {
		return s, fmt.Errorf("bridgetest: %d of %d sends: %w", len(s), n, err)
	}
	return s, nil
}

// WaitSentKind waits until at least n actions of one kind ("message",
// "edit", ...) were sent and returns those.
func (t *Transport) WaitSentKind(ctx context.Context, kind string, n int) ([]Sent, error) {
	of := func() []Sent {
		var out []Sent
		for _, s := range t.sent {
			if s.Kind == kind {
				out = append(out, s)
			}
		}
		return out
	}
	err := t.wait(ctx, func() bool { return t.perKind[kind] >= n })
	t.mu.Lock()
	s := of()
	t.mu.Unlock()
	if err != nil {
		return s, fmt.Errorf("bridgetest: %d of %d %s sends: %w", len(s), n, kind, err)
	}
	return s, nil
}

// Closed reports how often the account's sessions were closed.
func (t *Transport) Closed(acct bridge.AccountID) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.closed[acct]
}

func (t *Transport) record(s Sent) (id bridge.MessageID, failed error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.fails) > 0 && (s.Kind != "typing" && s.Kind != "read" && s.Kind != "presence") {
		err := t.fails[0]
		t.fails = t.fails[1:]
		t.notifyLocked()
		if err != nil {
			if s.Kind != "message" || !errors.Is(err, ErrAnswerLost) {
				return "", err
			}
			defer func() { id, failed = "", err }() // taken, and yet failed
		}
	}
	if s.Kind == "message" {
		t.seq++
		s.ID = bridge.MessageID("m" + strconv.Itoa(t.seq))
	}
	t.sent = append(t.sent, s)
	t.perKind[s.Kind]++
	t.notifyLocked()
	if t.Taken != nil {
		t.mu.Unlock()
		t.Taken(s)
		t.mu.Lock()
	}
	return s.ID, nil
}

// session is one logged-in fake account.
type session struct {
	t    *Transport
	id   bridge.AccountID
	sink bridge.Sink
}

var (
	_ bridge.Editor           = (*session)(nil)
	_ bridge.Retractor        = (*session)(nil)
	_ bridge.Reactor          = (*session)(nil)
	_ bridge.Typer            = (*session)(nil)
	_ bridge.ReadMarker       = (*session)(nil)
	_ bridge.PresenceSetter   = (*session)(nil)
	_ bridge.ContactResolver  = (*session)(nil)
	_ bridge.Profiler         = (*session)(nil)
	_ bridge.ChatCapabilities = (*session)(nil)
)

func (s *session) ChatCapabilities(_ context.Context, chat bridge.ChatRef) (bridge.Capabilities, error) {
	c := s.t.Info().Capabilities
	if s.t.ChatCaps != nil {
		s.t.ChatCaps(chat, &c)
	}
	return c, nil
}

// AvatarPNG is the avatar every fake contact has.
var AvatarPNG = []byte("\x89PNG\r\n\x1a\nfake-avatar")

func (s *session) Profile(_ context.Context, id bridge.UserID) (bridge.Profile, error) {
	s.t.mu.Lock()
	defer s.t.mu.Unlock()
	for _, c := range s.t.contacts[s.id] {
		if c.ID == id {
			return bridge.Profile{Name: c.Name, Nick: c.Name, Avatar: AvatarPNG, AvatarType: "image/png"}, nil
		}
	}
	return bridge.Profile{}, fmt.Errorf("user %s: %w", id, bridge.ErrNotFound)
}

func (s *session) Send(_ context.Context, chat bridge.ChatRef, msg bridge.OutgoingMessage) (bridge.MessageID, error) {
	if chat.Peer == "nobody" {
		return "", fmt.Errorf("user nobody: %w", bridge.ErrNotFound)
	}
	return s.t.record(Sent{Account: s.id, Kind: "message", Chat: chat, Msg: msg})
}

var _ bridge.SentFinder = (*session)(nil)

// FindSent implements bridge.SentFinder: the account's messages in chat
// that were sent with one of origins (the fake keeps every message, so
// since is not needed).
func (s *session) FindSent(_ context.Context, chat bridge.ChatRef, _ time.Time, origins []string) (map[string]bridge.MessageID, error) {
	s.t.mu.Lock()
	defer s.t.mu.Unlock()
	s.t.finds++
	found := map[string]bridge.MessageID{}
	for _, x := range s.t.sent {
		if x.Kind == "message" && x.Account == s.id && x.Chat == chat && x.Msg.Origin != "" && slices.Contains(origins, x.Msg.Origin) {
			found[x.Msg.Origin] = x.ID
		}
	}
	return found, nil
}

func (s *session) Contacts(context.Context) ([]bridge.Contact, error) {
	s.t.mu.Lock()
	defer s.t.mu.Unlock()
	return slices.Clone(s.t.contacts[s.id]), nil
}

func (s *session) Close() error {
	s.t.mu.Lock()
	defer s.t.mu.Unlock()
	s.t.closed[s.id]++
	if s.t.sinks[s.id] == s.sink {
		delete(s.t.sinks, s.id) // a newer session of the account keeps its own
	}
	s.t.notifyLocked()
	return nil
}

func (s *session) Edit(_ context.Context, chat bridge.ChatRef, id bridge.MessageID, msg bridge.OutgoingMessage) error {
	_, err := s.t.record(Sent{Account: s.id, Kind: "edit", Chat: chat, ID: id, Msg: msg})
	return err
}

func (s *session) Retract(_ context.Context, chat bridge.ChatRef, id bridge.MessageID) error {
	_, err := s.t.record(Sent{Account: s.id, Kind: "retract", Chat: chat, ID: id})
	return err
}

func (s *session) React(_ context.Context, chat bridge.ChatRef, id bridge.MessageID, emojis []string) error {
	_, err := s.t.record(Sent{Account: s.id, Kind: "react", Chat: chat, ID: id, Emojis: emojis})
	return err
}

func (s *session) Typing(_ context.Context, chat bridge.ChatRef, st bridge.TypingState) error {
	_, err := s.t.record(Sent{Account: s.id, Kind: "typing", Chat: chat, Typing: st})
	return err
}

func (s *session) MarkRead(_ context.Context, chat bridge.ChatRef, id bridge.MessageID) error {
	_, err := s.t.record(Sent{Account: s.id, Kind: "read", Chat: chat, ID: id})
	return err
}

func (s *session) SetPresence(_ context.Context, p bridge.Presence) error {
	_, err := s.t.record(Sent{Account: s.id, Kind: "presence", Pres: p})
	return err
}

func (s *session) ResolveContact(_ context.Context, input string) (bridge.Contact, error) {
	name := strings.ToLower(strings.TrimSpace(input))
	if name == "" || strings.ContainsAny(name, " @") {
		return bridge.Contact{}, fmt.Errorf("%q is not a Fakenet user name: %w", input, bridge.ErrInvalidInput)
	}
	return bridge.Contact{ID: bridge.UserID(name), Name: input}, nil
}

// Accounts returns the IDs of the accounts with a live session.
func (t *Transport) Accounts() []bridge.AccountID {
	t.mu.Lock()
	defer t.mu.Unlock()
	ids := slices.Collect(maps.Keys(t.sinks))
	slices.Sort(ids)
	return ids
}
