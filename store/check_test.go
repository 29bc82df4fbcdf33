package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.etcd.io/bbolt"
)

// salvageSource builds a store whose accounts, message refs (both
// directions) and outbox each have pages of their own, and returns its
// path and the root page of each bucket.
func salvageSource(t *testing.T) (string, map[string]uint64) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "xgate.db")
	db, err := Open(path, testOptions(t))
	if err != nil {
		t.Fatal(err)
	}
	for i := range 200 {
		a := Account{AccountKey: AccountKey{fmt.Sprintf("u%d@x", i), "slack", "T1.U1"}, Secrets: map[string]string{"token": "xoxp-secret"}}
		if err := db.PutAccount(a); err != nil {
			t.Fatal(err)
		}
		if err := db.PutContact("slack", fmt.Sprint("U", i), fmt.Sprint("u", i)); err != nil {
			t.Fatal(err)
		}
	}
	var refs []MessageRef
	for i := range 2000 {
		refs = append(refs, MessageRef{Scope: "s", XMPPID: fmt.Sprint("x", i), RemoteID: fmt.Sprint("r", i)})
	}
	if err := db.PutMessageRefs(refs...); err != nil {
		t.Fatal(err)
	}
	for i := range 300 {
		if _, err := db.Enqueue(fmt.Sprint("q", i%3), []byte(strings.Repeat("p", 50))); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.KVPutSecret("ns", "k", []byte("v")); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	roots := map[string]uint64{}
	bdb, err := bbolt.Open(path, 0o600, &bbolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer bdb.Close()
	_ = bdb.View(func(tx *bbolt.Tx) error {
		for _, name := range allBuckets {
			roots[name] = uint64(tx.Bucket([]byte(name)).Root())
		}
		return nil
	})
	for _, name := range []string{bucketAccounts, bucketMsgByRemote, bucketOutbox} {
		if roots[name] == 0 {
			t.Fatalf("bucket %s is inline; the test needs it on its own pages", name)
		}
	}
	return path, roots
}

// overwritePage fills page id of the file at path with 0xff.
func overwritePage(t *testing.T, path string, id uint64) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	ps := os.Getpagesize()
	fill(data, int(id)*ps, ps, 0xff)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestCheckFileSound(t *testing.T) {
	path, _ := salvageSource(t)
	r, err := CheckFile(path, CheckOptions{Key: mustKey(t, testKeyHex)})
	if err != nil {
		t.Fatal(err)
	}
	if !r.OK() || r.Schema != latestVersion(migrations) || !r.SecretsChecked || r.Pages == 0 || r.PageSize != os.Getpagesize() {
		t.Fatalf("report %+v", r)
	}
	keys := map[string]int{}
	for _, b := range r.Buckets {
		keys[b.Name] = b.Keys
	}
	want := map[string]int{bucketAccounts: 200, bucketContactsByRemote: 200, bucketMsgByXMPP: 2000, bucketMsgByTime: 2000, bucketOutbox: 300, bucketKVSecret: 1, bucketOutboxSeq: 3}
	for name, n := range want {
		if keys[name] != n {
			t.Errorf("bucket %s: %d keys, want %d", name, keys[name], n)
		}
	}
	if len(r.Buckets) != len(allBuckets) {
		t.Errorf("%d buckets, want %d", len(r.Buckets), len(allBuckets))
	}
}

func TestCheckFileDamaged(t *testing.T) {
	tests := []struct {
		name   string
		damage func(t *testing.T, path string, roots map[string]uint64)
		want   string
	}{
		{"accounts page overwritten", func(t *testing.T, path string, roots map[string]uint64) {
			overwritePage(t, path, roots[bucketAccounts])
		}, `in bucket "accounts": page`},
		{"truncated", func(t *testing.T, path string, _ map[string]uint64) {
			fi, _ := os.Stat(path)
			if err := os.Truncate(path, fi.Size()/2); err != nil {
				t.Fatal(err)
			}
		}, "truncated"},
		{"empty", func(t *testing.T, path string, _ map[string]uint64) {
			if err := os.Truncate(path, 0); err != nil {
				t.Fatal(err)
			}
		}, "0 bytes"},
		{"outbox counter wrong", func(t *testing.T, path string, _ map[string]uint64) {
			rawUpdate(t, path, func(tx *bbolt.Tx) error {
				return tx.Bucket([]byte(bucketMeta)).Put([]byte(metaOutboxLen), u64(7))
			})
		}, "outbox counter 7, items 300"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path, roots := salvageSource(t)
			tt.damage(t, path, roots)
			r, err := CheckFile(path, CheckOptions{Key: mustKey(t, testKeyHex)})
			if err != nil {
				t.Fatal(err)
			}
			if r.OK() || !strings.Contains(strings.Join(r.Problems, "\n"), tt.want) {
				t.Errorf("problems %q, want one containing %q", r.Problems, tt.want)
			}
			if !strings.Contains(r.Hint, "restore from backup") {
				t.Errorf("hint %q", r.Hint)
			}
		})
	}
}

func TestCheckFileLocked(t *testing.T) {
	db := openTestDB(t)
	_, err := CheckFile(db.Path(), CheckOptions{Timeout: -1})
	if !errors.Is(err, ErrLocked) {
		t.Errorf("CheckFile of an open store: %v, want ErrLocked", err)
	}
	if _, err := CheckFile(filepath.Join(t.TempDir(), "none.db"), CheckOptions{}); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("CheckFile of a missing file: %v", err)
	}
}

func TestSalvage(t *testing.T) {
	tests := []struct {
		name   string
		damage func(t *testing.T, path string, roots map[string]uint64)
		lost   string // in the report's Lost, "" for none
		// check what the salvaged store still holds.
		check func(t *testing.T, db *DB)
	}{
		{"sound file", func(*testing.T, string, map[string]uint64) {}, "", func(t *testing.T, db *DB) {
			st, err := db.Stats()
			if err != nil || st.Accounts != 200 || st.MessageRefs != 2000 || st.OutboxItems != 300 || st.Contacts != 200 {
				t.Errorf("stats %+v, %v", st, err)
			}
			if v, err := db.KVGetSecret("ns", "k"); err != nil || string(v) != "v" {
				t.Errorf("secret %q, %v", v, err)
			}
		}},
		{"accounts page overwritten", func(t *testing.T, path string, roots map[string]uint64) {
			overwritePage(t, path, roots[bucketAccounts])
		}, `in bucket "accounts": page`, func(t *testing.T, db *DB) {
			st, err := db.Stats()
			if err != nil || st.Accounts >= 200 || st.MessageRefs != 2000 || st.OutboxItems != 300 {
				t.Errorf("stats %+v, %v", st, err)
			}
		}},
		{"reverse message refs lost", func(t *testing.T, path string, roots map[string]uint64) {
			overwritePage(t, path, roots[bucketMsgByRemote])
		}, `in bucket "msg_by_remote"`, func(t *testing.T, db *DB) {
			for _, i := range []int{0, 999, 1999} {
				if x, err := db.XMPPMessageID("s", fmt.Sprint("r", i)); err != nil || x != fmt.Sprint("x", i) {
					t.Errorf("ref r%d -> %q, %v; want it rebuilt", i, x, err)
				}
			}
		}},
		{"outbox page overwritten", func(t *testing.T, path string, roots map[string]uint64) {
			overwritePage(t, path, roots[bucketOutbox])
		}, `in bucket "outbox"`, func(t *testing.T, db *DB) {
			n, err := db.OutboxLen()
			if err != nil || n >= 300 {
				t.Errorf("outbox length %d, %v", n, err)
			}
			seq, err := db.Enqueue("q0", []byte("new"))
			if err != nil || seq <= 100 {
				t.Errorf("enqueue after salvage: seq %d, %v; sequences must not be reused", seq, err)
			}
		}},
		{"schema version lost", func(t *testing.T, path string, _ map[string]uint64) {
			b, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: time.Second})
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			if err := b.Update(func(tx *bbolt.Tx) error { return tx.Bucket([]byte(bucketMeta)).Delete([]byte(metaSchema)) }); err != nil {
				t.Fatal(err)
			}
		}, "", func(t *testing.T, db *DB) {
			if st, err := db.Stats(); err != nil || st.Accounts != 200 {
				t.Errorf("stats %+v, %v", st, err)
			}
		}},
		{"truncated to half", func(t *testing.T, path string, _ map[string]uint64) {
			fi, _ := os.Stat(path)
			if err := os.Truncate(path, fi.Size()/2); err != nil {
				t.Fatal(err)
			}
		}, "page", func(t *testing.T, db *DB) {}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src, roots := salvageSource(t)
			tt.damage(t, src, roots)
			dst := filepath.Join(t.TempDir(), "salvaged.db")
			r, err := Salvage(src, dst, SalvageOptions{Key: mustKey(t, testKeyHex), Timeout: time.Second})
			if err != nil {
				t.Fatal(err)
			}
			lost := strings.Join(r.Lost, "\n")
			if tt.lost == "" && lost != "" || !strings.Contains(lost, tt.lost) {
				t.Errorf("lost %q, want %q", r.Lost, tt.lost)
			}
			// What docs/admin.md tells the admin to do next must pass.
			cr, err := CheckFile(dst, CheckOptions{Key: mustKey(t, testKeyHex), Timeout: time.Second})
			if err != nil || !cr.OK() {
				t.Errorf("store check of the salvaged file: %+v, %v\nrepaired: %q", cr, err, r.Repaired)
			}
			db := openTestDBAt(t, dst, true) // verified at cleanup
			if err := db.Verify(); err != nil {
				t.Errorf("Verify of the salvaged store: %v\nrepaired: %q", err, r.Repaired)
			}
			tt.check(t, db)
		})
	}
}

func TestSalvageRefuses(t *testing.T) {
	src, _ := salvageSource(t)
	if _, err := Salvage(src, src, SalvageOptions{}); !errors.Is(err, ErrInvalid) {
		t.Errorf("salvage onto itself: %v", err)
	}
	dst := filepath.Join(t.TempDir(), "x.db")
	if err := os.WriteFile(dst, []byte("keep"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Salvage(src, dst, SalvageOptions{}); !errors.Is(err, ErrInvalid) {
		t.Errorf("salvage over an existing file: %v", err)
	}
	if _, err := Salvage(src, filepath.Join(t.TempDir(), "y.db"), SalvageOptions{Key: mustKey(t, otherKeyHex)}); !errors.Is(err, ErrWrongKey) {
		t.Errorf("salvage with another key: %v", err)
	}
	garbage := filepath.Join(t.TempDir(), "g.db")
	if err := os.WriteFile(garbage, []byte(strings.Repeat("garbage!", 2000)), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Salvage(garbage, filepath.Join(t.TempDir(), "z.db"), SalvageOptions{}); !errors.Is(err, ErrDamaged) {
		t.Errorf("salvage of garbage: %v", err)
	}
}
