//go:build !unix

package store

import (
	"errors"
	"os"
	"time"
)

// errLockTimeout is lockShared's timeout.
var errLockTimeout = errors.New("lock wait timed out")

// lockShared does nothing where advisory locks are not available through
// syscall.Flock; bbolt still locks the file when it opens it.
func lockShared(*os.File, time.Duration) error { return nil }
