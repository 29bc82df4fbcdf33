package store

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestOpenCreatesFileAndDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state", "xgate")
	path := filepath.Join(dir, "xgate.db")
	db := openTestDBAt(t, path, true)
	if db.Path() != path {
		t.Errorf("Path() = %q, want %q", db.Path(), path)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("file mode %v, want 0600", fi.Mode().Perm())
	}
	di, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if di.Mode().Perm() != 0o700 {
		t.Errorf("dir mode %v, want 0700", di.Mode().Perm())
	}
	v, err := db.SchemaVersion()
	if err != nil || v != latestVersion(migrations) {
		t.Errorf("SchemaVersion() = %d, %v; want %d", v, err, latestVersion(migrations))
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	existing := filepath.Join(dir, "existing.db")
	db, err := Open(existing, testOptions(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	garbage := filepath.Join(dir, "garbage.db")
	if err := os.WriteFile(garbage, []byte(strings.Repeat("not a bbolt file ", 1000)), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		path string
		opts func(*Options)
		want error
	}{
		{"empty path", "", nil, ErrInvalid},
		{"no key", filepath.Join(dir, "new.db"), func(o *Options) { o.Key = nil }, ErrNoKey},
		{"wrong key", existing, func(o *Options) { o.Key = mustKey(t, otherKeyHex) }, ErrWrongKey},
		{"wrong key read-only", existing, func(o *Options) { o.Key = mustKey(t, otherKeyHex); o.ReadOnly = true }, ErrWrongKey},
		{"read-only missing file", filepath.Join(dir, "missing.db"), func(o *Options) { o.ReadOnly = true }, fs.ErrNotExist},
		{"not a database", garbage, nil, nil},
		{"right key", existing, nil, nil},
		{"read-only without key", existing, func(o *Options) { o.Key = nil; o.ReadOnly = true }, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := testOptions(t)
			if tt.opts != nil {
				tt.opts(&opts)
			}
			db, err := Open(tt.path, opts)
			if tt.name == "not a database" {
				if err == nil {
					db.Close()
					t.Fatal("Open of garbage succeeded")
				}
				return
			}
			wantErr(t, "Open", err, tt.want)
			if err == nil {
				if err := db.Close(); err != nil {
					t.Error(err)
				}
			} else if !strings.HasPrefix(err.Error(), "store: ") {
				t.Errorf("error %q lacks the store: prefix", err)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(dir, "new.db")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Open without key created the file: %v", err)
	}
}

func TestOpenLockedSameProcess(t *testing.T) {
	path := filepath.Join(t.TempDir(), "xgate.db")
	openTestDBAt(t, path, true)
	for _, readOnly := range []bool{false, true} {
		opts := testOptions(t)
		opts.Timeout = 100 * time.Millisecond
		opts.ReadOnly = readOnly
		start := time.Now()
		db, err := Open(path, opts)
		if err == nil {
			db.Close()
			t.Fatalf("second Open (read-only %t) succeeded", readOnly)
		}
		checkLockedError(t, err, path)
		if d := time.Since(start); d > 3*time.Second {
			t.Errorf("second Open took %v with a 100ms timeout", d)
		}
	}
	// Negative timeout: one attempt.
	opts := testOptions(t)
	opts.Timeout = -1
	if _, err := Open(path, opts); !errors.Is(err, ErrLocked) {
		t.Errorf("Open with negative timeout: %v, want ErrLocked", err)
	}
}

func TestOpenLockedOtherProcess(t *testing.T) {
	path := filepath.Join(t.TempDir(), "xgate.db")
	child := startHelper(t, "hold", path)
	child.waitLine(t, "ready")
	opts := testOptions(t)
	opts.Timeout = 100 * time.Millisecond
	db, err := Open(path, opts)
	if err == nil {
		db.Close()
		t.Fatal("Open succeeded while another process holds the file")
	}
	checkLockedError(t, err, path)
	child.stop(t)
	// Once the other process is gone the file opens.
	openTestDBAt(t, path, true)
}

// checkLockedError checks the error of an Open that lost the lock.
func checkLockedError(t *testing.T, err error, path string) {
	t.Helper()
	if !errors.Is(err, ErrLocked) {
		t.Errorf("error %v does not wrap ErrLocked", err)
	}
	if want := "another xgate process is probably using " + path; !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not say %q", err, want)
	}
}

func TestReadOnly(t *testing.T) {
	path := filepath.Join(t.TempDir(), "xgate.db")
	db, err := Open(path, testOptions(t))
	if err != nil {
		t.Fatal(err)
	}
	plain := Account{AccountKey: AccountKey{"alice@example.org", "slack", "T1.U1"}, Settings: map[string]string{"team": "T1"}}
	secret := Account{AccountKey: AccountKey{"alice@example.org", "slack", "T1.U2"}, Secrets: map[string]string{"token": "xoxp-1"}}
	for _, a := range []Account{plain, secret} {
		if err := db.PutAccount(a); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	withKey := testOptions(t)
	withKey.ReadOnly = true
	noKey := withKey
	noKey.Key = nil
	ro1, err := Open(path, withKey)
	if err != nil {
		t.Fatal(err)
	}
	defer ro1.Close()
	ro2, err := Open(path, noKey) // shared lock: two readers coexist
	if err != nil {
		t.Fatal(err)
	}
	defer ro2.Close()

	if a, err := ro1.GetAccount(secret.AccountKey); err != nil || a.Secrets["token"] != "xoxp-1" {
		t.Errorf("read-only with key: GetAccount = %v, %v", a, err)
	}
	if _, err := ro2.GetAccount(plain.AccountKey); err != nil {
		t.Errorf("read-only without key, account without secrets: %v", err)
	}
	if _, err := ro2.GetAccount(secret.AccountKey); !errors.Is(err, ErrNoKey) {
		t.Errorf("read-only without key, account with secrets: %v, want ErrNoKey", err)
	}
	if err := ro2.Verify(); err != nil {
		t.Errorf("Verify without key: %v", err)
	}
	writes := map[string]error{
		"PutAccount": ro1.PutAccount(plain),
		"PutContact": ro1.PutContact("slack", "U1", "u1"),
		"Enqueue": func() error {
			_, err := ro1.Enqueue("q", nil)
			return err
		}(),
		"PutMessageRefs": ro1.PutMessageRefs(MessageRef{Scope: "s", XMPPID: "x", RemoteID: "r"}),
		"KVPut":          ro1.KVPut("ns", "k", nil),
	}
	for name, err := range writes {
		wantErr(t, name, err, ErrReadOnly)
	}
}

func TestClosed(t *testing.T) {
	db, err := Open(filepath.Join(t.TempDir(), "xgate.db"), testOptions(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	k := AccountKey{"a@x", "slack", "T1"}
	calls := map[string]error{}
	calls["SchemaVersion"] = func() error { _, err := db.SchemaVersion(); return err }()
	calls["PutAccount"] = db.PutAccount(Account{AccountKey: k})
	calls["GetAccount"] = func() error { _, err := db.GetAccount(k); return err }()
	calls["PutContact"] = db.PutContact("slack", "U1", "u1")
	calls["ContactByRemote"] = func() error { _, err := db.ContactByRemote("slack", "U1"); return err }()
	calls["PutMessageRefs"] = db.PutMessageRefs(MessageRef{Scope: "s", XMPPID: "x", RemoteID: "r"})
	calls["Enqueue"] = func() error { _, err := db.Enqueue("q", nil); return err }()
	calls["OutboxLen"] = func() error { _, err := db.OutboxLen(); return err }()
	calls["KVGet"] = func() error { _, err := db.KVGet("ns", "k"); return err }()
	calls["Verify"] = db.Verify()
	calls["Stats"] = func() error { _, err := db.Stats(); return err }()
	calls["Backup"] = func() error { _, err := db.Backup(&strings.Builder{}); return err }()
	for name, err := range calls {
		wantErr(t, name, err, ErrClosed)
	}
}
