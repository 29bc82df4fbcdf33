package ejabberdtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/xgate-im/xgate/xmpp/internal/hostproc"
)

// Time bounds of the server's lifecycle.
const (
	// readyTimeout bounds how long ejabberd may take to open its ports.
	// It needs about 1.3 s of CPU to start; on a 2-core machine running
	// other tests that has taken 8 s.
	readyTimeout = 60 * time.Second
	// stopTimeout is how long Stop waits after SIGTERM before SIGKILL.
	stopTimeout = 10 * time.Second
	// waitDelay bounds how long the end of ejabberdctl may precede the end
	// of the last process holding its output (the Erlang node, its port
	// programs). Stop and Kill signal the whole group first, so it only
	// matters if something escaped the group.
	waitDelay = 2 * stopTimeout
	// registerTimeout bounds the in-band registration of Options.Users.
	registerTimeout = 30 * time.Second
)

// pickPorts is hostproc.FreePorts; tests replace it to simulate a lost
// race. ejabberd then exits and Start retries with new ports.
var pickPorts = hostproc.FreePorts

// RequireEnv is the environment variable that turns a missing ejabberd
// (or a platform or user that cannot run it) from a skipped test into a
// failed one (CI sets it to "1").
const RequireEnv = "XGATE_REQUIRE_EJABBERD"

// Binary returns the path of ejabberdctl, from PATH or /usr/sbin, or ""
// when ejabberd is not installed.
func Binary() string { return hostproc.Find("ejabberdctl", "/usr/sbin/ejabberdctl") }

// Server is an ejabberd child process private to one test. Its methods are
// safe for concurrent use.
type Server struct {
	opts  Options
	ctl   string
	as    *account // nil: run as the current user
	paths paths
	ports ports
	node  node

	mu   sync.Mutex
	proc *process // nil while stopped
}

// process is one run of ejabberdctl and the Erlang node it starts. Its
// Done is closed once every process of the run is gone.
type process struct {
	*hostproc.Process
	watchdog *os.File // write end of the node's standard input
}

// Start runs ejabberd for the test t with a configuration generated from
// opts, in a directory from t.TempDir, on random free loopback ports,
// waits until its client port and its component port (with Components)
// accept connections, and registers opts.Users. The server is killed when
// the test ends.
//
// When ejabberd is not installed the test is skipped, or fails if the
// environment variable XGATE_REQUIRE_EJABBERD is "1"; likewise on other
// platforms than Linux and for users other than root and ejabberd. Any
// other failure fails the test with the tail of ejabberd's log.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	ctl := Binary()
	as, ok := prerequisites(t, ctl)
	if !ok {
		return nil
	}
	dir := t.TempDir()
	if strings.ContainsAny(dir, " \t\n'\"\\*?[") {
		// ejabberdctl expands its paths unquoted.
		t.Fatalf("ejabberdtest: ejabberdctl cannot use the directory %q: set TMPDIR to a plain path", dir)
	}
	s := &Server{
		opts: opts,
		ctl:  ctl,
		as:   as,
		paths: paths{
			dir:      dir,
			config:   filepath.Join(dir, "ejabberd.yml"),
			ctl:      filepath.Join(dir, "ejabberdctl.cfg"),
			vmArgs:   filepath.Join(dir, "vm.args"),
			watchdog: filepath.Join(dir, "watchdog.args"),
			inetrc:   filepath.Join(dir, "inetrc"),
			logs:     filepath.Join(dir, "logs"),
			log:      filepath.Join(dir, "logs", "ejabberd.log"),
			spool:    filepath.Join(dir, "spool"),
			stderr:   filepath.Join(dir, "ejabberd.stderr"),
		},
		node: node{name: "xgate-" + randomHex(6) + "@localhost", cookie: randomHex(16)},
	}
	for _, d := range []string{s.paths.logs, s.paths.spool} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatalf("ejabberdtest: %v", err)
		}
	}
	s.writeFile(t, s.paths.vmArgs, renderVMArgs(s.node))
	s.writeFile(t, s.paths.watchdog, watchdogArgs)
	s.writeFile(t, s.paths.inetrc, inetrc)
	seedTranslations(filepath.Join(s.paths.spool, translationsCache))
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("ejabberdtest: %s", s.report())
		}
		// Nothing needs a clean shutdown or the data of a server about
		// to be deleted, and the Erlang node takes a second to stop
		// cleanly.
		s.halt(syscall.SIGKILL)
	})
	err := hostproc.OnFreePorts(pickPorts, 3, errPortInUse, func(_ int, p []int) error {
		s.ports = ports{c2s: p[0], component: p[1], dist: p[2]}
		s.writeFile(t, s.paths.config, renderConfig(opts, s.ports))
		s.writeFile(t, s.paths.ctl, renderCtlConfig(s.paths, s.ports, s.node))
		if s.as != nil {
			if err := handOver(dir, s.as); err != nil {
				t.Fatal(err)
			}
		}
		return s.launch(t.Context())
	})
	if err != nil {
		t.Fatalf("ejabberdtest: start: %v", err)
	}
	keepTranslations(filepath.Join(s.paths.spool, translationsCache))
	if len(opts.Users) > 0 {
		ctx, cancel := context.WithTimeout(t.Context(), registerTimeout)
		defer cancel()
		if err := register(ctx, s.C2SAddr(), s.Host(), opts.Users); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

// prerequisites returns the user to run ejabberd as and whether it can run
// at all; when it cannot it skips the test, or fails it when RequireEnv is
// "1".
func prerequisites(t testing.TB, ctl string) (*account, bool) {
	t.Helper()
	var msg string
	var as *account
	switch {
	case ctl == "":
		msg = "ejabberd not installed: apt-get install ejabberd"
	case !supported:
		msg = "ejabberdtest runs ejabberd on Linux only"
	default:
		var err error
		as, err = runAs()
		if errors.Is(err, errUnsupportedUser) {
			msg = err.Error()
		} else if err != nil {
			t.Fatal(err)
		}
	}
	if msg == "" {
		return as, true
	}
	hostproc.SkipOrFail(t, RequireEnv, msg)
	return nil, false
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails
	return hex.EncodeToString(b)
}

func (s *Server) writeFile(t testing.TB, name, content string) {
	t.Helper()
	if err := os.WriteFile(name, []byte(content), 0o600); err != nil {
		t.Fatalf("ejabberdtest: %v", err)
	}
}

// outputWriter hides the *os.File from os/exec, which then copies the
// child's output through a pipe and makes Wait wait until every process
// holding that pipe (ejabberdctl, the Erlang node, its port programs) has
// exited, not only ejabberdctl.
type outputWriter struct{ f *os.File }

func (w outputWriter) Write(b []byte) (int, error) { return w.f.Write(b) }

// launch starts ejabberdctl and waits until the server is ready. On
// failure the process group is killed.
func (s *Server) launch(ctx context.Context) error {
	logFrom := hostproc.Size(s.paths.log)
	out, err := os.OpenFile(s.paths.stderr, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("ejabberdtest: %w", err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		out.Close()
		return fmt.Errorf("ejabberdtest: %w", err)
	}
	// foreground-quiet is foreground with only critical messages on the
	// console; the log file gets everything from level info.
	cmd := exec.Command(s.ctl,
		"--config-dir", s.paths.dir, "--config", s.paths.config, "--ctl-config", s.paths.ctl,
		"--logs", s.paths.logs, "--spool", s.paths.spool, "foreground-quiet")
	cmd.Dir = s.paths.dir
	cmd.Env = []string{
		"PATH=/usr/sbin:/usr/bin:/sbin:/bin",
		"HOME=" + s.paths.dir,
		"LANG=C.UTF-8",
		// Only used if something starts epmd after all.
		"ERL_EPMD_ADDRESS=127.0.0.1",
	}
	cmd.Stdin = r
	cmd.Stdout = outputWriter{out}
	cmd.Stderr = cmd.Stdout
	cmd.SysProcAttr = sysProcAttr(s.as)
	cmd.WaitDelay = waitDelay
	run, err := hostproc.Start(cmd, signalGroup, func() {
		w.Close()
		out.Close()
	})
	r.Close()
	if err != nil {
		w.Close()
		out.Close()
		return fmt.Errorf("ejabberdtest: run %s: %w", s.ctl, err)
	}
	p := &process{Process: run, watchdog: w}
	s.mu.Lock()
	s.proc = p
	s.mu.Unlock()
	if err := s.waitReady(ctx, p, logFrom); err != nil {
		s.halt(syscall.SIGKILL)
		return err
	}
	return nil
}

// waitReady polls until ejabberd has logged that it accepts connections on
// each port it should open and each accepts one, ejabberd exits, or
// readyTimeout passes. ejabberd opens its listeners once everything else
// has started. It exits when it cannot bind a port.
func (s *Server) waitReady(ctx context.Context, p *process, logFrom int64) error {
	accepting := func(module string, port int) hostproc.Listener {
		return hostproc.Listener{Port: port, Line: fmt.Sprintf("Start accepting TCP connections at 127.0.0.1:%d for %s", port, module)}
	}
	want := []hostproc.Listener{accepting("ejabberd_c2s", s.ports.c2s)}
	if len(s.opts.Components) > 0 {
		want = append(want, accepting("ejabberd_service", s.ports.component))
	}
	return p.WaitReady(ctx, hostproc.Readiness{
		Timeout:  readyTimeout,
		NotReady: ErrNotReady,
		Check: func(ctx context.Context) (bool, error) {
			return hostproc.Listening(ctx, hostproc.ReadFrom(s.paths.log, logFrom), want), nil
		},
		Exited: func(err error) error {
			if out := hostproc.ReadFrom(s.paths.log, logFrom) + s.stderrText(); strings.Contains(out, "eaddrinuse") {
				return fmt.Errorf("%w: ejabberd exited: %v", errPortInUse, err)
			}
			return fmt.Errorf("%w: ejabberd exited: %v", ErrNotReady, err)
		},
	})
}

func (s *Server) stderrText() string {
	b, _ := os.ReadFile(s.paths.stderr)
	return string(b)
}

// Register creates the account user@Host with password, in-band
// (XEP-0077) through the client port, and fails the test on error (one
// wrapping ErrRegister if the account exists). The server must be running.
func (s *Server) Register(t hostproc.TB, user, password string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), registerTimeout)
	defer cancel()
	if err := register(ctx, s.C2SAddr(), s.Host(), map[string]string{user: password}); err != nil {
		t.Fatal(err)
	}
}

// ComponentAddr returns the address of the component (XEP-0114) listener,
// "127.0.0.1:port". ejabberd listens there only when Options.Components is
// not empty.
func (s *Server) ComponentAddr() string { return hostproc.Loopback(s.ports.component) }

// C2SAddr returns the address of the client listener, "127.0.0.1:port".
func (s *Server) C2SAddr() string { return hostproc.Loopback(s.ports.c2s) }

// Host returns the virtual host users live on.
func (s *Server) Host() string { return s.opts.host() }

// Dir returns the server's private directory: ejabberd.yml,
// ejabberdctl.cfg, ejabberd.stderr, logs/ejabberd.log and the Mnesia
// spool directory.
func (s *Server) Dir() string { return s.paths.dir }

// Kill crashes ejabberd: it sends SIGKILL to its processes (by process
// group) and waits until every one has exited. Connections break without
// a stream end. It does nothing when the server is not running.
//
// Mnesia delays its writes by a few seconds (the transaction log, and the
// DETS files that hold accounts, rosters and offline messages), so a real
// crash loses what was committed just before it. Tests need what they
// set up to survive, so Kill first makes the node write everything out,
// through a hidden Erlang node (about 0.2 s). If that fails, Kill goes on
// and the reason appears in the failure report.
func (s *Server) Kill() {
	s.mu.Lock()
	running := s.proc != nil
	s.mu.Unlock()
	if running {
		if err := s.syncStorage(context.Background()); err != nil {
			s.note(err)
		}
	}
	s.halt(syscall.SIGKILL)
}

// note appends a line about the harness to the console output file, which
// the failure report shows.
func (s *Server) note(err error) {
	f, ferr := os.OpenFile(s.paths.stderr, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if ferr != nil {
		return
	}
	defer f.Close()
	fmt.Fprintf(f, "%s\n", err)
}

// Stop sends SIGTERM to ejabberd's processes (by process group), which
// makes the Erlang node shut down cleanly, and waits until every one has
// exited, sending SIGKILL if they still run after 10 seconds. It does
// nothing when the server is not running. Connected clients usually get a
// system-shutdown stream error, but not always: now and then (about one
// stop in 16 on a busy machine) the node exits before a session wrote it,
// and the client sees its connection closed between stanzas.
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

// Restart starts ejabberd again with the same configuration, ports, node
// name and database and waits until it is ready, stopping it first
// (SIGTERM) if it is running. Accounts and stored data survive. It fails
// the test if a port is now taken by another process.
func (s *Server) Restart(t hostproc.TB) {
	t.Helper()
	s.Stop()
	if err := s.launch(t.Context()); err != nil {
		t.Fatalf("ejabberdtest: restart: %v", err)
	}
}

// LogTail returns the last n lines of ejabberd's log file.
func (s *Server) LogTail(n int) string { return hostproc.Tail(hostproc.ReadFrom(s.paths.log, 0), n) }

// report describes the server's state for a failure message.
func (s *Server) report() string {
	return hostproc.Report("ejabberd", s.paths.log, "console", s.paths.stderr)
}
