package bridge

import (
	"errors"
	"fmt"
	"time"
)

// Errors a transport returns (wrapped) to tell the bridge what happened.
var (
	// ErrAuth: the credentials are invalid, revoked or expired.
	ErrAuth = errors.New("bridge: authentication failed")
	// ErrNotFound: the chat, user or message does not exist remotely.
	ErrNotFound = errors.New("bridge: not found")
	// ErrForbidden: the account may not do this (not in channel, blocked).
	ErrForbidden = errors.New("bridge: forbidden")
	// ErrUnsupported: the network cannot do this.
	ErrUnsupported = errors.New("bridge: not supported by the network")
	// ErrTemporary: a transient failure (network down, 5xx); retry later.
	ErrTemporary = errors.New("bridge: temporary failure")
	// ErrInvalidInput: what the user submitted is not acceptable (a bad
	// phone number, an empty token).
	ErrInvalidInput = errors.New("bridge: invalid input")
	// ErrSessionClosed: the session was closed and can do no more; work
	// given to it goes to the account's next session (see Fanout).
	ErrSessionClosed = errors.New("bridge: session closed")
)

// Errors the bridge returns.
var (
	// ErrNotRegistered: the XMPP user has no account on the transport.
	ErrNotRegistered = errors.New("bridge: not registered")
	// ErrNotAllowed: the XMPP user may not use this gateway.
	ErrNotAllowed = errors.New("bridge: not allowed to use this gateway")
	// ErrShuttingDown: the gateway is stopping and accepts no more work.
	ErrShuttingDown = errors.New("bridge: shutting down")
	// errNotInGroup: none of the user's accounts is in the group chat of a
	// room.
	errNotInGroup = errors.New("none of your accounts is in this group")
	// errTooFarBack: an archive query asks for a page after a message or
	// time further back than the gateway reads of the network's history.
	errTooFarBack = fmt.Errorf("%w: too far back", ErrInvalidInput)
)

// RateLimitError says the network refused a request for now. The bridge
// waits exactly RetryAfter (Config.RetryBase when zero) and tries again,
// keeping the message queued and its place in the chat's order. A rate
// limit is not a failure: it never lengthens the backoff of later
// failures.
type RateLimitError struct {
	RetryAfter time.Duration
	Err        error
}

// Error implements error.
func (e *RateLimitError) Error() string {
	return fmt.Sprintf("bridge: rate limited, retry after %s: %v", e.RetryAfter, e.Err)
}

// Unwrap returns the cause.
func (e *RateLimitError) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrTemporary) true for rate limits.
func (e *RateLimitError) Is(target error) bool { return target == ErrTemporary }
