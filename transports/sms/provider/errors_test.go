package provider

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
)

func TestErrorIs(t *testing.T) {
	tests := []struct {
		name string
		err  *Error
		is   []error
		not  []error
	}{
		{"opted out", NewError("twilio", Permanent, ReasonOptedOut, "21610", "unsubscribed", nil),
			[]error{ErrPermanent, ErrOptedOut}, []error{ErrTemporary, ErrInvalidNumber, ErrBlocked}},
		{"invalid", NewError("twilio", Permanent, ReasonInvalidNumber, "21211", "", nil),
			[]error{ErrPermanent, ErrInvalidNumber}, []error{ErrOptedOut, ErrRateLimited}},
		{"blocked", NewError("twilio", Permanent, ReasonBlocked, "30007", "", nil),
			[]error{ErrBlocked}, []error{ErrUnauthorized}},
		{"auth", NewError("kannel", Permanent, ReasonUnauthorized, "HTTP 403", "", nil),
			[]error{ErrUnauthorized, ErrPermanent}, []error{ErrTemporary}},
		{"rate", &Error{Provider: "twilio", Kind: RateLimited, RetryAfter: 3 * time.Second},
			[]error{ErrRateLimited}, []error{ErrPermanent, ErrTemporary}},
		{"temporary", NewError("kannel", Temporary, ReasonOther, "HTTP 503", "", context.DeadlineExceeded),
			[]error{ErrTemporary, context.DeadlineExceeded}, []error{ErrPermanent}},
	}
	for _, tt := range tests {
		wrapped := fmt.Errorf("send: %w", tt.err)
		for _, target := range tt.is {
			if !errors.Is(wrapped, target) {
				t.Errorf("%s: not Is %v", tt.name, target)
			}
		}
		for _, target := range tt.not {
			if errors.Is(wrapped, target) {
				t.Errorf("%s: unexpectedly Is %v", tt.name, target)
			}
		}
	}
}

func TestClassifyAndRetryable(t *testing.T) {
	plain := errors.New("connection refused")
	if e := Classify("kannel", plain); e.Kind != Temporary || !errors.Is(e, plain) {
		t.Errorf("Classify(plain) = %v", e)
	}
	if Classify("x", nil) != nil {
		t.Error("Classify(nil) != nil")
	}
	tests := []struct {
		err   error
		retry bool
		after time.Duration
	}{
		{plain, true, 0},
		{fmt.Errorf("x: %w", &Error{Kind: RateLimited, RetryAfter: time.Second}), true, time.Second},
		{&Error{Kind: Permanent, Reason: ReasonOptedOut}, false, 0},
		{nil, false, 0},
	}
	for _, tt := range tests {
		retry, after := Retryable(tt.err)
		if retry != tt.retry || after != tt.after {
			t.Errorf("Retryable(%v) = %v, %v", tt.err, retry, after)
		}
	}
}

func TestErrorString(t *testing.T) {
	tests := []struct {
		err  *Error
		want string
	}{
		{NewError("twilio", Permanent, ReasonOptedOut, "21610", "Attempt to send to unsubscribed recipient", nil),
			"twilio: permanent (recipient opted out) [21610]: Attempt to send to unsubscribed recipient"},
		{&Error{Provider: "twilio", Kind: RateLimited, RetryAfter: 2 * time.Second, Code: "20429"},
			"twilio: rate limited (retry after 2s) [20429]"},
		{NewError("kannel", Temporary, ReasonOther, "", "", errors.New("EOF")), "kannel: temporary: EOF"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
}

func TestStatus(t *testing.T) {
	tests := []struct {
		s      Status
		name   string
		final  bool
		failed bool
	}{
		{StatusUnknown, "unknown", false, false},
		{StatusQueued, "queued", false, false},
		{StatusSent, "sent", false, false},
		{StatusDelivered, "delivered", true, false},
		{StatusUndelivered, "undelivered", true, true},
		{StatusFailed, "failed", true, true},
		{Status(99), "unknown", false, false},
	}
	for _, tt := range tests {
		if tt.s.String() != tt.name || tt.s.Final() != tt.final || tt.s.Failed() != tt.failed {
			t.Errorf("%d: %q final %v failed %v", tt.s, tt.s.String(), tt.s.Final(), tt.s.Failed())
		}
	}
}
