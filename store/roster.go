package store

import (
	"encoding/json"
	"fmt"
	"time"

	"go.etcd.io/bbolt"
)

// RosterItem is what the gateway knows about one entry of a user's roster
// for a contact JID of a transport.
type RosterItem struct {
	User         string    // bare JID of the XMPP user
	Transport    string    // transport instance name
	Contact      string    // contact JID (full string) as shown to the user
	Name         string    // display name
	Groups       []string  // roster groups
	Subscription string    // "none", "to", "from" or "both"; "" is stored as "none"
	AskedAt      time.Time // when a subscription request was last sent (zero = never)
}

// rosterRecord is the JSON value of a roster item; user, transport and
// contact live in the key.
type rosterRecord struct {
	Name         string    `json:"name,omitempty"`
	Groups       []string  `json:"groups,omitempty"`
	Subscription string    `json:"subscription"`
	AskedAt      time.Time `json:"asked_at,omitzero"`
}

// validSubscription reports whether s is a roster subscription state.
func validSubscription(s string) bool {
	switch s {
	case "none", "to", "from", "both":
		return true
	}
	return false
}

// decodeRosterItem decodes a roster record stored under key.
func decodeRosterItem(key, value []byte) (RosterItem, error) {
	parts, err := splitKey(key, 3)
	if err != nil {
		return RosterItem{}, err
	}
	var rec rosterRecord
	if err := json.Unmarshal(value, &rec); err != nil {
		return RosterItem{}, fmt.Errorf("roster item %q: %v: %w", key, err, ErrCorrupt)
	}
	if !validSubscription(rec.Subscription) {
		return RosterItem{}, fmt.Errorf("roster item %q: subscription %q: %w", key, rec.Subscription, ErrCorrupt)
	}
	return RosterItem{
		User: parts[0], Transport: parts[1], Contact: parts[2],
		Name: rec.Name, Groups: rec.Groups, Subscription: rec.Subscription, AskedAt: rec.AskedAt,
	}, nil
}

// PutRosterItem inserts or replaces a roster item, through the group
// commit (see PutContact).
func (db *DB) PutRosterItem(it RosterItem) error {
	if err := checkIDs("user", it.User, "transport", it.Transport, "contact", it.Contact); err != nil {
		return fmt.Errorf("store: put roster item: %w", err)
	}
	if it.Subscription == "" {
		it.Subscription = "none"
	}
	if !validSubscription(it.Subscription) {
		return fmt.Errorf("store: put roster item: subscription %q is not none, to, from or both: %w", it.Subscription, ErrInvalid)
	}
	v, err := json.Marshal(rosterRecord{Name: it.Name, Groups: it.Groups, Subscription: it.Subscription, AskedAt: it.AskedAt.UTC()})
	if err != nil {
		return fmt.Errorf("store: put roster item: %w", err)
	}
	k := joinKey(it.User, it.Transport, it.Contact)
	err = db.batch(func(tx *bbolt.Tx) error {
		b, err := bucket(tx, bucketRoster)
		if err != nil {
			return err
		}
		return b.Put(k, v)
	})
	if err != nil {
		return fmt.Errorf("store: put roster item %s/%s/%s: %w", it.User, it.Transport, it.Contact, err)
	}
	return nil
}

// GetRosterItem returns one roster item, or ErrNotFound.
func (db *DB) GetRosterItem(user, transport, contact string) (RosterItem, error) {
	if err := checkIDs("user", user, "transport", transport, "contact", contact); err != nil {
		return RosterItem{}, fmt.Errorf("store: get roster item: %w", err)
	}
	k := joinKey(user, transport, contact)
	var it RosterItem
	err := db.view(func(tx *bbolt.Tx) error {
		b, err := bucket(tx, bucketRoster)
		if err != nil {
			return err
		}
		v := b.Get(k)
		if v == nil {
			return ErrNotFound
		}
		it, err = decodeRosterItem(k, v)
		return err
	})
	if err != nil {
		return RosterItem{}, fmt.Errorf("store: get roster item %s/%s/%s: %w", user, transport, contact, err)
	}
	return it, nil
}

// Roster returns a user's roster items for one transport, sorted by
// Contact.
func (db *DB) Roster(user, transport string) ([]RosterItem, error) {
	if err := checkIDs("user", user, "transport", transport); err != nil {
		return nil, fmt.Errorf("store: roster: %w", err)
	}
	var out []RosterItem
	err := db.view(func(tx *bbolt.Tx) error {
		b, err := bucket(tx, bucketRoster)
		if err != nil {
			return err
		}
		return scanPrefix(b, prefixKey(user, transport), func(k, v []byte) error {
			it, err := decodeRosterItem(k, v)
			if err != nil {
				return err
			}
			out = append(out, it)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("store: roster of %s on %s: %w", user, transport, err)
	}
	return out, nil
}

// DeleteRosterItem removes one roster item, or returns ErrNotFound.
func (db *DB) DeleteRosterItem(user, transport, contact string) error {
	if err := checkIDs("user", user, "transport", transport, "contact", contact); err != nil {
		return fmt.Errorf("store: delete roster item: %w", err)
	}
	k := joinKey(user, transport, contact)
	err := db.update(func(tx *bbolt.Tx) error {
		b, err := bucket(tx, bucketRoster)
		if err != nil {
			return err
		}
		if b.Get(k) == nil {
			return ErrNotFound
		}
		return b.Delete(k)
	})
	if err != nil {
		return fmt.Errorf("store: delete roster item %s/%s/%s: %w", user, transport, contact, err)
	}
	return nil
}
