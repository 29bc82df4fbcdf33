package jid

import "errors"

// ErrMalformed is wrapped by every error that Parse, New, WithLocal,
// WithResource and UnmarshalText return: the input is not a valid JID (or
// part of one) under RFC 7622. Test for it with errors.Is; the message of the
// wrapping error names the offending part and, where there is one, the
// underlying PRECIS or IDNA error (also reachable through errors.Is/As).
var ErrMalformed = errors.New("jid: malformed")
