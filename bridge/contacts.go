package bridge

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"sync"

	"github.com/xgate-im/xgate/store"
	"github.com/xgate-im/xgate/xmpp/jid"
)

// contactMap maps remote user IDs to contact JIDs and back. The mapping is
// made once, stored, and never changes, so contact JIDs stay stable across
// restarts even if a transport changes how it names new contacts.
type contactMap struct {
	name      string // the gateway instance, the contacts' namespace in the store
	domain    string // the component domain
	db        *store.DB
	localpart func(UserID) string // the transport's proposal for a new contact
	mu        sync.RWMutex
	byRemote  map[UserID]jid.JID
	byLocal   map[string]UserID
}

func newContactMap(name, domain string, db *store.DB, localpart func(UserID) string) *contactMap {
	return &contactMap{name: name, domain: domain, db: db, localpart: localpart, byRemote: map[UserID]jid.JID{}, byLocal: map[string]UserID{}}
}

func (c *contactMap) remember(uid UserID, j jid.JID) {
	c.mu.Lock()
	c.byRemote[uid] = j
	c.byLocal[j.Local()] = uid
	c.mu.Unlock()
}

// jidFor returns the contact JID of a remote user, creating the mapping on
// first use.
func (c *contactMap) jidFor(uid UserID) (jid.JID, error) {
	c.mu.RLock()
	j, ok := c.byRemote[uid]
	c.mu.RUnlock()
	if ok {
		return j, nil
	}
	name := c.name
	local, err := c.db.ContactByRemote(name, string(uid))
	if err == nil {
		j, err := jid.New(local, c.domain, "")
		if err != nil {
			return jid.JID{}, fmt.Errorf("bridge: stored contact %q: %w", local, err)
		}
		c.remember(uid, j)
		return j, nil
	}
	if !errors.Is(err, store.ErrNotFound) {
		return jid.JID{}, fmt.Errorf("bridge: contact %s: %w", uid, err)
	}
	base := jid.Escape(c.localpart(uid))
	if isRoomLocal(base) {
		base = "" // room localparts start with "#": never a contact's
	}
	if _, err := jid.New(base, c.domain, ""); err != nil || base == "" {
		// The proposal is unusable as a localpart: fall back to a hash.
		sum := sha256.Sum256([]byte(uid))
		base = "u-" + hex.EncodeToString(sum[:8])
	}
	for n := 1; n < 100; n++ {
		cand := base
		if n > 1 {
			cand = base + "~" + strconv.Itoa(n)
		}
		j, err := jid.New(cand, c.domain, "")
		if err != nil {
			return jid.JID{}, fmt.Errorf("bridge: contact JID for %s: %w", uid, err)
		}
		err = c.db.PutContact(name, string(uid), j.Local())
		switch {
		case err == nil:
			c.remember(uid, j)
			return j, nil
		case errors.Is(err, store.ErrConflict):
			// Either the localpart is taken by someone else, or uid was
			// mapped concurrently.
			if local, err := c.db.ContactByRemote(name, string(uid)); err == nil {
				j, err := jid.New(local, c.domain, "")
				if err == nil {
					c.remember(uid, j)
				}
				return j, err
			}
		default:
			return jid.JID{}, fmt.Errorf("bridge: store contact %s: %w", uid, err)
		}
	}
	return jid.JID{}, fmt.Errorf("bridge: no free JID for contact %s", uid)
}

// userFor returns the remote user of a contact JID localpart, or an error
// wrapping ErrNotFound.
func (c *contactMap) userFor(local string) (UserID, error) {
	c.mu.RLock()
	uid, ok := c.byLocal[local]
	c.mu.RUnlock()
	if ok {
		return uid, nil
	}
	remote, err := c.db.ContactByLocal(c.name, local)
	if errors.Is(err, store.ErrNotFound) {
		return "", fmt.Errorf("bridge: no contact %q: %w", local, ErrNotFound)
	}
	if err != nil {
		return "", fmt.Errorf("bridge: contact %q: %w", local, err)
	}
	uid = UserID(remote)
	j, err := jid.New(local, c.domain, "")
	if err == nil {
		c.remember(uid, j)
	}
	return uid, nil
}
