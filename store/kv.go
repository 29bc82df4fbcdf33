package store

import (
	"errors"
	"fmt"

	"go.etcd.io/bbolt"
)

// A KV key holds either a plain value (kv bucket) or a secret one
// (kv_secret bucket), never both: each put removes the other form.

// KVPut stores value under (ns, key), replacing a plain or secret value.
// Concurrent puts share a commit (the batcher); each is durable when it
// returns.
func (db *DB) KVPut(ns, key string, value []byte) error {
	return db.kvPut("put", ns, key, value, false)
}

// KVPutSecret stores value under (ns, key) encrypted like account secrets,
// replacing a plain or secret value. KVGet and KVList do not see it.
func (db *DB) KVPutSecret(ns, key string, value []byte) error {
	return db.kvPut("put secret", ns, key, value, true)
}

// kvPut writes one form and deletes the other.
func (db *DB) kvPut(op, ns, key string, value []byte, secret bool) error {
	if err := checkIDs("namespace", ns, "key", key); err != nil {
		return fmt.Errorf("store: kv %s: %w", op, err)
	}
	k := joinKey(ns, key)
	into, other := bucketKV, bucketKVSecret
	v := clone(value)
	if v == nil {
		v = []byte{}
	}
	if secret {
		into, other = bucketKVSecret, bucketKV
		var err error
		if v, err = db.key.seal(value, secretAD(bucketKVSecret, k, "")); err != nil {
			return fmt.Errorf("store: kv %s %s/%s: %w", op, ns, key, err)
		}
	}
	err := db.batch(func(tx *bbolt.Tx) error {
		b, err := bucket(tx, into)
		if err != nil {
			return err
		}
		o, err := bucket(tx, other)
		if err != nil {
			return err
		}
		if err := o.Delete(k); err != nil {
			return err
		}
		return b.Put(k, v)
	})
	if err != nil {
		return fmt.Errorf("store: kv %s %s/%s: %w", op, ns, key, err)
	}
	return nil
}

// KVGet returns a copy of the plain value under (ns, key), or ErrNotFound
// (also when the key holds a secret).
func (db *DB) KVGet(ns, key string) ([]byte, error) {
	if err := checkIDs("namespace", ns, "key", key); err != nil {
		return nil, fmt.Errorf("store: kv get: %w", err)
	}
	var out []byte
	err := db.view(func(tx *bbolt.Tx) error {
		b, err := bucket(tx, bucketKV)
		if err != nil {
			return err
		}
		v := b.Get(joinKey(ns, key))
		if v == nil {
			return ErrNotFound
		}
		out = clone(v)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: kv get %s/%s: %w", ns, key, err)
	}
	return out, nil
}

// KVGetSecret returns the decrypted secret under (ns, key), or ErrNotFound
// (also when the key holds a plain value).
func (db *DB) KVGetSecret(ns, key string) ([]byte, error) {
	if err := checkIDs("namespace", ns, "key", key); err != nil {
		return nil, fmt.Errorf("store: kv get secret: %w", err)
	}
	k := joinKey(ns, key)
	var out []byte
	err := db.view(func(tx *bbolt.Tx) error {
		b, err := bucket(tx, bucketKVSecret)
		if err != nil {
			return err
		}
		v := b.Get(k)
		if v == nil {
			return ErrNotFound
		}
		pt, err := db.key.open(v, secretAD(bucketKVSecret, k, ""))
		switch {
		case errors.Is(err, ErrNoKey):
			return err
		case err != nil:
			return fmt.Errorf("secret does not decrypt: %w", ErrCorrupt)
		}
		out = pt // a fresh slice, not tx memory
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: kv get secret %s/%s: %w", ns, key, err)
	}
	return out, nil
}

// KVDelete removes the plain or secret value under (ns, key), or returns
// ErrNotFound if there is neither.
func (db *DB) KVDelete(ns, key string) error {
	if err := checkIDs("namespace", ns, "key", key); err != nil {
		return fmt.Errorf("store: kv delete: %w", err)
	}
	k := joinKey(ns, key)
	// present reports whether the key has a plain or a secret value, and
	// returns the two buckets.
	present := func(tx *bbolt.Tx) (found bool, bs [2]*bbolt.Bucket, err error) {
		for i, name := range [...]string{bucketKV, bucketKVSecret} {
			if bs[i], err = bucket(tx, name); err != nil {
				return false, bs, err
			}
			found = found || bs[i].Get(k) != nil
		}
		return found, bs, nil
	}
	// Batched like KVPut: thousands of accounts logging in at once each
	// delete a key (the gateway's first subscription request), and a
	// transaction of its own for each cost two fsyncs apiece. A key missing
	// already is reported without a commit; one that goes missing before
	// the batch is no failure of the batch, and is reported after it.
	var found bool
	err := db.view(func(tx *bbolt.Tx) (err error) {
		found, _, err = present(tx)
		return err
	})
	if err == nil && found {
		err = db.batch(func(tx *bbolt.Tx) error {
			var bs [2]*bbolt.Bucket
			var err error
			if found, bs, err = present(tx); err != nil || !found {
				return err
			}
			for _, b := range bs {
				if err := b.Delete(k); err != nil {
					return err
				}
			}
			return nil
		})
	}
	if err == nil && !found {
		err = ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("store: kv delete %s/%s: %w", ns, key, err)
	}
	return nil
}

// KVList returns copies of the plain values in ns whose key starts with
// prefix ("" for all), keyed without the namespace. Secrets are not listed.
func (db *DB) KVList(ns, prefix string) (map[string][]byte, error) {
	if err := checkID("namespace", ns); err != nil {
		return nil, fmt.Errorf("store: kv list: %w", err)
	}
	if err := checkID("prefix", prefix); err != nil && prefix != "" {
		return nil, fmt.Errorf("store: kv list: %w", err)
	}
	out := map[string][]byte{}
	err := db.view(func(tx *bbolt.Tx) error {
		b, err := bucket(tx, bucketKV)
		if err != nil {
			return err
		}
		nsPrefix := prefixKey(ns)
		return scanPrefix(b, append(prefixKey(ns), prefix...), func(k, v []byte) error {
			out[string(k[len(nsPrefix):])] = clone(v)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("store: kv list %s/%s: %w", ns, prefix, err)
	}
	return out, nil
}
