package ejabberdtest

import (
	"net"
	"strings"
	"testing"
)

func TestFreePortsDistinct(t *testing.T) {
	p, err := freePorts(5)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int]bool{}
	for _, n := range p {
		if n <= 0 || seen[n] {
			t.Fatalf("freePorts(5) = %v: want five distinct ports", p)
		}
		seen[n] = true
	}
}

// holdPort listens on a free loopback port until the test ends.
func holdPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l.Addr().(*net.TCPAddr).Port
}

// TestStartRetriesTakenPort makes the first pick of ports include one that
// another listener holds, as when another process wins the race: ejabberd
// exits, and Start must start it again on fresh ports. Not parallel: it
// replaces pickPorts.
func TestStartRetriesTakenPort(t *testing.T) {
	for _, tc := range []struct {
		name string
		slot int // which port of (c2s, component, dist) is taken
	}{
		{"c2s", 0},
		{"component", 1},
		{"distribution", 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			taken := holdPort(t)
			calls := 0
			pickPorts = func(n int) ([]int, error) {
				calls++
				p, err := freePorts(n)
				if calls == 1 && err == nil {
					p[tc.slot] = taken
				}
				return p, err
			}
			t.Cleanup(func() { pickPorts = freePorts })

			s := Start(t, Options{Components: []Component{{Domain: "gw.localhost", Secret: "s"}}})
			if calls != 2 {
				t.Errorf("ports picked %d times, want 2", calls)
			}
			for _, p := range []int{s.ports.c2s, s.ports.component, s.ports.dist} {
				if p == taken {
					t.Errorf("server uses the taken port %d", taken)
				}
			}
			if out := s.readLog(0) + s.stderrText(); !strings.Contains(out, "eaddrinuse") {
				t.Errorf("log does not show the first failed attempt:\n%s", s.report())
			}
		})
	}
}

// TestRestartOnTakenPortFails checks that Restart, which must keep its
// ports, fails the test with the reason when one is taken.
func TestRestartOnTakenPortFails(t *testing.T) {
	t.Parallel()
	s := Start(t, Options{})
	s.Kill()
	l, err := net.Listen("tcp", s.C2SAddr())
	if err != nil {
		t.Skipf("cannot take the stopped server's port: %v", err)
	}
	defer l.Close()
	f := &fakeTB{TB: t}
	s.Restart(f)
	if !strings.Contains(f.fatal, "port is already in use") {
		t.Fatalf("Restart failure = %q, want the bind failure", f.fatal)
	}
	s.mu.Lock()
	running := s.proc != nil
	s.mu.Unlock()
	if running {
		t.Error("the failed server is still running")
	}
}
