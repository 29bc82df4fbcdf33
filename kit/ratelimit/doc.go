// Package ratelimit keeps a transport within the rate a network allows per
// chat: token buckets (Bucket), one per key in a Limiter with a bound on
// how many keys it remembers.
//
// A wait that would outlast its context's deadline does not start: it
// returns a *bridge.RateLimitError at once, with RetryAfter set, so that
// the bridge keeps the message queued and comes back in time. This package
// imports bridge for that error type, so bridge cannot import it.
//
// Buckets and Limiters are safe for concurrent use. They start no
// goroutine; a waiting caller blocks in its own goroutine on a timer.
package ratelimit
