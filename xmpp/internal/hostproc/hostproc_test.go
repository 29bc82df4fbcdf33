package hostproc_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/xgate-im/xgate/xmpp/internal/hostproc"
	"github.com/xgate-im/xgate/xmpp/internal/hostproc/hostproctest"
)

// testTimeout bounds each test's waits.
const testTimeout = 10 * time.Second

func TestFreePortsDistinct(t *testing.T) {
	p, err := hostproc.FreePorts(5)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int]bool{}
	for _, n := range p {
		if n <= 0 || seen[n] {
			t.Fatalf("FreePorts(5) = %v: want five distinct ports", p)
		}
		seen[n] = true
	}
	// Below the ephemeral range, where no outgoing connection takes them
	// while a restarted server is down.
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		if low, err := strconv.Atoi(strings.Fields(string(b))[0]); err == nil && low > 11024 {
			for _, n := range p {
				if n >= low {
					t.Errorf("port %d is in the ephemeral range (from %d)", n, low)
				}
			}
		}
	}
}

func TestOnFreePorts(t *testing.T) {
	errInUse := errors.New("port in use")
	errOther := errors.New("other failure")
	errPick := errors.New("no ports")
	for _, tc := range []struct {
		name     string
		pickErr  error
		launches []error // what each launch returns, in turn
		want     error
		calls    int
	}{
		{"first attempt", nil, []error{nil}, nil, 1},
		{"third attempt", nil, []error{errInUse, errInUse, nil}, nil, 3},
		{"three lost races", nil, []error{errInUse, errInUse, errInUse, nil}, errInUse, 3},
		{"other failure is not retried", nil, []error{errOther, nil}, errOther, 1},
		{"pick fails", errPick, []error{nil}, errPick, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pick := func(n int) ([]int, error) {
				if tc.pickErr != nil {
					return nil, tc.pickErr
				}
				return hostproc.FreePorts(n)
			}
			calls := 0
			err := hostproc.OnFreePorts(pick, 2, errInUse, func(attempt int, ports []int) error {
				calls++
				if attempt != calls || len(ports) != 2 {
					t.Errorf("launch(%d, %v) at call %d", attempt, ports, calls)
				}
				if err := tc.launches[calls-1]; err != nil {
					return fmt.Errorf("launch: %w", err)
				}
				return nil
			})
			if tc.want == nil && err != nil || tc.want != nil && !errors.Is(err, tc.want) {
				t.Errorf("OnFreePorts = %v, want %v", err, tc.want)
			}
			if calls != tc.calls {
				t.Errorf("launch called %d times, want %d", calls, tc.calls)
			}
		})
	}
}

func TestTail(t *testing.T) {
	for _, tc := range []struct {
		text string
		n    int
		want string
	}{
		{"", 3, ""},
		{"a\nb\nc\n", 2, "b\nc"},
		{"a\nb\nc", 5, "a\nb\nc"},
		{"a\nb\n\n\n", 1, "b"},
	} {
		if got := hostproc.Tail(tc.text, tc.n); got != tc.want {
			t.Errorf("Tail(%q, %d) = %q, want %q", tc.text, tc.n, got, tc.want)
		}
	}
}

func TestLogFiles(t *testing.T) {
	dir := t.TempDir()
	log, console := filepath.Join(dir, "server.log"), filepath.Join(dir, "server.stderr")
	if got := hostproc.Size(log); got != 0 {
		t.Errorf("Size of a missing file = %d, want 0", got)
	}
	if got := hostproc.ReadFrom(log, 0); got != "" {
		t.Errorf("ReadFrom a missing file = %q, want \"\"", got)
	}
	if err := os.WriteFile(log, []byte("one\ntwo\nthree\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := hostproc.Size(log); got != 14 {
		t.Errorf("Size = %d, want 14", got)
	}
	if got := hostproc.ReadFrom(log, 4); got != "two\nthree\n" {
		t.Errorf("ReadFrom(4) = %q, want %q", got, "two\nthree\n")
	}
	want := "srv log " + log + " (last 40 lines):\none\ntwo\nthree"
	if got := hostproc.Report("srv", log, "console", console); got != want {
		t.Errorf("Report without console output = %q, want %q", got, want)
	}
	if err := os.WriteFile(console, []byte(strings.Repeat("noise\n", 50)+"crash\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	want += "\nsrv console:\n" + strings.Repeat("noise\n", 39) + "crash"
	if got := hostproc.Report("srv", log, "console", console); got != want {
		t.Errorf("Report = %q, want %q", got, want)
	}
}

func TestFind(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "server")
	if err := os.WriteFile(file, nil, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, fallback, want string
	}{
		{"xgate-no-such-binary", file, file},
		{"xgate-no-such-binary", dir, ""},
		{"xgate-no-such-binary", filepath.Join(dir, "missing"), ""},
	} {
		if got := hostproc.Find(tc.name, tc.fallback); got != tc.want {
			t.Errorf("Find(%q, %q) = %q, want %q", tc.name, tc.fallback, got, tc.want)
		}
	}
	if sh := hostproc.Find("sh", ""); sh == "" {
		t.Error(`Find("sh") = "", want the shell from PATH`)
	}
}

func TestSkipOrFail(t *testing.T) {
	const env = "XGATE_HOSTPROC_TEST_REQUIRE"
	var notes []string
	defer hostproc.SetSkipNote(func(line string) { notes = append(notes, line) })()
	for _, tc := range []struct {
		env         string
		skip, fatal bool
	}{
		{env: "", skip: true},
		{env: "0", skip: true},
		{env: "1", fatal: true},
	} {
		t.Run(fmt.Sprintf("env=%q", tc.env), func(t *testing.T) {
			t.Setenv(env, tc.env)
			f := &hostproctest.FakeTB{TB: t}
			hostproc.SkipOrFail(f, env, "server missing")
			if (f.SkipMsg != "") != tc.skip || (f.FatalMsg != "") != tc.fatal {
				t.Fatalf("skipped=%q fatal=%q, want skip=%v fatal=%v", f.SkipMsg, f.FatalMsg, tc.skip, tc.fatal)
			}
			if tc.fatal && f.FatalMsg != "server missing ("+env+"=1 requires it)" {
				t.Errorf("fatal message %q", f.FatalMsg)
			}
			if tc.skip && f.SkipMsg != "server missing" {
				t.Errorf("skip message %q", f.SkipMsg)
			}
		})
	}
	// A stand-in TB is not announced: TestSkipNoteVisible covers real ones.
	if len(notes) != 0 {
		t.Errorf("announcements %q for a stand-in TB", notes)
	}
}

func TestListening(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), testTimeout)
	defer cancel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	open := l.Addr().(*net.TCPAddr).Port
	closed := func() int {
		p, err := hostproc.FreePorts(1)
		if err != nil {
			t.Fatal(err)
		}
		return p[0]
	}()
	log := "started c2s\nstarted component\n"
	for _, tc := range []struct {
		name string
		want []hostproc.Listener
		ok   bool
	}{
		{"nothing wanted", nil, true},
		{"logged and open", []hostproc.Listener{{Port: open, Line: "started c2s"}}, true},
		{"not logged", []hostproc.Listener{{Port: open, Line: "started c2s"}, {Port: open, Line: "started http"}}, false},
		{"logged but closed", []hostproc.Listener{{Port: open, Line: "started c2s"}, {Port: closed, Line: "started component"}}, false},
	} {
		if got := hostproc.Listening(ctx, log, tc.want); got != tc.ok {
			t.Errorf("%s: Listening = %v, want %v", tc.name, got, tc.ok)
		}
	}
}

// shell starts sh -c script as a Process. The script's first output line
// tells that it is ready (its traps set); shell returns after it.
func shell(t *testing.T, script string, reaped func()) *hostproc.Process {
	t.Helper()
	sh := hostproc.Find("sh", "/bin/sh")
	if sh == "" {
		t.Skip("no sh")
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	cmd := exec.Command(sh, "-c", script)
	cmd.Stdout = w // an *os.File: Wait does not wait for the pipe
	p, err := hostproc.Start(cmd, nil, reaped)
	w.Close()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Halt(syscall.SIGKILL, 0) })
	_ = r.SetReadDeadline(time.Now().Add(testTimeout))
	if _, err := bufio.NewReader(r).ReadString('\n'); err != nil {
		t.Fatalf("the script did not start: %v", err)
	}
	return p
}

func TestProcessHalt(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, script string
		sig          syscall.Signal
		want         string // the signal that ended the run
	}{
		{"SIGTERM obeyed", "echo; exec sleep 60", syscall.SIGTERM, "terminated"},
		{"SIGTERM ignored, SIGKILL after the grace period", `trap "" TERM; echo; while :; do sleep 0.05; done`, syscall.SIGTERM, "killed"},
		{"SIGKILL", "echo; exec sleep 60", syscall.SIGKILL, "killed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			reaped := make(chan struct{})
			p := shell(t, tc.script, func() { close(reaped) })
			if p.Pid() <= 0 {
				t.Fatalf("Pid() = %d", p.Pid())
			}
			if err := p.Err(); err != nil {
				t.Fatalf("Err() of a running process = %v, want nil", err)
			}
			done := make(chan struct{})
			go func() {
				p.Halt(tc.sig, 100*time.Millisecond)
				close(done)
			}()
			select {
			case <-done:
			case <-time.After(testTimeout):
				t.Fatal("Halt did not return")
			}
			select {
			case <-reaped:
			default:
				t.Error("Halt returned before reaped ran")
			}
			select {
			case <-p.Done():
			default:
				t.Error("Done is not closed after Halt")
			}
			var exit *exec.ExitError
			if err := p.Err(); !errors.As(err, &exit) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Err() = %v, want the process %s", err, tc.want)
			}
			p.Halt(syscall.SIGTERM, time.Hour) // a second Halt returns at once
		})
	}
}

func TestStartFails(t *testing.T) {
	called := false
	p, err := hostproc.Start(exec.Command(filepath.Join(t.TempDir(), "missing")), nil, func() { called = true })
	if err == nil || p != nil {
		t.Fatalf("Start of a missing binary = %v, %v; want an error", p, err)
	}
	if called {
		t.Error("reaped ran for a command that never started")
	}
}

func TestWaitReady(t *testing.T) {
	t.Parallel()
	errNotReady := errors.New("not ready")
	errBind := errors.New("bind failed")
	exited := func(err error) error { return fmt.Errorf("%w: exited: %v", errNotReady, err) }
	for _, tc := range []struct {
		name    string
		script  string
		check   func(calls int) (bool, error)
		timeout time.Duration
		want    func(error) bool
	}{
		{
			name: "ready at the third check", script: "echo; exec sleep 60",
			check:   func(calls int) (bool, error) { return calls >= 3, nil },
			timeout: testTimeout,
			want:    func(err error) bool { return err == nil },
		},
		{
			name: "check fails", script: "echo; exec sleep 60",
			check:   func(int) (bool, error) { return false, errBind },
			timeout: testTimeout,
			want:    func(err error) bool { return err == errBind },
		},
		{
			name: "process exits first", script: "echo; exit 3",
			check:   func(int) (bool, error) { return false, nil },
			timeout: testTimeout,
			want: func(err error) bool {
				return errors.Is(err, errNotReady) && strings.Contains(err.Error(), "exited: exit status 3")
			},
		},
		{
			name: "timeout", script: "echo; exec sleep 60",
			check:   func(int) (bool, error) { return false, nil },
			timeout: 30 * time.Millisecond,
			want: func(err error) bool {
				return errors.Is(err, errNotReady) && errors.Is(err, context.DeadlineExceeded) &&
					strings.HasPrefix(err.Error(), "not ready within 30ms: ")
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := shell(t, tc.script, nil)
			calls := 0
			err := p.WaitReady(t.Context(), hostproc.Readiness{
				Timeout:  tc.timeout,
				NotReady: errNotReady,
				Check: func(context.Context) (bool, error) {
					calls++
					return tc.check(calls)
				},
				Exited: exited,
			})
			if !tc.want(err) {
				t.Errorf("WaitReady = %v (after %d checks)", err, calls)
			}
		})
	}
}
