package smsfake

import (
	"context"
	"fmt"
	"net/http"
	"slices"
)

// Messages returns the messages created so far, oldest first.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.messages)
}

// Callbacks returns the webhooks sent so far, oldest first.
func (s *Server) Callbacks() []Callback {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.callbacks)
}

// WaitMessages waits until at least n messages were created and returns
// them all.
func (s *Server) WaitMessages(ctx context.Context, n int) ([]Message, error) {
	return waitFor(ctx, s, func() ([]Message, bool) { return s.messages, len(s.messages) >= n })
}

// WaitCallbacks waits until at least n webhooks were sent (and answered)
// and returns them all.
func (s *Server) WaitCallbacks(ctx context.Context, n int) ([]Callback, error) {
	return waitFor(ctx, s, func() ([]Callback, bool) { return s.callbacks, len(s.callbacks) >= n })
}

// waitFor waits, without polling, until cond holds under s.mu.
func waitFor[T any](ctx context.Context, s *Server, cond func() ([]T, bool)) ([]T, error) {
	for {
		s.mu.Lock()
		got, ok := cond()
		got = slices.Clone(got)
		changed := s.changed
		s.mu.Unlock()
		if ok {
			return got, nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return got, fmt.Errorf("smsfake: waited for more than %d: %w", len(got), ctx.Err())
		}
	}
}

// inspectMessages serves GET /fake/messages: the recorded messages as
// JSON, for processes other than the test (the demo, benchmarks).
func (s *Server) inspectMessages(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.Messages())
}

// inspectInbound serves POST /fake/inbound (form From, To, Body): it sends
// that text to the InboundURL webhook and answers with the SID and the
// webhook's status.
func (s *Server) inspectInbound(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	sid, status, err := s.SendInbound(r.Context(), Inbound{From: r.PostForm.Get("From"), To: r.PostForm.Get("To"), Body: r.PostForm.Get("Body")})
	body := map[string]any{"sid": sid, "webhook_status": status}
	if err != nil {
		body["error"] = err.Error()
		writeJSON(w, http.StatusBadGateway, body)
		return
	}
	writeJSON(w, http.StatusOK, body)
}
