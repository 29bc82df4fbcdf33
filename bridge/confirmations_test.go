package bridge

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/xgate-im/xgate/store"
)

// gate is a confirmer that confirms, or fails, when the test says so:
// release decides the confirmations awaited then and later, until arm.
type gate struct {
	mu   sync.Mutex
	open chan struct{}
	err  error
}

func newGate() *gate { return &gate{open: make(chan struct{})} }

func (g *gate) confirmLater(ctx context.Context) error {
	g.mu.Lock()
	open := g.open
	g.mu.Unlock()
	select {
	case <-open:
	case <-ctx.Done():
		return ctx.Err()
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.err
}

// release decides the confirmations with err.
func (g *gate) release(err error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.err = err
	close(g.open)
}

// arm has the confirmations asked for from now on wait for release.
func (g *gate) arm() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.open = make(chan struct{})
}

// logSignal is a log handler that passes the messages of the records
// logged at Warn or above to a channel.
type logSignal struct{ msgs chan string }

func (l logSignal) Enabled(_ context.Context, lv slog.Level) bool { return lv >= slog.LevelWarn }
func (l logSignal) Handle(_ context.Context, r slog.Record) error {
	l.msgs <- r.Message
	return nil
}
func (l logSignal) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l logSignal) WithGroup(string) slog.Handler      { return l }

// confirmNet is a parkNet whose events are ConfirmLater and have their
// handling confirmed by g.
func confirmNet(g *gate) (*parkNet, func(id string) Inbound) {
	n := newParkNet()
	n.up = true
	return n, func(id string) Inbound {
		in := n.event(id)
		handle := in.Handle
		in.Handle = func(ctx context.Context, s Session) error {
			confirmationsOf(ctx).need(g)
			return handle(ctx, s)
		}
		in.ConfirmLater = true
		return in
	}
}

// The events of one conversation are handled one after the other without
// waiting for the host server to confirm each: the confirmations are
// awaited off the worker, and the events are acknowledged once confirmed,
// not before.
func TestFanoutConfirmLater(t *testing.T) {
	g := newGate()
	n, event := confirmNet(g)
	f := NewFanout(nil, nil)
	f.Attach("a", parkSession{})
	ids := []string{"e1", "e2", "e3", "e4", "e5"}
	for _, id := range ids {
		f.Dispatch(t.Context(), event(id), n.ack(id))
	}
	if got := n.waitFor(t, &n.handled, len(ids)); !slices.Equal(got, ids) {
		t.Fatalf("handled %v", got)
	}
	n.mu.Lock()
	early := slices.Clone(n.acked)
	n.mu.Unlock()
	if len(early) != 0 {
		t.Fatalf("acknowledged before the host server confirmed: %v", early)
	}
	g.release(nil)
	got := n.waitFor(t, &n.acked, len(ids))
	slices.Sort(got)
	if !slices.Equal(got, ids) {
		t.Fatalf("acknowledged %v", got)
	}
}

// An event whose stanzas the host server did not confirm is not
// acknowledged, and when the network sends it again it is handled again
// for the same account (not taken as delivered); both deliveries are
// acknowledged once that one is confirmed.
func TestFanoutConfirmLaterUnconfirmed(t *testing.T) {
	g := newGate()
	n, event := confirmNet(g)
	logs := logSignal{msgs: make(chan string, 16)}
	f := NewFanout(slog.New(logs), nil)
	f.Attach("a", parkSession{})
	f.Dispatch(t.Context(), event("e1"), n.ack("e1"))
	n.waitFor(t, &n.handled, 1)
	g.release(errors.New("stream ended"))
	select {
	case msg := <-logs.msgs:
		t.Logf("logged: %s", msg)
	case <-t.Context().Done():
		t.Fatal("no warning of the unconfirmed event")
	}
	n.mu.Lock()
	acked := len(n.acked)
	n.mu.Unlock()
	if acked != 0 {
		t.Fatal("an unconfirmed event was acknowledged")
	}
	g.arm()
	f.Dispatch(t.Context(), event("e1"), n.ack("e1 again"))
	if got := n.waitFor(t, &n.handled, 2); !slices.Equal(got, []string{"e1", "e1"}) {
		t.Fatalf("handled %v", got)
	}
	g.release(nil)
	// Both deliveries are acknowledged now, as after any failure.
	if got := n.waitFor(t, &n.acked, 2); !slices.Equal(got, []string{"e1", "e1 again"}) {
		t.Fatalf("acknowledged %v", got)
	}
}

// A message delivered with its confirmation pending counts as delivered at
// once (a second copy is not delivered), and is recorded in the store only
// once confirmed; if the confirmation fails it is neither, so the
// network's next delivery of it is delivered.
func TestDedupeRecordsOnlyConfirmed(t *testing.T) {
	db := openParkDB(t, filepath.Join(t.TempDir(), "x.db"))
	defer db.Close()
	d := newDedupe(db, newMetrics(), slog.New(slog.DiscardHandler), true)
	k := store.SeenKey{Scope: "fake|alice@example.org|bob", RemoteID: "m1"}
	g := newGate()
	deliveries := 0
	deliver := func(c *confirmations) func() error {
		return func() error {
			deliveries++
			c.need(g)
			return nil
		}
	}
	for _, outcome := range []error{errors.New("stream ended"), nil} {
		g.arm()
		c := &confirmations{}
		ctx := withConfirmations(t.Context(), c)
		if err := d.once(ctx, k, time.Time{}, deliver(c)); err != nil {
			t.Fatal(err)
		}
		if err := d.once(ctx, k, time.Time{}, deliver(c)); err != nil || !d.delivered(k) {
			t.Fatalf("while confirming: %v, delivered %v", err, d.delivered(k))
		}
		d.flush()
		if seen, err := db.Seen(k); err != nil || seen {
			t.Fatalf("recorded before the confirmation: %v %v", seen, err)
		}
		g.release(outcome)
		if err := c.settle(t.Context()); !errors.Is(err, outcome) && (err == nil) != (outcome == nil) {
			t.Fatalf("settle: %v, want %v", err, outcome)
		}
		d.flush()
		seen, err := db.Seen(k)
		if err != nil || seen != (outcome == nil) || d.delivered(k) != (outcome == nil) {
			t.Fatalf("after %v: recorded %v (%v), delivered %v", outcome, seen, err, d.delivered(k))
		}
	}
	if deliveries != 2 {
		t.Fatalf("%d deliveries, want 2 (the second after the failed confirmation)", deliveries)
	}
}
