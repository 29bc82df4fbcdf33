package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"go.etcd.io/bbolt"
	bberrors "go.etcd.io/bbolt/errors"
)

// DefaultTimeout is how long Open waits for the file lock when
// Options.Timeout is zero.
const DefaultTimeout = time.Second

// fileMode is the permission of database and backup files.
const fileMode os.FileMode = 0o600

// Options configures Open.
type Options struct {
	// Key encrypts and decrypts secrets. Required unless ReadOnly (Open
	// returns ErrNoKey). A read-only handle without a key can do everything
	// except read secrets.
	Key *Key

	// Timeout is how long to wait for the file lock held by another handle.
	// Zero means DefaultTimeout; negative means try once. On timeout Open
	// returns an error wrapping ErrLocked.
	Timeout time.Duration

	// ReadOnly opens an existing file without writing to it, with a shared
	// lock: several read-only handles may coexist, but not with a read-write
	// one. Write methods return ErrReadOnly.
	ReadOnly bool

	// NoSync skips fsync after each commit. A crash of the machine (not of
	// the process) can then lose or corrupt data: for tests and benchmarks
	// only.
	NoSync bool

	// BatchDelay is no longer waited for: a write through the batcher
	// (PutMessageRefs, Enqueue, OutboxDone) starts a commit at once when
	// none is running, and writes arriving during a commit share the next
	// one (a group commit). Kept so that existing configurations compile.
	BatchDelay time.Duration

	// BackupDir is where backups of this file are kept. It is only read to
	// name the newest backups in a damage error (ErrDamaged), along with
	// the file's own directory. Empty means "backups" next to the file.
	BackupDir string
}

// DB is an open xgate database file. All methods are safe for concurrent use
// by many goroutines. Every method returns ErrClosed after Close.
type DB struct {
	bolt      *bbolt.DB
	path      string
	key       *Key
	readOnly  bool
	backupDir string
	now       func() time.Time // time source, replaced only by tests before use
	batcher   batcher
	counts    counts // record counts for Stats and OutboxCount
	closed    atomic.Bool
	commits   atomic.Uint64 // write transactions committed since Open (Stats)

	damage  atomic.Pointer[damageError] // first damage found; set once
	damaged chan struct{}               // closed when damage is set
}

// Open opens the database file at path, creating it (mode 0600) and its
// parent directory (mode 0700) if missing, unless opts.ReadOnly. It waits at
// most opts.Timeout for the file lock; if another handle holds it, the error
// wraps ErrLocked and says that another xgate process is probably using the
// file. A read-write Open then applies pending migrations and checks the key:
// the first Open writes a key-check record sealed with opts.Key, later ones
// must decrypt it or fail with ErrWrongKey. A file written by a newer xgate
// fails with ErrTooNew. A read-only Open of a file that needs migration fails
// with ErrNeedsMigration.
//
// Open refuses a damaged file with an error wrapping ErrDamaged: an existing
// file of 0 bytes, a file shorter than its meta page's high-water mark
// (truncated), invalid meta pages or free list, or a file whose pages bbolt
// cannot read. The error names the newest backups found in
// Options.BackupDir and next to the file. These checks read the two meta
// pages, the free-list page and the root page, not the whole file.
func Open(path string, opts Options) (*DB, error) {
	if path == "" {
		return nil, fmt.Errorf("store: open: empty path: %w", ErrInvalid)
	}
	if opts.Key == nil && !opts.ReadOnly {
		return nil, fmt.Errorf("store: open %s: %w", path, ErrNoKey)
	}
	if !opts.ReadOnly {
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, fmt.Errorf("store: open %s: %w", path, err)
		}
	}
	if err := precheck(path, opts.Timeout, opts.ReadOnly, opts.BackupDir); err != nil {
		return nil, err
	}
	bdb, err := openBolt(path, opts.Timeout, opts.ReadOnly, opts.NoSync)
	var bp *boltPanic
	switch {
	case errors.As(err, &bp):
		return nil, newDamageError(path, opts.BackupDir, bp.Error())
	case isBoltFormatError(err):
		return nil, newDamageError(path, opts.BackupDir, err.Error())
	case err != nil:
		return nil, err
	}
	db := &DB{
		bolt: bdb, path: path, key: opts.Key, readOnly: opts.ReadOnly, backupDir: opts.BackupDir,
		now: time.Now, damaged: make(chan struct{}), batcher: batcher{delay: opts.BatchDelay},
	}
	if db.batcher.delay <= 0 {
		db.batcher.delay = defaultBatchDelay
	}
	if err := db.init(); err != nil {
		_ = bdb.Close()
		if errors.Is(err, ErrDamaged) {
			return nil, err
		}
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	return db, nil
}

// openBolt opens the bbolt file with the options every xgate handle uses and
// turns a lock timeout into ErrLocked.
//
// The free list is written to the file at every commit (NoFreelistSync
// false). Without it, bbolt rebuilds the list at each read-write open by
// walking every page of the file: 64 ms and 112 MB of resident memory for a
// store of 10k accounts and 200k message-ID mappings (BenchmarkOpen), where
// reading the synced list takes 4 ms and 6 MB. The price is one more page
// (or a few, when many pages are free) written per commit; the hashmap free
// list keeps allocation fast however fragmented the file gets. A file
// written without a synced list gets one at its first read-write open.
func openBolt(path string, timeout time.Duration, readOnly, noSync bool) (*bbolt.DB, error) {
	switch {
	case timeout == 0:
		timeout = DefaultTimeout
	case timeout < 0:
		timeout = -1 // bbolt: non-zero and already expired, so one attempt
	}
	var bdb *bbolt.DB
	err := runGuarded(func() (err error) {
		bdb, err = bbolt.Open(path, fileMode, &bbolt.Options{
			Timeout:        timeout,
			NoFreelistSync: false,
			FreelistType:   bbolt.FreelistMapType,
			ReadOnly:       readOnly,
			NoSync:         noSync,
		})
		return err
	})
	if errors.Is(err, bberrors.ErrTimeout) {
		return nil, lockedError(path, timeout, err)
	}
	if _, ok := err.(*boltPanic); ok {
		return nil, err
	}
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	return bdb, nil
}

// lockedError is the error for a lock that could not be had within
// timeout.
func lockedError(path string, timeout time.Duration, _ error) error {
	wait := max(timeout, 0)
	if timeout == 0 {
		wait = DefaultTimeout
	}
	return fmt.Errorf("store: another xgate process is probably using %s (gave up waiting %v for its lock): %w", path, wait, ErrLocked)
}

// init migrates (or checks the schema of a read-only file) and checks the key.
func (db *DB) init() error {
	if db.readOnly {
		var v int
		err := db.view(func(tx *bbolt.Tx) (err error) {
			v, err = readVersion(tx)
			return err
		})
		if err != nil {
			return err
		}
		if err := checkVersion(v, latestVersion(migrations)); err != nil {
			return err
		}
		if v < latestVersion(migrations) {
			return fmt.Errorf("schema version %d, this xgate uses %d; open it read-write once: %w", v, latestVersion(migrations), ErrNeedsMigration)
		}
	} else if err := db.guard(func() error { return migrate(db.bolt, migrations) }); err != nil {
		return err
	}
	if db.key == nil {
		return nil
	}
	ad := secretAD(bucketMeta, []byte(metaKeyCheck), "")
	check := func(tx *bbolt.Tx) error {
		sealed := tx.Bucket([]byte(bucketMeta)).Get([]byte(metaKeyCheck))
		if sealed == nil {
			if !tx.Writable() {
				return nil // cannot write it; a read-write Open will
			}
			s, err := db.key.seal([]byte(keyCheckPlaintext), ad)
			if err != nil {
				return err
			}
			return tx.Bucket([]byte(bucketMeta)).Put([]byte(metaKeyCheck), s)
		}
		pt, err := db.key.open(sealed, ad)
		if err != nil || string(pt) != keyCheckPlaintext {
			return fmt.Errorf("the key does not decrypt the key-check record: %w", ErrWrongKey)
		}
		return nil
	}
	if db.readOnly {
		return db.view(check)
	}
	return db.update(check)
}

// Close closes the file and releases its lock, waiting for running
// transactions to finish. Closing twice is not an error.
func (db *DB) Close() error {
	if err := db.bolt.Close(); err != nil {
		return fmt.Errorf("store: close %s: %w", db.path, err)
	}
	db.closed.Store(true)
	return nil
}

// Path returns the path the DB was opened with.
func (db *DB) Path() string { return db.path }

// SchemaVersion returns the schema version recorded in the file.
func (db *DB) SchemaVersion() (int, error) {
	var v int
	err := db.view(func(tx *bbolt.Tx) (err error) {
		v, err = readVersion(tx)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("store: schema version: %w", err)
	}
	return v, nil
}

// view runs fn in a read transaction, under guard.
func (db *DB) view(fn func(*bbolt.Tx) error) error {
	return mapBoltErr(db.guard(func() error { return db.bolt.View(fn) }))
}

// update runs fn in its own write transaction, under guard. Once the
// handle has found damage, it refuses to write.
func (db *DB) update(fn func(*bbolt.Tx) error) error {
	if db.readOnly {
		return ErrReadOnly
	}
	if err := db.DamageErr(); err != nil {
		return err
	}
	err := db.guard(func() error { return db.bolt.Update(fn) })
	if err == nil {
		db.commits.Add(1)
	}
	return mapBoltErr(err)
}

// mapBoltErr turns bbolt's errors into this package's sentinels.
func mapBoltErr(err error) error {
	switch {
	case errors.Is(err, bberrors.ErrDatabaseNotOpen):
		return ErrClosed
	case errors.Is(err, bberrors.ErrDatabaseReadOnly), errors.Is(err, bberrors.ErrTxNotWritable):
		return ErrReadOnly
	}
	return err
}

// bucket returns a top-level bucket that the current schema guarantees.
func bucket(tx *bbolt.Tx, name string) (*bbolt.Bucket, error) {
	b := tx.Bucket([]byte(name))
	if b == nil {
		return nil, fmt.Errorf("bucket %q missing: %w", name, ErrCorrupt)
	}
	return b, nil
}

// nowUTC returns the current time in UTC without a monotonic reading.
func (db *DB) nowUTC() time.Time { return db.now().UTC().Round(0) }
