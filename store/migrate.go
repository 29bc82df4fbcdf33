package store

import (
	"fmt"
	"strconv"
	"time"

	"go.etcd.io/bbolt"
)

// migration is one numbered schema change. up runs inside the write
// transaction that also records version as the new schema version, so a
// migration is applied entirely or not at all.
type migration struct {
	version int
	name    string
	up      func(*bbolt.Tx) error
}

// migrations is the schema history, in order, versions 1, 2, 3, ... Never
// edit or remove an entry that has shipped; append a new one.
var migrations = []migration{
	{version: 1, name: "create buckets", up: createBuckets},
	{version: 2, name: "rooms and delivered-event dedupe", up: addRoomsAndSeen},
}

// createBuckets is migration 1: every bucket of the first schema.
func createBuckets(tx *bbolt.Tx) error { return createAll(tx, schema1Buckets) }

// addRoomsAndSeen is migration 2: the rooms map and the dedupe of
// delivered remote events. The data of schema 1 stays as it is: the
// bridge names a direct chat in queue names and message-ID scopes exactly
// as schema 1 did. A file that already holds accounts gets meta/seen_since
// (see SeenSince): the remote messages it delivered before have no record.
func addRoomsAndSeen(tx *bbolt.Tx) error {
	if err := createAll(tx, schema2Buckets); err != nil {
		return err
	}
	accts := tx.Bucket([]byte(bucketAccounts))
	if accts == nil {
		return nil
	}
	if k, _ := accts.Cursor().First(); k == nil {
		return nil
	}
	return tx.Bucket([]byte(bucketMeta)).Put([]byte(metaSeenSince), []byte(time.Now().UTC().Format(time.RFC3339Nano)))
}

// createAll creates the named buckets that do not exist yet.
func createAll(tx *bbolt.Tx, names []string) error {
	for _, name := range names {
		if _, err := tx.CreateBucketIfNotExists([]byte(name)); err != nil {
			return fmt.Errorf("create bucket %s: %w", name, err)
		}
	}
	return nil
}

// latestVersion is the version of the last migration in list.
func latestVersion(list []migration) int {
	if len(list) == 0 {
		return 0
	}
	return list[len(list)-1].version
}

// readVersion returns the recorded schema version; a file without a meta
// bucket or version is version 0 (new, empty).
func readVersion(tx *bbolt.Tx) (int, error) {
	b := tx.Bucket([]byte(bucketMeta))
	if b == nil {
		return 0, nil
	}
	raw := b.Get([]byte(metaSchema))
	if raw == nil {
		return 0, nil
	}
	v, err := strconv.Atoi(string(raw))
	if err != nil || v < 0 {
		return 0, fmt.Errorf("schema version %q: %w", raw, ErrCorrupt)
	}
	return v, nil
}

// writeVersion records v as the schema version.
func writeVersion(tx *bbolt.Tx, v int) error {
	b, err := tx.CreateBucketIfNotExists([]byte(bucketMeta))
	if err != nil {
		return err
	}
	return b.Put([]byte(metaSchema), []byte(strconv.Itoa(v)))
}

// checkVersion returns ErrTooNew when a file's version is newer than latest.
func checkVersion(v, latest int) error {
	if v > latest {
		return fmt.Errorf("schema version %d, this xgate knows up to %d; use a newer xgate or restore a backup: %w", v, latest, ErrTooNew)
	}
	return nil
}

// migrate applies every migration of list newer than the file's version,
// each in its own write transaction that also bumps the version.
func migrate(bdb *bbolt.DB, list []migration) error {
	for i, m := range list {
		if m.version != i+1 || m.up == nil {
			return fmt.Errorf("migration %d (%s): list is not numbered 1, 2, 3, ...: %w", m.version, m.name, ErrInvalid)
		}
	}
	var current int
	if err := bdb.View(func(tx *bbolt.Tx) (err error) {
		current, err = readVersion(tx)
		return err
	}); err != nil {
		return mapBoltErr(err)
	}
	if err := checkVersion(current, latestVersion(list)); err != nil {
		return err
	}
	for _, m := range list[current:] {
		err := bdb.Update(func(tx *bbolt.Tx) error {
			v, err := readVersion(tx)
			if err != nil {
				return err
			}
			if v >= m.version {
				return nil // applied meanwhile; cannot happen under the file lock
			}
			if err := m.up(tx); err != nil {
				return err
			}
			return writeVersion(tx, m.version)
		})
		if err != nil {
			return fmt.Errorf("migration %d (%s): %w", m.version, m.name, mapBoltErr(err))
		}
	}
	return nil
}
