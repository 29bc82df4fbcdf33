package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/xgate-im/xgate/bridge"
)

// clock is a settable time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)} }

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// soon is a context whose deadline is too close for any wait.
func soon(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	t.Cleanup(cancel)
	return ctx
}

// wantRefused checks err is a RateLimitError with cause and retry.
func wantRefused(t *testing.T, err, cause error, retry time.Duration) {
	t.Helper()
	var rl *bridge.RateLimitError
	if !errors.As(err, &rl) || !errors.Is(err, cause) || !errors.Is(err, bridge.ErrTemporary) {
		t.Fatalf("error %v, want a RateLimitError wrapping %v", err, cause)
	}
	if rl.RetryAfter != retry {
		t.Fatalf("RetryAfter %v, want %v", rl.RetryAfter, retry)
	}
}

func TestBucket(t *testing.T) {
	type step struct {
		advance time.Duration
		refused time.Duration // 0: the wait succeeds; else the RetryAfter wanted
	}
	for _, tc := range []struct {
		name  string
		rate  Rate
		steps []step
	}{
		{"burst then refill", Rate{PerSecond: 1, Burst: 2}, []step{
			{0, 0}, {0, 0}, {0, time.Second}, {500 * time.Millisecond, 500 * time.Millisecond},
			{500 * time.Millisecond, 0}, {0, time.Second},
		}},
		{"fractional rate", Rate{PerSecond: 0.5, Burst: 1}, []step{
			{0, 0}, {0, 2 * time.Second}, {2 * time.Second, 0},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newClock()
			b := newBucket(tc.rate, c.now)
			for i, s := range tc.steps {
				c.advance(s.advance)
				err := b.Wait(soon(t))
				if s.refused == 0 {
					if err != nil {
						t.Fatalf("step %d: %v", i, err)
					}
					continue
				}
				wantRefused(t, err, ErrOverRate, s.refused)
			}
		})
	}
}

func TestBucketNoBurst(t *testing.T) {
	b := NewBucket(Rate{PerSecond: 1, Burst: 0})
	wantRefused(t, b.Wait(t.Context()), ErrOverRate, 0)
}

// TestBucketWaits waits for a token on the real clock: 1 ms at 1000/s.
func TestBucketWaits(t *testing.T) {
	b := NewBucket(Rate{PerSecond: 1000, Burst: 1})
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	for i := range 3 {
		if err := b.Wait(ctx); err != nil {
			t.Fatalf("wait %d: %v", i, err)
		}
	}
}

// TestBucketCanceled: a wait ended by its context gives its token back.
func TestBucketCanceled(t *testing.T) {
	c := newClock()
	b := newBucket(Rate{PerSecond: 1, Burst: 1}, c.now)
	if err := b.Wait(t.Context()); err != nil {
		t.Fatal(err)
	}
	before := b.untilFull(c.now())
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := b.Wait(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want context.Canceled", err)
	}
	if after := b.untilFull(c.now()); after != before {
		t.Errorf("refill time %v after a canceled wait, want %v", after, before)
	}
	if b.Idle() {
		t.Error("idle with no token")
	}
	c.advance(time.Second)
	if !b.Idle() {
		t.Error("not idle once full")
	}
}

func TestLimiter(t *testing.T) {
	c := newClock()
	l := newLimiter[string](Rate{PerSecond: 1, Burst: 1}, 2, c.now)
	ctx := soon(t)
	for _, k := range []string{"a", "b"} {
		if err := l.Wait(ctx, k); err != nil {
			t.Fatalf("%s: %v", k, err)
		}
	}
	// Keys are separate: a's bucket is empty, b's too.
	wantRefused(t, l.Wait(ctx, "a"), ErrOverRate, time.Second)
	// Full of busy buckets: a new key is refused until one refills.
	c.advance(400 * time.Millisecond)
	wantRefused(t, l.Wait(ctx, "c"), ErrTooManyKeys, 600*time.Millisecond)
	c.advance(600 * time.Millisecond)
	if err := l.Wait(ctx, "c"); err != nil {
		t.Fatalf("c after refill: %v", err)
	}
	if n := l.Len(); n != 1 {
		t.Errorf("Len %d, want 1 (a and b forgotten when full again)", n)
	}
}

// TestLimiterBounded: many keys, memory stays at MaxKeys.
func TestLimiterBounded(t *testing.T) {
	c := newClock()
	const maxKeys = 8
	l := newLimiter[int](Rate{PerSecond: 10, Burst: 2}, maxKeys, c.now)
	for i := range 1000 {
		if i%maxKeys == 0 {
			c.advance(time.Second) // everything refills
		}
		if err := l.Wait(soon(t), i); err != nil {
			t.Fatalf("key %d: %v", i, err)
		}
		if n := l.Len(); n > maxKeys {
			t.Fatalf("Len %d > %d", n, maxKeys)
		}
	}
}

// TestLimiterConcurrent exercises the Limiter from many goroutines (run
// with -race).
func TestLimiterConcurrent(t *testing.T) {
	l := New[string](Rate{PerSecond: 1e6, Burst: 4}, 4)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for g := range 16 {
		wg.Go(func() {
			for i := range 50 {
				err := l.Wait(ctx, fmt.Sprint((g+i)%6))
				var rl *bridge.RateLimitError
				if err != nil && !errors.As(err, &rl) {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
