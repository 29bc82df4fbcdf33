package store

import (
	"encoding/binary"
	"fmt"
	"time"

	"go.etcd.io/bbolt"
)

// MessageRef links an XMPP message ID to a remote message ID within one chat
// scope, for edits, retractions, reactions and replies.
type MessageRef struct {
	Scope    string    // opaque chat scope chosen by the bridge (e.g. "slack|alice@x|T1.U1|D123")
	XMPPID   string    // XMPP id / origin-id / stanza-id
	RemoteID string    // remote message ID
	At       time.Time // when the pair was stored, for retention; zero means now
}

// pruneChunk bounds the number of refs PruneMessageRefs removes per write
// transaction, so pruning a large backlog does not block writers for long.
const pruneChunk = 5000

// refValue is the value of both directions of a ref: time key and insertion
// sequence, 8 bytes big-endian each.
func refValue(at, seq uint64) []byte {
	return binary.BigEndian.AppendUint64(u64(at), seq)
}

// decodeRefValue parses a refValue.
func decodeRefValue(v []byte) (at, seq uint64, err error) {
	if len(v) != 16 {
		return 0, 0, fmt.Errorf("message ref value of %d bytes, want 16: %w", len(v), ErrCorrupt)
	}
	return binary.BigEndian.Uint64(v), binary.BigEndian.Uint64(v[8:]), nil
}

// refTimeKey is the time-index key: time key (8 bytes) then scope NUL
// xmppID NUL remoteID.
func refTimeKey(at uint64, scope, xmppID, remoteID string) []byte {
	return append(u64(at), joinKey(scope, xmppID, remoteID)...)
}

// splitRefTimeKey parses a time-index key.
func splitRefTimeKey(k []byte) (at uint64, scope, xmppID, remoteID string, err error) {
	if len(k) < 8 {
		return 0, "", "", "", fmt.Errorf("message time key %q: too short: %w", k, ErrCorrupt)
	}
	parts, err := splitKey(k[8:], 3)
	if err != nil {
		return 0, "", "", "", err
	}
	return binary.BigEndian.Uint64(k), parts[0], parts[1], parts[2], nil
}

// PutMessageRefs stores each pair in both directions, with a time-index
// entry for pruning. It goes through the batcher: concurrent callers share
// a transaction. An ID may be linked to several IDs of the other side (an
// XMPP message known by id and origin-id, a long message split in two); a
// lookup then returns the pair stored first. Storing an existing pair again
// keeps its rank and updates At.
func (db *DB) PutMessageRefs(refs ...MessageRef) error {
	if len(refs) == 0 {
		return nil
	}
	refs, err := db.prepareRefs(refs)
	if err != nil {
		return fmt.Errorf("store: put message refs: %w", err)
	}
	err = db.batch(func(tx *bbolt.Tx) error {
		d := &countDelta{}
		db.onCommit(tx, d)
		return putRefs(tx, refs, d)
	})
	if err != nil {
		return fmt.Errorf("store: put message refs: %w", err)
	}
	return nil
}

// prepareRefs validates refs and returns a copy with zero times set to now.
func (db *DB) prepareRefs(refs []MessageRef) ([]MessageRef, error) {
	now := db.nowUTC()
	refs = append([]MessageRef(nil), refs...)
	for i := range refs {
		r := &refs[i]
		if err := checkIDs("scope", r.Scope, "XMPP message ID", r.XMPPID, "remote message ID", r.RemoteID); err != nil {
			return nil, err
		}
		if r.At.IsZero() {
			r.At = now
		}
	}
	return refs, nil
}

// putRefs writes prepared refs in tx, both directions and the time index,
// and counts the new pairs in d.
func putRefs(tx *bbolt.Tx, refs []MessageRef, d *countDelta) error {
	if len(refs) == 0 {
		return nil
	}
	byX, byR, byT, err := refBuckets(tx)
	if err != nil {
		return err
	}
	for _, r := range refs {
		added, err := putRef(byX, byR, byT, r)
		if err != nil {
			return err
		}
		if added {
			d.refs++
		}
	}
	return nil
}

// refBuckets returns the three message-ref buckets.
func refBuckets(tx *bbolt.Tx) (byX, byR, byT *bbolt.Bucket, err error) {
	if byX, err = bucket(tx, bucketMsgByXMPP); err != nil {
		return nil, nil, nil, err
	}
	if byR, err = bucket(tx, bucketMsgByRemote); err != nil {
		return nil, nil, nil, err
	}
	if byT, err = bucket(tx, bucketMsgByTime); err != nil {
		return nil, nil, nil, err
	}
	return byX, byR, byT, nil
}

// putRef writes one pair in all three buckets, replacing its old time
// entry; added says whether the pair is new.
func putRef(byX, byR, byT *bbolt.Bucket, r MessageRef) (added bool, err error) {
	fk := joinKey(r.Scope, r.XMPPID, r.RemoteID)
	at := timeKey(r.At)
	var seq uint64
	if old := byX.Get(fk); old != nil {
		oldAt, oldSeq, err := decodeRefValue(old)
		if err != nil {
			return false, err
		}
		seq = oldSeq
		if oldAt != at {
			if err := byT.Delete(refTimeKey(oldAt, r.Scope, r.XMPPID, r.RemoteID)); err != nil {
				return false, err
			}
		}
	} else {
		if seq, err = byX.NextSequence(); err != nil {
			return false, err
		}
		added = true
	}
	v := refValue(at, seq)
	if err := byX.Put(fk, v); err != nil {
		return false, err
	}
	if err := byR.Put(joinKey(r.Scope, r.RemoteID, r.XMPPID), v); err != nil {
		return false, err
	}
	return added, byT.Put(refTimeKey(at, r.Scope, r.XMPPID, r.RemoteID), nil)
}

// RemoteMessageID returns the remote message ID linked to an XMPP message
// ID in scope (the first stored, if several), or ErrNotFound.
func (db *DB) RemoteMessageID(scope, xmppID string) (string, error) {
	if err := checkIDs("scope", scope, "XMPP message ID", xmppID); err != nil {
		return "", fmt.Errorf("store: remote message ID: %w", err)
	}
	id, err := db.firstRef(bucketMsgByXMPP, prefixKey(scope, xmppID))
	if err != nil {
		return "", fmt.Errorf("store: remote message ID of %q in %q: %w", xmppID, scope, err)
	}
	return id, nil
}

// XMPPMessageID returns the XMPP message ID linked to a remote message ID
// in scope (the first stored, if several), or ErrNotFound.
func (db *DB) XMPPMessageID(scope, remoteID string) (string, error) {
	if err := checkIDs("scope", scope, "remote message ID", remoteID); err != nil {
		return "", fmt.Errorf("store: XMPP message ID: %w", err)
	}
	id, err := db.firstRef(bucketMsgByRemote, prefixKey(scope, remoteID))
	if err != nil {
		return "", fmt.Errorf("store: XMPP message ID of %q in %q: %w", remoteID, scope, err)
	}
	return id, nil
}

// firstRef returns the other-side ID of the lowest-sequence entry under
// prefix.
func (db *DB) firstRef(bucketName string, prefix []byte) (string, error) {
	var id string
	err := db.view(func(tx *bbolt.Tx) error {
		b, err := bucket(tx, bucketName)
		if err != nil {
			return err
		}
		best := uint64(0)
		found := false
		err = scanPrefix(b, prefix, func(k, v []byte) error {
			_, seq, err := decodeRefValue(v)
			if err != nil {
				return err
			}
			if !found || seq < best {
				found, best, id = true, seq, string(k[len(prefix):])
			}
			return nil
		})
		if err == nil && !found {
			err = ErrNotFound
		}
		return err
	})
	return id, err
}

// PruneMessageRefs removes every pair stored with At before the given time,
// walking the time index (it does not scan all refs), in transactions of at
// most a few thousand pairs. It returns how many pairs were removed.
func (db *DB) PruneMessageRefs(before time.Time) (removed int, err error) {
	limit := timeKey(before)
	for {
		n, pairs := 0, 0
		err := db.update(func(tx *bbolt.Tx) error {
			byX, byR, byT, err := refBuckets(tx)
			if err != nil {
				return err
			}
			var keys [][]byte
			c := byT.Cursor()
			for k, _ := c.First(); k != nil && len(keys) < pruneChunk; k, _ = c.Next() {
				if len(k) < 8 || binary.BigEndian.Uint64(k) >= limit {
					break
				}
				keys = append(keys, clone(k))
			}
			for _, k := range keys {
				at, scope, x, r, err := splitRefTimeKey(k)
				if err != nil {
					return err
				}
				fk := joinKey(scope, x, r)
				if v := byX.Get(fk); v != nil {
					if vAt, _, err := decodeRefValue(v); err == nil && vAt == at {
						if err := byX.Delete(fk); err != nil {
							return err
						}
						if err := byR.Delete(joinKey(scope, r, x)); err != nil {
							return err
						}
						pairs++
					}
				}
				if err := byT.Delete(k); err != nil {
					return err
				}
			}
			n = len(keys)
			db.onCommit(tx, &countDelta{refs: -pairs})
			return nil
		})
		if err != nil {
			return removed, fmt.Errorf("store: prune message refs: %w", err)
		}
		removed += pairs
		if n < pruneChunk {
			return removed, nil
		}
	}
}
