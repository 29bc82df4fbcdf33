package bridge

import (
	"fmt"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/xgate-im/xgate/store"
)

// New messages are told apart in memory, and only new ones: a message
// delivered in this run, one delivered before a restart, and one whose
// record left memory are each found (the last two in the store), and a
// transport whose times are not the network's has every message looked up
// in the store.
func TestDedupeKnowsNewMessagesWithoutTheStore(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.db")
	db := openParkDB(t, path)
	defer func() { db.Close() }()
	start := time.Date(2026, 12, 6, 6, 0, 0, 0, time.UTC)
	key := func(i int) store.SeenKey {
		return store.SeenKey{Scope: "fake|alice@example.org|bob", RemoteID: fmt.Sprintf("m%d", i)}
	}
	at := func(i int) time.Time { return start.Add(time.Duration(i) * time.Millisecond) }
	d := newDedupe(db, newMetrics(), slog.New(slog.DiscardHandler), true)
	// deliver offers message i and reports whether it was delivered, and
	// how many store reads that took.
	deliver := func(d *dedupe, i int, sent time.Time) (delivered bool, reads int64) {
		t.Helper()
		before := d.storeLookups.Load()
		if err := d.once(t.Context(), key(i), sent, func() error { delivered = true; return nil }); err != nil {
			t.Fatal(err)
		}
		return delivered, d.storeLookups.Load() - before
	}
	steps := []struct {
		name      string
		d         func() *dedupe
		i         int
		sent      time.Time
		delivered bool
		reads     int64
	}{
		{"new", func() *dedupe { return d }, 0, at(0), true, 0},
		{"new, later", func() *dedupe { return d }, 1, at(1), true, 0},
		{"again, in memory", func() *dedupe { d.flush(); return d }, 0, at(0), false, 0},
		{"new, of an earlier time than one delivered", func() *dedupe { return d }, 2, at(-5), true, 0},
		{"new, without a time", func() *dedupe { return d }, 3, time.Time{}, true, 1},
		{"after a restart: delivered before", func() *dedupe {
			d.flush()
			d = newDedupe(db, newMetrics(), slog.New(slog.DiscardHandler), true)
			return d
		}, 1, at(1), false, 1},
		{"after a restart: new, not later than the store's latest", func() *dedupe { return d }, 4, at(1), true, 1},
		{"after a restart: new, later", func() *dedupe { return d }, 5, at(2), true, 0},
		{"after a restart: not later but delivered in this run", func() *dedupe { return d }, 4, at(1), false, 0},
		{"times not the network's", func() *dedupe {
			d.flush()
			d = newDedupe(db, newMetrics(), slog.New(slog.DiscardHandler), false)
			return d
		}, 6, at(1000), true, 1},
		{"times not the network's, again", func() *dedupe { return d }, 6, at(1000), false, 0},
	}
	for _, s := range steps {
		got, reads := deliver(s.d(), s.i, s.sent)
		if got != s.delivered || reads != s.reads {
			t.Fatalf("%s: delivered %v with %d store reads, want %v with %d", s.name, got, reads, s.delivered, s.reads)
		}
	}

	// Past the bound, the oldest records leave memory, and a message
	// not later than them is looked up (and found) in the store.
	d.flush()
	d = newDedupe(db, newMetrics(), slog.New(slog.DiscardHandler), true)
	base := 100
	for i := base; i < base+recentSeenMax+10; i++ {
		if got, reads := deliver(d, i, at(10000+i)); !got || reads != 0 {
			t.Fatalf("message %d: delivered %v with %d store reads, want true with 0", i, got, reads)
		}
	}
	d.flush()
	if got, reads := deliver(d, base, at(10000+base)); got || reads != 1 {
		t.Fatalf("the oldest, out of memory: delivered %v with %d store reads, want false with 1", got, reads)
	}
	if got, reads := deliver(d, base+recentSeenMax+5, at(10000+base+recentSeenMax+5)); got || reads != 0 {
		t.Fatalf("a recent one: delivered %v with %d store reads, want false with 0", got, reads)
	}
	if got, reads := deliver(d, 99999, at(10000+base+recentSeenMax+20)); !got || reads != 0 {
		t.Fatalf("a new one after the eviction: delivered %v with %d store reads, want true with 0", got, reads)
	}
	if n := len(d.recent.at); n != recentSeenMax {
		t.Fatalf("%d records in memory, want the bound %d", n, recentSeenMax)
	}
}
