package slackfake

import "errors"

// ErrClosed is returned by waiting methods when the Server was closed while
// they waited.
var ErrClosed = errors.New("slackfake: server closed")
