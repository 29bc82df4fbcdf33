package store

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// fillDB writes a little of everything.
func fillDB(t *testing.T, db *DB) {
	t.Helper()
	if err := db.PutAccount(Account{AccountKey: AccountKey{"alice@x", "slack", "T1.U1"}, Secrets: map[string]string{"token": "t"}}); err != nil {
		t.Fatal(err)
	}
	if err := db.PutContact("slack", "T1.U2", "bob"); err != nil {
		t.Fatal(err)
	}
	if err := db.PutMessageRefs(MessageRef{Scope: "s", XMPPID: "x", RemoteID: "r"}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Enqueue("q", []byte("p")); err != nil {
		t.Fatal(err)
	}
	if err := db.KVPutSecret("ns", "k", []byte("v")); err != nil {
		t.Fatal(err)
	}
}

// checkBackup opens a backup file read-write with the test key, verifies it
// and checks that it holds what fillDB wrote.
func checkBackup(t *testing.T, path string) *DB {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("backup mode %v, want 0600", fi.Mode().Perm())
	}
	if _, err := os.Stat(path + ".tmp"); !os.IsNotExist(err) {
		t.Errorf("temporary file left behind: %v", err)
	}
	b := openTestDBAt(t, path, true)
	if err := b.Verify(); err != nil {
		t.Errorf("backup Verify: %v", err)
	}
	if a, err := b.GetAccount(AccountKey{"alice@x", "slack", "T1.U1"}); err != nil || a.Secrets["token"] != "t" {
		t.Errorf("backup account: %v, %v", a, err)
	}
	if l, err := b.ContactByRemote("slack", "T1.U2"); err != nil || l != "bob" {
		t.Errorf("backup contact: %q, %v", l, err)
	}
	return b
}

func TestBackupToWriter(t *testing.T) {
	db := openTestDB(t)
	fillDB(t, db)
	var buf bytes.Buffer
	n, err := db.Backup(&buf)
	if err != nil || n != int64(buf.Len()) || n == 0 {
		t.Fatalf("Backup = %d, %v (wrote %d)", n, err, buf.Len())
	}
	path := filepath.Join(t.TempDir(), "copy.db")
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	checkBackup(t, path)
}

func TestBackupFileWhileWriting(t *testing.T) {
	db := openTestDB(t)
	fillDB(t, db)
	ctx, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := 0; ctx.Err() == nil; i++ {
				q := fmt.Sprintf("w%d", g)
				seq, err := db.Enqueue(q, []byte("x"))
				if err != nil {
					t.Errorf("Enqueue: %v", err)
					return
				}
				id := fmt.Sprint(g, "-", i)
				if err := db.PutMessageRefs(MessageRef{Scope: q, XMPPID: "x" + id, RemoteID: "r" + id}); err != nil {
					t.Errorf("PutMessageRefs: %v", err)
					return
				}
				if i%2 == 0 {
					if err := db.OutboxAck(q, seq); err != nil {
						t.Errorf("OutboxAck: %v", err)
						return
					}
				}
			}
		})
	}
	dir := t.TempDir()
	// Make sure writers are running during every backup: each backup waits
	// for new outbox items to appear first.
	for i := range 3 {
		before, _ := db.OutboxLen()
		for n := before; n <= before; n, _ = db.OutboxLen() {
			if ctx.Err() != nil {
				t.Fatal(ctx.Err())
			}
			if err := db.PutContact("slack", fmt.Sprint("wait", i, "-", n), fmt.Sprint("wait", i, "-", n)); err != nil {
				t.Fatal(err)
			}
		}
		path := filepath.Join(dir, fmt.Sprintf("backup-%d.db", i))
		n, err := db.BackupFile(path)
		if err != nil || n == 0 {
			t.Fatalf("BackupFile = %d, %v", n, err)
		}
		checkBackup(t, path)
	}
	cancel()
	wg.Wait()
}

func TestBackupFileRefusesLiveFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "xgate.db")
	db := openTestDBAt(t, path, true)
	fillDB(t, db)
	if err := os.Symlink(path, filepath.Join(dir, "link.db")); err != nil {
		t.Fatal(err)
	}
	for _, dst := range []string{path, filepath.Join(dir, ".", "xgate.db"), filepath.Join(dir, "link.db")} {
		if _, err := db.BackupFile(dst); !errorsIs(err, ErrInvalid) {
			t.Errorf("BackupFile(%s): %v, want ErrInvalid", dst, err)
		}
	}
	// Replacing an older backup is fine, and its mode is fixed.
	old := filepath.Join(dir, "old.db")
	if err := os.WriteFile(old+".tmp", []byte("stale"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(old, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := db.BackupFile(old); err != nil {
		t.Fatal(err)
	}
	checkBackup(t, old)
	if _, err := db.BackupFile(filepath.Join(dir, "missing-dir", "b.db")); err == nil {
		t.Error("BackupFile into a missing directory succeeded")
	}
}

func TestBackupOffline(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "xgate.db")
	db, err := Open(src, testOptions(t))
	if err != nil {
		t.Fatal(err)
	}
	fillDB(t, db)

	// While xgate runs: fails fast, and says so.
	start := time.Now()
	_, err = BackupOffline(src, filepath.Join(dir, "b.db"), 100*time.Millisecond)
	if !errorsIs(err, ErrLocked) || !strings.Contains(err.Error(), "another xgate process is probably using") || !strings.Contains(err.Error(), "online backup") {
		t.Errorf("BackupOffline of a locked file: %v", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("BackupOffline took %v to give up", d)
	}
	if _, err := os.Stat(filepath.Join(dir, "b.db")); !os.IsNotExist(err) {
		t.Errorf("failed BackupOffline left a file: %v", err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	dst := filepath.Join(dir, "b.db")
	n, err := BackupOffline(src, dst, 0)
	if err != nil || n == 0 {
		t.Fatalf("BackupOffline = %d, %v", n, err)
	}
	checkBackup(t, dst)

	garbage := filepath.Join(dir, "empty-bolt.db")
	rawUpdate(t, garbage, func(*bboltTx) error { return nil })
	errs := []struct {
		name     string
		src, dst string
		want     error
	}{
		{"onto itself", src, src, ErrInvalid},
		{"missing source", filepath.Join(dir, "missing.db"), filepath.Join(dir, "c.db"), os.ErrNotExist},
		{"not an xgate file", garbage, filepath.Join(dir, "d.db"), ErrInvalid},
	}
	for _, e := range errs {
		_, err := BackupOffline(e.src, e.dst, time.Second)
		wantErr(t, e.name, err, e.want)
	}
}
