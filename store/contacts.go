package store

import (
	"fmt"

	"go.etcd.io/bbolt"
)

// PutContact maps a remote contact ID to a JID localpart on one transport
// instance, writing both directions in one transaction. Putting the same
// pair again does nothing; if remoteID or localpart is already mapped to
// something else it returns ErrConflict and changes nothing. It goes
// through the group commit: thousands of accounts mapping their contacts
// at start-up share commits instead of waiting for one fsync each.
func (db *DB) PutContact(transport, remoteID, localpart string) error {
	if err := checkIDs("transport", transport, "remote ID", remoteID, "localpart", localpart); err != nil {
		return fmt.Errorf("store: put contact: %w", err)
	}
	rk, lk := joinKey(transport, remoteID), joinKey(transport, localpart)
	err := db.batch(func(tx *bbolt.Tx) error {
		byRemote, err := bucket(tx, bucketContactsByRemote)
		if err != nil {
			return err
		}
		byLocal, err := bucket(tx, bucketContactsByLocal)
		if err != nil {
			return err
		}
		oldLocal, oldRemote := byRemote.Get(rk), byLocal.Get(lk)
		if oldLocal != nil && string(oldLocal) != localpart {
			return fmt.Errorf("remote ID already mapped to localpart %q: %w", oldLocal, ErrConflict)
		}
		if oldRemote != nil && string(oldRemote) != remoteID {
			return fmt.Errorf("localpart already mapped to remote ID %q: %w", oldRemote, ErrConflict)
		}
		if oldLocal != nil && oldRemote != nil {
			return nil
		}
		if oldLocal == nil {
			db.onCommit(tx, &countDelta{contacts: 1})
		}
		if err := byRemote.Put(rk, []byte(localpart)); err != nil {
			return err
		}
		return byLocal.Put(lk, []byte(remoteID))
	})
	if err != nil {
		return fmt.Errorf("store: put contact %s %q -> %q: %w", transport, remoteID, localpart, err)
	}
	return nil
}

// ContactByRemote returns the JID localpart of a remote contact ID, or
// ErrNotFound.
func (db *DB) ContactByRemote(transport, remoteID string) (localpart string, err error) {
	if err := checkIDs("transport", transport, "remote ID", remoteID); err != nil {
		return "", fmt.Errorf("store: contact by remote ID: %w", err)
	}
	v, err := db.getString(bucketContactsByRemote, joinKey(transport, remoteID))
	if err != nil {
		return "", fmt.Errorf("store: contact %s remote ID %q: %w", transport, remoteID, err)
	}
	return v, nil
}

// ContactByLocal returns the remote contact ID of a JID localpart, or
// ErrNotFound.
func (db *DB) ContactByLocal(transport, localpart string) (remoteID string, err error) {
	if err := checkIDs("transport", transport, "localpart", localpart); err != nil {
		return "", fmt.Errorf("store: contact by localpart: %w", err)
	}
	v, err := db.getString(bucketContactsByLocal, joinKey(transport, localpart))
	if err != nil {
		return "", fmt.Errorf("store: contact %s localpart %q: %w", transport, localpart, err)
	}
	return v, nil
}

// DeleteContact removes both directions of the mapping of a remote contact
// ID, or returns ErrNotFound.
func (db *DB) DeleteContact(transport, remoteID string) error {
	if err := checkIDs("transport", transport, "remote ID", remoteID); err != nil {
		return fmt.Errorf("store: delete contact: %w", err)
	}
	rk := joinKey(transport, remoteID)
	err := db.update(func(tx *bbolt.Tx) error {
		byRemote, err := bucket(tx, bucketContactsByRemote)
		if err != nil {
			return err
		}
		byLocal, err := bucket(tx, bucketContactsByLocal)
		if err != nil {
			return err
		}
		local := byRemote.Get(rk)
		if local == nil {
			return ErrNotFound
		}
		db.onCommit(tx, &countDelta{contacts: -1})
		lk := joinKey(transport, string(local))
		if string(byLocal.Get(lk)) == remoteID {
			if err := byLocal.Delete(lk); err != nil {
				return err
			}
		}
		return byRemote.Delete(rk)
	})
	if err != nil {
		return fmt.Errorf("store: delete contact %s %q: %w", transport, remoteID, err)
	}
	return nil
}

// getString returns a copy of one value as a string, or ErrNotFound.
func (db *DB) getString(bucketName string, key []byte) (string, error) {
	var s string
	err := db.view(func(tx *bbolt.Tx) error {
		b, err := bucket(tx, bucketName)
		if err != nil {
			return err
		}
		v := b.Get(key)
		if v == nil {
			return ErrNotFound
		}
		s = string(v) // copies
		return nil
	})
	return s, err
}
