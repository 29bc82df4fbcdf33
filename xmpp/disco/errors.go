package disco

import (
	"errors"
	"fmt"
)

// Sentinel errors.
var (
	// ErrInvalid is wrapped by every error ParseInfo, ParseItems and
	// ParseCaps return, and by VerifyCaps when a disco#info result is one
	// XEP-0115 §5.4 calls ill-formed: the element breaks XEP-0030,
	// XEP-0115 or (for an extended form) XEP-0004.
	ErrInvalid = errors.New("disco: invalid")
	// ErrUnsupportedHash is returned by VerifyCaps for a caps hash
	// function other than sha-1. XEP-0115 §5.4 says to use such an
	// entity's disco#info result for that entity only, without caching it
	// under its verification string.
	ErrUnsupportedHash = errors.New("disco: unsupported caps hash function")
	// ErrCapsMismatch is returned by VerifyCaps when the verification
	// string computed from a disco#info result differs from the one the
	// entity advertised; the result must not be cached under it.
	ErrCapsMismatch = errors.New("disco: caps verification string does not match")
)

// invalid returns an error wrapping ErrInvalid and, when there is one, the
// underlying cause.
func invalid(cause error, format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	if cause != nil {
		return fmt.Errorf("disco: %s: %w (%w)", msg, ErrInvalid, cause)
	}
	return fmt.Errorf("disco: %s: %w", msg, ErrInvalid)
}
