package sms

import "errors"

// Errors of the transport.
var (
	// ErrConfig: the configuration is invalid.
	ErrConfig = errors.New("sms: invalid configuration")
	// ErrNotReady: an event concerns an account that is registered but not
	// logged in yet; the webhook is answered 503 so the provider retries.
	ErrNotReady = errors.New("sms: the account of this number is not logged in yet")
	// ErrTimeout: an event was not stored in time; the provider retries.
	ErrTimeout = errors.New("sms: event not stored in time")
)
