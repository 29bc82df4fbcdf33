package store

import "errors"

var (
	// ErrNotFound is returned when the requested record does not exist.
	ErrNotFound = errors.New("not found")

	// ErrLocked is returned by Open and BackupOffline when the database file
	// is locked by another handle (in this or another process) for longer than
	// the lock timeout. The wrapping error names the file and says that
	// another xgate process is probably using it.
	ErrLocked = errors.New("database file is locked")

	// ErrNoKey is returned when a secrets encryption key is needed but none
	// was given: Open without Options.Key, LoadKey with neither a file nor a
	// set environment variable, or reading secrets from a handle opened
	// read-only without a key.
	ErrNoKey = errors.New("no secrets encryption key")

	// ErrWrongKey is returned by Open when the key does not decrypt the
	// key-check record written when the file was created: the file was
	// created with a different key.
	ErrWrongKey = errors.New("wrong secrets encryption key")

	// ErrBadKey is returned for malformed key material: not 64 hex digits and
	// not base64 of exactly 32 bytes.
	ErrBadKey = errors.New("malformed secrets encryption key")

	// ErrConflict is returned when one side of a mapping is already mapped to
	// a different value (for example a remote contact ID that already has
	// another JID localpart).
	ErrConflict = errors.New("conflicting mapping")

	// ErrTooNew is returned by Open when the file's schema version is newer
	// than the newest migration this binary knows: it was written by a newer
	// xgate.
	ErrTooNew = errors.New("database schema is newer than this xgate")

	// ErrNeedsMigration is returned by a read-only Open of a file whose
	// schema is older than this binary's; open it read-write once to migrate.
	ErrNeedsMigration = errors.New("database schema needs migration")

	// ErrReadOnly is returned by methods that write when the DB was opened
	// with Options.ReadOnly.
	ErrReadOnly = errors.New("database opened read-only")

	// ErrClosed is returned by every method called after Close.
	ErrClosed = errors.New("database closed")

	// ErrInvalid is returned for arguments the store cannot accept, such as
	// an empty identifier or one containing a NUL byte (NUL separates the
	// parts of composite keys).
	ErrInvalid = errors.New("invalid argument")

	// ErrCorrupt is returned when stored data fails to decode, fails to
	// decrypt with the (verified) key, or breaks an invariant checked by
	// Verify.
	ErrCorrupt = errors.New("corrupt data")

	// ErrDamaged is returned when the file itself is damaged: empty,
	// truncated, with invalid meta pages, or with pages that bbolt cannot
	// read (it would crash the process; the store turns that into this
	// error). The wrapping error says what was found and names the newest
	// backups found next to the store. Once a handle has seen damage, its
	// writes fail with the same error.
	ErrDamaged = errors.New("store damaged")
)
