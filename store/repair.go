package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"

	"go.etcd.io/bbolt"
)

// repair makes a salvaged file consistent again: it drops records that no
// longer decode (and secrets that no longer decrypt, when key is set) and
// rebuilds what the store derives from other records. It runs on the new
// file written by Salvage, never on a live store.
func repair(tx *bbolt.Tx, key *Key, r *SalvageReport) error {
	v, err := readVersion(tx)
	if err != nil {
		r.repaired("schema version unreadable, removed: the next Open applies the migrations again")
		if meta := tx.Bucket([]byte(bucketMeta)); meta != nil {
			if err := meta.Delete([]byte(metaSchema)); err != nil {
				return err
			}
		}
		v = 0
	}
	if v == 0 {
		r.NeedsMigration = true
		if tx.Bucket([]byte(bucketMeta)) == nil {
			return nil // nothing derived can be checked without the buckets
		}
	} else if err := createBuckets(tx); err != nil { // buckets lost with their pages
		return err
	}
	for _, name := range allBuckets {
		if tx.Bucket([]byte(name)) == nil {
			return nil // an unmigrated file: the migrations create the rest
		}
	}
	meta := tx.Bucket([]byte(bucketMeta))
	if sealed := meta.Get([]byte(metaKeyCheck)); key != nil && sealed != nil {
		if pt, err := key.open(sealed, secretAD(bucketMeta, []byte(metaKeyCheck), "")); err != nil || string(pt) != keyCheckPlaintext {
			return fmt.Errorf("the key does not decrypt the key-check record: %w", ErrWrongKey)
		}
	} else if key != nil {
		r.repaired("key-check record lost: secrets copied without checking that they decrypt")
		key = nil
	}
	steps := []func(*bbolt.Tx, *Key, *SalvageReport) error{
		repairAccounts, repairContacts, repairRoster, repairMessageRefs, repairOutbox, repairKV,
	}
	for _, step := range steps {
		if err := step(tx, key, r); err != nil {
			return err
		}
	}
	return nil
}

// dropWhere deletes the keys of bucket name for which bad returns a
// reason, reporting each.
func dropWhere(tx *bbolt.Tx, name string, r *SalvageReport, bad func(k, v []byte) string) error {
	b := tx.Bucket([]byte(name))
	var drop [][]byte
	err := b.ForEach(func(k, v []byte) error {
		if why := bad(k, v); why != "" {
			r.repaired("%s %q: %s: dropped", name, k, why)
			drop = append(drop, bytes.Clone(k))
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, k := range drop {
		if err := b.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

func repairAccounts(tx *bbolt.Tx, key *Key, r *SalvageReport) error {
	return dropWhere(tx, bucketAccounts, r, func(k, v []byte) string {
		if _, err := decodeAccount(key, k, v); err != nil && !errors.Is(err, ErrNoKey) {
			return err.Error()
		}
		return ""
	})
}

func repairRoster(tx *bbolt.Tx, _ *Key, r *SalvageReport) error {
	return dropWhere(tx, bucketRoster, r, func(k, v []byte) string {
		if _, err := decodeRosterItem(k, v); err != nil {
			return err.Error()
		}
		return ""
	})
}

// repairContacts keeps the pairs whose two directions agree, adds a missing
// direction, and drops an entry whose reverse names another ID.
func repairContacts(tx *bbolt.Tx, _ *Key, r *SalvageReport) error {
	byRemote := tx.Bucket([]byte(bucketContactsByRemote))
	byLocal := tx.Bucket([]byte(bucketContactsByLocal))
	valid := func(k, v []byte) string {
		if _, err := splitKey(k, 2); err != nil {
			return err.Error()
		}
		if len(v) == 0 || bytes.IndexByte(v, sep) >= 0 {
			return "bad value"
		}
		return ""
	}
	for _, name := range []string{bucketContactsByRemote, bucketContactsByLocal} {
		if err := dropWhere(tx, name, r, valid); err != nil {
			return err
		}
	}
	for _, dir := range []struct {
		name     string
		from, to *bbolt.Bucket
	}{{bucketContactsByRemote, byRemote, byLocal}, {bucketContactsByLocal, byLocal, byRemote}} {
		var add [][2][]byte
		err := dropWhere(tx, dir.name, r, func(k, v []byte) string {
			parts, _ := splitKey(k, 2)
			back := dir.to.Get(joinKey(parts[0], string(v)))
			switch {
			case back == nil:
				add = append(add, [2][]byte{joinKey(parts[0], string(v)), []byte(parts[1])})
			case string(back) != parts[1]:
				return "its reverse names another ID"
			}
			return ""
		})
		if err != nil {
			return err
		}
		for _, kv := range add {
			r.repaired("%s: reverse of %q rebuilt", dir.name, kv[1])
			if err := dir.to.Put(kv[0], kv[1]); err != nil {
				return err
			}
		}
	}
	return nil
}

// repairMessageRefs rebuilds the time index and each missing direction of
// the message refs that still decode.
func repairMessageRefs(tx *bbolt.Tx, _ *Key, r *SalvageReport) error {
	byX, byR, byT, err := refBuckets(tx)
	if err != nil {
		return err
	}
	ref := func(k, v []byte) string {
		if _, err := splitKey(k, 3); err != nil {
			return err.Error()
		}
		if _, _, err := decodeRefValue(v); err != nil {
			return err.Error()
		}
		return ""
	}
	for _, name := range []string{bucketMsgByXMPP, bucketMsgByRemote} {
		if err := dropWhere(tx, name, r, ref); err != nil {
			return err
		}
	}
	// Forward entries missing for a reverse one, then the reverse and
	// time index of every forward entry.
	var puts [][3][]byte // bucket name, key, value
	_ = byR.ForEach(func(k, v []byte) error {
		p, _ := splitKey(k, 3)
		if fwd := joinKey(p[0], p[2], p[1]); byX.Get(fwd) == nil {
			puts = append(puts, [3][]byte{[]byte(bucketMsgByXMPP), fwd, bytes.Clone(v)})
		}
		return nil
	})
	for _, p := range puts {
		r.repaired("%s %q: rebuilt from its reverse", p[0], p[1])
		if err := byX.Put(p[1], p[2]); err != nil {
			return err
		}
	}
	if err := tx.DeleteBucket([]byte(bucketMsgByTime)); err != nil {
		return err
	}
	if byT, err = tx.CreateBucket([]byte(bucketMsgByTime)); err != nil {
		return err
	}
	puts = puts[:0]
	err = byX.ForEach(func(k, v []byte) error {
		p, _ := splitKey(k, 3)
		at, _, _ := decodeRefValue(v)
		rev := joinKey(p[0], p[2], p[1])
		if back := byR.Get(rev); !bytes.Equal(back, v) {
			puts = append(puts, [3][]byte{[]byte(bucketMsgByRemote), rev, bytes.Clone(v)})
		}
		return byT.Put(refTimeKey(at, p[0], p[1], p[2]), nil)
	})
	if err != nil {
		return err
	}
	for _, p := range puts {
		r.repaired("%s %q: rebuilt from its forward entry", p[0], p[1])
		if err := byR.Put(p[1], p[2]); err != nil {
			return err
		}
	}
	return nil
}

// repairOutbox drops items that no longer decode, raises each queue's
// sequence to its highest item and sets the counter to the item count.
func repairOutbox(tx *bbolt.Tx, _ *Key, r *SalvageReport) error {
	if err := dropWhere(tx, bucketOutbox, r, func(k, v []byte) string {
		if _, err := decodeOutboxItem(k, v); err != nil {
			return err.Error()
		}
		return ""
	}); err != nil {
		return err
	}
	meta, items, seqs, err := outboxBuckets(tx)
	if err != nil {
		return err
	}
	if err := dropWhere(tx, bucketOutboxSeq, r, func(_, v []byte) string {
		if len(v) != 8 {
			return "malformed sequence"
		}
		return ""
	}); err != nil {
		return err
	}
	count := uint64(0)
	highest := map[string]uint64{}
	_ = items.ForEach(func(k, _ []byte) error {
		q, seq, _ := splitOutboxKey(k)
		count++
		highest[q] = max(highest[q], seq)
		return nil
	})
	for q, seq := range highest {
		if raw := seqs.Get([]byte(q)); raw == nil || binary.BigEndian.Uint64(raw) < seq {
			r.repaired("outbox queue %q: sequence raised to %d", q, seq)
			if err := seqs.Put([]byte(q), u64(seq)); err != nil {
				return err
			}
		}
	}
	if n, err := outboxLen(meta); err != nil || n != count {
		r.repaired("outbox counter set to %d items", count)
	}
	return meta.Put([]byte(metaOutboxLen), u64(count))
}

// repairKV drops malformed keys, secrets that do not decrypt (with a key)
// and plain values shadowed by a secret of the same key.
func repairKV(tx *bbolt.Tx, key *Key, r *SalvageReport) error {
	secret := tx.Bucket([]byte(bucketKVSecret))
	if err := dropWhere(tx, bucketKVSecret, r, func(k, v []byte) string {
		if _, err := splitKey(k, 2); err != nil {
			return err.Error()
		}
		if key != nil {
			if _, err := key.open(v, secretAD(bucketKVSecret, k, "")); err != nil {
				return "does not decrypt"
			}
		}
		return ""
	}); err != nil {
		return err
	}
	return dropWhere(tx, bucketKV, r, func(k, _ []byte) string {
		if _, err := splitKey(k, 2); err != nil {
			return err.Error()
		}
		if secret.Get(k) != nil {
			return "a secret has the same key"
		}
		return ""
	})
}
