package store

import (
	"path/filepath"
	"testing"
	"time"

	"go.etcd.io/bbolt"
)

func TestSeen(t *testing.T) {
	db := openTestDB(t)
	if since, err := db.SeenSince(); err != nil || !since.IsZero() {
		t.Fatalf("SeenSince of a new file = %v, %v; want zero", since, err)
	}
	clock := &fakeClock{t: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)}
	db.now = clock.now
	a := SeenKey{Scope: "slack|alice@x|g\x1f\x1fC1", RemoteID: "1700000000.000100"}
	b := SeenKey{Scope: "slack|alice@x|g\x1f\x1fC1", RemoteID: "1700000000.000200"}
	other := SeenKey{Scope: "slack|bob@x|g\x1f\x1fC1", RemoteID: a.RemoteID}
	if err := db.MarkSeen(time.Time{}, a); err != nil {
		t.Fatal(err)
	}
	clock.set(clock.now().Add(time.Hour))
	if err := db.MarkSeen(time.Time{}, b); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		k    SeenKey
		want bool
		err  error
	}{
		{"marked", a, true, nil},
		{"marked later", b, true, nil},
		{"same ID for another recipient", other, false, nil},
		{"empty scope", SeenKey{RemoteID: "x"}, false, ErrInvalid},
		{"NUL in ID", SeenKey{Scope: "s", RemoteID: "a\x00"}, false, ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := db.Seen(tt.k)
			wantErr(t, "Seen", err, tt.err)
			if got != tt.want {
				t.Errorf("Seen = %v, want %v", got, tt.want)
			}
		})
	}
	// Pruning drops what is older than the cut, not what was refreshed.
	clock.set(clock.now().Add(time.Hour))
	if err := db.MarkSeen(time.Time{}, a); err != nil { // refreshed: now the newest
		t.Fatal(err)
	}
	n, err := db.PruneSeen(clock.now().Add(-30 * time.Minute))
	if err != nil || n != 1 {
		t.Fatalf("PruneSeen = %d, %v; want 1", n, err)
	}
	if ok, _ := db.Seen(b); ok {
		t.Error("b survived pruning")
	}
	if ok, _ := db.Seen(a); !ok {
		t.Error("refreshed a was pruned")
	}
	if n, err := db.PruneSeen(clock.now().Add(time.Minute)); err != nil || n != 1 {
		t.Fatalf("second PruneSeen = %d, %v; want 1", n, err)
	}
}

// SeenUpTo is the latest network time ever recorded, never lowered (not
// by an earlier time, an unknown one or pruning), kept across a reopen; a
// file whose records predate it gets a bound from when they were written,
// which the next records keep.
func TestSeenUpTo(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.db")
	db := openTestDBAt(t, path, false)
	k := func(id string) SeenKey { return SeenKey{Scope: "slack|alice@x|bob", RemoteID: id} }
	t1 := time.Date(2026, 12, 6, 5, 0, 0, 0, time.UTC)
	written := time.Date(2026, 12, 7, 8, 0, 0, 0, time.UTC) // this machine's clock at the old records
	steps := []struct {
		name string
		mark func() error
		want time.Time
	}{
		{"new file", func() error { return nil }, time.Time{}},
		{"unknown time", func() error { return db.MarkSeen(time.Time{}, k("a")) }, time.Time{}},
		{"a time", func() error { return db.MarkSeen(t1, k("b"), k("c")) }, t1},
		{"an earlier time", func() error { return db.MarkSeen(t1.Add(-time.Hour), k("d")) }, t1},
		{"unknown again", func() error { return db.MarkSeen(time.Time{}, k("e")) }, t1},
		{"a later time", func() error { return db.MarkSeen(t1.Add(time.Second), k("f")) }, t1.Add(time.Second)},
		{"pruned", func() error { _, err := db.PruneSeen(time.Now().Add(time.Hour)); return err }, t1.Add(time.Second)},
		{"reopened", func() error {
			if err := db.Close(); err != nil {
				return err
			}
			db = openTestDBAt(t, path, false)
			return nil
		}, t1.Add(time.Second)},
		{"records without it (an older version's file)", func() error {
			db.now = func() time.Time { return written }
			if err := db.MarkSeen(time.Time{}, k("g")); err != nil {
				return err
			}
			return db.update(func(tx *bbolt.Tx) error { return tx.Bucket([]byte(bucketMeta)).Delete([]byte(metaSeenUpTo)) })
		}, written.Add(seenClockMargin)},
		{"then a record of an earlier time keeps the bound", func() error {
			db.now = func() time.Time { return written.Add(time.Minute) }
			return db.MarkSeen(t1, k("h"))
		}, written.Add(seenClockMargin)},
		{"and a later one raises it", func() error { return db.MarkSeen(written.Add(2*time.Hour), k("i")) }, written.Add(2 * time.Hour)},
	}
	for _, s := range steps {
		if err := s.mark(); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		got, err := db.SeenUpTo()
		if err != nil || !got.Equal(s.want) {
			t.Fatalf("%s: SeenUpTo = %v, %v; want %v", s.name, got, err, s.want)
		}
	}
}
