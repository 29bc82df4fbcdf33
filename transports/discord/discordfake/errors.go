package discordfake

import "errors"

// ErrClosed is returned by waiting methods when the Server was closed while
// they waited.
var ErrClosed = errors.New("discordfake: server closed")
