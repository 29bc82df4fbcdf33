package ratelimit

import (
	"context"
	"sync"
	"time"

	"github.com/xgate-im/xgate/bridge"
)

// Limiter holds one Bucket per key (a chat), all of the same Rate, and at
// most MaxKeys of them: when a new key comes and the Limiter is full, the
// buckets that are full again are forgotten (a forgotten key starts over
// with a full bucket, which is what it had). When none is, the new key is
// refused with a *bridge.RateLimitError wrapping ErrTooManyKeys whose
// RetryAfter is when the first bucket will be full.
type Limiter[K comparable] struct {
	rate    Rate
	max     int
	now     func() time.Time
	mu      sync.Mutex
	buckets map[K]*Bucket
}

// New returns a Limiter of buckets shaped by r, remembering at most
// maxKeys keys (at least 1).
func New[K comparable](r Rate, maxKeys int) *Limiter[K] {
	return newLimiter[K](r, maxKeys, time.Now)
}

func newLimiter[K comparable](r Rate, maxKeys int, now func() time.Time) *Limiter[K] {
	return &Limiter[K]{rate: r, max: max(maxKeys, 1), now: now, buckets: map[K]*Bucket{}}
}

// Wait takes a token from key's bucket, as Bucket.Wait does.
func (l *Limiter[K]) Wait(ctx context.Context, key K) error {
	b, err := l.bucket(key)
	if err != nil {
		return err
	}
	return b.Wait(ctx)
}

// Len returns how many keys the Limiter remembers.
func (l *Limiter[K]) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.buckets)
}

// bucket returns key's bucket, making room for it if needed.
func (l *Limiter[K]) bucket(key K) (*Bucket, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if b, ok := l.buckets[key]; ok {
		return b, nil
	}
	if len(l.buckets) >= l.max {
		now := l.now()
		soonest := time.Duration(1<<63 - 1)
		for k, b := range l.buckets {
			d := b.untilFull(now)
			if d == 0 {
				delete(l.buckets, k)
				continue
			}
			soonest = min(soonest, d)
		}
		if len(l.buckets) >= l.max {
			return nil, &bridge.RateLimitError{RetryAfter: soonest, Err: ErrTooManyKeys}
		}
	}
	b := newBucket(l.rate, l.now)
	l.buckets[key] = b
	return b, nil
}
