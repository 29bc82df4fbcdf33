package slack

import (
	"context"
	"fmt"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/xgate-im/xgate/bridge"
)

// channel is the per-conversation state of a session: the limiter in
// front of chat.postMessage, and a lock held while a change the user made
// from XMPP is in flight, so that its echo (the event Slack sends back for
// it) is recognized however early it arrives (see echoes).
type channel struct {
	lim *rate.Limiter
	mu  sync.Mutex
}

// maxChannels bounds the per-conversation states kept; idle ones (limiter
// full again) are dropped beyond it.
const maxChannels = 1024

// channel returns the state of a conversation.
func (s *Session) channel(id string) *channel {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.chans[id]
	if c != nil {
		return c
	}
	if len(s.chans) >= maxChannels {
		burst := float64(s.t.set.postBurst)
		for k, v := range s.chans {
			if v.lim.Tokens() >= burst && v.mu.TryLock() {
				v.mu.Unlock()
				delete(s.chans, k)
			}
		}
	}
	c = &channel{lim: rate.NewLimiter(rate.Limit(s.t.set.postRate), s.t.set.postBurst)}
	s.chans[id] = c
	return c
}

// waitTurn waits until the conversation's limiter allows one more post.
// When ctx would end first it returns a *bridge.RateLimitError at once, so
// that the bridge keeps the message queued and comes back in time.
func (c *channel) waitTurn(ctx context.Context) error {
	r := c.lim.Reserve()
	d := r.Delay()
	if d == 0 {
		return nil
	}
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < d {
		r.Cancel()
		return &bridge.RateLimitError{RetryAfter: d, Err: fmt.Errorf("slack: more than the configured post_rate for this conversation")}
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		r.Cancel()
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// echoKey names a change the user made from XMPP whose event Slack sends
// back: kind is "message", "edit", "delete", "react+" or "react-".
type echoKey struct{ kind, channel, ts, name string }

type echoEntry struct {
	n  int
	at time.Time
}

// echoes counts the expected echoes of a session. Guarded by Session.mu.
type echoes struct{ m map[echoKey]echoEntry }

// echoTTL is how long an expected echo is waited for.
const echoTTL = 10 * time.Minute

// expectEcho records that Slack will send an event for k.
func (s *Session) expectEcho(k echoKey) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	if len(s.echoes.m) > 256 {
		for key, e := range s.echoes.m {
			if now.Sub(e.at) > echoTTL {
				delete(s.echoes.m, key)
			}
		}
	}
	e := s.echoes.m[k]
	e.n++
	e.at = now
	s.echoes.m[k] = e
}

// takeEcho reports whether an event is the echo of a change the user made
// from XMPP, and consumes it. It first waits for any such change still in
// flight on the conversation.
func (s *Session) takeEcho(k echoKey) bool {
	c := s.channel(k.channel)
	c.mu.Lock()
	c.mu.Unlock() //nolint:staticcheck // an empty critical section: waiting for the sender is the point
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.echoes.m[k]
	if !ok || time.Since(e.at) > echoTTL {
		delete(s.echoes.m, k)
		return false
	}
	if e.n--; e.n == 0 {
		delete(s.echoes.m, k)
	} else {
		s.echoes.m[k] = e
	}
	return true
}
