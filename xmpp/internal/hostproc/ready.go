package hostproc

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// pollInterval is the pause between two readiness checks.
const pollInterval = 5 * time.Millisecond

// Listener is a port a server should open, and the line its log shows
// once the server accepts connections there.
type Listener struct {
	Port int
	Line string
}

// Listening reports whether log holds the line of every listener in want
// and each listener's port on 127.0.0.1 accepts a connection. The log is
// looked at first, and nothing is dialled before every line is there.
func Listening(ctx context.Context, log string, want []Listener) bool {
	for _, w := range want {
		if !strings.Contains(log, w.Line) {
			return false
		}
	}
	for _, w := range want {
		if !CanDial(ctx, Loopback(w.Port)) {
			return false
		}
	}
	return true
}

// Readiness tells WaitReady when a server is ready and what to return when
// it does not become so.
type Readiness struct {
	// Timeout bounds the whole wait.
	Timeout time.Duration
	// NotReady is the error that the timeout error wraps, followed by the
	// context's error: "<NotReady> within <Timeout>: <cause>".
	NotReady error
	// Check reports whether the server is ready. An error ends the wait
	// and WaitReady returns it as it is.
	Check func(ctx context.Context) (bool, error)
	// Exited returns the error for a run that ended before it was ready;
	// it is given the result of the command's Wait.
	Exited func(waitErr error) error
}

// WaitReady calls r.Check every few milliseconds until it reports the
// server ready (nil) or fails, the run ends (r.Exited), or r.Timeout
// passes or ctx ends. Nothing sleeps for a fixed time. It does not stop
// the run; the caller halts it on error.
func (p *Process) WaitReady(ctx context.Context, r Readiness) error {
	ctx, cancel := context.WithTimeout(ctx, r.Timeout)
	defer cancel()
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for {
		ready, err := r.Check(ctx)
		if err != nil {
			return err
		}
		if ready {
			return nil
		}
		select {
		case <-p.done:
			return r.Exited(p.err)
		case <-ctx.Done():
			return fmt.Errorf("%w within %v: %w", r.NotReady, r.Timeout, ctx.Err())
		case <-tick.C:
		}
	}
}
