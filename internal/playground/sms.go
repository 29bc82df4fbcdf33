package playground

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/xgate-im/xgate/transports/sms/smsfake"
)

// SMS is a fake SMS provider (smsfake) as the phones of its people see
// it: texts the gateway sent to a phone through the provider, and texts
// the phone sent back (the provider's incoming-message webhooks). A
// conversation is a pair of numbers. SMS has no edits, reactions nor
// typing.
type SMS struct {
	fake *smsfake.Server
	// phones are the numbers one may act as, with their names and the
	// numbers they text with.
	phones []Phone

	mu   sync.Mutex
	seen map[string]time.Time // when each text from a phone was first seen
}

// Phone is a person's phone in the SMS playground.
type Phone struct {
	Number string   // E.164
	Name   string   // shown
	Peers  []string // the numbers (E.164) it texts with
}

var (
	_ Network = (*SMS)(nil)
	_ Limited = (*SMS)(nil)
)

// NewSMS returns the network of fake for the phones.
func NewSMS(fake *smsfake.Server, phones ...Phone) *SMS {
	return &SMS{fake: fake, phones: slices.Clone(phones), seen: map[string]time.Time{}}
}

// ID returns "sms".
func (s *SMS) ID() string { return "sms" }

// Name returns "SMS".
func (s *SMS) Name() string { return "SMS" }

// CanEdit is false: a text cannot be changed once sent.
func (s *SMS) CanEdit() bool { return false }

// CanReact is false: SMS has no reactions.
func (s *SMS) CanReact() bool { return false }

// People returns the phones one may act as.
func (s *SMS) People() []Person {
	out := make([]Person, 0, len(s.phones))
	for _, p := range s.phones {
		out = append(out, Person{ID: p.Number, Name: p.Name, Title: p.Number})
	}
	return out
}

func (s *SMS) phone(number string) (Phone, bool) {
	i := slices.IndexFunc(s.phones, func(p Phone) bool { return p.Number == number })
	if i < 0 {
		return Phone{}, false
	}
	return s.phones[i], true
}

// convID names the conversation of a phone with a peer.
func convID(phone, peer string) string { return phone + "," + peer }

// Conversations returns the phone's conversations, one per peer.
func (s *SMS) Conversations(person string) []Conversation {
	p, ok := s.phone(person)
	if !ok {
		return nil
	}
	out := make([]Conversation, 0, len(p.Peers))
	for _, peer := range p.Peers {
		out = append(out, Conversation{ID: convID(p.Number, peer), Name: peer})
	}
	return out
}

// parseConv returns the phone and the peer of a conversation.
func (s *SMS) parseConv(conv string) (Phone, string, error) {
	number, peer, ok := strings.Cut(conv, ",")
	p, known := s.phone(number)
	if !ok || !known || !slices.Contains(p.Peers, peer) {
		return Phone{}, "", ErrNotFound
	}
	return p, peer, nil
}

// Messages returns the texts between the phone and the peer, in the
// order the provider handled them.
func (s *SMS) Messages(conv string) ([]Message, error) {
	p, peer, err := s.parseConv(conv)
	if err != nil {
		return nil, err
	}
	var out []Message
	created := map[string]time.Time{}
	for _, m := range s.fake.Messages() {
		if m.From == peer && m.To == p.Number {
			out = append(out, Message{ID: m.SID, Author: peer, AuthorName: peer, Text: m.Body})
			created[m.SID] = m.Created
		}
	}
	for _, cb := range s.fake.Callbacks() {
		f := cb.Form
		if f.Get("SmsStatus") == "received" && f.Get("From") == p.Number && f.Get("To") == peer {
			out = append(out, Message{ID: f.Get("MessageSid"), Author: p.Number, AuthorName: p.Name, Text: f.Get("Body")})
		}
	}
	s.order(out, created)
	return out, nil
}

// order sorts texts by when they were made: the provider's creation time
// for texts to the phone, the time this network first saw them for texts
// from it (the provider does not date webhooks; the page watches all the
// time, so that is within moments).
func (s *SMS) order(ms []Message, created map[string]time.Time) {
	s.mu.Lock()
	for _, m := range ms {
		if _, ok := created[m.ID]; ok {
			continue
		}
		if _, ok := s.seen[m.ID]; !ok {
			s.seen[m.ID] = time.Now()
		}
		created[m.ID] = s.seen[m.ID]
	}
	s.mu.Unlock()
	slices.SortStableFunc(ms, func(a, b Message) int { return created[a.ID].Compare(created[b.ID]) })
}

// Send texts from the phone to the peer: the provider's incoming-message
// webhook, as when a person texts the gateway's number.
func (s *SMS) Send(person, conv, text string) error {
	p, peer, err := s.parseConv(conv)
	if err != nil {
		return err
	}
	if p.Number != person {
		return ErrNotAllowed
	}
	_, _, err = s.fake.SendInbound(context.Background(), smsfake.Inbound{From: p.Number, To: peer, Body: text})
	return err
}

// Edit is not possible by SMS.
func (s *SMS) Edit(_, _, _, _ string) error { return ErrNotAllowed }

// React is not possible by SMS.
func (s *SMS) React(_, _, _, _ string) error { return ErrNotAllowed }

// Changed waits until the provider sent or received another text or
// webhook than at since.
func (s *SMS) Changed(ctx context.Context, since string) (string, error) {
	now := s.state()
	if now != since {
		return now, nil
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan struct{}, 2)
	n, c := len(s.fake.Messages()), len(s.fake.Callbacks())
	go func() { _, _ = s.fake.WaitMessages(ctx, n+1); done <- struct{}{} }()
	go func() { _, _ = s.fake.WaitCallbacks(ctx, c+1); done <- struct{}{} }()
	select {
	case <-done:
	case <-ctx.Done():
		return "", ctx.Err()
	}
	return s.state(), nil
}

// state counts what the provider handled, and dates the new texts from
// the phones.
func (s *SMS) state() string {
	for _, p := range s.phones {
		for _, peer := range p.Peers {
			_, _ = s.Messages(convID(p.Number, peer))
		}
	}
	return strconv.Itoa(len(s.fake.Messages())) + "/" + strconv.Itoa(len(s.fake.Callbacks()))
}
