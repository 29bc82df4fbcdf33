//go:build !linux

package ejabberdtest

import (
	"errors"
	"syscall"
)

// supported reports whether this platform can run the server: the
// harness relies on Linux's process groups and parent-death signal.
const supported = false

func sysProcAttr(*account) *syscall.SysProcAttr { return nil }

func signalGroup(int, syscall.Signal) error { return errors.ErrUnsupported }

func searchable(string, *account) bool { return true }
