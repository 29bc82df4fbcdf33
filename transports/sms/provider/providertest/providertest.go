// Package providertest is the conformance suite every provider.Provider
// passes, run against the provider's network (its fake, or a real
// gateway such as Kannel started by the test): texts both ways with their
// numbers and Unicode intact, delivery reports under Send's ID, forged
// webhooks refused before they reach the Sink. (That a failing Sink is
// never answered 2xx each provider tests on its webhook directly: how a
// service retries differs.)
//
// A provider's tests call Run with a Setup that starts the network, points
// it at the given webhook URL and returns the provider and a Network
// driving the far side. Run serves the provider's Webhook at that URL the
// way the bridge does (mounted under a prefix that is stripped).
package providertest

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/xgate-im/xgate/transports/sms/phone"
	"github.com/xgate-im/xgate/transports/sms/provider"
)

// Network is the far side of a provider: the phones and the service.
type Network interface {
	// FromPhone makes phone from text body to number to; the service
	// passes it on to the webhook.
	FromPhone(ctx context.Context, from, to phone.Number, body string) error
	// ToPhone returns the next text the service received from the
	// provider for delivery to a phone.
	ToPhone(ctx context.Context) (from, to phone.Number, body string, err error)
	// Forge sends the webhook a request the provider must refuse (a wrong
	// signature or secret) and returns the HTTP status it answered.
	Forge(ctx context.Context) (status int, err error)
}

// Setup starts the network for one test, with its callbacks going to
// hookURL (the provider's public URL), and returns the provider and the
// network's driver.
type Setup func(t *testing.T, hookURL string) (provider.Provider, Network)

// Numbers used by the suite.
const (
	Gateway phone.Number = "+15559870000" // the provider's number
	Phone   phone.Number = "+15551230000" // a phone
)

// Run runs the suite.
func Run(t *testing.T, setup Setup) {
	sink := NewSink()
	var handler http.Handler
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		h := handler
		mu.Unlock()
		if h == nil {
			http.Error(w, "not ready", http.StatusServiceUnavailable)
			return
		}
		http.StripPrefix("/hook", h).ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	p, network := setup(t, srv.URL+"/hook")
	mu.Lock()
	handler = p.Webhook(sink)
	mu.Unlock()
	caps := p.Capabilities()

	for _, body := range []string{"hello from xmpp", "Grüße, привет 😀 {€}"} {
		t.Run("to phone/"+body, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
			defer cancel()
			sent, err := p.Send(ctx, provider.Outbound{From: Gateway, To: Phone, Body: body})
			if err != nil {
				t.Fatalf("Send: %v", err)
			}
			if sent.ID == "" {
				t.Fatal("Send returned no ID")
			}
			from, to, got, err := network.ToPhone(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if from != Gateway || to != Phone || got != body {
				t.Fatalf("phone got %q from %s to %s; want %q from %s to %s", got, from, to, body, Gateway, Phone)
			}
			if caps.DeliveryReports {
				sink.waitFinal(t, ctx, sent.ID)
			}
		})
	}
	t.Run("from phone", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
		defer cancel()
		const body = "reply: ça va? 👍"
		if err := network.FromPhone(ctx, Phone, Gateway, body); err != nil {
			t.Fatal(err)
		}
		select {
		case m := <-sink.inbound:
			if m.ID == "" || m.From != Phone || m.To != Gateway || m.Body != body || m.Received.IsZero() {
				t.Fatalf("inbound %+v", m)
			}
		case <-ctx.Done():
			t.Fatal("no inbound message")
		}
	})
	t.Run("forged webhook", func(t *testing.T) {
		before := len(sink.inbound) + len(sink.reports)
		status, err := network.Forge(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if status < 400 || status > 499 {
			t.Fatalf("forged webhook answered %d, want 4xx", status)
		}
		if after := len(sink.inbound) + len(sink.reports); after != before {
			t.Fatal("a forged webhook reached the sink")
		}
	})
}

// Sink is a provider.Sink that keeps what it receives for a test to take,
// and can be told to fail as a store that is down does. The suite uses it;
// providers' own tests do too.
type Sink struct {
	mu      sync.Mutex
	fail    bool
	seen    map[provider.MessageID][]provider.Status
	inbound chan provider.Inbound
	reports chan provider.DeliveryReport
}

// NewSink returns an empty Sink holding up to 100 of each kind.
func NewSink() *Sink {
	return &Sink{inbound: make(chan provider.Inbound, 100), reports: make(chan provider.DeliveryReport, 100)}
}

// SetFail makes the Sink refuse (fail true) or keep (false) what comes.
func (s *Sink) SetFail(fail bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fail = fail
}

func (s *Sink) failing() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.fail
}

// errStoreDown is what a failing Sink answers.
var errStoreDown = errors.New("providertest: store down")

// Inbound keeps m.
func (s *Sink) Inbound(_ context.Context, m provider.Inbound) error {
	if s.failing() {
		return errStoreDown
	}
	s.inbound <- m
	return nil
}

// DeliveryReport keeps d.
func (s *Sink) DeliveryReport(_ context.Context, d provider.DeliveryReport) error {
	if s.failing() {
		return errStoreDown
	}
	s.reports <- d
	return nil
}

// Held is how many messages and reports the Sink keeps untaken.
func (s *Sink) Held() int { return len(s.inbound) + len(s.reports) }

// NextInbound returns the next message kept, failing t after timeout.
func (s *Sink) NextInbound(t testing.TB, timeout time.Duration) provider.Inbound {
	t.Helper()
	select {
	case m := <-s.inbound:
		return m
	case <-time.After(timeout):
		t.Fatal("no inbound message")
	}
	return provider.Inbound{}
}

// NextReport returns the next delivery report kept, failing t after
// timeout.
func (s *Sink) NextReport(t testing.TB, timeout time.Duration) provider.DeliveryReport {
	t.Helper()
	select {
	case d := <-s.reports:
		return d
	case <-time.After(timeout):
		t.Fatal("no delivery report")
	}
	return provider.DeliveryReport{}
}

// WaitReports waits until reports with every status in want arrived for
// id, in any order (Kannel reports a concatenated text's delivery before
// its SMSC acknowledgement), keeping the reports of other IDs for later,
// and returns all the statuses seen for id. It fails t after timeout.
func (s *Sink) WaitReports(t testing.TB, timeout time.Duration, id provider.MessageID, want ...provider.Status) []provider.Status {
	t.Helper()
	deadline := time.After(timeout)
	for {
		s.mu.Lock()
		got := slices.Clone(s.seen[id])
		s.mu.Unlock()
		if containsAll(got, want) {
			return got
		}
		select {
		case d := <-s.reports:
			s.mu.Lock()
			if s.seen == nil {
				s.seen = map[provider.MessageID][]provider.Status{}
			}
			s.seen[d.ID] = append(s.seen[d.ID], d.Status)
			s.mu.Unlock()
		case <-deadline:
			t.Fatalf("reports for %s: got %v, want %v", id, got, want)
		}
	}
}

func containsAll(got, want []provider.Status) bool {
	for _, w := range want {
		if !slices.Contains(got, w) {
			return false
		}
	}
	return true
}

// waitFinal waits for a final report for id, keeping others for later.
func (s *Sink) waitFinal(t *testing.T, ctx context.Context, id provider.MessageID) {
	t.Helper()
	for {
		s.mu.Lock()
		if s.seen == nil {
			s.seen = map[provider.MessageID][]provider.Status{}
		}
		for _, st := range s.seen[id] {
			if st.Final() {
				s.mu.Unlock()
				if st != provider.StatusDelivered {
					t.Fatalf("message %s ended %v", id, st)
				}
				return
			}
		}
		s.mu.Unlock()
		select {
		case d := <-s.reports:
			s.mu.Lock()
			s.seen[d.ID] = append(s.seen[d.ID], d.Status)
			s.mu.Unlock()
		case <-ctx.Done():
			t.Fatalf("no final report for %s", id)
		}
	}
}
