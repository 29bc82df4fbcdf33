package form

import (
	"errors"
	"fmt"

	"github.com/xgate-im/xgate/xmpp"
)

// ErrInvalid is wrapped by every error this package returns: a data form
// that breaks XEP-0004 (from Parse), a boolean value that does not parse
// (from Form.Bool), or a submitted form that does not fit the form that was
// offered (from Validate, as a *ValidationError).
var ErrInvalid = errors.New("form: invalid data form")

// ValidationError reports why a submitted form does not fit the form that
// was offered. It wraps ErrInvalid.
type ValidationError struct {
	// Var is the var of the offending field, or "" when the problem is
	// with the form as a whole.
	Var string
	// Label is the label the offered form gave the field, or "" when it
	// had none or the field was not offered at all.
	Label string
	// Message is one sentence, fit to show to the user who filled in the
	// form, that names the field by its label (or by its var when it has
	// no label) and says what is wrong with it.
	Message string
}

// Error implements error.
func (e *ValidationError) Error() string {
	if e.Var == "" {
		return "form: " + e.Message
	}
	return fmt.Sprintf("form: field %q: %s", e.Var, e.Message)
}

// Unwrap returns ErrInvalid, so errors.Is(err, ErrInvalid) holds.
func (e *ValidationError) Unwrap() error { return ErrInvalid }

// StanzaError returns the stanza error to send back to the submitter:
// not-acceptable, as XEP-0004 §4 recommends, with Message as its text.
func (e *ValidationError) StanzaError() *xmpp.StanzaError {
	return xmpp.NewStanzaError(xmpp.CondNotAcceptable, e.Message)
}

// invalid returns an error wrapping ErrInvalid for Parse.
func invalid(format string, args ...any) error {
	return fmt.Errorf("form: %s: %w", fmt.Sprintf(format, args...), ErrInvalid)
}
