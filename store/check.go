package store

import (
	"errors"
	"fmt"
	"os"
	"time"
)

// maxCheckProblems bounds how many problems CheckFile lists.
const maxCheckProblems = 50

// CheckReport is what CheckFile found in a file.
type CheckReport struct {
	Path      string
	FileBytes int64
	PageSize  int    // 0 when no meta page could be read
	Pages     uint64 // the meta page's high-water mark
	FreePages int
	Buckets   []BucketKeys // top-level buckets in file order, with the keys read in each
	Schema    int          // schema version, when the file could be opened
	// Problems lists what is wrong, at most 50 (MoreProblems counts the
	// rest). Empty means the file is sound.
	Problems     []string
	MoreProblems int
	// SecretsChecked says whether secrets were decrypted (a key was given).
	SecretsChecked bool
	// Hint says how to recover, naming the newest backups, when there are
	// problems.
	Hint string
}

// CheckOptions configures CheckFile.
type CheckOptions struct {
	Key       *Key          // decrypts secrets to check them; nil skips that
	Timeout   time.Duration // lock wait; zero means DefaultTimeout
	BackupDir string        // where backups are looked for, as Options.BackupDir
}

// BucketKeys is a bucket and the number of keys (nested buckets included)
// read in it.
type BucketKeys struct {
	Name string
	Keys int
}

// OK reports whether no problem was found.
func (r *CheckReport) OK() bool { return len(r.Problems) == 0 }

func (r *CheckReport) add(format string, args ...any) {
	if len(r.Problems) < maxCheckProblems {
		r.Problems = append(r.Problems, fmt.Sprintf(format, args...))
	} else {
		r.MoreProblems++
	}
}

// CheckFile checks the file at path without a running xgate: first page by
// page, with bounds-checked reads that cannot crash the process (meta pages,
// file size, free list, every page of every bucket reached exactly once or
// free); then, if that found nothing, it opens the file read-only and runs
// Verify (bbolt's own consistency check and the store's invariants;
// secrets are decrypted only with opts.Key). It waits at most opts.Timeout
// for the lock; a running xgate holds it, and the error then wraps
// ErrLocked. Problems are in the report; the error is for a check that
// could not run (missing file, lock).
func CheckFile(path string, opts CheckOptions) (*CheckReport, error) {
	key, timeout := opts.Key, opts.Timeout
	r, err := checkFile(path, key, timeout)
	if r != nil && !r.OK() {
		r.Hint = restoreHint(path, opts.BackupDir)
	}
	return r, err
}

func checkFile(path string, key *Key, timeout time.Duration) (*CheckReport, error) {
	f, size, err := openLocked(path, timeout)
	if err != nil {
		if errors.Is(err, ErrLocked) {
			return nil, err
		}
		return nil, fmt.Errorf("store: check %s: %w", path, err)
	}
	r := &CheckReport{Path: path, FileBytes: size, SecretsChecked: key != nil}
	structural := func() bool {
		defer f.Close()
		rf, err := readRawFile(f, size, false)
		if err != nil {
			r.add("%v", err)
			return false
		}
		r.PageSize, r.Pages = rf.pageSize(), rf.meta.pgid
		free, err := rf.freelist()
		if err != nil {
			r.add("%v", err)
		}
		r.FreePages = len(free)
		checkPages(rf, free, r)
		return r.OK()
	}()
	if !structural {
		return r, nil
	}
	// The file's structure is sound, so bbolt can read it safely.
	db, err := Open(path, Options{Key: key, ReadOnly: true, Timeout: timeout})
	if err != nil {
		r.add("%v", err)
		return r, nil
	}
	defer db.Close()
	if r.Schema, err = db.SchemaVersion(); err != nil {
		r.add("%v", err)
	}
	v, err := db.verify()
	if err != nil {
		r.add("%v", err)
		return r, nil
	}
	for _, p := range v.problems {
		r.add("%s", p)
	}
	r.MoreProblems += v.total - len(v.problems)
	return r, nil
}

// checkPages walks every bucket of rf, counting keys per top-level bucket,
// and checks that each page below the high-water mark is a meta page, the
// free list, reached exactly once from the root, or free, and not two of
// these.
func checkPages(rf *rawFile, free []uint64, r *CheckReport) {
	reached := map[uint64]int{}
	index := map[string]int{}
	rf.walk(&rawVisitor{
		pages: reached,
		bucket: func(path [][]byte) {
			if len(path) == 1 {
				index[string(path[0])] = len(r.Buckets)
				r.Buckets = append(r.Buckets, BucketKeys{Name: string(path[0])})
			} else if i, ok := index[string(path[0])]; ok {
				r.Buckets[i].Keys++
			}
		},
		kv: func(path [][]byte, k, _ []byte) {
			if len(path) == 0 {
				r.add("key %q outside any bucket", k)
			} else if i, ok := index[string(path[0])]; ok {
				r.Buckets[i].Keys++
			}
		},
		problem: func(path [][]byte, err error) { r.add("%s%v", describePath(path), err) },
	})
	isFree := make(map[uint64]bool, len(free))
	for _, id := range free {
		if isFree[id] {
			r.add("page %d: listed twice in the free list", id)
		}
		isFree[id] = true
	}
	fl := map[uint64]bool{}
	if rf.meta.freelist != noFreelist {
		if p, err := rf.page(rf.meta.freelist); err == nil {
			for i := range pageOverflow(p) + 1 {
				fl[rf.meta.freelist+i] = true
			}
		}
	}
	if !r.OK() {
		return // pages of an unreadable subtree would all look leaked
	}
	for id := uint64(2); id < rf.meta.pgid; id++ {
		switch n := reached[id]; {
		case n > 0 && isFree[id]:
			r.add("page %d: in use and in the free list", id)
		case n > 0 && fl[id]:
			r.add("page %d: in use and part of the free list", id)
		case n == 0 && !isFree[id] && !fl[id] && rf.meta.freelist != noFreelist:
			r.add("page %d: neither in use nor free (leaked)", id)
		}
	}
}

// exists reports whether path exists (for Salvage's refusal to overwrite).
func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}
