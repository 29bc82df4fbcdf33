package sms

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/xgate-im/xgate/bridge"
	"github.com/xgate-im/xgate/transports/sms/phone"
	"github.com/xgate-im/xgate/transports/sms/provider"
)

// session is one provider number of one user.
type session struct {
	t        *Transport
	acct     bridge.AccountID
	number   phone.Number
	prov     provider.Provider
	caps     provider.Capabilities
	sink     bridge.Sink
	hook     string // own-credential accounts' webhook path
	contacts []phone.Number
	closed   atomic.Bool

	mu   sync.Mutex
	seen map[phone.Number]bool // numbers that texted this session
}

var _ bridge.Session = (*session)(nil)

// Contacts lists the configured contacts and the numbers that texted
// since login, as the roster.
func (s *session) Contacts(context.Context) ([]bridge.Contact, error) {
	nums := slices.Clone(s.contacts)
	s.mu.Lock()
	for n := range s.seen {
		if !slices.Contains(nums, n) {
			nums = append(nums, n)
		}
	}
	s.mu.Unlock()
	out := make([]bridge.Contact, 0, len(nums))
	for _, n := range nums {
		out = append(out, bridge.Contact{ID: bridge.UserID(n), Name: n.String()})
	}
	return out, nil
}

// Close detaches the session; no events are emitted after it returns.
func (s *session) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	s.t.fan.Detach(s.acct, s)
	if s.hook != "" {
		s.t.hmu.Lock()
		delete(s.t.hooks, s.hook)
		s.t.hmu.Unlock()
	}
	return nil
}

// ResolveContact turns a typed number into its contact (XEP-0100).
func (s *session) ResolveContact(ctx context.Context, input string) (bridge.Contact, error) {
	return s.t.ResolveContact(ctx, input)
}

// note remembers a number that texted, for Contacts.
func (s *session) note(n phone.Number) {
	s.mu.Lock()
	s.seen[n] = true
	s.mu.Unlock()
}

// peerOf reads a chat's phone number.
func peerOf(chat bridge.ChatRef) (phone.Number, error) {
	if chat.Kind != bridge.Direct {
		return "", fmt.Errorf("%w: SMS has no group chats", bridge.ErrUnsupported)
	}
	n, err := phone.ParseLocalpart(string(chat.Peer))
	if err != nil {
		return "", fmt.Errorf("%w: %v", bridge.ErrNotFound, err)
	}
	return n, nil
}
