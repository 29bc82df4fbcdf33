package bridge

import (
	"context"
	"testing"
	"time"
)

// TestAfterLoginPending checks the gauge of the work after logins: it
// counts the accounts whose contact sync is queued or running, and falls
// back to zero once every sync is over.
func TestAfterLoginPending(t *testing.T) {
	const n = afterLoginWorkers + 4
	release := make(chan struct{})
	syncing := make(chan struct{}, n)
	ac := startStoredAccounts(t, n, &gatedTransport{before: func(AccountID) {}}, func(ctx context.Context, _ *account, _ Session) {
		syncing <- struct{}{}
		select {
		case <-release:
		case <-ctx.Done():
		}
	})
	pending := func() int64 { return ac.metrics.Snapshot().AfterLoginPending }
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("%s: AfterLoginPending = %d after 10 s", what, pending())
			}
			time.Sleep(time.Millisecond) // polling a gauge
		}
	}
	waitFor("all logged in", func() bool { return pending() == n })
	for range afterLoginWorkers {
		<-syncing
	}
	if got := pending(); got != n {
		t.Errorf("with %d syncs running and %d queued, AfterLoginPending = %d, want %d", afterLoginWorkers, n-afterLoginWorkers, got, n)
	}
	close(release)
	waitFor("syncs over", func() bool { return pending() == 0 })
	if len(syncing) != n-afterLoginWorkers {
		t.Errorf("%d further syncs ran, want %d", len(syncing), n-afterLoginWorkers)
	}
}
