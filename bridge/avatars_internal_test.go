package bridge

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/xgate-im/xgate/store"
	"github.com/xgate-im/xgate/xmpp/jid"
)

// TestPhotoHashes: a hash is news once per change, per user and person,
// and survives a reopening of the store.
func TestPhotoHashes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "xgate.db")
	key, err := store.ParseKey([]byte(strings.Repeat("ab", 32)))
	if err != nil {
		t.Fatal(err)
	}
	open := func() *store.DB {
		db, err := store.Open(path, store.Options{Key: key, NoSync: true, BatchDelay: time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		return db
	}
	db := open()
	alice, bob := jid.MustParse("alice@example.org/phone"), jid.MustParse("bob@example.org")
	pic := photoOf([]byte("picture"))
	if pic.sha1 != "0e66b49d04a43c19bcb2e13a53aff5d174f610fc" { // sha1sum of "picture"
		t.Fatalf("hash %q", pic.sha1)
	}
	ph := newPhotoHashes("fake", db)
	steps := []struct {
		name    string
		user    jid.JID
		uid     UserID
		p       photo
		news    bool
		nowSHA1 string
	}{
		{"unknown is not learned", alice, "carol", photo{}, false, ""},
		{"first picture", alice, "carol", pic, true, pic.sha1},
		{"same picture again", alice.Bare(), "carol", pic, false, pic.sha1},
		{"another user's view", bob, "carol", photoOf(nil), true, ""},
		{"picture removed", alice, "carol", photoOf(nil), true, ""},
		{"no picture again", alice, "carol", photoOf(nil), false, ""},
		{"picture back", alice, "carol", pic, true, pic.sha1},
	}
	for _, s := range steps {
		news, err := ph.learn(s.user, s.uid, s.p)
		if err != nil || news != s.news {
			t.Fatalf("%s: news %v %v, want %v", s.name, news, err, s.news)
		}
		if got := ph.get(s.user, s.uid); s.p.known && (!got.known || got.sha1 != s.nowSHA1) {
			t.Fatalf("%s: %+v, want %q", s.name, got, s.nowSHA1)
		}
	}
	if got := ph.get(alice, "dave"); got.known || got.element() != nil {
		t.Fatalf("a person never seen: %+v", got)
	}
	db.Close()
	db = open()
	defer db.Close()
	again := newPhotoHashes("fake", db)
	if got := again.get(alice, "carol"); got != pic {
		t.Fatalf("after reopening: %+v, want %+v", got, pic)
	}
	if got := again.get(bob, "carol"); got != photoOf(nil) {
		t.Fatalf("after reopening, bob's: %+v", got)
	}
	if got := newPhotoHashes("other", db).get(alice, "carol"); got.known {
		t.Fatalf("another gateway's hashes: %+v", got)
	}
}

// TestPhotoRefreshBounds: a changed picture is refreshed only for a
// person whose hash is known, at most once a minute each, and at most
// photoRefreshers at once.
func TestPhotoRefreshBounds(t *testing.T) {
	ph := newPhotoHashes("fake", nil)
	user := jid.MustParse("alice@example.org")
	t0 := time.Date(2026, 12, 5, 9, 0, 0, 0, time.UTC)
	for i := range photoRefreshers + 1 {
		if _, err := ph.learn(user, UserID(rune('a'+i)), photoOf([]byte{byte(i)})); err != nil {
			t.Fatal(err)
		}
	}
	var dones []func()
	steps := []struct {
		name string
		uid  UserID
		at   time.Time
		want bool
	}{
		{"hash unknown", "z", t0, false},
		{"known", "a", t0, true},
		{"again within a minute", "a", t0.Add(30 * time.Second), false},
		{"another person", "b", t0, true},
		{"a third", "c", t0, true},
		{"a fourth fills the slots", "d", t0, true},
		{"no slot left", "e", t0, false},
	}
	for _, s := range steps {
		done, ok := ph.startRefresh(user, s.uid, s.at)
		if ok != s.want {
			t.Fatalf("%s: %v, want %v", s.name, ok, s.want)
		}
		if ok {
			dones = append(dones, done)
		}
	}
	dones[0]()
	if _, ok := ph.startRefresh(user, "e", t0); !ok {
		t.Fatal("a slot given back is not taken")
	}
	if _, ok := ph.startRefresh(user, "a", t0.Add(photoRefreshEvery)); ok {
		t.Fatal("a refresh with every slot taken")
	}
	dones[1]()
	if _, ok := ph.startRefresh(user, "a", t0.Add(photoRefreshEvery)); !ok {
		t.Fatal("no refresh a minute later")
	}
	for _, tc := range []struct {
		url  string
		want bool
	}{{"https://a/1", false}, {"https://a/1", false}, {"https://a/2", true}, {"", true}, {"", false}} {
		if got := ph.contactURL(user, "a", tc.url); got != tc.want {
			t.Fatalf("contact URL %q: changed %v, want %v", tc.url, got, tc.want)
		}
	}
}
