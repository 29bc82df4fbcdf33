package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"

	"go.etcd.io/bbolt"
)

// maxProblems bounds how many problems Verify lists in its error.
const maxProblems = 10

// Verify checks the invariants of the whole file in one read transaction
// and returns an error wrapping ErrCorrupt that lists the first problems
// found, or nil. It checks bbolt's page structure; that every bucket exists
// and every key and record decodes; the key-check record; that every
// contact mapping has its reverse and vice versa; that every message ref has
// both directions and a time-index entry and no index entry is stale; that
// the outbox counter equals the number of items and every item's sequence is
// at most its queue's last assigned one; and that every secret decrypts
// (skipped on a read-only handle without a key). It reads everything: run
// it from tests, admin commands and after restores, not on a hot path.
// bbolt's page check runs on a goroutine of bbolt's that the damage guard
// (see ErrDamaged) cannot cover: for a file that may be damaged, use
// CheckFile, which reads the pages safely before it calls Verify.
func (db *DB) Verify() error {
	v, err := db.verify()
	if err != nil {
		return fmt.Errorf("store: verify: %w", err)
	}
	return v.err()
}

// verify runs the checks of Verify and returns what it found.
func (db *DB) verify() (*verifier, error) {
	v := &verifier{}
	err := db.view(func(tx *bbolt.Tx) error {
		for err := range tx.Check() {
			v.add("bbolt: %v", err)
		}
		if ver, err := readVersion(tx); err != nil {
			v.add("%v", err)
		} else if ver != latestVersion(migrations) {
			v.add("schema version %d, want %d", ver, latestVersion(migrations))
		}
		for _, name := range allBuckets {
			if tx.Bucket([]byte(name)) == nil {
				v.add("bucket %s missing", name)
			}
		}
		if v.total > 0 {
			return nil // the rest assumes the buckets exist
		}
		v.keyCheck(tx, db.key)
		v.accounts(tx, db.key)
		v.contacts(tx)
		v.roster(tx)
		v.messageRefs(tx)
		v.outbox(tx)
		v.kv(tx, db.key)
		return nil
	})
	return v, err
}

// verifier collects problems.
type verifier struct {
	problems []string
	total    int
}

func (v *verifier) add(format string, args ...any) {
	v.total++
	if len(v.problems) < maxProblems {
		v.problems = append(v.problems, fmt.Sprintf(format, args...))
	}
}

func (v *verifier) err() error {
	if v.total == 0 {
		return nil
	}
	more := ""
	if v.total > len(v.problems) {
		more = fmt.Sprintf("; and %d more", v.total-len(v.problems))
	}
	return fmt.Errorf("store: verify: %d problem(s): %s%s: %w", v.total, strings.Join(v.problems, "; "), more, ErrCorrupt)
}

func (v *verifier) keyCheck(tx *bbolt.Tx, key *Key) {
	sealed := tx.Bucket([]byte(bucketMeta)).Get([]byte(metaKeyCheck))
	switch {
	case sealed == nil:
		v.add("key-check record missing")
	case key != nil:
		pt, err := key.open(sealed, secretAD(bucketMeta, []byte(metaKeyCheck), ""))
		if err != nil || string(pt) != keyCheckPlaintext {
			v.add("key-check record does not decrypt")
		}
	}
}

func (v *verifier) accounts(tx *bbolt.Tx, key *Key) {
	_ = tx.Bucket([]byte(bucketAccounts)).ForEach(func(k, val []byte) error {
		if _, err := decodeAccount(key, k, val); err != nil && !errors.Is(err, ErrNoKey) {
			v.add("account %q: %v", k, err)
		}
		return nil
	})
}

func (v *verifier) contacts(tx *bbolt.Tx) {
	byRemote := tx.Bucket([]byte(bucketContactsByRemote))
	byLocal := tx.Bucket([]byte(bucketContactsByLocal))
	check := func(from, to *bbolt.Bucket, what string) {
		_ = from.ForEach(func(k, val []byte) error {
			parts, err := splitKey(k, 2)
			if err != nil {
				v.add("contact %s: %v", what, err)
				return nil
			}
			if len(val) == 0 || bytes.IndexByte(val, sep) >= 0 {
				v.add("contact %s %q: bad value %q", what, k, val)
				return nil
			}
			if back := to.Get(joinKey(parts[0], string(val))); string(back) != parts[1] {
				v.add("contact %s %q -> %q has reverse %q", what, k, val, back)
			}
			return nil
		})
	}
	check(byRemote, byLocal, "by remote ID")
	check(byLocal, byRemote, "by localpart")
}

func (v *verifier) roster(tx *bbolt.Tx) {
	_ = tx.Bucket([]byte(bucketRoster)).ForEach(func(k, val []byte) error {
		if _, err := decodeRosterItem(k, val); err != nil {
			v.add("%v", err)
		}
		return nil
	})
}

func (v *verifier) messageRefs(tx *bbolt.Tx) {
	byX, byR, byT, _ := refBuckets(tx)
	_ = byX.ForEach(func(k, val []byte) error {
		parts, err := splitKey(k, 3)
		if err != nil {
			v.add("message ref by XMPP ID: %v", err)
			return nil
		}
		at, _, err := decodeRefValue(val)
		if err != nil {
			v.add("message ref %q: %v", k, err)
			return nil
		}
		if back := byR.Get(joinKey(parts[0], parts[2], parts[1])); !bytes.Equal(back, val) {
			v.add("message ref %q: reverse missing or different", k)
		}
		if byT.Get(refTimeKey(at, parts[0], parts[1], parts[2])) == nil {
			v.add("message ref %q: time-index entry missing", k)
		}
		return nil
	})
	_ = byR.ForEach(func(k, val []byte) error {
		parts, err := splitKey(k, 3)
		if err != nil {
			v.add("message ref by remote ID: %v", err)
			return nil
		}
		if fwd := byX.Get(joinKey(parts[0], parts[2], parts[1])); !bytes.Equal(fwd, val) {
			v.add("message ref by remote ID %q: forward missing or different", k)
		}
		return nil
	})
	_ = byT.ForEach(func(k, _ []byte) error {
		at, scope, x, r, err := splitRefTimeKey(k)
		if err != nil {
			v.add("message time index: %v", err)
			return nil
		}
		fwd := byX.Get(joinKey(scope, x, r))
		if fwd == nil {
			v.add("message time index %q: ref missing", k)
		} else if fAt, _, err := decodeRefValue(fwd); err == nil && fAt != at {
			v.add("message time index %q: stale (ref has another time)", k)
		}
		return nil
	})
}

func (v *verifier) outbox(tx *bbolt.Tx) {
	meta, items, seqs, _ := outboxBuckets(tx)
	count := uint64(0)
	_ = items.ForEach(func(k, val []byte) error {
		count++
		it, err := decodeOutboxItem(k, val)
		if err != nil {
			v.add("%v", err)
			return nil
		}
		raw := seqs.Get([]byte(it.Queue))
		if len(raw) != 8 {
			v.add("outbox queue %q: sequence missing or malformed", it.Queue)
		} else if last := binary.BigEndian.Uint64(raw); it.Seq == 0 || it.Seq > last {
			v.add("outbox queue %q: item #%d outside assigned sequence 1..%d", it.Queue, it.Seq, last)
		}
		return nil
	})
	n, err := outboxLen(meta)
	if err != nil {
		v.add("%v", err)
	} else if n != count {
		v.add("outbox counter %d, items %d", n, count)
	}
}

func (v *verifier) kv(tx *bbolt.Tx, key *Key) {
	_ = tx.Bucket([]byte(bucketKV)).ForEach(func(k, _ []byte) error {
		if _, err := splitKey(k, 2); err != nil {
			v.add("kv: %v", err)
		}
		return nil
	})
	plain := tx.Bucket([]byte(bucketKV))
	_ = tx.Bucket([]byte(bucketKVSecret)).ForEach(func(k, val []byte) error {
		if _, err := splitKey(k, 2); err != nil {
			v.add("kv secret: %v", err)
			return nil
		}
		if plain.Get(k) != nil {
			v.add("kv %q: both plain and secret", k)
		}
		if key != nil {
			if _, err := key.open(val, secretAD(bucketKVSecret, k, "")); err != nil {
				v.add("kv secret %q does not decrypt", k)
			}
		}
		return nil
	})
}
