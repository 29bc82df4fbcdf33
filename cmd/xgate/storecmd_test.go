package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

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
			// An offline backup of it is refused too, not copied as if sound.
			r = xgate(t, nil, "backup", "--db", path, filepath.Join(dir, "copy.db"))
			r.expect(t, 1)
			mustContain(t, r.stderr, tt.detail, "store damaged")
			if _, err := os.Stat(filepath.Join(dir, "copy.db")); err == nil {
				t.Error("a copy of the damaged store was written")
			}
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

// TestCLIRunStopsOnDamage runs xgate on a store whose accounts page is
// damaged (Open does not read it): the first request that reads it
// (/metrics counts the accounts) must stop xgate with exit status 1 and the
// damage error, not crash it and not let it run on.
func TestCLIRunStopsOnDamage(t *testing.T) {
	dir := t.TempDir()
	key := testKey(t)
	k, err := store.ParseKey([]byte(key))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "xgate.db")
	db, err := store.Open(path, store.Options{Key: k, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 300 {
		if err := db.PutAccount(store.Account{AccountKey: store.AccountKey{User: fmt.Sprintf("u%d@x", i), Transport: "slack", Remote: "T1.U1"}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	var root uint64
	bdb, err := bbolt.Open(path, 0o600, &bbolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	_ = bdb.View(func(tx *bbolt.Tx) error {
		root = uint64(tx.Bucket([]byte("accounts")).Root())
		return nil
	})
	bdb.Close()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	ps := os.Getpagesize()
	if root == 0 || int(root+1)*ps > len(data) {
		t.Fatalf("accounts root page %d", root)
	}
	for i := range ps {
		data[int(root)*ps+i] = 0xff
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}

	cfg := writeFile(t, dir, "config.toml", "[log]\nformat = \"json\"\n[store]\npath = \"xgate.db\"\nkey_env = \"XGATE_CLI_KEY\"\n[admin]\nlisten = \"127.0.0.1:0\"\n")
	cmd := exec.CommandContext(t.Context(), xgateBin(t), "run", "-c", cfg)
	cmd.Env = append(os.Environ(), "XGATE_CLI_KEY="+key)
	cmd.WaitDelay = 5 * time.Second
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	addrc := make(chan string, 1)
	var logText bytes.Buffer
	logDone := make(chan struct{})
	go func() {
		defer close(logDone)
		sc := bufio.NewScanner(io.TeeReader(stderr, &logText))
		for sc.Scan() {
			var m map[string]any
			if json.Unmarshal(sc.Bytes(), &m) == nil && m["msg"] == "admin endpoint listening" {
				addrc <- m["addr"].(string)
			}
		}
	}()
	select {
	case addr := <-addrc:
		httpDo(t, "GET", addr+"/metrics")
	case <-logDone:
		t.Fatalf("xgate exited before serving: %v\n%s", cmd.Wait(), logText.String())
	case <-time.After(10 * time.Second):
		t.Fatal("no admin endpoint")
	}
	<-logDone
	err = cmd.Wait()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Fatalf("exit %v, want status 1\n%s", err, logText.String())
	}
	mustContain(t, logText.String(), "bbolt failed reading it", "store damaged: restore from backup", `"msg":"shutting down after a failure"`)
}
