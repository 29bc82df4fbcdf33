package hostproc

import (
	"os/exec"
	"syscall"
	"time"
)

// Process is one run of a server's binary, reaped in the background. Its
// methods are safe for concurrent use.
type Process struct {
	cmd    *exec.Cmd
	signal func(pid int, sig syscall.Signal) error
	done   chan struct{} // closed once the run has been reaped
	err    error         // the result of Wait; read after done
}

// Start starts cmd and reaps it in a goroutine of its own. signal delivers
// a signal to the run, given cmd's PID; nil sends it to cmd's process
// alone. reaped, when not nil, runs once cmd.Wait has returned and before
// Done is closed: it closes what the parent kept open for the run. Start
// returns cmd.Start's error as it is; reaped does not run then.
func Start(cmd *exec.Cmd, signal func(pid int, sig syscall.Signal) error, reaped func()) (*Process, error) {
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	if signal == nil {
		signal = func(_ int, sig syscall.Signal) error { return cmd.Process.Signal(sig) }
	}
	p := &Process{cmd: cmd, signal: signal, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		if reaped != nil {
			reaped()
		}
		close(p.done)
	}()
	return p, nil
}

// Pid returns the process id of the started command.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Done is closed once the run has ended and been reaped.
func (p *Process) Done() <-chan struct{} { return p.done }

// Err returns the result of the command's Wait. It is valid once Done is
// closed, nil before.
func (p *Process) Err() error {
	select {
	case <-p.done:
		return p.err
	default:
		return nil
	}
}

// Halt sends sig to the run and waits until it has been reaped. When sig
// is not SIGKILL and the run outlives grace, Halt sends SIGKILL. It
// returns at once when the run has already ended.
func (p *Process) Halt(sig syscall.Signal, grace time.Duration) {
	select {
	case <-p.done:
		return
	default:
	}
	pid := p.Pid()
	_ = p.signal(pid, sig)
	if sig != syscall.SIGKILL {
		timer := time.NewTimer(grace)
		defer timer.Stop()
		select {
		case <-p.done:
			return
		case <-timer.C:
			_ = p.signal(pid, syscall.SIGKILL)
		}
	}
	<-p.done // SIGKILL cannot be caught: the wait is short
}
