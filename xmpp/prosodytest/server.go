package prosodytest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Time bounds of the server's lifecycle.
const (
	// readyTimeout bounds how long Prosody may take to open its ports.
	readyTimeout = 15 * time.Second
	// stopTimeout is how long Stop waits after SIGTERM before SIGKILL.
	stopTimeout = 10 * time.Second
	// ctlTimeout bounds one prosodyctl run. It needs little CPU but has
	// been seen to take 10 s on a heavily loaded machine.
	ctlTimeout = 30 * time.Second
	// pollInterval is the pause between two readiness checks.
	pollInterval = 5 * time.Millisecond
	// dialTimeout bounds one readiness dial.
	dialTimeout = 250 * time.Millisecond
	// startAttempts is how many times Start picks fresh ports when another
	// process took one of them first.
	startAttempts = 3
	// reportLines is how many log lines a failure report shows.
	reportLines = 40
)

// RequireEnv is the environment variable that turns a missing prosody
// binary from a skipped test into a failed one (CI sets it to "1").
const RequireEnv = "XGATE_REQUIRE_PROSODY"

// Binary returns the path of the prosody executable, from PATH or
// /usr/bin, or "" when it is not installed.
func Binary() string {
	if p, err := exec.LookPath("prosody"); err == nil {
		return p
	}
	if isFile("/usr/bin/prosody") {
		return "/usr/bin/prosody"
	}
	return ""
}

// ctlBinary returns prosodyctl, preferably the one installed next to bin.
func ctlBinary(bin string) string {
	if p := filepath.Join(filepath.Dir(bin), "prosodyctl"); isFile(p) {
		return p
	}
	if p, err := exec.LookPath("prosodyctl"); err == nil {
		return p
	}
	return "prosodyctl"
}

func isFile(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && !fi.IsDir()
}

// Server is a Prosody child process private to one test. Its methods are
// safe for concurrent use.
type Server struct {
	opts  Options
	bin   string
	ctl   string
	paths paths
	ports ports

	mu   sync.Mutex
	proc *process // nil while stopped
}

// process is one run of the prosody binary.
type process struct {
	cmd  *exec.Cmd
	done chan struct{} // closed once the process has exited and been reaped
	err  error         // the result of Wait; read after done
}

// Start runs Prosody for the test t with a configuration generated from
// opts, in a directory from t.TempDir, on random free loopback ports, and
// returns once its client port, its component port (with Components) and
// its HTTP port (with Upload) accept connections. The server is stopped
// when the test ends.
//
// When prosody is not installed the test is skipped, or fails if the
// environment variable XGATE_REQUIRE_PROSODY is "1". Any other failure
// fails the test with the tail of Prosody's log.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	bin := Binary()
	if !haveBinary(t, bin) {
		return nil
	}
	dir := t.TempDir()
	s := &Server{
		opts: opts,
		bin:  bin,
		ctl:  ctlBinary(bin),
		paths: paths{
			dir:     dir,
			config:  filepath.Join(dir, "prosody.cfg.lua"),
			pidfile: filepath.Join(dir, "prosody.pid"),
			data:    filepath.Join(dir, "data"),
			certs:   filepath.Join(dir, "certs"),
			log:     filepath.Join(dir, "prosody.log"),
			stderr:  filepath.Join(dir, "prosody.stderr"),
		},
	}
	for _, d := range []string{s.paths.data, s.paths.certs} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatalf("prosodytest: %v", err)
		}
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("prosodytest: %s", s.report())
		}
		s.Stop()
	})
	for attempt := 1; ; attempt++ {
		p, err := pickPorts(3)
		if err != nil {
			t.Fatal(err)
		}
		s.ports = ports{c2s: p[0], component: p[1], http: p[2]}
		if err := os.WriteFile(s.paths.config, []byte(renderConfig(opts, s.paths, s.ports)), 0o600); err != nil {
			t.Fatalf("prosodytest: write config: %v", err)
		}
		if attempt == 1 {
			s.registerUsers(t)
		}
		err = s.launch(t.Context())
		if errors.Is(err, errPortInUse) && attempt < startAttempts {
			continue
		}
		if err != nil {
			t.Fatalf("prosodytest: start: %v\n%s", err, s.report())
		}
		return s
	}
}

// haveBinary reports whether bin is set; when it is not it skips the test,
// or fails it when RequireEnv is "1".
func haveBinary(t testing.TB, bin string) bool {
	t.Helper()
	if bin != "" {
		return true
	}
	const msg = "prosody not installed: apt-get install prosody"
	if os.Getenv(RequireEnv) == "1" {
		t.Fatalf("%s (%s=1 requires it)", msg, RequireEnv)
	} else {
		t.Skip(msg)
	}
	return false
}

// registerUsers creates opts.Users, in parallel.
func (s *Server) registerUsers(t testing.TB) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make([]error, 0, len(s.opts.Users))
	var mu sync.Mutex
	for user, password := range s.opts.Users {
		wg.Go(func() {
			if err := s.register(t.Context(), user, password); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
}

// Register creates the account user@Host with password, or sets its
// password if it exists, with prosodyctl. It works whether or not the
// server is running.
func (s *Server) Register(t testing.TB, user, password string) {
	t.Helper()
	if err := s.register(t.Context(), user, password); err != nil {
		t.Fatal(err)
	}
}

func (s *Server) register(ctx context.Context, user, password string) error {
	if password == "" {
		// prosodyctl would prompt for it.
		return fmt.Errorf("prosodytest: register %s: empty password", user)
	}
	ctx, cancel := context.WithTimeout(ctx, ctlTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, s.ctl, "--config", s.paths.config, "register", user, s.Host(), password)
	cmd.Dir = s.paths.dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("prosodytest: prosodyctl register %s@%s: %w: %s", user, s.Host(), err, bytes.TrimSpace(out))
	}
	return nil
}

// launch starts the prosody process and waits until it is ready. On
// failure the process is killed.
func (s *Server) launch(ctx context.Context) error {
	var logFrom int64
	if fi, err := os.Stat(s.paths.log); err == nil {
		logFrom = fi.Size()
	}
	stderr, err := os.OpenFile(s.paths.stderr, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("prosodytest: %w", err)
	}
	defer stderr.Close() // the child holds its own descriptor
	cmd := exec.Command(s.bin, "-F", "--config", s.paths.config)
	cmd.Dir = s.paths.dir
	cmd.Stdout, cmd.Stderr = stderr, stderr
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("prosodytest: run %s: %w", s.bin, err)
	}
	p := &process{cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	s.mu.Lock()
	s.proc = p
	s.mu.Unlock()
	if err := s.waitReady(ctx, p, logFrom); err != nil {
		s.Kill()
		return err
	}
	return nil
}

// waitReady polls until Prosody has logged the activation of each port it
// should open and each accepts a connection, Prosody exits, it fails to
// bind a port, or readyTimeout passes. The component port opens only when
// a component is declared, the HTTP port only with an HTTP module.
func (s *Server) waitReady(ctx context.Context, p *process, logFrom int64) error {
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	type service struct {
		name string
		port int
	}
	want := []service{{"c2s", s.ports.c2s}}
	if len(s.opts.Components) > 0 {
		want = append(want, service{"component", s.ports.component})
	}
	if s.opts.Upload != "" {
		want = append(want, service{"http", s.ports.http})
	}
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for {
		log := s.readLog(logFrom)
		if i := strings.Index(log, "Failed to open server port"); i >= 0 {
			line, _, _ := strings.Cut(log[i:], "\n")
			return fmt.Errorf("%w: %s", errPortInUse, line)
		}
		ready := true
		for _, w := range want {
			if !strings.Contains(log, fmt.Sprintf("Activated service '%s' on [127.0.0.1]:%d", w.name, w.port)) {
				ready = false
				break
			}
		}
		if ready {
			for _, w := range want {
				if !canDial(ctx, loopback(w.port)) {
					ready = false
					break
				}
			}
		}
		if ready {
			return nil
		}
		select {
		case <-p.done:
			return fmt.Errorf("%w: prosody exited: %v", ErrNotReady, p.err)
		case <-ctx.Done():
			return fmt.Errorf("%w within %v: %w", ErrNotReady, readyTimeout, ctx.Err())
		case <-tick.C:
		}
	}
}

func canDial(ctx context.Context, addr string) bool {
	ctx, cancel := context.WithTimeout(ctx, dialTimeout)
	defer cancel()
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

func loopback(port int) string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)) }

// readLog returns Prosody's log from byte offset from, or "" if unreadable.
func (s *Server) readLog(from int64) string {
	f, err := os.Open(s.paths.log)
	if err != nil {
		return ""
	}
	defer f.Close()
	if _, err := f.Seek(from, io.SeekStart); err != nil {
		return ""
	}
	b, _ := io.ReadAll(f)
	return string(b)
}

// ComponentAddr returns the address of the component (XEP-0114) listener,
// "127.0.0.1:port". Prosody listens there only when Options.Components is
// not empty.
func (s *Server) ComponentAddr() string { return loopback(s.ports.component) }

// C2SAddr returns the address of the client listener, "127.0.0.1:port".
func (s *Server) C2SAddr() string { return loopback(s.ports.c2s) }

// HTTPAddr returns the address of the HTTP listener, "127.0.0.1:port".
// Prosody listens there only when an HTTP module is loaded (Upload, or a
// module added through Modules or ExtraConfig).
func (s *Server) HTTPAddr() string { return loopback(s.ports.http) }

// Host returns the VirtualHost users live on.
func (s *Server) Host() string { return s.opts.host() }

// Dir returns the server's private directory: prosody.cfg.lua,
// prosody.log, prosody.stderr and the data directory.
func (s *Server) Dir() string { return s.paths.dir }

// Kill sends SIGKILL to the Prosody process (by its PID) and waits for it
// to exit. It does nothing when the server is not running.
func (s *Server) Kill() { s.halt(syscall.SIGKILL) }

// Stop sends SIGTERM to the Prosody process and waits for it to exit,
// sending SIGKILL if it is still running after 10 seconds. It does nothing
// when the server is not running.
func (s *Server) Stop() { s.halt(syscall.SIGTERM) }

func (s *Server) halt(sig os.Signal) {
	s.mu.Lock()
	p := s.proc
	s.proc = nil
	s.mu.Unlock()
	if p != nil {
		p.halt(sig)
	}
}

func (p *process) halt(sig os.Signal) {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(sig)
	if sig != syscall.SIGKILL {
		timer := time.NewTimer(stopTimeout)
		defer timer.Stop()
		select {
		case <-p.done:
			return
		case <-timer.C:
			_ = p.cmd.Process.Kill()
		}
	}
	<-p.done // SIGKILL cannot be caught: the wait is short
}

// Restart starts Prosody again with the same configuration, ports and data
// directory and waits until it is ready, stopping it first (SIGTERM) if it
// is running. It fails the test if a port is now taken by another process.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	s.Stop()
	if err := s.launch(t.Context()); err != nil {
		t.Fatalf("prosodytest: restart: %v\n%s", err, s.report())
	}
}

// LogTail returns the last n lines of Prosody's log file.
func (s *Server) LogTail(n int) string { return tail(s.readLog(0), n) }

// report describes the server's state for a failure message.
func (s *Server) report() string {
	var b strings.Builder
	fmt.Fprintf(&b, "prosody log %s (last %d lines):\n%s", s.paths.log, reportLines, s.LogTail(reportLines))
	if out, err := os.ReadFile(s.paths.stderr); err == nil && len(bytes.TrimSpace(out)) > 0 {
		fmt.Fprintf(&b, "\nprosody stderr:\n%s", tail(string(out), reportLines))
	}
	return b.String()
}

// tail returns the last n lines of text.
func tail(text string, n int) string {
	lines := strings.Split(strings.TrimRight(text, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
