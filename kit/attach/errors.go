package attach

import (
	"errors"
	"fmt"
)

// ErrUnauthorized: the network refused the session's credentials (HTTP
// 401, or a login page instead of the file).
var ErrUnauthorized = errors.New("attach: credentials refused")

// ErrForbidden: the credentials are valid but may not read the file (HTTP
// 403).
var ErrForbidden = errors.New("attach: forbidden")

// ErrNotFound: the file does not exist (any more) (HTTP 404 or 410).
var ErrNotFound = errors.New("attach: file not found")

// ErrTooLarge: the file is larger than the limit.
var ErrTooLarge = errors.New("attach: file too large")

// ErrTemporary: the network failed for now (HTTP 429 or 5xx, or the
// connection); trying again later may work.
var ErrTemporary = errors.New("attach: temporary failure")

// Error is the failure of one fetch or upload. Its text names the
// operation and the URL without its query string or credentials.
type Error struct {
	Op     string // "fetch" or "upload"
	URL    string // redacted: scheme, host and path
	Status int    // the HTTP status, 0 if none was received
	Err    error  // a sentinel of this package or the underlying error
}

// Error implements error.
func (e *Error) Error() string {
	if e.Status != 0 {
		return fmt.Sprintf("attach: %s %s: HTTP %d: %v", e.Op, e.URL, e.Status, e.Err)
	}
	return fmt.Sprintf("attach: %s %s: %v", e.Op, e.URL, e.Err)
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }
