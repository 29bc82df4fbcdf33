package bridge

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/xgate-im/xgate/store"
)

// parkNet is a shared connection for the parking tests: its events are
// named by their payload, and one account ("a") logs in when told.
type parkNet struct {
	mu      sync.Mutex
	up      bool
	handled []string
	acked   []string
	changed chan struct{}
}

type parkSession struct{}

func (parkSession) Send(context.Context, ChatRef, OutgoingMessage) (MessageID, error) {
	return "", ErrUnsupported
}
func (parkSession) Contacts(context.Context) ([]Contact, error) { return nil, nil }
func (parkSession) Close() error                                { return nil }

func newParkNet() *parkNet { return &parkNet{changed: make(chan struct{}, 1000)} }

// event is what the connection makes of an event named id, and what the
// Fanout's restore makes of its payload.
func (n *parkNet) event(id string) Inbound {
	return Inbound{
		ID: id, Order: "C1", Describe: stringName(id),
		Route: func(context.Context) ([]AccountID, bool, error) {
			n.mu.Lock()
			defer n.mu.Unlock()
			if !n.up {
				return nil, false, nil // "a" is logging in
			}
			return []AccountID{"a"}, true, nil
		},
		Handle: func(context.Context, Session) error {
			n.note(&n.handled, id)
			return nil
		},
		Payload: func() ([]byte, error) { return []byte(id), nil },
	}
}

func (n *parkNet) restore(payload []byte) (Inbound, error) { return n.event(string(payload)), nil }

func (n *parkNet) note(list *[]string, id string) {
	n.mu.Lock()
	*list = append(*list, id)
	n.mu.Unlock()
	n.changed <- struct{}{}
}

func (n *parkNet) ack(id string) func() { return func() { n.note(&n.acked, id) } }

// login makes account "a" live on f.
func (n *parkNet) login(f *Fanout) {
	f.Attach("a", parkSession{})
	n.mu.Lock()
	n.up = true
	n.mu.Unlock()
}

// waitFor waits until list (under mu) has want entries.
func (n *parkNet) waitFor(t *testing.T, list *[]string, want int) []string {
	t.Helper()
	for {
		n.mu.Lock()
		got := slices.Clone(*list)
		n.mu.Unlock()
		if len(got) >= want {
			return got
		}
		select {
		case <-n.changed:
		case <-t.Context().Done():
			t.Fatalf("%d of %d: %v", len(got), want, got)
		}
	}
}

type stringName string

func (s stringName) String() string { return string(s) }

func openParkDB(t *testing.T, path string) *store.DB {
	t.Helper()
	key, err := store.ParseKey([]byte(strings.Repeat("cd", 32)))
	if err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(path, store.Options{Key: key, NoSync: true, BatchDelay: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return db
}

// newParkedFanout returns a Fanout that parks in db the events of a new
// parkNet.
func newParkedFanout(db *store.DB) (*parkNet, *Fanout) {
	n := newParkNet()
	f := NewFanout(nil, nil)
	f.parkIn(db, "fake")
	f.SetRestore(n.restore)
	return n, f
}

func parkedCount(t *testing.T, db *store.DB) int {
	t.Helper()
	items, err := db.OutboxPeek("rx"+queueSep+"fake", 0)
	if err != nil {
		t.Fatal(err)
	}
	return len(items)
}

// An event that waits for an account logging in is stored and
// acknowledged at once, and so are the events of its conversation behind
// it; they are handled in order once the login ends, then removed from
// the store. Before parking, they stayed unacknowledged for up to 10 s and
// the network sent them again every few seconds.
func TestFanoutParksEventsForLoggingInAccount(t *testing.T) {
	db := openParkDB(t, filepath.Join(t.TempDir(), "x.db"))
	defer db.Close()
	n, f := newParkedFanout(db)
	ctx, cancel := context.WithCancel(t.Context())
	for _, id := range []string{"e1", "e2", "e3"} {
		f.Dispatch(ctx, n.event(id), n.ack(id))
	}
	if acked := n.waitFor(t, &n.acked, 3); !slices.Equal(acked, []string{"e1", "e2", "e3"}) {
		t.Fatalf("acknowledged %v before the login", acked)
	}
	n.mu.Lock()
	early := len(n.handled)
	n.mu.Unlock()
	if early != 0 || parkedCount(t, db) != 3 {
		t.Fatalf("before the login: %d handled, %d parked; want 0 and 3", early, parkedCount(t, db))
	}
	// The network sends one again (its acknowledgement crossed it): it is
	// acknowledged, not handled twice.
	f.Dispatch(ctx, n.event("e2"), n.ack("e2 again"))
	n.waitFor(t, &n.acked, 4)
	n.login(f)
	if handled := n.waitFor(t, &n.handled, 3); !slices.Equal(handled, []string{"e1", "e2", "e3"}) {
		t.Fatalf("handled %v; want e1 e2 e3", handled)
	}
	cancel()
	f.Wait()
	if c := parkedCount(t, db); c != 0 {
		t.Fatalf("%d events still parked after they were handled", c)
	}
}

// Events parked by a run that stopped before their account logged in are
// handed on at the next start, in order and before the connection's new
// events, and a redelivery of one of them is not handled twice.
func TestFanoutResumesParkedEvents(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.db")
	db := openParkDB(t, path)
	n, f := newParkedFanout(db)
	ctx, cancel := context.WithCancel(t.Context())
	for _, id := range []string{"e1", "e2"} {
		f.Dispatch(ctx, n.event(id), n.ack(id))
	}
	n.waitFor(t, &n.acked, 2)
	cancel()
	f.Wait()
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	db = openParkDB(t, path)
	defer db.Close()
	if c := parkedCount(t, db); c != 2 {
		t.Fatalf("%d events parked after the stop; want 2", c)
	}
	n2, f2 := newParkedFanout(db)
	ctx2, cancel2 := context.WithCancel(t.Context())
	defer func() { cancel2(); f2.Wait() }()
	if err := f2.Resume(ctx2); err != nil {
		t.Fatal(err)
	}
	f2.Dispatch(ctx2, n2.event("e2"), n2.ack("e2"))
	f2.Dispatch(ctx2, n2.event("e3"), n2.ack("e3"))
	n2.login(f2)
	if handled := n2.waitFor(t, &n2.handled, 3); !slices.Equal(handled, []string{"e1", "e2", "e3"}) {
		t.Fatalf("handled %v; want e1 e2 e3", handled)
	}
	if acked := n2.waitFor(t, &n2.acked, 2); !slices.Contains(acked, "e2") || !slices.Contains(acked, "e3") {
		t.Fatalf("acknowledged %v; want e2 (sent again) and e3", acked)
	}
	cancel2()
	f2.Wait()
	if c := parkedCount(t, db); c != 0 {
		t.Fatalf("%d events still parked after they were handled", c)
	}
}

// Without a way to make it again (no Payload), an event waiting for a
// login is not parked: it stays unacknowledged, for the network to send
// again, as before parking existed.
func TestFanoutDoesNotParkWithoutPayload(t *testing.T) {
	db := openParkDB(t, filepath.Join(t.TempDir(), "x.db"))
	defer db.Close()
	n, f := newParkedFanout(db)
	ctx, cancel := context.WithCancel(t.Context())
	ev := n.event("e1")
	ev.Payload = nil
	f.Dispatch(ctx, ev, n.ack("e1"))
	ev2 := n.event("e2")
	ev2.Payload = nil
	f.Dispatch(ctx, ev2, n.ack("e2"))
	n.login(f)
	if acked := n.waitFor(t, &n.acked, 2); !slices.Equal(acked, []string{"e1", "e2"}) {
		t.Fatalf("acknowledged %v", acked)
	}
	cancel()
	f.Wait()
	if c := parkedCount(t, db); c != 0 {
		t.Fatalf("%d events parked without a payload", c)
	}
}

// More events than an Order's queue holds, while it waits for a login: the
// connection is not blocked (Dispatch returns at once for each), every
// event is acknowledged before the login, and all are handled in order
// after it, those past the queue read back from the store.
func TestFanoutSpillsParkedEventsBeyondItsQueue(t *testing.T) {
	db := openParkDB(t, filepath.Join(t.TempDir(), "x.db"))
	defer db.Close()
	n, f := newParkedFanout(db)
	ctx, cancel := context.WithCancel(t.Context())
	defer func() { cancel(); f.Wait() }()
	const total = 3 * fanoutQueue
	var ids []string
	f.Dispatch(ctx, n.event("e0000"), n.ack("e0000"))
	n.waitFor(t, &n.acked, 1) // the first one parked: its Order waits
	ids = append(ids, "e0000")
	for i := 1; i < total; i++ {
		id := fmt.Sprintf("e%04d", i)
		ids = append(ids, id)
		f.Dispatch(ctx, n.event(id), n.ack(id))
	}
	n.waitFor(t, &n.acked, total)
	if c := parkedCount(t, db); c != total {
		t.Fatalf("%d of %d events parked before the login", c, total)
	}
	n.login(f)
	if handled := n.waitFor(t, &n.handled, total); !slices.Equal(handled, ids) {
		t.Fatalf("handled %d events out of order: first %v", len(handled), handled[:min(5, len(handled))])
	}
}
