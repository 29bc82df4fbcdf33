package ejabberdtest

import (
	"strings"
	"testing"

	"github.com/xgate-im/xgate/xmpp/internal/hostproc"
	"github.com/xgate-im/xgate/xmpp/internal/hostproc/hostproctest"
)

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
			taken, calls := hostproctest.LoseRace(t, &pickPorts, tc.slot)

			s := Start(t, Options{Components: []Component{{Domain: "gw.localhost", Secret: "s"}}})
			if *calls != 2 {
				t.Errorf("ports picked %d times, want 2", *calls)
			}
			for _, p := range []int{s.ports.c2s, s.ports.component, s.ports.dist} {
				if p == taken {
					t.Errorf("server uses the taken port %d", taken)
				}
			}
			if out := hostproc.ReadFrom(s.paths.log, 0) + s.stderrText(); !strings.Contains(out, "eaddrinuse") {
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
	hostproctest.CheckRestartOnTakenPort(t, s.C2SAddr(), func(t testing.TB) { s.Restart(t) }, "port is already in use", s.running)
}

// running reports whether the server has a process.
func (s *Server) running() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.proc != nil
}
