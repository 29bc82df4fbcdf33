package prosodytest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/xgate-im/xgate/xmpp/internal/hostproc"
)

// TB is the part of testing.TB that Start, Register, Restart and Dial use;
// testing.TB satisfies it. It is an alias, so ejabberdtest's servers have
// the same method set and tests can hold either behind one interface.
type TB = hostproc.TB

// Time bounds of the server's lifecycle.
const (
	// readyTimeout bounds how long Prosody may take to open its ports.
	readyTimeout = 15 * time.Second
	// stopTimeout is how long Stop waits after SIGTERM before SIGKILL.
	stopTimeout = 10 * time.Second
	// ctlTimeout bounds one prosodyctl run. It needs little CPU but has
	// been seen to take 10 s on a heavily loaded machine.
	ctlTimeout = 30 * time.Second
)

// pickPorts is hostproc.FreePorts; tests replace it to simulate a lost
// race. Start notices Prosody's bind failure and retries with new ports.
var pickPorts = hostproc.FreePorts

// RequireEnv is the environment variable that turns a missing prosody
// binary from a skipped test into a failed one (CI sets it to "1").
const RequireEnv = "XGATE_REQUIRE_PROSODY"

// Binary returns the path of the prosody executable, from PATH or
// /usr/bin, or "" when it is not installed.
func Binary() string { return hostproc.Find("prosody", "/usr/bin/prosody") }

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
	proc *hostproc.Process // one run of the prosody binary; nil while stopped
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
func Start(t TB, opts Options) *Server {
	t.Helper()
	if !haveBinary(t, Binary()) {
		return nil
	}
	s, err := Launch(t.Context(), t.TempDir(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("prosodytest: %s", s.report())
		}
		s.Stop()
	})
	return s
}

// Launch runs Prosody as Start does, without a test: in dir (which must
// exist and should be empty or hold an earlier Launch's files), until
// Stop or Kill, which the caller must call. ctx bounds the start only.
// It returns ErrNotInstalled when there is no prosody binary; any other
// error carries the tail of Prosody's log. xgate demo runs its private
// server with it.
func Launch(ctx context.Context, dir string, opts Options) (*Server, error) {
	bin := Binary()
	if bin == "" {
		return nil, ErrNotInstalled
	}
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
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("prosodytest: %w", err)
		}
	}
	err := hostproc.OnFreePorts(pickPorts, 3, errPortInUse, func(attempt int, p []int) error {
		s.ports = ports{c2s: p[0], component: p[1], http: p[2]}
		if err := os.WriteFile(s.paths.config, []byte(renderConfig(opts, s.paths, s.ports)), 0o600); err != nil {
			return fmt.Errorf("prosodytest: write config: %w", err)
		}
		if attempt == 1 {
			if err := s.registerUsers(ctx); err != nil {
				return err
			}
		}
		return s.launch(ctx)
	})
	if err != nil {
		s.Stop()
		return nil, fmt.Errorf("prosodytest: start: %w\n%s", err, s.report())
	}
	return s, nil
}

// Require skips t (or fails it when XGATE_REQUIRE_PROSODY is "1") unless
// prosody is installed, for tests that run Prosody through Launch.
func Require(t TB) {
	t.Helper()
	haveBinary(t, Binary())
}

// haveBinary reports whether bin is set; when it is not it skips the test,
// or fails it when RequireEnv is "1".
func haveBinary(t TB, bin string) bool {
	t.Helper()
	if bin != "" {
		return true
	}
	hostproc.SkipOrFail(t, RequireEnv, "prosody not installed: apt-get install prosody")
	return false
}

// registerUsers creates opts.Users, in parallel.
func (s *Server) registerUsers(ctx context.Context) error {
	var wg sync.WaitGroup
	errs := make([]error, 0, len(s.opts.Users))
	var mu sync.Mutex
	for user, password := range s.opts.Users {
		wg.Go(func() {
			if err := s.register(ctx, user, password); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// Register creates the account user@Host with password, or sets its
// password if it exists, with prosodyctl. It works whether or not the
// server is running.
func (s *Server) Register(t TB, user, password string) {
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
	logFrom := hostproc.Size(s.paths.log)
	stderr, err := os.OpenFile(s.paths.stderr, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("prosodytest: %w", err)
	}
	defer stderr.Close() // the child holds its own descriptor
	cmd := exec.Command(s.bin, "-F", "--config", s.paths.config)
	cmd.Dir = s.paths.dir
	cmd.Stdout, cmd.Stderr = stderr, stderr
	cmd.SysProcAttr = sysProcAttr()
	p, err := hostproc.Start(cmd, nil, nil)
	if err != nil {
		return fmt.Errorf("prosodytest: run %s: %w", s.bin, err)
	}
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
func (s *Server) waitReady(ctx context.Context, p *hostproc.Process, logFrom int64) error {
	activated := func(service string, port int) hostproc.Listener {
		return hostproc.Listener{Port: port, Line: fmt.Sprintf("Activated service '%s' on [127.0.0.1]:%d", service, port)}
	}
	want := []hostproc.Listener{activated("c2s", s.ports.c2s)}
	if len(s.opts.Components) > 0 {
		want = append(want, activated("component", s.ports.component))
	}
	if s.opts.Upload != "" {
		want = append(want, activated("http", s.ports.http))
	}
	return p.WaitReady(ctx, hostproc.Readiness{
		Timeout:  readyTimeout,
		NotReady: ErrNotReady,
		Check: func(ctx context.Context) (bool, error) {
			log := hostproc.ReadFrom(s.paths.log, logFrom)
			if i := strings.Index(log, "Failed to open server port"); i >= 0 {
				line, _, _ := strings.Cut(log[i:], "\n")
				return false, fmt.Errorf("%w: %s", errPortInUse, line)
			}
			return hostproc.Listening(ctx, log, want), nil
		},
		Exited: func(err error) error { return fmt.Errorf("%w: prosody exited: %v", ErrNotReady, err) },
	})
}

// ComponentAddr returns the address of the component (XEP-0114) listener,
// "127.0.0.1:port". Prosody listens there only when Options.Components is
// not empty.
func (s *Server) ComponentAddr() string { return hostproc.Loopback(s.ports.component) }

// C2SAddr returns the address of the client listener, "127.0.0.1:port".
func (s *Server) C2SAddr() string { return hostproc.Loopback(s.ports.c2s) }

// HTTPAddr returns the address of the HTTP listener, "127.0.0.1:port".
// Prosody listens there only when an HTTP module is loaded (Upload, or a
// module added through Modules or ExtraConfig).
func (s *Server) HTTPAddr() string { return hostproc.Loopback(s.ports.http) }

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

func (s *Server) halt(sig syscall.Signal) {
	s.mu.Lock()
	p := s.proc
	s.proc = nil
	s.mu.Unlock()
	if p != nil {
		p.Halt(sig, stopTimeout)
	}
}

// Restart starts Prosody again with the same configuration, ports and data
// directory and waits until it is ready, stopping it first (SIGTERM) if it
// is running. It fails the test if a port is now taken by another process.
func (s *Server) Restart(t TB) {
	t.Helper()
	s.Stop()
	if err := s.launch(t.Context()); err != nil {
		t.Fatalf("prosodytest: restart: %v\n%s", err, s.report())
	}
}

// LogTail returns the last n lines of Prosody's log file.
func (s *Server) LogTail(n int) string { return hostproc.Tail(hostproc.ReadFrom(s.paths.log, 0), n) }

// report describes the server's state for a failure message.
func (s *Server) report() string {
	return hostproc.Report("prosody", s.paths.log, "stderr", s.paths.stderr)
}
