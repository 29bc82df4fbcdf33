package ratelimit

import "errors"

// ErrOverRate is the cause, inside a *bridge.RateLimitError, of a wait
// refused because the key's bucket would not refill before the deadline.
var ErrOverRate = errors.New("ratelimit: more than the configured rate for this chat")

// ErrTooManyKeys is the cause, inside a *bridge.RateLimitError, of a wait
// refused because the Limiter holds MaxKeys busy buckets and none of them
// can be forgotten yet.
var ErrTooManyKeys = errors.New("ratelimit: too many chats busy at once")
