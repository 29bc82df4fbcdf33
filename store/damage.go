package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	bberrors "go.etcd.io/bbolt/errors"
)

// backupsNamed is how many backups a damage error names.
const backupsNamed = 3

// damageError is a damaged file: what was found, and where backups are.
type damageError struct {
	path   string
	detail string
	hint   string
}

func (e *damageError) Error() string {
	return fmt.Sprintf("store: %s: %s: %v: %s", e.path, e.detail, ErrDamaged, e.hint)
}

func (e *damageError) Unwrap() error { return ErrDamaged }

// newDamageError describes damage found in the file at path; backupDir is
// Options.BackupDir.
func newDamageError(path, backupDir, detail string) *damageError {
	return &damageError{path: path, detail: detail, hint: restoreHint(path, backupDir)}
}

// backupDirs returns where backups of the store at path are looked for:
// backupDir (default: "backups" next to the store), then the store's own
// directory.
func backupDirs(path, backupDir string) []string {
	if backupDir == "" {
		backupDir = filepath.Join(filepath.Dir(path), "backups")
	}
	return []string{backupDir, filepath.Dir(path)}
}

// restoreHint says how to recover, naming the newest backups found.
func restoreHint(path, backupDir string) string {
	dirs := backupDirs(path, backupDir)
	found := newestBackups(path, dirs, backupsNamed)
	var made string
	if len(found) == 0 {
		made = "none in " + strings.Join(dirs, " or ")
	} else {
		names := make([]string, len(found))
		for i, b := range found {
			names[i] = fmt.Sprintf("%s at %s", b.path, b.modTime.UTC().Format("2006-01-02 15:04:05 UTC"))
		}
		made = "newest first: " + strings.Join(names, ", ")
	}
	return fmt.Sprintf("restore from backup (xgate backup / POST /backup made %s); stop xgate, copy the backup over %s, start xgate; or keep what is still readable with `xgate store salvage -db %s -out NEW`", made, path, path)
}

// backupFile is a backup found on disk.
type backupFile struct {
	path    string
	modTime time.Time
}

// newestBackups lists the n most recently modified "*.db" files in dirs,
// other than the store itself.
func newestBackups(path string, dirs []string, n int) []backupFile {
	live, _ := os.Stat(path)
	var out []backupFile
	seen := map[string]bool{}
	for _, dir := range dirs {
		entries, err := os.ReadDir(dir)
		if err != nil {
			continue
		}
		for _, e := range entries {
			p := filepath.Join(dir, e.Name())
			if !e.Type().IsRegular() || !strings.HasSuffix(e.Name(), ".db") || seen[p] {
				continue
			}
			seen[p] = true
			fi, err := e.Info()
			if err != nil || fi.Size() == 0 || live != nil && os.SameFile(live, fi) {
				continue
			}
			out = append(out, backupFile{path: p, modTime: fi.ModTime()})
		}
	}
	slices.SortFunc(out, func(a, b backupFile) int { return b.modTime.Compare(a.modTime) })
	return out[:min(n, len(out))]
}

// precheck checks an existing file before bbolt maps it: not empty, meta
// pages valid, the file as long as the meta page's high-water mark, the free
// list readable. When the file has no synced free list and will be opened
// read-write, bbolt rebuilds it by walking every page, so precheck walks
// them first. It holds a shared lock while reading, so it never reads a
// file that a running xgate is writing; a missing file is left to bbolt.
func precheck(path string, timeout time.Duration, readOnly bool, backupDir string) error {
	f, size, err := openLocked(path, timeout)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return nil
	case errors.Is(err, ErrLocked):
		return err
	case err != nil:
		return fmt.Errorf("store: open %s: %w", path, err)
	}
	defer f.Close()
	rf, err := readRawFile(f, size, false)
	if err != nil {
		return newDamageError(path, backupDir, err.Error())
	}
	if _, err := rf.freelist(); err != nil {
		return newDamageError(path, backupDir, err.Error())
	}
	root, err := rf.page(rf.meta.root)
	if err == nil && pageFlags(root) != pageLeaf && pageFlags(root) != pageBranch {
		err = fmt.Errorf("root page %d has type %#x", rf.meta.root, pageFlags(root))
	}
	if err != nil {
		return newDamageError(path, backupDir, err.Error())
	}
	if rf.meta.freelist == noFreelist && !readOnly {
		var problems []string
		rf.walk(&rawVisitor{
			bucket:  func([][]byte) {},
			kv:      func([][]byte, []byte, []byte) {},
			problem: func(p [][]byte, err error) { problems = append(problems, describePath(p)+err.Error()) },
		})
		if len(problems) > 0 {
			return newDamageError(path, backupDir, fmt.Sprintf("%d unreadable part(s): %s", len(problems), strings.Join(problems[:min(3, len(problems))], "; ")))
		}
	}
	return nil
}

// describePath renders a bucket path for a message ("in bucket a/b: ").
func describePath(path [][]byte) string {
	if len(path) == 0 {
		return ""
	}
	parts := make([]string, len(path))
	for i, p := range path {
		parts[i] = fmt.Sprintf("%q", p)
	}
	return "in bucket " + strings.Join(parts, "/") + ": "
}

// isBoltFormatError reports bbolt's errors for a file it cannot use.
func isBoltFormatError(err error) bool {
	return errors.Is(err, bberrors.ErrInvalid) || errors.Is(err, bberrors.ErrChecksum) ||
		errors.Is(err, bberrors.ErrVersionMismatch) || errors.Is(err, bberrors.ErrInvalidMapping)
}

// boltPanic is a panic recovered from bbolt.
type boltPanic struct{ v any }

func (p *boltPanic) Error() string { return fmt.Sprintf("bbolt failed reading it (%v)", p.v) }

// runGuarded runs fn, which uses bbolt, so that a damaged file cannot crash
// the process: memory faults on the mapped file (SIGBUS past the end of a
// truncated file, SIGSEGV past the mapping) become panics, and a panic
// becomes a *boltPanic error. bbolt releases its transaction locks in
// deferred calls, so they are released before runGuarded recovers.
//
// Only panics that come from damage are recovered: a memory fault (the
// only memory xgate's code and bbolt fault on is the mapped file), or a
// panic raised inside bbolt (its assertions on page headers, free-list
// pages and page numbers). Any other panic is a bug and goes on.
func runGuarded(fn func() error) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		r := recover()
		if r == nil {
			return
		}
		if _, fault := r.(interface{ Addr() uintptr }); !fault && !panickedInBolt() {
			panic(r)
		}
		err = &boltPanic{r}
	}()
	return fn()
}

// panickedInBolt reports whether the panic being recovered was raised in
// bbolt: the first function below the runtime's panic machinery is
// bbolt's. It must be called from the deferred function that recovers.
func panickedInBolt() bool {
	pcs := make([]uintptr, 32)
	frames := runtime.CallersFrames(pcs[:runtime.Callers(2, pcs)])
	inPanic := false
	for {
		f, more := frames.Next()
		switch {
		case f.Function == "runtime.gopanic":
			inPanic = true
		case inPanic && !strings.HasPrefix(f.Function, "runtime."):
			return strings.HasPrefix(f.Function, "go.etcd.io/bbolt")
		}
		if !more {
			return false
		}
	}
}

// guard is runGuarded for a handle: a panic marks the handle damaged and
// returns its damage error.
func (db *DB) guard(fn func() error) error {
	err := runGuarded(fn)
	if bp, ok := err.(*boltPanic); ok {
		return db.markDamaged(bp.Error())
	}
	return err
}

// markDamaged records the first damage seen and returns its error.
func (db *DB) markDamaged(detail string) error {
	e := newDamageError(db.path, db.backupDir, detail)
	if db.damage.CompareAndSwap(nil, e) {
		close(db.damaged)
	}
	return db.damage.Load()
}

// Damaged returns a channel closed when a transaction of this handle found
// the file damaged; DamageErr then returns the error. A long-running
// process watches it to stop instead of running on a damaged store.
func (db *DB) Damaged() <-chan struct{} { return db.damaged }

// DamageErr returns the error (wrapping ErrDamaged) of the first damage
// this handle found in the file, or nil.
func (db *DB) DamageErr() error {
	if e := db.damage.Load(); e != nil {
		return e
	}
	return nil
}
