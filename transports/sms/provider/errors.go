package provider

import (
	"errors"
	"fmt"
	"time"
)

// Kind says whether trying again can help.
type Kind int

const (
	// Temporary: try again later (network error, 5xx, gateway down).
	Temporary Kind = iota
	// RateLimited: try again after Error.RetryAfter (or a backoff when 0).
	RateLimited
	// Permanent: trying again cannot help; bounce the message with
	// Error.Reason.
	Permanent
)

// String names the kind.
func (k Kind) String() string {
	switch k {
	case RateLimited:
		return "rate limited"
	case Permanent:
		return "permanent"
	default:
		return "temporary"
	}
}

// Reason says why a message failed for good, so the bridge can choose the
// stanza error and wording.
type Reason int

const (
	// ReasonOther is any other definitive failure (the service's message
	// says more).
	ReasonOther Reason = iota
	// ReasonInvalidNumber: the recipient (or sender) number cannot receive
	// texts.
	ReasonInvalidNumber
	// ReasonOptedOut: the recipient texted STOP to this sender.
	ReasonOptedOut
	// ReasonBlocked: the carrier or service blocked the message (spam
	// filter, country not enabled, sender not permitted).
	ReasonBlocked
	// ReasonUnauthorized: the provider credentials are wrong; an admin has
	// to act.
	ReasonUnauthorized
	// ReasonRejected: the service refused the request itself (too long,
	// malformed media); a bug or a limit, not the recipient.
	ReasonRejected
)

var reasonNames = [...]string{"failed", "invalid number", "recipient opted out", "blocked", "provider credentials rejected", "rejected by provider"}

// String describes the reason in words fit for a user.
func (r Reason) String() string {
	if r < 0 || int(r) >= len(reasonNames) {
		return "failed"
	}
	return reasonNames[r]
}

// Sentinels matched by errors.Is against an *Error.
var (
	// ErrTemporary matches errors of kind Temporary.
	ErrTemporary = errors.New("sms: temporary failure")
	// ErrRateLimited matches errors of kind RateLimited.
	ErrRateLimited = errors.New("sms: rate limited")
	// ErrPermanent matches errors of kind Permanent.
	ErrPermanent = errors.New("sms: permanent failure")
	// ErrInvalidNumber matches permanent errors with ReasonInvalidNumber.
	ErrInvalidNumber = errors.New("sms: invalid number")
	// ErrOptedOut matches permanent errors with ReasonOptedOut.
	ErrOptedOut = errors.New("sms: recipient opted out")
	// ErrBlocked matches permanent errors with ReasonBlocked.
	ErrBlocked = errors.New("sms: blocked")
	// ErrUnauthorized matches permanent errors with ReasonUnauthorized.
	ErrUnauthorized = errors.New("sms: provider credentials rejected")
)

// Error is a classified failure of a provider.
type Error struct {
	// Kind says whether to retry.
	Kind Kind
	// Reason says why, for Permanent errors.
	Reason Reason
	// RetryAfter is the delay the service asked for (RateLimited), or 0.
	RetryAfter time.Duration
	// Provider names the provider kind ("twilio", "kannel").
	Provider string
	// Code is the service's own error code, if any ("21610", "HTTP 503").
	Code string
	// Message is the service's explanation, safe to show to the sender.
	Message string
	// Err is the underlying error, if any.
	Err error
}

// NewError returns an *Error; a shorthand for providers.
func NewError(provider string, kind Kind, reason Reason, code, message string, err error) *Error {
	return &Error{Provider: provider, Kind: kind, Reason: reason, Code: code, Message: message, Err: err}
}

// Error describes the failure, without secrets.
func (e *Error) Error() string {
	s := e.Provider + ": " + e.Kind.String()
	if e.Kind == Permanent {
		s += " (" + e.Reason.String() + ")"
	}
	if e.Kind == RateLimited && e.RetryAfter > 0 {
		s += fmt.Sprintf(" (retry after %v)", e.RetryAfter)
	}
	if e.Code != "" {
		s += " [" + e.Code + "]"
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// Is matches the sentinels of this package.
func (e *Error) Is(target error) bool {
	switch target {
	case ErrTemporary:
		return e.Kind == Temporary
	case ErrRateLimited:
		return e.Kind == RateLimited
	case ErrPermanent:
		return e.Kind == Permanent
	case ErrInvalidNumber:
		return e.Kind == Permanent && e.Reason == ReasonInvalidNumber
	case ErrOptedOut:
		return e.Kind == Permanent && e.Reason == ReasonOptedOut
	case ErrBlocked:
		return e.Kind == Permanent && e.Reason == ReasonBlocked
	case ErrUnauthorized:
		return e.Kind == Permanent && e.Reason == ReasonUnauthorized
	}
	return false
}

// Classify returns err as an *Error: itself if it is one (or wraps one),
// otherwise a Temporary error wrapping it (network errors, timeouts). A
// canceled context stays Temporary: the message was not refused.
func Classify(provider string, err error) *Error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Provider: provider, Kind: Temporary, Err: err}
}

// Retryable reports whether err leaves the message worth sending again,
// and after how long at least (0: the caller's backoff decides).
func Retryable(err error) (bool, time.Duration) {
	e := Classify("", err)
	if e == nil {
		return false, 0
	}
	return e.Kind != Permanent, e.RetryAfter
}
