package store

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.etcd.io/bbolt"
)

// damageEnv names the store a re-executed child opens and reads in
// TestDamageHelper.
const damageEnv = "XGATE_STORE_DAMAGED"

// TestDamageHelper is not a test: in a child started by TestDamagedStore it
// opens the store named by damageEnv, reads and writes everything, and
// prints one line per step: "STEP ok", "STEP damaged: ERR" or
// "STEP error: ERR". A crash shows as the child's exit status.
func TestDamageHelper(t *testing.T) {
	path := os.Getenv(damageEnv)
	if path == "" {
		return
	}
	report := func(step string, err error) {
		switch {
		case err == nil:
			fmt.Printf("%s ok\n", step)
		case errors.Is(err, ErrDamaged):
			fmt.Printf("%s damaged: %v\n", step, err)
		default:
			fmt.Printf("%s error: %v\n", step, err)
		}
	}
	db, err := Open(path, Options{Key: mustKey(t, testKeyHex), Timeout: 5 * time.Second})
	report("open", err)
	if err != nil {
		os.Exit(0)
	}
	_, err = db.Accounts("slack")
	report("accounts", err)
	_, err = db.Stats()
	report("stats", err)
	_, err = db.OutboxQueues()
	report("queues", err)
	err = db.PutAccount(Account{AccountKey: AccountKey{"zed@x", "slack", "T9.U9"}})
	report("put", err)
	_, err = db.Enqueue("q-new", []byte("p"))
	report("enqueue", err)
	select {
	case <-db.Damaged():
		report("handle", db.DamageErr())
	default:
		report("handle", nil)
	}
	report("close", db.Close())
	os.Exit(0)
}

// damageFixture builds, once, a store with enough accounts that the
// accounts bucket has pages of its own, and returns its bytes and the page
// numbers the cases damage.
var damageFixture = sync.OnceValues(func() (fixture, error) {
	dir, err := os.MkdirTemp("", "xgate-damage-")
	if err != nil {
		return fixture{}, err
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "xgate.db")
	key, err := ParseKey([]byte(testKeyHex))
	if err != nil {
		return fixture{}, err
	}
	db, err := Open(path, Options{Key: key, NoSync: true, BatchDelay: time.Millisecond})
	if err != nil {
		return fixture{}, err
	}
	for i := range 300 {
		a := Account{AccountKey: AccountKey{fmt.Sprintf("u%d@x", i), "slack", "T1.U1"}, Settings: map[string]string{"n": strings.Repeat("x", 40)}}
		if err := db.PutAccount(a); err != nil {
			return fixture{}, err
		}
	}
	for i := range 20 {
		if _, err := db.Enqueue("q", []byte(fmt.Sprint("item ", i))); err != nil {
			return fixture{}, err
		}
	}
	if err := db.OutboxAck("q", 1, 2, 3); err != nil { // leaves free pages
		return fixture{}, err
	}
	if err := db.Close(); err != nil {
		return fixture{}, err
	}
	fx := fixture{}
	bdb, err := bbolt.Open(path, 0o600, &bbolt.Options{ReadOnly: true})
	if err != nil {
		return fixture{}, err
	}
	err = bdb.View(func(tx *bbolt.Tx) error {
		fx.accountsRoot = uint64(tx.Bucket([]byte(bucketAccounts)).Root())
		return nil
	})
	bdb.Close()
	if err != nil {
		return fixture{}, err
	}
	if fx.data, err = os.ReadFile(path); err != nil {
		return fixture{}, err
	}
	f, err := os.Open(path)
	if err != nil {
		return fixture{}, err
	}
	defer f.Close()
	rf, err := readRawFile(f, int64(len(fx.data)), false)
	if err != nil {
		return fixture{}, err
	}
	fx.meta = rf.meta
	buf := make([]byte, 128)
	for i := range 2 {
		copy(buf, fx.data[i*rf.pageSize():])
		if m, err := parseMeta(buf); err == nil && m.txid == rf.meta.txid {
			fx.newestMeta = i
		}
	}
	if fx.accountsRoot == 0 || rf.meta.freelist == noFreelist {
		return fixture{}, fmt.Errorf("fixture: accounts bucket inline (%d) or no synced free list", fx.accountsRoot)
	}
	return fx, nil
})

// fixture is the file of damageFixture and where its parts are.
type fixture struct {
	data         []byte
	meta         rawMeta
	newestMeta   int    // which meta page (0 or 1) holds the newest transaction
	accountsRoot uint64 // root page of the accounts bucket
}

// at returns the offset of page id plus off.
func (fx fixture) at(id uint64, off int) int { return int(id)*int(fx.meta.pageSize) + off }

// fill sets n bytes at off to b.
func fill(data []byte, off, n int, b byte) {
	for i := range n {
		data[off+i] = b
	}
}

// TestDamagedStore opens damaged copies of a store in a child process (a
// damaged mapped file can kill a process with SIGBUS), reads and writes
// through every kind of call, and checks that the child survives and that
// the damage is reported as ErrDamaged, at Open or at the first call that
// reaches the damaged page, with a restore hint.
func TestDamagedStore(t *testing.T) {
	if testing.Short() {
		t.Skip("re-executes the test binary; skipped in -short mode")
	}
	fx, err := damageFixture()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		// damage returns the damaged file from a copy of the fixture.
		damage func(data []byte) []byte
		// atOpen: Open reports the damage; otherwise Open succeeds and a
		// later step does. Neither: the file is usable.
		atOpen, later bool
		detail        string // in the damage error
	}{
		{"empty file", func([]byte) []byte { return nil }, true, false, "0 bytes"},
		{"truncated to half", func(d []byte) []byte { return d[:len(d)/2] }, true, false, "truncated"},
		{"truncated by one byte of a page in use", func(d []byte) []byte { return d[:fx.at(fx.meta.pgid, -1)] }, true, false, "truncated"},
		{"garbage", func(d []byte) []byte {
			r := rand.New(rand.NewPCG(1, 2))
			for i := range d {
				d[i] = byte(r.Uint32())
			}
			return d
		}, true, false, "no valid meta page"},
		{"both meta pages flipped", func(d []byte) []byte {
			d[fx.at(0, 40)] ^= 0xff
			d[fx.at(1, 40)] ^= 0xff
			return d
		}, true, false, "both meta pages are damaged"},
		{"newest meta page flipped (bbolt falls back to the other)", func(d []byte) []byte {
			d[fx.at(uint64(fx.newestMeta), 40)] ^= 0xff
			return d
		}, false, false, ""},
		{"free-list page type flipped", func(d []byte) []byte {
			d[fx.at(fx.meta.freelist, 8)] ^= 0xff
			return d
		}, true, false, "free list"},
		{"free-list count past the page", func(d []byte) []byte {
			fill(d, fx.at(fx.meta.freelist, 10), 2, 0xfe)
			return d
		}, true, false, "free list"},
		{"free-list entry out of range", func(d []byte) []byte {
			fill(d, fx.at(fx.meta.freelist, pageHeaderSize), 8, 0x7f)
			return d
		}, true, false, "free list"},
		{"root page header zeroed", func(d []byte) []byte {
			fill(d, fx.at(fx.meta.root, 0), pageHeaderSize, 0)
			return d
		}, true, false, "page"},
		{"root page elements point past the file", func(d []byte) []byte {
			fill(d, fx.at(fx.meta.root, pageHeaderSize), int(fx.meta.pageSize)-pageHeaderSize, 0xff)
			return d
		}, true, false, "bbolt failed reading it"},
		{"accounts page overwritten", func(d []byte) []byte {
			fill(d, fx.at(fx.accountsRoot, 0), int(fx.meta.pageSize), 0xff)
			return d
		}, false, true, "bbolt failed reading it"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "xgate.db")
			if err := os.WriteFile(path, tt.damage(append([]byte(nil), fx.data...)), 0o600); err != nil {
				t.Fatal(err)
			}
			before, _ := os.ReadFile(path)
			cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestDamageHelper$", "-test.count=1")
			cmd.Env = append(os.Environ(), damageEnv+"="+path)
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("child failed (%v): the store crashed the process\nstdout:\n%s\nstderr:\n%s", err, out, stderrOf(err))
			}
			steps := parseSteps(string(out))
			switch {
			case tt.atOpen:
				if !strings.HasPrefix(steps["open"], "damaged: ") {
					t.Fatalf("open: %q, want damaged", steps["open"])
				}
				if after, _ := os.ReadFile(path); string(after) != string(before) {
					t.Errorf("the refused file was changed (%d bytes, was %d)", len(after), len(before))
				}
			case tt.later:
				if steps["open"] != "ok" {
					t.Fatalf("open: %q, want ok", steps["open"])
				}
				if !strings.HasPrefix(steps["accounts"], "damaged: ") || !strings.HasPrefix(steps["handle"], "damaged: ") {
					t.Errorf("steps %q: want the accounts read and the handle damaged", out)
				}
				if !strings.HasPrefix(steps["put"], "damaged: ") || !strings.HasPrefix(steps["enqueue"], "damaged: ") {
					t.Errorf("steps %q: writes after damage must be refused", out)
				}
			default:
				for step, res := range steps {
					if res != "ok" {
						t.Errorf("%s: %s, want ok", step, res)
					}
				}
			}
			all := string(out)
			if tt.atOpen || tt.later {
				for _, want := range []string{tt.detail, "store damaged: restore from backup (xgate backup / POST /backup made", "xgate store salvage"} {
					if !strings.Contains(all, want) {
						t.Errorf("output lacks %q:\n%s", want, all)
					}
				}
			}
			for step, res := range steps {
				if strings.HasPrefix(res, "error: ") {
					t.Errorf("%s: %s: damage not reported as ErrDamaged", step, res)
				}
			}
		})
	}
}

// parseSteps maps each step of TestDamageHelper's output to its result.
func parseSteps(out string) map[string]string {
	steps := map[string]string{}
	for line := range strings.Lines(out) {
		step, res, ok := strings.Cut(strings.TrimSpace(line), " ")
		if ok && !strings.HasPrefix(step, "---") && step != "PASS" && step != "ok" {
			steps[step] = res
		}
	}
	return steps
}

// stderrOf returns the standard error captured in an *exec.ExitError.
func stderrOf(err error) string {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return string(ee.Stderr)
	}
	return ""
}

// TestDamageErrorNamesBackups checks that the damage error names the
// newest backups, newest first, from the backup directory and the store's
// own, and never the store itself.
func TestDamageErrorNamesBackups(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "xgate.db")
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	backupDir := filepath.Join(dir, "bk")
	if err := os.Mkdir(backupDir, 0o700); err != nil {
		t.Fatal(err)
	}
	base := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	files := []struct {
		path string
		age  time.Duration
	}{
		{filepath.Join(backupDir, "xgate-old.db"), 5 * time.Hour},
		{filepath.Join(backupDir, "xgate-new.db"), 0},
		{filepath.Join(backupDir, "notes.txt"), -time.Hour},
		{filepath.Join(dir, "manual.db"), time.Hour},
		{filepath.Join(backupDir, "xgate-oldest.db"), 9 * time.Hour},
	}
	for _, f := range files {
		if err := os.WriteFile(f.path, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(f.path, base.Add(-f.age), base.Add(-f.age)); err != nil {
			t.Fatal(err)
		}
	}
	_, err := Open(path, Options{Key: mustKey(t, testKeyHex), BackupDir: backupDir})
	if !errors.Is(err, ErrDamaged) {
		t.Fatalf("Open of a 0-byte file: %v, want ErrDamaged", err)
	}
	want := fmt.Sprintf("made newest first: %s at 2026-12-01 10:00:00 UTC, %s at 2026-12-01 09:00:00 UTC, %s at 2026-12-01 05:00:00 UTC)",
		files[1].path, files[3].path, files[0].path)
	if !strings.Contains(err.Error(), want) {
		t.Errorf("error:\n%v\nwant it to contain:\n%s", err, want)
	}
	if fi, _ := os.Stat(path); fi.Size() != 0 {
		t.Errorf("the 0-byte file was initialized (%d bytes)", fi.Size())
	}

	_, err = Open(path, Options{Key: mustKey(t, testKeyHex), BackupDir: filepath.Join(dir, "none")})
	if want := "made none in " + filepath.Join(dir, "none") + " or " + dir; !strings.Contains(err.Error(), want) {
		// manual.db is in dir, so this names it instead.
		if !strings.Contains(err.Error(), "manual.db") {
			t.Errorf("error %v names neither backups nor where it looked", err)
		}
	}
}

// TestGuardLetsBugsPanic checks that runGuarded recovers only damage: a
// panic raised by the store's own code, or a nil dereference in it, is a
// bug and must not be reported as a damaged file.
func TestGuardLetsBugsPanic(t *testing.T) {
	var nilMap *map[string]int
	for name, fn := range map[string]func() error{
		"panic":   func() error { panic("a bug") },
		"nil map": func() error { return fmt.Errorf("%d", (*nilMap)["x"]) },
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("the panic was swallowed")
				}
			}()
			err := runGuarded(fn)
			t.Errorf("runGuarded returned %v", err)
		})
	}
}

// legacyStore writes a store whose free list is not in the file (as xgate
// wrote them before it synced the list), with 300 accounts, and returns
// its path and the accounts bucket's root page.
func legacyStore(t *testing.T) (string, uint64) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "xgate.db")
	db, err := Open(path, testOptions(t))
	if err != nil {
		t.Fatal(err)
	}
	for i := range 300 {
		if err := db.PutAccount(Account{AccountKey: AccountKey{fmt.Sprintf("u%d@x", i), "slack", "T1.U1"}}); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	bdb, err := bbolt.Open(path, 0o600, &bbolt.Options{NoFreelistSync: true})
	if err != nil {
		t.Fatal(err)
	}
	var root uint64
	err = bdb.Update(func(tx *bbolt.Tx) error {
		root = uint64(tx.Bucket([]byte(bucketAccounts)).Root())
		return tx.Bucket([]byte(bucketKV)).Put([]byte("ns\x00k"), []byte("v"))
	})
	bdb.Close()
	if err != nil {
		t.Fatal(err)
	}
	if rf := rawMetaOf(t, path); rf.meta.freelist != noFreelist {
		t.Fatalf("free list at page %d, want none in the file", rf.meta.freelist)
	}
	return path, root
}

// rawMetaOf reads the meta of the file at path.
func rawMetaOf(t *testing.T, path string) *rawFile {
	t.Helper()
	f, size, err := openLocked(path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rf, err := readRawFile(f, size, false)
	if err != nil {
		t.Fatal(err)
	}
	return rf
}

// TestLegacyFreelist opens stores written without a synced free list: a
// sound one gets its list written by the first read-write Open; a damaged
// one (which bbolt would walk on a goroutine of its own, where a fault
// kills the process) is refused. The damaged case runs in a child.
func TestLegacyFreelist(t *testing.T) {
	path, _ := legacyStore(t)
	db, err := Open(path, testOptions(t))
	if err != nil {
		t.Fatal(err)
	}
	if v, err := db.KVGet("ns", "k"); err != nil || string(v) != "v" {
		t.Errorf("KVGet %q, %v", v, err)
	}
	checkCounts(t, db, "legacy")
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	verifyFile(t, path)
	if rf := rawMetaOf(t, path); rf.meta.freelist == noFreelist {
		t.Error("the free list was not written to the file")
	}

	if testing.Short() {
		return
	}
	path, root := legacyStore(t)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	ps := os.Getpagesize()
	fill(data, int(root)*ps, ps, 0xff)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestDamageHelper$", "-test.count=1")
	cmd.Env = append(os.Environ(), damageEnv+"="+path)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("child failed (%v): the store crashed the process\n%s\n%s", err, out, stderrOf(err))
	}
	if open := parseSteps(string(out))["open"]; !strings.HasPrefix(open, "damaged: ") || !strings.Contains(open, `in bucket "accounts"`) {
		t.Errorf("open: %q, want damaged in bucket accounts", open)
	}
}
