package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.etcd.io/bbolt"

	"github.com/xgate-im/xgate/store"
)

// TestCLIRunDamagedStore runs xgate on a truncated store and on an empty
// one: it must exit 1 with the store's damage error, not crash and not start
// with an empty store.
func TestCLIRunDamagedStore(t *testing.T) {
	for _, tt := range []struct {
		name   string
		damage func(data []byte) []byte
		detail string
	}{
		{"truncated", func(d []byte) []byte { return d[:len(d)/2] }, "truncated"},
		{"empty", func([]byte) []byte { return nil }, "0 bytes"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			key := testKey(t)
			path := makeStore(t, dir, key)
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, tt.damage(data), 0o600); err != nil {
				t.Fatal(err)
			}
			cfg := writeFile(t, dir, "config.toml", "[store]\npath = \"xgate.db\"\nkey_env = \"XGATE_CLI_KEY\"\n")
			r := xgate(t, []string{"XGATE_CLI_KEY=" + key}, "run", "-c", cfg)
			r.expect(t, 1)
			mustContain(t, r.stderr, tt.detail, "store damaged: restore from backup (xgate backup / POST /backup made none in "+filepath.Join(dir, "backups"))
		})
	}
}

// bigStore makes a store whose kv bucket has pages of its own and returns
// its path and that bucket's root page.
func bigStore(t *testing.T, dir, key string) (string, uint64) {
	t.Helper()
	k, err := store.ParseKey([]byte(key))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "xgate.db")
	db, err := store.Open(path, store.Options{Key: k, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 500 {
		if err := db.KVPut("test", fmt.Sprintf("k%03d", i), []byte(strings.Repeat("v", 30))); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	bdb, err := bbolt.Open(path, 0o600, &bbolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer bdb.Close()
	var root uint64
	_ = bdb.View(func(tx *bbolt.Tx) error {
		root = uint64(tx.Bucket([]byte("kv")).Root())
		return nil
	})
	if root == 0 {
		t.Fatal("kv bucket is inline")
	}
	return path, root
}

func TestCLIStoreCheckAndSalvage(t *testing.T) {
	dir := t.TempDir()
	key := testKey(t)
	path, kvRoot := bigStore(t, dir, key)
	cfg := writeFile(t, dir, "config.toml", "[store]\npath = \"xgate.db\"\nkey_env = \"XGATE_CLI_KEY\"\n")
	env := []string{"XGATE_CLI_KEY=" + key}

	r := xgate(t, env, "store", "check", "-c", cfg)
	r.expect(t, 0)
	mustContain(t, r.stdout, "store "+path+": ", "schema version ", "kv 500", "OK: no problem found")
	r = xgate(t, nil, "store", "check", "--db", path)
	r.expect(t, 0)
	mustContain(t, r.stdout, "secrets: not decrypted (no key)", "OK")

	// Damage the kv bucket's root page.
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	ps := os.Getpagesize()
	for i := range ps {
		data[int(kvRoot)*ps+i] = 0xff
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	r = xgate(t, env, "store", "check", "-c", cfg)
	r.expect(t, 1)
	mustContain(t, r.stdout, "DAMAGED: ", `in bucket "kv": page`, "store damaged: restore from backup (xgate backup / POST /backup made", "xgate store salvage")

	out := filepath.Join(dir, "salvaged.db")
	r = xgate(t, env, "store", "salvage", "-c", cfg, "-out", out)
	r.expect(t, 0)
	mustContain(t, r.stdout, "salvaged "+path+" into "+out, "could not be read (", `in bucket "kv": page`)
	r = xgate(t, env, "store", "check", "--db", out)
	r.expect(t, 0)
	mustContain(t, r.stdout, "OK: no problem found")
	r = xgate(t, env, "store", "salvage", "--db", path, "-out", out)
	r.expect(t, 1)
	mustContain(t, r.stderr, "exists; choose a new file")

	for _, args := range [][]string{
		{"store"}, {"store", "fix"}, {"store", "salvage", "--db", path}, {"store", "check", "--db", path, "-out", out},
		{"store", "check", "--db", path, "-c", cfg},
	} {
		xgate(t, nil, args...).expect(t, 2)
	}
}

// TestCLIStoreInUse checks a store that a running xgate holds.
func TestCLIStoreInUse(t *testing.T) {
	dir := t.TempDir()
	key := testKey(t)
	path := makeStore(t, dir, key)
	k, _ := store.ParseKey([]byte(key))
	db, err := store.Open(path, store.Options{Key: k, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	r := xgate(t, nil, "store", "check", "--db", path)
	r.expect(t, 1)
	mustContain(t, r.stderr, "is in use: xgate is probably running")
}
