package store

import (
	"path/filepath"
	"strings"
	"testing"

	"go.etcd.io/bbolt"
)

func TestVerifyFindsProblems(t *testing.T) {
	tests := []struct {
		name    string
		corrupt func(tx *bbolt.Tx) error
		want    string // in the error message
	}{
		{"contact reverse missing", func(tx *bbolt.Tx) error {
			return tx.Bucket([]byte(bucketContactsByLocal)).Delete(joinKey("slack", "bob"))
		}, "has reverse"},
		{"contact forward missing", func(tx *bbolt.Tx) error {
			return tx.Bucket([]byte(bucketContactsByRemote)).Delete(joinKey("slack", "T1.U2"))
		}, "by localpart"},
		{"contact reverse points elsewhere", func(tx *bbolt.Tx) error {
			return tx.Bucket([]byte(bucketContactsByLocal)).Put(joinKey("slack", "bob"), []byte("T9"))
		}, "has reverse"},
		{"message ref reverse missing", func(tx *bbolt.Tx) error {
			return tx.Bucket([]byte(bucketMsgByRemote)).Delete(joinKey("s", "r", "x"))
		}, "reverse missing"},
		{"message ref forward missing", func(tx *bbolt.Tx) error {
			return tx.Bucket([]byte(bucketMsgByXMPP)).Delete(joinKey("s", "x", "r"))
		}, "forward missing"},
		{"message time index missing", func(tx *bbolt.Tx) error {
			c := tx.Bucket([]byte(bucketMsgByTime)).Cursor()
			k, _ := c.First()
			return tx.Bucket([]byte(bucketMsgByTime)).Delete(clone(k))
		}, "time-index entry missing"},
		{"message time index stale", func(tx *bbolt.Tx) error {
			return tx.Bucket([]byte(bucketMsgByTime)).Put(refTimeKey(1, "s", "x", "r"), nil)
		}, "stale"},
		{"message ref bad value", func(tx *bbolt.Tx) error {
			return tx.Bucket([]byte(bucketMsgByXMPP)).Put(joinKey("s", "x", "r"), []byte("short"))
		}, "want 16"},
		{"outbox counter off", func(tx *bbolt.Tx) error {
			return tx.Bucket([]byte(bucketMeta)).Put([]byte(metaOutboxLen), u64(7))
		}, "outbox counter 7, items 1"},
		{"outbox seq beyond assigned", func(tx *bbolt.Tx) error {
			if err := tx.Bucket([]byte(bucketOutbox)).Put(outboxKey("q", 5), []byte(`{"payload":null}`)); err != nil {
				return err
			}
			return tx.Bucket([]byte(bucketMeta)).Put([]byte(metaOutboxLen), u64(2))
		}, "outside assigned sequence"},
		{"outbox bad record", func(tx *bbolt.Tx) error {
			return tx.Bucket([]byte(bucketOutbox)).Put(outboxKey("q", 1), []byte(`{`))
		}, "outbox item"},
		{"account bad JSON", func(tx *bbolt.Tx) error {
			return tx.Bucket([]byte(bucketAccounts)).Put(joinKey("slack", "alice@x", "T1.U1"), []byte(`[]`))
		}, "account"},
		{"account bad key", func(tx *bbolt.Tx) error {
			return tx.Bucket([]byte(bucketAccounts)).Put([]byte("no separators"), []byte(`{}`))
		}, "parts"},
		{"roster bad subscription", func(tx *bbolt.Tx) error {
			return tx.Bucket([]byte(bucketRoster)).Put(joinKey("a", "t", "c"), []byte(`{"subscription":"maybe"}`))
		}, "subscription"},
		{"kv both forms", func(tx *bbolt.Tx) error {
			return tx.Bucket([]byte(bucketKV)).Put(joinKey("ns", "k"), []byte("plain"))
		}, "both plain and secret"},
		{"kv secret tampered", func(tx *bbolt.Tx) error {
			b := tx.Bucket([]byte(bucketKVSecret))
			v := clone(b.Get(joinKey("ns", "k")))
			v[len(v)-1] ^= 1
			return b.Put(joinKey("ns", "k"), v)
		}, "does not decrypt"},
		{"key check missing", func(tx *bbolt.Tx) error {
			return tx.Bucket([]byte(bucketMeta)).Delete([]byte(metaKeyCheck))
		}, "key-check record missing"},
		{"bucket missing", func(tx *bbolt.Tx) error {
			return tx.DeleteBucket([]byte(bucketRoster))
		}, "bucket roster missing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "xgate.db")
			db, err := Open(path, testOptions(t))
			if err != nil {
				t.Fatal(err)
			}
			fillDB(t, db)
			if err := db.Verify(); err != nil {
				t.Fatalf("Verify before corruption: %v", err)
			}
			db.Close()
			rawUpdate(t, path, tt.corrupt)
			opts := testOptions(t)
			opts.ReadOnly = true // a read-write Open would repair the key check
			db, err = Open(path, opts)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			err = db.Verify()
			if !errorsIs(err, ErrCorrupt) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Verify = %v; want ErrCorrupt mentioning %q", err, tt.want)
			}
		})
	}
}

func TestVerifyListsFirstProblems(t *testing.T) {
	path := filepath.Join(t.TempDir(), "xgate.db")
	db, err := Open(path, testOptions(t))
	if err != nil {
		t.Fatal(err)
	}
	for i := range 30 {
		id := string(rune('a' + i%26))
		if i >= 26 {
			id += "2"
		}
		if err := db.PutContact("slack", "R"+id, "l"+id); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	rawUpdate(t, path, func(tx *bbolt.Tx) error {
		return tx.DeleteBucket([]byte(bucketContactsByLocal))
	})
	rawUpdate(t, path, func(tx *bbolt.Tx) error {
		_, err := tx.CreateBucket([]byte(bucketContactsByLocal))
		return err
	})
	db = openTestDBAt(t, path, false)
	err = db.Verify()
	if err == nil || !strings.Contains(err.Error(), "30 problem(s)") || !strings.Contains(err.Error(), "and 20 more") {
		t.Errorf("Verify = %v; want 30 problems, 10 listed", err)
	}
}
