package secret

import "errors"

// ErrMissing is matched by the error of a required Source that names no
// source at all.
var ErrMissing = errors.New("secret: missing")

// ErrAmbiguous is matched by the error of a Source that names more than one
// source.
var ErrAmbiguous = errors.New("secret: more than one source")

// ErrEmpty is matched by the error of a file or environment variable that
// holds nothing but white space.
var ErrEmpty = errors.New("secret: empty")

// ErrUnset is matched by the error of an environment variable that is not
// set.
var ErrUnset = errors.New("secret: environment variable not set")

// ErrTooLarge is matched by the error of a file larger than MaxFileSize.
var ErrTooLarge = errors.New("secret: file too large")

// Error is a problem with one source of a secret. Its text is "key:
// message", where key is the TOML key at fault ("app_token_file"); it
// never contains the secret. Unwrap gives one of the sentinels of this
// package or the error of the file system.
type Error struct {
	// Key is the TOML key at fault: Source.Key or it with "_file" or
	// "_env" appended.
	Key string
	// Msg says what is wrong, for a person.
	Msg string
	// Err is the cause.
	Err error
}

// Error implements error.
func (e *Error) Error() string { return e.Key + ": " + e.Msg }

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }
