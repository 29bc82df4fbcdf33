package prosodytest

import "errors"

// Sentinel errors.
var (
	// ErrAuthFailed means Prosody refused the client's credentials (a SASL
	// <failure/>).
	ErrAuthFailed = errors.New("prosodytest: authentication failed")
	// ErrClosed is returned by the Client's methods once its connection is
	// closed, by Close or by the server; it wraps the reason when there is
	// one.
	ErrClosed = errors.New("prosodytest: connection closed")
	// ErrNotReady means Prosody did not open its ports within the start-up
	// deadline, or exited first.
	ErrNotReady = errors.New("prosodytest: prosody did not become ready")
	// ErrNotInstalled means there is no prosody binary to run (Launch).
	ErrNotInstalled = errors.New("prosodytest: prosody is not installed (apt-get install prosody)")

	// errPortInUse means another process took one of the ports picked for
	// Prosody between picking and binding; Start retries with new ports.
	errPortInUse = errors.New("prosodytest: a port is already in use")
)
