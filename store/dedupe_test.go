package store

import (
	"testing"
	"time"
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
	if err := db.MarkSeen(a); err != nil {
		t.Fatal(err)
	}
	clock.set(clock.now().Add(time.Hour))
	if err := db.MarkSeen(b); err != nil {
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
	if err := db.MarkSeen(a); err != nil { // refreshed: now the newest
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
