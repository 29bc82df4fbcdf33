package store

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"time"

	"go.etcd.io/bbolt"
)

// salvageChunk is how many keys Salvage writes per transaction.
const salvageChunk = 10_000

// maxSalvageNotes bounds each list of a SalvageReport.
const maxSalvageNotes = 100

// SalvageOptions configures Salvage.
type SalvageOptions struct {
	// Key, if set, lets Salvage drop secrets that no longer decrypt (so
	// that the result verifies with this key). Without it secrets are
	// copied as they are.
	Key *Key
	// Timeout is how long to wait for the source's lock; zero means
	// DefaultTimeout.
	Timeout time.Duration
}

// SalvageReport is what Salvage copied, lost and repaired.
type SalvageReport struct {
	Buckets []BucketKeys // top-level buckets copied, with their keys
	// Lost lists what could not be read (whole subtrees of pages, or
	// records that no longer decode); Repaired lists the derived records
	// rebuilt or dropped so that the result verifies. Each holds at most
	// 100 entries; the More fields count the rest.
	Lost, Repaired         []string
	MoreLost, MoreRepaired int
	// NeedsMigration says the schema version was lost and the migrations
	// are still to be applied: Salvage applies them itself when given a
	// key; without one, the next read-write Open does (until then a
	// check reports the file as needing migration).
	NeedsMigration bool
}

func (r *SalvageReport) lost(format string, args ...any) {
	if len(r.Lost) < maxSalvageNotes {
		r.Lost = append(r.Lost, fmt.Sprintf(format, args...))
	} else {
		r.MoreLost++
	}
}

func (r *SalvageReport) repaired(format string, args ...any) {
	if len(r.Repaired) < maxSalvageNotes {
		r.Repaired = append(r.Repaired, fmt.Sprintf(format, args...))
	} else {
		r.MoreRepaired++
	}
}

// Salvage copies every bucket and key still readable in the damaged file
// src into a new store file dst, which must not exist. It reads src with
// bounds-checked reads (never through bbolt's memory map), skipping what it
// cannot read, also past the end of a truncated file; then it rebuilds
// what the store derives (the reverse directions of mappings, the time
// index of message refs, the outbox counter and sequences) and drops
// records that no longer decode, so the result opens and passes Verify
// (with opts.Key, when given). A lost schema version is restored by
// applying the migrations again, which needs opts.Key; without it the
// report says NeedsMigration and the next read-write Open applies them. dst is written as dst+".tmp" and
// renamed when complete. Stop xgate first: Salvage waits for src's lock
// like CheckFile.
func Salvage(src, dst string, opts SalvageOptions) (*SalvageReport, error) {
	if exists(dst) {
		return nil, fmt.Errorf("store: salvage: %s exists; choose a new file: %w", dst, ErrInvalid)
	}
	if err := refuseSameFile(src, dst); err != nil {
		return nil, fmt.Errorf("store: salvage: %w", err)
	}
	f, size, err := openLocked(src, opts.Timeout)
	if err != nil {
		if errors.Is(err, ErrLocked) {
			return nil, err
		}
		return nil, fmt.Errorf("store: salvage %s: %w", src, err)
	}
	defer f.Close()
	rf, err := readRawFile(f, size, true)
	if err != nil {
		return nil, fmt.Errorf("store: salvage %s: nothing can be read: %v: %w", src, err, ErrDamaged)
	}
	tmp := dst + ".tmp"
	_ = os.Remove(tmp)
	out, err := bbolt.Open(tmp, fileMode, &bbolt.Options{Timeout: time.Second, NoSync: true, FreelistType: bbolt.FreelistMapType})
	if err != nil {
		return nil, fmt.Errorf("store: salvage to %s: %w", dst, err)
	}
	r := &SalvageReport{}
	err = copyReadable(rf, out, r)
	if err == nil {
		err = out.Update(func(tx *bbolt.Tx) error { return repair(tx, opts.Key, r) })
	}
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err == nil && r.NeedsMigration && opts.Key != nil {
		err = migrateSalvaged(tmp, opts.Key, r)
	}
	if err == nil {
		err = os.Rename(tmp, dst)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return nil, fmt.Errorf("store: salvage to %s: %w", dst, err)
	}
	return r, nil
}

// migrateSalvaged opens the salvaged file read-write once, which applies
// the migrations a lost schema version calls for, so that the result
// passes a check straight away.
func migrateSalvaged(path string, key *Key, r *SalvageReport) error {
	db, err := Open(path, Options{Key: key, Timeout: time.Second})
	if err != nil {
		return fmt.Errorf("applying the migrations: %w", err)
	}
	if err := db.Close(); err != nil {
		return err
	}
	r.NeedsMigration = false
	r.repaired("schema version restored: the migrations were applied again")
	return nil
}

// copyReadable walks rf and writes every bucket and key it can read into
// out, in transactions of salvageChunk keys.
func copyReadable(rf *rawFile, out *bbolt.DB, r *SalvageReport) error {
	var (
		tx      *bbolt.Tx
		n       int
		failure error
		index   = map[string]int{}
	)
	begin := func() {
		if tx, failure = out.Begin(true); failure != nil {
			tx = nil
		}
	}
	// target returns the bucket at path in tx, creating it if needed.
	target := func(path [][]byte) *bbolt.Bucket {
		b, err := tx.CreateBucketIfNotExists(path[0])
		for _, name := range path[1:] {
			if err != nil {
				break
			}
			b, err = b.CreateBucketIfNotExists(name)
		}
		if err != nil {
			r.lost("%sbucket cannot be created: %v", describePath(path), err)
			return nil
		}
		return b
	}
	begin()
	rf.walk(&rawVisitor{
		bucket: func(path [][]byte) {
			if tx == nil {
				return
			}
			if len(path) == 1 {
				index[string(path[0])] = len(r.Buckets)
				r.Buckets = append(r.Buckets, BucketKeys{Name: string(path[0])})
			}
			target(path)
		},
		kv: func(path [][]byte, k, v []byte) {
			if tx == nil {
				return
			}
			if len(path) == 0 {
				r.lost("key %q outside any bucket", k)
				return
			}
			b := target(path)
			if b == nil {
				return
			}
			if err := b.Put(bytes.Clone(k), bytes.Clone(v)); err != nil {
				r.lost("%skey %q: %v", describePath(path), k, err)
				return
			}
			if i, ok := index[string(path[0])]; ok {
				r.Buckets[i].Keys++
			}
			if n++; n%salvageChunk == 0 {
				if failure = tx.Commit(); failure == nil {
					begin()
				} else {
					tx = nil
				}
			}
		},
		problem: func(path [][]byte, err error) { r.lost("%s%v", describePath(path), err) },
	})
	if tx == nil {
		return failure
	}
	return tx.Commit()
}
