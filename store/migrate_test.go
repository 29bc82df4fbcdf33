package store

import (
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"go.etcd.io/bbolt"
)

// rawFileAt creates a bbolt file whose meta bucket records version v (no
// meta bucket at all for v < 0).
func rawFileAt(t *testing.T, v int) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "xgate.db")
	rawUpdate(t, path, func(tx *bbolt.Tx) error {
		if v < 0 {
			return nil
		}
		return writeVersion(tx, v)
	})
	return path
}

func TestOpenMigratesEmptyFile(t *testing.T) {
	for _, v := range []int{-1, 0} {
		t.Run(fmt.Sprint(v), func(t *testing.T) {
			path := rawFileAt(t, v)
			db := openTestDBAt(t, path, true)
			got, err := db.SchemaVersion()
			if want := latestVersion(migrations); err != nil || got != want {
				t.Errorf("SchemaVersion = %d, %v; want %d", got, err, want)
			}
			err = db.view(func(tx *bbolt.Tx) error {
				for _, name := range allBuckets {
					if tx.Bucket([]byte(name)) == nil {
						t.Errorf("bucket %s missing after migration", name)
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestOpenTooNew(t *testing.T) {
	path := rawFileAt(t, latestVersion(migrations)+1)
	for _, readOnly := range []bool{false, true} {
		opts := testOptions(t)
		opts.ReadOnly = readOnly
		db, err := Open(path, opts)
		if !errors.Is(err, ErrTooNew) {
			if err == nil {
				db.Close()
			}
			t.Errorf("Open (read-only %t) of a file from the future: %v, want ErrTooNew", readOnly, err)
		}
	}
}

func TestOpenReadOnlyNeedsMigration(t *testing.T) {
	path := rawFileAt(t, 0)
	opts := testOptions(t)
	opts.ReadOnly = true
	if _, err := Open(path, opts); !errors.Is(err, ErrNeedsMigration) {
		t.Errorf("read-only Open of version 0: %v, want ErrNeedsMigration", err)
	}
}

func TestOpenCorruptVersion(t *testing.T) {
	path := filepath.Join(t.TempDir(), "xgate.db")
	rawUpdate(t, path, func(tx *bbolt.Tx) error {
		b, err := tx.CreateBucket([]byte(bucketMeta))
		if err != nil {
			return err
		}
		return b.Put([]byte(metaSchema), []byte("one"))
	})
	if _, err := Open(path, testOptions(t)); !errors.Is(err, ErrCorrupt) {
		t.Errorf("Open with version %q: %v, want ErrCorrupt", "one", err)
	}
}

// testMigrations is a three-step history that records each application in
// a "log" bucket; step failAt (if non-zero) writes and then fails.
func testMigrations(failAt int) []migration {
	var list []migration
	for v := 1; v <= 3; v++ {
		list = append(list, migration{version: v, name: "step " + strconv.Itoa(v), up: func(tx *bbolt.Tx) error {
			b, err := tx.CreateBucketIfNotExists([]byte("log"))
			if err != nil {
				return err
			}
			if err := b.Put([]byte(strconv.Itoa(v)), []byte("applied")); err != nil {
				return err
			}
			if v == failAt {
				return errors.New("step failed")
			}
			return nil
		}})
	}
	return list
}

func TestMigrate(t *testing.T) {
	tests := []struct {
		name        string
		from        int
		failAt      int
		wantVersion int
		wantLog     []string // migrations applied, in the log bucket
		wantErr     bool
	}{
		{"from 0", 0, 0, 3, []string{"1", "2", "3"}, false},
		{"from 1", 1, 0, 3, []string{"2", "3"}, false},
		{"from 2", 2, 0, 3, []string{"3"}, false},
		{"up to date", 3, 0, 3, nil, false},
		{"step 2 fails", 0, 2, 1, []string{"1"}, true},
		{"step 3 fails from 2", 2, 3, 2, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := rawFileAt(t, tt.from)
			bdb, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: time.Second})
			if err != nil {
				t.Fatal(err)
			}
			defer bdb.Close()
			err = migrate(bdb, testMigrations(tt.failAt))
			if (err != nil) != tt.wantErr {
				t.Fatalf("migrate: %v, want error %t", err, tt.wantErr)
			}
			var gotVersion int
			var gotLog []string
			err = bdb.View(func(tx *bbolt.Tx) error {
				gotVersion, err = readVersion(tx)
				if b := tx.Bucket([]byte("log")); b != nil {
					b.ForEach(func(k, _ []byte) error {
						gotLog = append(gotLog, string(k))
						return nil
					})
				}
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			if gotVersion != tt.wantVersion || fmt.Sprint(gotLog) != fmt.Sprint(tt.wantLog) {
				t.Errorf("after migrate: version %d, log %v; want %d, %v", gotVersion, gotLog, tt.wantVersion, tt.wantLog)
			}
			// Running again is a no-op when it succeeded.
			if !tt.wantErr {
				if err := migrate(bdb, testMigrations(0)); err != nil {
					t.Errorf("second migrate: %v", err)
				}
			}
		})
	}
}

func TestMigrateRejectsBadListAndFutureFile(t *testing.T) {
	path := rawFileAt(t, 4)
	bdb, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer bdb.Close()
	if err := migrate(bdb, testMigrations(0)); !errors.Is(err, ErrTooNew) {
		t.Errorf("migrate of a version-4 file with 3 migrations: %v, want ErrTooNew", err)
	}
	bad := testMigrations(0)
	bad[1].version = 5
	if err := migrate(bdb, bad); !errors.Is(err, ErrInvalid) {
		t.Errorf("migrate with a gap in the list: %v, want ErrInvalid", err)
	}
}
