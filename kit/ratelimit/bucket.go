package ratelimit

import (
	"context"
	"time"

	"golang.org/x/time/rate"

	"github.com/xgate-im/xgate/bridge"
)

// Rate is a token bucket's shape: PerSecond tokens are added each second,
// up to Burst, and each event takes one. A full bucket lets Burst events
// through at once.
type Rate struct {
	PerSecond float64
	Burst     int
}

// Bucket is the token bucket of one chat.
type Bucket struct {
	lim *rate.Limiter
	now func() time.Time
}

// NewBucket returns a full bucket.
func NewBucket(r Rate) *Bucket { return newBucket(r, time.Now) }

func newBucket(r Rate, now func() time.Time) *Bucket {
	return &Bucket{lim: rate.NewLimiter(rate.Limit(r.PerSecond), r.Burst), now: now}
}

// Wait takes a token, waiting until one is there. When the wait would end
// after ctx's deadline, or can never end (Burst 0), it returns a
// *bridge.RateLimitError wrapping ErrOverRate at once and takes nothing;
// when ctx ends during the wait it returns ctx.Err() and gives the token
// back.
func (b *Bucket) Wait(ctx context.Context) error {
	now := b.now()
	r := b.lim.ReserveN(now, 1)
	if !r.OK() {
		return &bridge.RateLimitError{Err: ErrOverRate}
	}
	d := r.DelayFrom(now)
	if d == 0 {
		return nil
	}
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < d {
		r.CancelAt(now)
		return &bridge.RateLimitError{RetryAfter: d, Err: ErrOverRate}
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		r.CancelAt(b.now())
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Idle reports whether the bucket is full again: forgetting it then
// changes nothing.
func (b *Bucket) Idle() bool { return b.untilFull(b.now()) == 0 }

// untilFull is how long the bucket takes to be full again from now.
func (b *Bucket) untilFull(now time.Time) time.Duration {
	missing := float64(b.lim.Burst()) - b.lim.TokensAt(now)
	if missing <= 0 {
		return 0
	}
	per := float64(b.lim.Limit())
	if per <= 0 {
		return time.Duration(1<<63 - 1)
	}
	return time.Duration(missing / per * float64(time.Second))
}
