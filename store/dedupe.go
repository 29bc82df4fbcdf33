package store

import (
	"encoding/binary"
	"fmt"
	"time"

	"go.etcd.io/bbolt"
)

// SeenKey names a remote event the bridge delivered: the remote ID of its
// message within a scope chosen by the bridge (one XMPP conversation).
type SeenKey struct {
	Scope    string
	RemoteID string
}

// MarkSeen records events as delivered, with the time for pruning. It goes
// through the batcher like PutMessageRefs: concurrent callers share a
// transaction, and the records are durable when it returns. Marking a key
// again refreshes its time.
//
// latest is the latest network time of the events named (the time the
// network gave them; zero when none is known). The store keeps the latest
// over every call (SeenUpTo), in the same transaction as the records.
func (db *DB) MarkSeen(latest time.Time, keys ...SeenKey) error {
	if len(keys) == 0 {
		return nil
	}
	for _, k := range keys {
		if err := checkIDs("scope", k.Scope, "remote ID", k.RemoteID); err != nil {
			return fmt.Errorf("store: mark seen: %w", err)
		}
	}
	at := timeKey(db.nowUTC())
	var upTo uint64
	if !latest.IsZero() && latest.UnixNano() > 0 {
		upTo = uint64(latest.UnixNano())
	}
	err := db.batch(func(tx *bbolt.Tx) error {
		seen, byTime, err := seenBuckets(tx)
		if err != nil {
			return err
		}
		before, stored, err := seenUpToOf(tx) // before this call's records
		if err != nil {
			return err
		}
		for _, k := range keys {
			fk := joinKey(k.Scope, k.RemoteID)
			if old := seen.Get(fk); len(old) == 8 {
				if err := byTime.Delete(append(clone(old), fk...)); err != nil {
					return err
				}
			}
			if err := seen.Put(fk, u64(at)); err != nil {
				return err
			}
			if err := byTime.Put(append(u64(at), fk...), nil); err != nil {
				return err
			}
		}
		if stored && before >= upTo {
			return nil
		}
		meta, err := bucket(tx, bucketMeta)
		if err != nil {
			return err
		}
		return meta.Put([]byte(metaSeenUpTo), u64(max(before, upTo)))
	})
	if err != nil {
		return fmt.Errorf("store: mark seen: %w", err)
	}
	return nil
}

// seenClockMargin is how far ahead of this machine's clock a network's
// clock is assumed to be, at most, for the records written before their
// network times were kept (seenUpToOf).
const seenClockMargin = time.Hour

// seenUpToOf returns meta/seen_up_to (Unix ns) and stored true when the
// file has it. A file without it (written before it was kept, or with it
// damaged) gets a bound from its records instead: the latest time one was
// written on this machine's clock plus seenClockMargin, since an event is
// recorded after the network sent it; 0 when there is no record.
func seenUpToOf(tx *bbolt.Tx) (upTo uint64, stored bool, err error) {
	meta, err := bucket(tx, bucketMeta)
	if err != nil {
		return 0, false, err
	}
	if raw := meta.Get([]byte(metaSeenUpTo)); len(raw) == 8 {
		return binary.BigEndian.Uint64(raw), true, nil
	}
	_, byTime, err := seenBuckets(tx)
	if err != nil {
		return 0, false, err
	}
	k, _ := byTime.Cursor().Last()
	if len(k) < 8 {
		return 0, false, nil
	}
	written := int64(binary.BigEndian.Uint64(k) ^ (1 << 63))
	return uint64(max(written+int64(seenClockMargin), 0)), false, nil
}

// SeenUpTo returns the latest network time among the events ever recorded
// by MarkSeen in this file (pruned ones included): no record of an event
// of a later time exists. For records written before these times were
// kept it is a bound from when they were written (seenUpToOf); the zero
// time when nothing was recorded.
func (db *DB) SeenUpTo() (time.Time, error) {
	var upTo uint64
	err := db.view(func(tx *bbolt.Tx) (err error) {
		upTo, _, err = seenUpToOf(tx)
		return err
	})
	if err != nil {
		return time.Time{}, fmt.Errorf("store: seen up to: %w", err)
	}
	if upTo == 0 {
		return time.Time{}, nil
	}
	return time.Unix(0, int64(upTo)).UTC(), nil
}

// Seen reports whether an event was recorded by MarkSeen (and not pruned).
func (db *DB) Seen(k SeenKey) (bool, error) {
	if err := checkIDs("scope", k.Scope, "remote ID", k.RemoteID); err != nil {
		return false, fmt.Errorf("store: seen: %w", err)
	}
	found := false
	err := db.view(func(tx *bbolt.Tx) error {
		seen, _, err := seenBuckets(tx)
		if err != nil {
			return err
		}
		found = seen.Get(joinKey(k.Scope, k.RemoteID)) != nil
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("store: seen: %w", err)
	}
	return found, nil
}

// PruneSeen forgets events recorded before the given time, in chunks like
// PruneMessageRefs, and returns how many it removed.
func (db *DB) PruneSeen(before time.Time) (removed int, err error) {
	limit := timeKey(before)
	for {
		n, gone := 0, 0
		err := db.update(func(tx *bbolt.Tx) error {
			seen, byTime, err := seenBuckets(tx)
			if err != nil {
				return err
			}
			var keys [][]byte
			c := byTime.Cursor()
			for k, _ := c.First(); k != nil && len(keys) < pruneChunk; k, _ = c.Next() {
				if len(k) < 8 || binary.BigEndian.Uint64(k) >= limit {
					break
				}
				keys = append(keys, clone(k))
			}
			for _, k := range keys {
				fk := k[8:]
				if v := seen.Get(fk); len(v) == 8 && binary.BigEndian.Uint64(v) == binary.BigEndian.Uint64(k) {
					if err := seen.Delete(fk); err != nil {
						return err
					}
					gone++
				}
				if err := byTime.Delete(k); err != nil {
					return err
				}
			}
			n = len(keys)
			return nil
		})
		if err != nil {
			return removed, fmt.Errorf("store: prune seen: %w", err)
		}
		removed += gone
		if n < pruneChunk {
			return removed, nil
		}
	}
}

func seenBuckets(tx *bbolt.Tx) (seen, byTime *bbolt.Bucket, err error) {
	if seen, err = bucket(tx, bucketSeen); err != nil {
		return nil, nil, err
	}
	if byTime, err = bucket(tx, bucketSeenByTime); err != nil {
		return nil, nil, err
	}
	return seen, byTime, nil
}

// SeenSince returns when the records of delivered events began for a file
// upgraded from schema 1 with accounts in it, and the zero time for a file
// that had them from the start. Remote messages delivered before that time
// have no record.
func (db *DB) SeenSince() (time.Time, error) {
	var t time.Time
	err := db.view(func(tx *bbolt.Tx) error {
		meta, err := bucket(tx, bucketMeta)
		if err != nil {
			return err
		}
		raw := meta.Get([]byte(metaSeenSince))
		if raw == nil {
			return nil
		}
		t, err = time.Parse(time.RFC3339Nano, string(raw))
		if err != nil {
			return fmt.Errorf("seen_since %q: %w", raw, ErrCorrupt)
		}
		return nil
	})
	if err != nil {
		return time.Time{}, fmt.Errorf("store: seen since: %w", err)
	}
	return t, nil
}
