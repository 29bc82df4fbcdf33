package slack

import (
	"context"
	"fmt"
	"sync"

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
	s.mu.Lock()
	if s.posts == nil { // made at the first post: most sessions idle
		s.posts = newPostLimiter(s.t.set)
	}
	posts := s.posts
	s.mu.Unlock()
	if err := posts.Wait(ctx, conv); err != nil {
		return fmt.Errorf("slack: post_rate: %w", err)
	}
	return nil
}
