package slack

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/xgate-im/xgate/kit/ratelimit"
)

// The per-conversation limiter in front of chat.postMessage (post_rate,
// post_burst) is a kit/ratelimit.Limiter keyed by conversation ID
// (Session.posts): at most maxChannels buckets, those full again forgotten
// first; a new conversation while maxChannels are busy waits, as a
// *bridge.RateLimitError, for the first to refill.

// channel is the per-conversation lock held while a change the user made
// from XMPP is in flight, so that its echo (the event Slack sends back for
// it) is recognized however early it arrives (see echoes).
type channel struct {
	mu sync.Mutex
}

// maxChannels bounds the conversations whose limiter and lock are kept;
// beyond it, idle ones are forgotten.
const maxChannels = 1024

// newPostLimiter returns the per-conversation limiter of chat.postMessage.
func newPostLimiter(set settings) *ratelimit.Limiter[string] {
	return ratelimit.New[string](ratelimit.Rate{PerSecond: set.postRate, Burst: set.postBurst}, maxChannels)
}

// channel returns the lock of a conversation. Beyond maxChannels, the
// locks nobody holds are forgotten (a forgotten one is a fresh mutex).
func (s *Session) channel(id string) *channel {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.chans[id]
	if c != nil {
		return c
	}
	if len(s.chans) >= maxChannels {
		for k, v := range s.chans {
			if v.mu.TryLock() {
				v.mu.Unlock()
				delete(s.chans, k)
			}
		}
	}
	c = &channel{}
	if s.chans == nil {
		s.chans = map[string]*channel{}
	}
	s.chans[id] = c
	return c
}

// waitTurn waits until the conversation's limiter (post_rate, post_burst)
// allows one more post. When ctx would end first it returns a
// *bridge.RateLimitError at once, so that the bridge keeps the message
// queued and comes back in time.
func (s *Session) waitTurn(ctx context.Context, conv string) error {
	if err := s.posts.Wait(ctx, conv); err != nil {
		return fmt.Errorf("slack: post_rate: %w", err)
	}
	return nil
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
	if s.echoes.m == nil {
		s.echoes.m = map[echoKey]echoEntry{}
	}
	s.echoes.m[k] = e
}

// takeEcho reports whether an event is the echo of a change the user made
// from XMPP, and consumes it. It first waits for any such change still in
// flight on the conversation.
func (s *Session) takeEcho(k echoKey) bool {
	c := s.channel(k.channel)
	c.mu.Lock()
	c.mu.Unlock() //nolint:staticcheck // an empty critical section: waiting for the sender is the point
	return s.consumeEcho(k)
}

// consumeEcho reports whether an echo of k is expected, and consumes it,
// without waiting for a change in flight.
func (s *Session) consumeEcho(k echoKey) bool {
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
