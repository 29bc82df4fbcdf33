package kannel

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/xgate-im/xgate/transports/sms/provider"
)

const testSecret = "0123456789abcdef-secret"

// recorder is a provider.Sink that keeps what it receives; fail makes it
// refuse (to test that the webhook then answers 5xx).
type recorder struct {
	mu      sync.Mutex
	fail    bool
	seen    map[provider.MessageID][]provider.Status
	inbound chan provider.Inbound
	reports chan provider.DeliveryReport
}

func newRecorder() *recorder {
	return &recorder{inbound: make(chan provider.Inbound, 100), reports: make(chan provider.DeliveryReport, 100)}
}

func (r *recorder) failing() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.fail
}

func (r *recorder) Inbound(_ context.Context, m provider.Inbound) error {
	if r.failing() {
		return errors.New("store down")
	}
	r.inbound <- m
	return nil
}

func (r *recorder) DeliveryReport(_ context.Context, d provider.DeliveryReport) error {
	if r.failing() {
		return errors.New("store down")
	}
	r.reports <- d
	return nil
}

func (r *recorder) nextInbound(t *testing.T) provider.Inbound {
	t.Helper()
	select {
	case m := <-r.inbound:
		return m
	case <-time.After(20 * time.Second):
		t.Fatal("no inbound message")
	}
	return provider.Inbound{}
}

// waitReports waits until reports with every status in want arrived for
// id (in any order: Kannel reports a concatenated text's delivery before
// its SMSC acknowledgement) and returns all statuses seen for it.
func (r *recorder) waitReports(t *testing.T, id provider.MessageID, want ...provider.Status) []provider.Status {
	t.Helper()
	r.mu.Lock()
	if r.seen == nil {
		r.seen = make(map[provider.MessageID][]provider.Status)
	}
	r.mu.Unlock()
	timeout := time.After(20 * time.Second)
	for {
		r.mu.Lock()
		got := append([]provider.Status(nil), r.seen[id]...)
		r.mu.Unlock()
		if containsAll(got, want) {
			return got
		}
		select {
		case d := <-r.reports:
			r.mu.Lock()
			r.seen[d.ID] = append(r.seen[d.ID], d.Status)
			r.mu.Unlock()
		case <-timeout:
			t.Fatalf("reports for %s: got %v, want %v", id, got, want)
		}
	}
}

func containsAll(got, want []provider.Status) bool {
	for _, w := range want {
		found := false
		for _, g := range got {
			found = found || g == w
		}
		if !found {
			return false
		}
	}
	return true
}

// hookServer serves p's webhook under /hook like the bridge would.
func hookServer(t *testing.T, p *Provider, sink provider.Sink) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	mux.Handle("/hook/", http.StripPrefix("/hook", p.Webhook(sink)))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}
