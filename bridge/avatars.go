package bridge

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"sync"
	"time"

	"github.com/xgate-im/xgate/store"
	"github.com/xgate-im/xgate/xmpp"
	"github.com/xgate-im/xgate/xmpp/jid"
)

// XEP-0153 avatar hashes. Clients fetch a contact's or an occupant's vCard
// for its picture only when a presence of theirs carries
// <x xmlns='vcard-temp:x:update'><photo>SHA-1</photo></x>, and fetch it
// again only when that hash changes. The gateway does not fetch every
// picture to learn their hashes (thousands of contacts at each login):
// it learns a person's hash when it builds their vCard (personVCard, the
// one place that has the picture's bytes), and from then on their
// presence carries it. Until then their presence carries no update
// element, which tells clients nothing (they keep what they had); a
// person known to have no picture gets an empty <photo/>.
//
// A hash is that of the vCard the person's user got: it is kept per XMPP
// user and remote person, as the vCard is (the picture of a sender card is
// per user). When a vCard shows a picture other than the one advertised,
// the gateway sends the person's presence again, once per change: a
// client that fetched a vCard because of a hash gets the same hash back
// and the exchange stops there.
//
// A picture that changes on the network is noticed without fetching it:
// the URL the network gives for a contact (Contact.AvatarURL) or that a
// person's messages carry (MessageEvent.SenderAvatarURL) changes. Then,
// and only for a person whose hash some presence already carries, the
// gateway builds their vCard again in the background (refreshPhoto) and
// sends their presence with the new hash. At most photoRefreshers at once
// and one per person and user every photoRefreshEvery; a refresh that
// finds no free slot is dropped (the next vCard request learns the
// picture). URLs are kept in memory only: the first sight after a
// restart is not a change.
//
// Hashes are kept in memory and in the store's key-value table
// (photoNS), written only when one changes, and read all at once on first
// use: after a restart presence still carries the hashes clients know, so
// that they neither lose nor fetch again the pictures.

// photoNS is the store key-value namespace of avatar hashes; keys are
// routeKey(gateway, user, person), values the hex SHA-1 of the picture,
// empty for none.
const photoNS = "avatar-sha1"

// Bounds of the refreshes of changed pictures.
const (
	photoRefreshers   = 4
	photoRefreshEvery = time.Minute
	maxPhotoURLs      = 100_000
)

// maxPhotoHashes bounds the hashes kept; beyond it a person's hash stays
// unknown (no update element) until some are forgotten by a restart.
const maxPhotoHashes = 200_000

// photo is what the gateway knows of a person's picture.
type photo struct {
	// known is false when the gateway has not seen the person's vCard.
	known bool
	// sha1 is the hex SHA-1 of the picture's bytes, "" when there is none.
	sha1 string
}

// photoOf returns the photo of picture data: known, with no hash when
// data is empty.
func photoOf(data []byte) photo {
	if len(data) == 0 {
		return photo{known: true}
	}
	sum := sha1.Sum(data)
	return photo{known: true, sha1: hex.EncodeToString(sum[:])}
}

// element returns the XEP-0153 update element of p, or nil when p is not
// known.
func (p photo) element() *xmpp.Element {
	if !p.known {
		return nil
	}
	return xmpp.NewElement(NSVCardUpdate, "x").Append(xmpp.TextElement(NSVCardUpdate, "photo", p.sha1))
}

// photoHashes keeps the photo hashes of remote persons per XMPP user.
// Safe for concurrent use.
type photoHashes struct {
	gateway string
	db      *store.DB // nil: in memory only

	loadOnce sync.Once
	mu       sync.Mutex
	hashes   map[string]string // routeKey → hex SHA-1, "" for none
	// urls are the picture URLs last given for contacts; refreshed when
	// each person's picture was last refreshed (both forgotten at once
	// when full).
	urls      map[string]string
	refreshed map[string]time.Time
	// slots bound the refreshes running at once.
	slots chan struct{}
}

// newPhotoHashes returns the hashes of gateway's persons, stored in db
// (nil to keep them in memory only). It does no I/O.
func newPhotoHashes(gateway string, db *store.DB) *photoHashes {
	return &photoHashes{
		gateway: gateway, db: db, hashes: map[string]string{},
		urls: map[string]string{}, refreshed: map[string]time.Time{}, slots: make(chan struct{}, photoRefreshers),
	}
}

// load reads the stored hashes, once.
func (ph *photoHashes) load() {
	ph.loadOnce.Do(func() {
		if ph.db == nil {
			return
		}
		all, err := ph.db.KVList(photoNS, ph.gateway+"\x1f")
		if err != nil {
			return // they are learned again from vCards
		}
		ph.mu.Lock()
		defer ph.mu.Unlock()
		for k, v := range all {
			if len(ph.hashes) >= maxPhotoHashes {
				break
			}
			if _, ok := ph.hashes[k]; !ok {
				ph.hashes[k] = string(v)
			}
		}
	})
}

// get returns what is known of the picture of person uid as user sees it.
func (ph *photoHashes) get(user jid.JID, uid UserID) photo {
	if ph == nil {
		return photo{}
	}
	ph.load()
	ph.mu.Lock()
	defer ph.mu.Unlock()
	h, ok := ph.hashes[routeKey(ph.gateway, user.Bare(), uid)]
	return photo{known: ok, sha1: h}
}

// learn records the picture that the vCard of uid for user showed, and
// reports whether it differs from what was known (it was not known, or it
// changed). The store write, when it changed, is made before it returns.
func (ph *photoHashes) learn(user jid.JID, uid UserID, p photo) (bool, error) {
	if ph == nil || !p.known {
		return false, nil
	}
	ph.load()
	k := routeKey(ph.gateway, user.Bare(), uid)
	ph.mu.Lock()
	old, had := ph.hashes[k]
	if had && old == p.sha1 {
		ph.mu.Unlock()
		return false, nil
	}
	if !had && len(ph.hashes) >= maxPhotoHashes {
		ph.mu.Unlock()
		return false, nil
	}
	ph.hashes[k] = p.sha1
	ph.mu.Unlock()
	if ph.db != nil {
		if err := ph.db.KVPut(photoNS, k, []byte(p.sha1)); err != nil {
			return true, err
		}
	}
	return true, nil
}

// contactURL records the picture URL the network gave for contact uid of
// user, and reports whether it replaced another one.
func (ph *photoHashes) contactURL(user jid.JID, uid UserID, url string) bool {
	if ph == nil {
		return false
	}
	k := routeKey(ph.gateway, user.Bare(), uid)
	ph.mu.Lock()
	defer ph.mu.Unlock()
	old, had := ph.urls[k]
	if !had && len(ph.urls) >= maxPhotoURLs {
		clear(ph.urls)
	}
	ph.urls[k] = url
	return had && old != url
}

// startRefresh reports whether the picture of uid for user is to be
// refreshed now: a presence carries its hash, none was refreshed lately,
// and a slot is free (taken; done gives it back).
func (ph *photoHashes) startRefresh(user jid.JID, uid UserID, now time.Time) (done func(), ok bool) {
	if ph == nil || !ph.get(user, uid).known {
		return nil, false
	}
	k := routeKey(ph.gateway, user.Bare(), uid)
	ph.mu.Lock()
	defer ph.mu.Unlock()
	if last, was := ph.refreshed[k]; was && now.Sub(last) < photoRefreshEvery {
		return nil, false
	}
	select {
	case ph.slots <- struct{}{}:
	default:
		return nil, false
	}
	if len(ph.refreshed) >= maxPhotoURLs {
		clear(ph.refreshed)
	}
	ph.refreshed[k] = now
	return func() { <-ph.slots }, true
}

// refreshPhoto builds the vCard of uid for acc's user again, in the
// background, after the network gave another picture URL for them, so
// that their presence carries the new picture's hash (bounded:
// startRefresh).
func (ac *accounts) refreshPhoto(acc *account, uid UserID) {
	done, ok := ac.photos.startRefresh(acc.user, uid, time.Now())
	if !ok || !ac.life.running() {
		if ok {
			done()
		}
		return
	}
	ac.life.wg.Go(func() {
		defer done()
		ctx, cancel := context.WithTimeout(ac.life.ctx, 20*time.Second)
		defer cancel()
		_, shown, se := ac.personVCard(ctx, acc, uid)
		if se != nil {
			acc.log.Debug("refreshing a changed picture", "person", uid, "err", se)
			return
		}
		ac.learnPhoto(ctx, acc, uid, shown)
	})
}
