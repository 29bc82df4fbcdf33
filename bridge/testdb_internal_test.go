package bridge

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/xgate-im/xgate/store"
)

// openTestDB opens a store in the test's temporary directory, without
// fsync, closed when the test ends.
func openTestDB(t *testing.T) *store.DB {
	t.Helper()
	key, err := store.ParseKey([]byte(strings.Repeat("ab", 32)))
	if err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(filepath.Join(t.TempDir(), "x.db"), store.Options{Key: key, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}
