package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"time"

	"go.etcd.io/bbolt"
)

// AccountKey identifies one remote account of one XMPP user on one
// transport instance. A user may have several accounts per transport.
type AccountKey struct {
	User      string // bare JID of the XMPP user
	Transport string // transport instance name, e.g. "slack"
	Remote    string // remote account ID chosen by the transport (e.g. Slack "T123.U456"); unique per (User, Transport)
}

// String returns "transport/user/remote".
func (k AccountKey) String() string { return k.Transport + "/" + k.User + "/" + k.Remote }

// check validates the three parts.
func (k AccountKey) check() error {
	return checkIDs("user", k.User, "transport", k.Transport, "remote account", k.Remote)
}

// key is the record key: transport NUL user NUL remote.
func (k AccountKey) key() []byte { return joinKey(k.Transport, k.User, k.Remote) }

// Account is one remote account with its settings and credentials. Secrets
// are encrypted at rest; String, GoString, Format and LogValue never print
// their values.
type Account struct {
	AccountKey
	Settings  map[string]string // plain settings
	Secrets   map[string]string // tokens/passwords: encrypted at rest, never in plain text in the file
	Disabled  bool              // logged out by the user (unsubscribed); credentials are kept
	LastError string            // last login failure shown to the user, "" when fine
	Created   time.Time         // set by PutAccount on first insert
	Updated   time.Time         // set by PutAccount on every write
}

// String describes the account with secret values redacted.
func (a Account) String() string {
	names := slices.Sorted(maps.Keys(a.Secrets))
	for i, n := range names {
		names[i] = n + ":redacted"
	}
	return fmt.Sprintf("store.Account{%s settings=%v secrets=[%s] disabled=%t last_error=%q}",
		a.AccountKey, a.Settings, strings.Join(names, " "), a.Disabled, a.LastError)
}

// GoString is String, so %#v does not print secrets either.
func (a Account) GoString() string { return a.String() }

// Format prints String for every verb, so no verb reveals secrets.
func (a Account) Format(f fmt.State, _ rune) { io.WriteString(f, a.String()) }

// LogValue implements slog.LogValuer: the key, settings and the names (not
// values) of the secrets.
func (a Account) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("user", a.User),
		slog.String("transport", a.Transport),
		slog.String("remote", a.Remote),
		slog.Any("settings", a.Settings),
		slog.Any("secrets", slices.Sorted(maps.Keys(a.Secrets))),
		slog.Bool("disabled", a.Disabled),
		slog.String("last_error", a.LastError),
	)
}

var (
	_ fmt.Formatter  = Account{}
	_ slog.LogValuer = Account{}
)

// accountRecord is the JSON value of an account; the key fields live in
// the record key. Secrets hold sealed values (base64 in JSON).
type accountRecord struct {
	Settings  map[string]string `json:"settings,omitempty"`
	Secrets   map[string][]byte `json:"secrets,omitempty"`
	Disabled  bool              `json:"disabled,omitempty"`
	LastError string            `json:"last_error,omitempty"`
	Created   time.Time         `json:"created"`
	Updated   time.Time         `json:"updated"`
}

// encodeAccount seals the secrets and encodes the record.
func encodeAccount(k *Key, a Account) ([]byte, error) {
	rec := accountRecord{
		Settings:  a.Settings,
		Disabled:  a.Disabled,
		LastError: a.LastError,
		Created:   a.Created,
		Updated:   a.Updated,
	}
	if len(a.Secrets) > 0 {
		rec.Secrets = make(map[string][]byte, len(a.Secrets))
		rk := a.key()
		for name, v := range a.Secrets {
			s, err := k.seal([]byte(v), secretAD(bucketAccounts, rk, name))
			if err != nil {
				return nil, fmt.Errorf("seal secret %q: %w", name, err)
			}
			rec.Secrets[name] = s
		}
	}
	return json.Marshal(rec)
}

// decodeAccount decodes an account record and decrypts its secrets. k may
// be nil for a record without secrets.
func decodeAccount(k *Key, key, value []byte) (Account, error) {
	parts, err := splitKey(key, 3)
	if err != nil {
		return Account{}, err
	}
	var rec accountRecord
	if err := json.Unmarshal(value, &rec); err != nil {
		return Account{}, fmt.Errorf("account %q: %v: %w", key, err, ErrCorrupt)
	}
	a := Account{
		AccountKey: AccountKey{Transport: parts[0], User: parts[1], Remote: parts[2]},
		Settings:   rec.Settings,
		Disabled:   rec.Disabled,
		LastError:  rec.LastError,
		Created:    rec.Created,
		Updated:    rec.Updated,
	}
	if len(rec.Secrets) > 0 {
		a.Secrets = make(map[string]string, len(rec.Secrets))
		for name, s := range rec.Secrets {
			pt, err := k.open(s, secretAD(bucketAccounts, key, name))
			if errors.Is(err, ErrNoKey) {
				return Account{}, fmt.Errorf("secrets of account %s: %w", a.AccountKey, ErrNoKey)
			}
			if err != nil {
				return Account{}, fmt.Errorf("secret %q of account %s does not decrypt: %w", name, a.AccountKey, ErrCorrupt)
			}
			a.Secrets[name] = string(pt)
		}
	}
	return a, nil
}

// PutAccount inserts or replaces an account. It sets Updated to now and
// Created to now on first insert (an existing record keeps its Created);
// the caller's values of both are ignored. Secrets are encrypted.
func (db *DB) PutAccount(a Account) error {
	if err := a.check(); err != nil {
		return fmt.Errorf("store: put account: %w", err)
	}
	for name := range a.Secrets {
		if err := checkID("secret name", name); err != nil {
			return fmt.Errorf("store: put account %s: %w", a.AccountKey, err)
		}
	}
	rk := a.key()
	err := db.update(func(tx *bbolt.Tx) error {
		b, err := bucket(tx, bucketAccounts)
		if err != nil {
			return err
		}
		now := db.nowUTC()
		a.Created, a.Updated = now, now
		old := b.Get(rk)
		if old == nil {
			db.onCommit(tx, &countDelta{accounts: 1})
		} else {
			var rec accountRecord
			if err := json.Unmarshal(old, &rec); err == nil && !rec.Created.IsZero() {
				a.Created = rec.Created
			}
		}
		v, err := encodeAccount(db.key, a)
		if err != nil {
			return err
		}
		return b.Put(rk, v)
	})
	if err != nil {
		return fmt.Errorf("store: put account %s: %w", a.AccountKey, err)
	}
	return nil
}

// GetAccount returns one account with its secrets decrypted, or
// ErrNotFound.
func (db *DB) GetAccount(k AccountKey) (Account, error) {
	if err := k.check(); err != nil {
		return Account{}, fmt.Errorf("store: get account: %w", err)
	}
	var a Account
	err := db.view(func(tx *bbolt.Tx) error {
		b, err := bucket(tx, bucketAccounts)
		if err != nil {
			return err
		}
		v := b.Get(k.key())
		if v == nil {
			return ErrNotFound
		}
		a, err = decodeAccount(db.key, k.key(), v)
		return err
	})
	if err != nil {
		return Account{}, fmt.Errorf("store: get account %s: %w", k, err)
	}
	return a, nil
}

// DeleteAccount removes an account, or returns ErrNotFound.
func (db *DB) DeleteAccount(k AccountKey) error {
	if err := k.check(); err != nil {
		return fmt.Errorf("store: delete account: %w", err)
	}
	err := db.update(func(tx *bbolt.Tx) error {
		b, err := bucket(tx, bucketAccounts)
		if err != nil {
			return err
		}
		if b.Get(k.key()) == nil {
			return ErrNotFound
		}
		db.onCommit(tx, &countDelta{accounts: -1})
		return b.Delete(k.key())
	})
	if err != nil {
		return fmt.Errorf("store: delete account %s: %w", k, err)
	}
	return nil
}

// UserAccounts returns the accounts of one user on one transport, sorted by
// Remote.
func (db *DB) UserAccounts(transport, user string) ([]Account, error) {
	if err := checkIDs("transport", transport, "user", user); err != nil {
		return nil, fmt.Errorf("store: user accounts: %w", err)
	}
	out, err := db.scanAccounts(prefixKey(transport, user))
	if err != nil {
		return nil, fmt.Errorf("store: accounts of %s on %s: %w", user, transport, err)
	}
	return out, nil
}

// Accounts returns every account on one transport, sorted by User then
// Remote.
func (db *DB) Accounts(transport string) ([]Account, error) {
	if err := checkID("transport", transport); err != nil {
		return nil, fmt.Errorf("store: accounts: %w", err)
	}
	out, err := db.scanAccounts(prefixKey(transport))
	if err != nil {
		return nil, fmt.Errorf("store: accounts on %s: %w", transport, err)
	}
	return out, nil
}

// scanAccounts decodes every account whose key starts with prefix. NUL sorts
// first, so key order is (User, Remote) order.
func (db *DB) scanAccounts(prefix []byte) ([]Account, error) {
	var out []Account
	err := db.view(func(tx *bbolt.Tx) error {
		b, err := bucket(tx, bucketAccounts)
		if err != nil {
			return err
		}
		return scanPrefix(b, prefix, func(k, v []byte) error {
			a, err := decodeAccount(db.key, k, v)
			if err != nil {
				return err
			}
			out = append(out, a)
			return nil
		})
	})
	return out, err
}

// scanPrefix calls fn for every key of b starting with prefix, in order.
// k and v are only valid inside fn.
func scanPrefix(b *bbolt.Bucket, prefix []byte, fn func(k, v []byte) error) error {
	c := b.Cursor()
	for k, v := c.Seek(prefix); k != nil && hasPrefix(k, prefix); k, v = c.Next() {
		if err := fn(k, v); err != nil {
			return err
		}
	}
	return nil
}

// hasPrefix reports whether k starts with prefix.
func hasPrefix(k, prefix []byte) bool {
	return len(k) >= len(prefix) && string(k[:len(prefix)]) == string(prefix)
}
