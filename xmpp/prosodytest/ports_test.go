package prosodytest

import (
	"strings"
	"testing"

	"github.com/xgate-im/xgate/xmpp/internal/hostproc/hostproctest"
)

// TestStartRetriesTakenPort makes the first pick of ports include one that
// another listener holds, as when another process wins the race: Start must
// notice Prosody's bind failure and start again on fresh ports. Not
// parallel: it replaces pickPorts.
func TestStartRetriesTakenPort(t *testing.T) {
	for _, tc := range []struct {
		name string
		slot int // which port of (c2s, component, http) is taken
		opts Options
	}{
		{"c2s", 0, Options{}},
		{"component", 1, Options{Components: []Component{{Domain: "gw.localhost", Secret: "s"}}}},
		{"http", 2, Options{Upload: "upload.localhost"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			taken, calls := hostproctest.LoseRace(t, &pickPorts, tc.slot)

			s := Start(t, tc.opts)
			if *calls != 2 {
				t.Errorf("ports picked %d times, want 2", *calls)
			}
			for _, p := range []int{s.ports.c2s, s.ports.component, s.ports.http} {
				if p == taken {
					t.Errorf("server uses the taken port %d", taken)
				}
			}
			if log := s.LogTail(100); !strings.Contains(log, "Failed to open server port") {
				t.Errorf("log does not show the first failed attempt:\n%s", log)
			}
		})
	}
}

// TestRestartOnTakenPortFails checks that Restart, which must keep its
// ports, fails the test with the reason when one is taken.
func TestRestartOnTakenPortFails(t *testing.T) {
	t.Parallel()
	s := Start(t, Options{})
	s.Stop()
	hostproctest.CheckRestartOnTakenPort(t, s.C2SAddr(), func(t testing.TB) { s.Restart(t) }, "Failed to open server port", s.running)
}

// running reports whether the server has a process.
func (s *Server) running() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.proc != nil
}
