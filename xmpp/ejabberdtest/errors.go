package ejabberdtest

import "errors"

// Sentinel errors.
var (
	// ErrNotReady means ejabberd did not open its ports within the
	// start-up deadline, or exited first.
	ErrNotReady = errors.New("ejabberdtest: ejabberd did not become ready")
	// ErrRegister means the server refused to create an account; it wraps
	// the server's stanza error (a conflict when the account exists).
	ErrRegister = errors.New("ejabberdtest: registration refused")

	// errPortInUse means another process took one of the ports picked for
	// ejabberd between picking and binding; Start retries with new ports.
	errPortInUse = errors.New("ejabberdtest: a port is already in use")
	// errUnsupportedUser means the test runs as a user that the Debian
	// ejabberdctl refuses (neither root nor ejabberd).
	errUnsupportedUser = errors.New("ejabberdtest: ejabberdctl runs only as root or as the ejabberd user")
)
