//go:build unix

package store

import (
	"errors"
	"os"
	"syscall"
	"time"
)

// errLockTimeout is lockShared's timeout.
var errLockTimeout = errors.New("lock wait timed out")

// lockShared takes a shared advisory lock on f, as a read-only bbolt handle
// does, waiting at most timeout (zero: DefaultTimeout; negative: one try).
// Closing f releases it.
func lockShared(f *os.File, timeout time.Duration) error {
	if timeout == 0 {
		timeout = DefaultTimeout
	}
	deadline := time.Now().Add(timeout)
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB)
		if err == nil {
			return nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			return err
		}
		if !time.Now().Before(deadline) {
			return errLockTimeout
		}
		time.Sleep(50 * time.Millisecond) // polling, as bbolt waits for its lock
	}
}
