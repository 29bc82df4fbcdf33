package store

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"go.etcd.io/bbolt"
)

// Backup writes a consistent copy of the database to w from one read
// transaction, while other goroutines keep reading and writing. It returns
// the number of bytes written. The copy is a complete database file.
func (db *DB) Backup(w io.Writer) (int64, error) {
	var n int64
	err := db.view(func(tx *bbolt.Tx) (err error) {
		n, err = tx.WriteTo(w)
		return err
	})
	if err != nil {
		return n, fmt.Errorf("store: backup: %w", err)
	}
	return n, nil
}

// BackupFile writes a consistent copy of the database to path while the
// database stays in use: it writes path+".tmp" (mode 0600), fsyncs it and
// renames it over path, so path is either the old file or a complete new
// copy. It refuses to write over the live database file.
func (db *DB) BackupFile(path string) (int64, error) {
	if err := refuseSameFile(db.path, path); err != nil {
		return 0, fmt.Errorf("store: backup to %s: %w", path, err)
	}
	n, err := writeFileAtomic(path, func(w io.Writer) (int64, error) {
		var n int64
		err := db.view(func(tx *bbolt.Tx) (err error) {
			n, err = tx.WriteTo(w)
			return err
		})
		return n, err
	})
	if err != nil {
		return n, fmt.Errorf("store: backup to %s: %w", path, err)
	}
	return n, nil
}

// BackupOffline copies the database file src to dst (atomically, like
// BackupFile) without a running xgate: it opens src read-only, waiting at
// most timeout (zero means DefaultTimeout) for the lock. If a running xgate
// holds the file it fails with an error wrapping ErrLocked; use the running
// instance's online backup instead. It needs no key and does not migrate.
func BackupOffline(src, dst string, timeout time.Duration) (int64, error) {
	if _, err := os.Stat(src); err != nil {
		return 0, fmt.Errorf("store: offline backup of %s: %w", src, err)
	}
	if err := refuseSameFile(src, dst); err != nil {
		return 0, fmt.Errorf("store: offline backup of %s to %s: %w", src, dst, err)
	}
	if err := precheck(src, timeout, true, ""); err != nil {
		if errors.Is(err, ErrLocked) {
			return 0, fmt.Errorf("store: offline backup: another xgate process is probably using %s; stop it or use its online backup: %w", src, ErrLocked)
		}
		return 0, err
	}
	bdb, err := openBolt(src, timeout, true, false)
	if _, ok := err.(*boltPanic); ok {
		return 0, fmt.Errorf("store: offline backup: %w", newDamageError(src, "", err.Error()))
	}
	if err != nil {
		if errors.Is(err, ErrLocked) {
			return 0, fmt.Errorf("store: offline backup: another xgate process is probably using %s; stop it or use its online backup: %w", src, ErrLocked)
		}
		return 0, err
	}
	defer bdb.Close()
	n, err := writeFileAtomic(dst, func(w io.Writer) (int64, error) {
		var n int64
		err := runGuarded(func() error {
			return bdb.View(func(tx *bbolt.Tx) (err error) {
				if tx.Bucket([]byte(bucketMeta)) == nil {
					return fmt.Errorf("%s is not an xgate database (no %s bucket): %w", src, bucketMeta, ErrInvalid)
				}
				if _, err := readVersion(tx); err != nil {
					return err
				}
				n, err = tx.WriteTo(w)
				return err
			})
		})
		if _, ok := err.(*boltPanic); ok {
			err = newDamageError(src, "", err.Error())
		}
		return n, err
	})
	if err != nil {
		return n, fmt.Errorf("store: offline backup of %s to %s: %w", src, dst, err)
	}
	return n, nil
}

// refuseSameFile returns an error if dst or dst+".tmp" is the file live.
func refuseSameFile(live, dst string) error {
	la, err1 := filepath.Abs(live)
	da, err2 := filepath.Abs(dst)
	if err1 == nil && err2 == nil && (la == da || la == da+".tmp") {
		return fmt.Errorf("refusing to overwrite the database file itself: %w", ErrInvalid)
	}
	li, err := os.Stat(live)
	if err != nil {
		return nil // nothing to compare with
	}
	for _, p := range []string{dst, dst + ".tmp"} {
		if di, err := os.Stat(p); err == nil && os.SameFile(li, di) {
			return fmt.Errorf("refusing to overwrite the database file itself (%s is the same file): %w", p, ErrInvalid)
		}
	}
	return nil
}

// writeFileAtomic writes path+".tmp" with fill, fsyncs it, renames it to
// path and fsyncs the directory. The temporary file is removed on failure.
func writeFileAtomic(path string, fill func(io.Writer) (int64, error)) (n int64, err error) {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, fileMode)
	if err != nil {
		return 0, err
	}
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = os.Remove(tmp)
		}
	}()
	if err = f.Chmod(fileMode); err != nil { // an old .tmp keeps its mode otherwise
		return 0, err
	}
	if n, err = fill(f); err != nil {
		return n, err
	}
	if err = f.Sync(); err != nil {
		return n, err
	}
	if err = f.Close(); err != nil {
		return n, err
	}
	if err = os.Rename(tmp, path); err != nil {
		return n, err
	}
	if d, derr := os.Open(filepath.Dir(path)); derr == nil {
		serr := d.Sync()
		_ = d.Close()
		if serr != nil && !errors.Is(serr, fs.ErrInvalid) {
			return n, serr
		}
	}
	return n, nil
}
