package bridge_test

import (
	"bytes"
	"context"
	"log/slog"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/xgate-im/xgate/bridge"
	"github.com/xgate-im/xgate/bridge/bridgetest"
	"github.com/xgate-im/xgate/store"
	"github.com/xgate-im/xgate/xmpp"
	"github.com/xgate-im/xgate/xmpp/xmpptest"
)

// lockedBuffer is a log destination safe for concurrent writes.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// A run of failed reconnects logs what connLog summarizes, not a line per
// attempt: the disconnection once, then the recovery with the number of
// failed attempts (the outage is shorter than the first summary's delay).
func TestGatewayLogsOutageSummarized(t *testing.T) {
	const failures = 40
	srv := xmpptest.NewServer(t, "secret")
	db, err := store.Open(filepath.Join(t.TempDir(), "xgate.db"), store.Options{Key: testKey(t), NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	var downs, ups atomic.Int64
	enoughDowns, reconnected := make(chan struct{}), make(chan struct{})
	var logs lockedBuffer
	cfg := bridge.Config{
		Name: "fake",
		Component: xmpp.ComponentConfig{
			Addr: srv.Addr(), Domain: domain, Secret: "secret",
			MinBackoff: time.Millisecond, MaxBackoff: 2 * time.Millisecond,
			// Called after the gateway's own state handler (which logs).
			OnState: func(s xmpp.State, _ error) {
				switch s {
				case xmpp.StateDisconnected:
					if downs.Add(1) == failures {
						close(enoughDowns)
					}
				case xmpp.StateConnected:
					if ups.Add(1) == 2 {
						close(reconnected)
					}
				}
			},
		},
		Access: bridge.Access{Allow: []string{"example.org"}},
	}
	gw, err := bridge.New(cfg, bridgetest.New(), db, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- gw.Run(ctx) }()
	wait := func(what string, c <-chan struct{}) {
		t.Helper()
		select {
		case <-c:
		case <-time.After(10 * time.Second):
			t.Fatalf("no %s after 10 s: %d disconnections, log:\n%s", what, downs.Load(), logs.String())
		}
	}
	actx, acancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer acancel()
	first, err := srv.Accept(actx)
	if err != nil {
		t.Fatal(err)
	}
	srv.Refuse(true)
	first.Close()
	wait("outage", enoughDowns)
	srv.Refuse(false)
	second, err := srv.Accept(actx)
	if err != nil {
		t.Fatal(err)
	}
	wait("reconnection", reconnected)
	cancel()
	go func() {
		// Answer the closing handshake like a server does.
		for {
			if _, err := second.Next(context.Background()); err != nil {
				second.CloseStream()
				return
			}
		}
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after 10 s")
	}

	var lines []string
	for line := range strings.Lines(logs.String()) {
		if strings.Contains(line, `msg="component `) {
			lines = append(lines, line)
		}
	}
	want := []string{`msg="component connected"`, `msg="component disconnected"`, `msg="component reconnected"`}
	if len(lines) != len(want) {
		t.Fatalf("%d component lines for %d failed attempts, want %d:\n%s", len(lines), downs.Load(), len(want), strings.Join(lines, ""))
	}
	for i, w := range want {
		if !strings.Contains(lines[i], w) {
			t.Errorf("line %d is %q, want %s", i, lines[i], w)
		}
	}
	m := regexp.MustCompile(`failed_attempts=(\d+)`).FindStringSubmatch(lines[2])
	if m == nil {
		t.Fatalf("recovery line %q has no failed_attempts", lines[2])
	}
	if n, _ := strconv.Atoi(m[1]); n < failures {
		t.Errorf("recovery line %q: want failed_attempts >= %d", lines[2], failures)
	}
}
