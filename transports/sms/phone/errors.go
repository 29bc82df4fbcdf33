package phone

import (
	"errors"
	"fmt"
)

// Reasons a number is refused. They are wrapped in a *NumberError.
var (
	// ErrEmpty: nothing but separators was given.
	ErrEmpty = errors.New("phone: empty number")
	// ErrNotANumber: the input has characters that are not digits,
	// separators or a leading "+" (letters, extensions, other scripts).
	ErrNotANumber = errors.New("phone: not a phone number")
	// ErrCountryCode: the number starts with "+" or "00" but no country
	// uses the code that follows.
	ErrCountryCode = errors.New("phone: unknown country code")
	// ErrTooShort: too few digits for the country.
	ErrTooShort = errors.New("phone: too short")
	// ErrTooLong: too many digits for the country.
	ErrTooLong = errors.New("phone: too long")
	// ErrLength: a length between the country's shortest and longest that
	// the country does not use.
	ErrLength = errors.New("phone: impossible length")
	// ErrLocalOnly: the number can only be dialled locally (an area code is
	// missing), so it has no E.164 form.
	ErrLocalOnly = errors.New("phone: local number without area code")
	// ErrEmergency: an emergency number (911, 112, …) of the default
	// region; texts to it through a provider would not reach help.
	ErrEmergency = errors.New("phone: emergency numbers cannot be texted through this gateway")
	// ErrNotCanonical: a localpart is not the canonical "+E164" or
	// short-code form of its number.
	ErrNotCanonical = errors.New("phone: localpart is not canonical")
	// ErrRegion: the configured default region is not a region
	// libphonenumber knows (it wants an ISO 3166-1 alpha-2 code such as "US").
	ErrRegion = errors.New("phone: unknown region")
)

// NumberError tells which input was refused and why. Reason is one of the
// sentinels of this package; errors.Is(err, ErrTooShort) and the like work
// on it.
type NumberError struct {
	// Input is the text as given.
	Input string
	// Reason is the sentinel that says what is wrong.
	Reason error
}

// Error returns a message fit to show to the user who typed Input.
func (e *NumberError) Error() string {
	return fmt.Sprintf("%v: %q", e.Reason, e.Input)
}

// Unwrap returns the sentinel reason.
func (e *NumberError) Unwrap() error { return e.Reason }

func refuse(input string, reason error) error {
	return &NumberError{Input: input, Reason: reason}
}
