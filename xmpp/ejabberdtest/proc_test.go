package ejabberdtest

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/xgate-im/xgate/xmpp/internal/hostproc/hostproctest"
)

// psTable returns the processes that have not exited, PID → command name,
// and the parent of each, from ps. Zombies (exited, not yet reaped by
// their new parent, init) are left out.
func psTable(t *testing.T) (comm map[int]string, parent map[int]int) {
	t.Helper()
	out, err := exec.Command("ps", "-e", "-o", "pid=,ppid=,stat=,comm=").Output()
	if err != nil {
		t.Skipf("ps: %v", err)
	}
	comm, parent = map[int]string{}, map[int]int{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || strings.HasPrefix(f[2], "Z") {
			continue
		}
		pid, err1 := strconv.Atoi(f[0])
		ppid, err2 := strconv.Atoi(f[1])
		if err1 != nil || err2 != nil {
			continue
		}
		comm[pid], parent[pid] = strings.Join(f[3:], " "), ppid
	}
	return comm, parent
}

// processTree returns root and its descendants, PID → command name.
func processTree(t *testing.T, root int) map[int]string {
	t.Helper()
	comm, parent := psTable(t)
	tree := map[int]string{}
	if c, ok := comm[root]; ok {
		tree[root] = c
	}
	for grew := true; grew; {
		grew = false
		for pid, ppid := range parent {
			if _, in := tree[pid]; !in {
				if _, up := tree[ppid]; up {
					tree[pid] = comm[pid]
					grew = true
				}
			}
		}
	}
	return tree
}

// tcpListeners returns the local addresses of the listening IPv4 TCP
// sockets on port.
func tcpListeners(t *testing.T, port int) []string {
	t.Helper()
	b, err := os.ReadFile("/proc/net/tcp")
	if err != nil {
		t.Skipf("read /proc/net/tcp: %v", err)
	}
	var out []string
	for _, line := range strings.Split(string(b), "\n")[1:] {
		f := strings.Fields(line)
		if len(f) < 4 || f[3] != "0A" { // 0A: LISTEN
			continue
		}
		ip, p, ok := strings.Cut(f[1], ":")
		n, err := strconv.ParseUint(p, 16, 16)
		if !ok || err != nil || int(n) != port {
			continue
		}
		raw, err := hex.DecodeString(ip)
		if err != nil || len(raw) != 4 {
			continue
		}
		// The kernel prints the address as a little-endian word.
		out = append(out, net.IPv4(raw[3], raw[2], raw[1], raw[0]).String())
	}
	return out
}

// TestNothingSurvives checks with ps that every process of the server —
// ejabberdctl, the Erlang node, erl_child_setup and its port programs —
// is gone after Kill, after Stop, and when the test process lets go of the
// watchdog pipe (as when the test binary dies); and that no epmd is
// started and Erlang distribution listens on loopback only.
func TestNothingSurvives(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		end  func(*Server)
	}{
		{"Kill", (*Server).Kill},
		{"Stop", (*Server).Stop},
		{"watchdog", func(s *Server) {
			s.mu.Lock()
			p := s.proc
			s.mu.Unlock()
			p.watchdog.Close()
			select {
			case <-p.Done():
			case <-time.After(stopTimeout):
				t.Error("the node did not halt when its standard input closed")
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := Start(t, Options{
				Users:      map[string]string{"alice": "pw"},
				Components: []Component{{Domain: "gw.localhost", Secret: "s"}},
			})
			s.mu.Lock()
			root := s.proc.Pid()
			s.mu.Unlock()
			tree := processTree(t, root)
			names := map[string]bool{}
			for _, c := range tree {
				names[c] = true
			}
			for _, c := range []string{"ejabberdctl", "beam.smp", "erl_child_setup"} {
				if !names[c] {
					t.Errorf("no %s among the server's processes: %v", c, tree)
				}
			}
			if names["epmd"] {
				t.Errorf("the server started epmd: %v", tree)
			}
			if got := tcpListeners(t, s.ports.dist); len(got) != 1 || got[0] != "127.0.0.1" {
				t.Errorf("distribution listens on %v, want [127.0.0.1]", got)
			}

			tc.end(s)
			// The end of the console pipe tells that every process has
			// closed its files; the kernel may still be finishing their
			// exit. Poll ps until they are gone, within a bound.
			deadline := time.NewTimer(stopTimeout)
			defer deadline.Stop()
			tick := time.NewTicker(20 * time.Millisecond)
			defer tick.Stop()
			for {
				after, _ := psTable(t)
				var alive []string
				for pid, c := range tree {
					if after[pid] == c {
						alive = append(alive, fmt.Sprintf("%d (%s)", pid, c))
					}
				}
				if len(alive) == 0 {
					break
				}
				select {
				case <-deadline.C:
					t.Fatalf("processes survived %s: %s", tc.name, strings.Join(alive, ", "))
				case <-tick.C:
				}
			}
			if strings.Contains(s.stderrText(), "flush the database") {
				t.Errorf("Kill could not flush the database:\n%s", s.stderrText())
			}
			if got := tcpListeners(t, s.ports.dist); len(got) != 0 {
				t.Errorf("port %d still listened on by %v", s.ports.dist, got)
			}
		})
	}
}

func TestPrerequisites(t *testing.T) {
	for _, tc := range []struct {
		env, ctl    string
		skip, fatal bool
	}{
		{env: "", ctl: "", skip: true},
		{env: "0", ctl: "", skip: true},
		{env: "1", ctl: "", fatal: true},
	} {
		t.Run(fmt.Sprintf("env=%q ctl=%q", tc.env, tc.ctl), func(t *testing.T) {
			t.Setenv(RequireEnv, tc.env)
			f := &hostproctest.FakeTB{TB: t}
			if _, ok := prerequisites(f, tc.ctl); ok {
				t.Fatal("prerequisites reported ok without ejabberdctl")
			}
			if (f.SkipMsg != "") != tc.skip || (f.FatalMsg != "") != tc.fatal {
				t.Fatalf("skipped=%q fatal=%q, want skip=%v fatal=%v", f.SkipMsg, f.FatalMsg, tc.skip, tc.fatal)
			}
			if msg := f.SkipMsg + f.FatalMsg; !strings.Contains(msg, "apt-get install ejabberd") {
				t.Errorf("message %q does not say how to install ejabberd", msg)
			}
		})
	}
}
