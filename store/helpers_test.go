package store

import (
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"go.etcd.io/bbolt"
)

// testKeyHex and otherKeyHex are fixed keys for tests.
const (
	testKeyHex  = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
	otherKeyHex = "f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff000102030405060708090a0b0c0d0e0f"
)

// mustKey parses a hex key or fails the test.
func mustKey(t testing.TB, hex string) *Key {
	t.Helper()
	k, err := ParseKey([]byte(hex))
	if err != nil {
		t.Fatalf("ParseKey: %v", err)
	}
	return k
}

// testOptions are the options tests open with: fast, no fsync.
func testOptions(t testing.TB) Options {
	return Options{Key: mustKey(t, testKeyHex), NoSync: true, BatchDelay: time.Millisecond, Timeout: 5 * time.Second}
}

// openTestDB opens a new database in t.TempDir(). At cleanup it closes it,
// reopens the file read-only and fails the test if Verify finds a problem.
func openTestDB(t testing.TB) *DB {
	t.Helper()
	return openTestDBAt(t, filepath.Join(t.TempDir(), "xgate.db"), true)
}

// openTestDBAt opens path with testOptions; if verify, cleanup verifies the
// file as openTestDB does, otherwise it only closes.
func openTestDBAt(t testing.TB, path string, verify bool) *DB {
	t.Helper()
	db, err := Open(path, testOptions(t))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if db.DamageErr() == nil && !db.closed.Load() && !db.readOnly {
			checkCounts(t, db, "at cleanup")
		}
		if err := db.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		if verify {
			verifyFile(t, path)
		}
	})
	return db
}

// verifyFile opens path read-only with the test key and runs Verify.
func verifyFile(t testing.TB, path string) {
	t.Helper()
	opts := testOptions(t)
	opts.ReadOnly = true
	db, err := Open(path, opts)
	if err != nil {
		t.Errorf("reopen for Verify: %v", err)
		return
	}
	defer db.Close()
	if err := db.Verify(); err != nil {
		t.Errorf("Verify: %v", err)
	}
}

// rawUpdate changes a closed database file directly through bbolt, to set up
// old, future or corrupt files.
func rawUpdate(t testing.TB, path string, fn func(tx *bbolt.Tx) error) {
	t.Helper()
	bdb, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatalf("bbolt.Open: %v", err)
	}
	defer bdb.Close()
	if err := bdb.Update(fn); err != nil {
		t.Fatalf("raw update: %v", err)
	}
}

// fakeClock is a settable time source for db.now.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// wantErr fails the test unless err matches want (nil means no error).
func wantErr(t testing.TB, what string, err, want error) {
	t.Helper()
	switch {
	case want == nil && err != nil:
		t.Errorf("%s: unexpected error %v", what, err)
	case want != nil && !errors.Is(err, want):
		t.Errorf("%s: error %v, want %v", what, err, want)
	}
}

// errorsIs is errors.Is, short for tables.
func errorsIs(err, target error) bool { return errors.Is(err, target) }

// bboltTx is bbolt.Tx, for tests that take it without importing bbolt.
type bboltTx = bbolt.Tx

// commitCount returns the store's write transactions committed so far.
func commitCount(t testing.TB, db *DB) uint64 {
	t.Helper()
	st, err := db.Stats()
	if err != nil {
		t.Fatal(err)
	}
	return st.Commits
}
