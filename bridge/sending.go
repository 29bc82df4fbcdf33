package bridge

import (
	"context"
	"sync"
)

// sendsInFlight tracks, by message-ID scope, the messages being sent to the
// network whose XMPP↔remote ID pair is not stored yet. An event from the
// network that names a message of the chat the gateway does not know (a
// reaction right after the message was posted) waits for them, so that it
// names the message by the user's XMPP id rather than by its remote ID.
type sendsInFlight struct {
	mu sync.Mutex
	m  map[string]chan struct{} // closed when the send and its pair are done
}

func newSendsInFlight() *sendsInFlight { return &sendsInFlight{m: map[string]chan struct{}{}} }

// begin marks a send in scope; the returned func ends it. A chat's queue
// begins its sends in order and ends them in order, once their pairs are
// stored (several may be under way, see toNetwork), so waiting for the
// latest one waits for all of them.
func (s *sendsInFlight) begin(scope string) func() {
	ch := make(chan struct{})
	s.mu.Lock()
	s.m[scope] = ch
	s.mu.Unlock()
	return func() {
		s.mu.Lock()
		if s.m[scope] == ch {
			delete(s.m, scope)
		}
		s.mu.Unlock()
		close(ch)
	}
}

// wait waits for the send in progress in scope, if any, and reports
// whether there was one.
func (s *sendsInFlight) wait(ctx context.Context, scope string) bool {
	s.mu.Lock()
	ch := s.m[scope]
	s.mu.Unlock()
	if ch == nil {
		return false
	}
	select {
	case <-ch:
		return true
	case <-ctx.Done():
		return false
	}
}
