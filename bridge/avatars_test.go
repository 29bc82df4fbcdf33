package bridge_test

import (
	"crypto/sha1"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/xgate-im/xgate/bridge"
	"github.com/xgate-im/xgate/bridge/bridgetest"
	"github.com/xgate-im/xgate/xmpp"
)

// photoUpdate returns the XEP-0153 hash a presence carries: ok is false
// when it has no vcard-temp:x:update element, hash is "" for <photo/>.
func photoUpdate(t *testing.T, p *xmpp.Presence) (hash string, ok bool) {
	t.Helper()
	for _, x := range p.Extra {
		if x.Name.Space == bridge.NSVCardUpdate && x.Name.Local == "x" {
			ph := x.Child(bridge.NSVCardUpdate, "photo")
			if ph == nil {
				t.Fatalf("update element without <photo/>: %s", p.Element())
			}
			return ph.Text(), true
		}
	}
	return "", false
}

func sha1Hex(b []byte) string {
	sum := sha1.Sum(b)
	return hex.EncodeToString(sum[:])
}

// A contact's presence carries no avatar hash until the gateway saw their
// picture; fetching their vCard (whose profile has one) makes the gateway
// send their presence again with the picture's SHA-1, which presence
// carries from then on, across a restart. A second fetch of the same
// picture sends nothing more.
func TestContactPresenceCarriesPhotoHash(t *testing.T) {
	e := withBob(t)
	const bob = "bob@" + domain
	e.send(`<presence type='subscribe' from='%s' to='%s'/>`, alice, bob)
	e.expectPresence(func(p *xmpp.Presence) bool { return p.From.String() == bob && p.Type == xmpp.PresenceSubscribed })
	first := e.expectPresence(func(p *xmpp.Presence) bool { return p.From.String() == bob && p.Type != xmpp.PresenceSubscribed })
	if h, ok := photoUpdate(t, first); ok {
		t.Fatalf("a hash (%q) before the picture was seen: %s", h, first.Element())
	}
	want := sha1Hex(bridgetest.AvatarPNG)
	vcard := func(id string) {
		t.Helper()
		e.send(`<iq type='get' id='%s' from='%s/phone' to='%s'><vCard xmlns='vcard-temp'/></iq>`, id, alice, bob)
		if iq := e.expectIQ(id); iq.Type != xmpp.IQResult || iq.Payload.Child("", "PHOTO") == nil {
			t.Fatalf("vCard %s", iq.Element())
		}
	}
	vcard("v1")
	fresh := e.expectPresence(func(p *xmpp.Presence) bool { return p.From.String() == bob && p.To.String() == alice })
	if h, ok := photoUpdate(t, fresh); !ok || h != want {
		t.Fatalf("presence after the vCard: hash %q (%v), want %q: %s", h, ok, want, fresh.Element())
	}
	vcard("v2")
	// A probe's answer goes to the probing resource; a presence sent
	// because of the second vCard would be to the bare JID, before it.
	probe := func(res string) *xmpp.Presence {
		t.Helper()
		e.send(`<presence type='probe' from='%s/%s' to='%s'/>`, alice, res, bob)
		return e.expectPresence(func(p *xmpp.Presence) bool { return p.From.String() == bob && p.To.String() == alice+"/"+res })
	}
	if h, ok := photoUpdate(t, probe("laptop")); !ok || h != want {
		t.Fatalf("probed presence: hash %q (%v)", h, ok)
	}
	for _, s := range e.backlog {
		if p, ok := s.(*xmpp.Presence); ok && p.From.String() == bob && p.To.String() == alice {
			t.Fatalf("presence sent again for the same picture: %s", p.Element())
		}
	}
	e.restart()
	if h, ok := photoUpdate(t, probe("tablet")); !ok || h != want {
		t.Fatalf("after a restart: hash %q (%v)", h, ok)
	}
}

// An occupant's presence carries no avatar hash until the user's vCard of
// them showed their picture; then their presence is sent again to the
// user's resources in the room with the hash, and a later join gets it.
// An occupant known to have no picture (a sender without one) gets an
// empty <photo/>.
func TestOccupantPresenceCarriesPhotoHash(t *testing.T) {
	e := newRoomEnv(t)
	e.tr.SetContacts("acct-alice", bridge.Contact{ID: "bob", Name: "Bob Smith"})
	me := alice + "/phone"
	bobOcc := loungeRes + "Bob"
	for _, p := range e.join(me, loungeRes+"alice", `<history maxstanzas='0'/>`) {
		if h, ok := photoUpdate(t, p); ok {
			t.Fatalf("a hash (%q) before any vCard: %s", h, p.Element())
		}
	}
	e.send(`<iq type='get' id='v1' from='%s' to='%s'><vCard xmlns='vcard-temp'/></iq>`, me, bobOcc)
	if iq := e.expectIQ("v1"); iq.Type != xmpp.IQResult {
		t.Fatalf("vCard %s", iq.Element())
	}
	want := sha1Hex(bridgetest.AvatarPNG)
	fresh := e.expectPresence(func(p *xmpp.Presence) bool { return p.From.String() == bobOcc && p.To.String() == me })
	if h, ok := photoUpdate(t, fresh); !ok || h != want || fresh.Type != xmpp.PresenceAvailable {
		t.Fatalf("occupant presence after the vCard: hash %q (%v), want %q: %s", h, ok, want, fresh.Element())
	}
	laptop := alice + "/laptop"
	var got *xmpp.Presence
	for _, p := range e.join(laptop, loungeRes+"alice", `<history maxstanzas='0'/>`) {
		if p.From.String() == bobOcc {
			got = p
		}
	}
	if h, ok := photoUpdate(t, got); !ok || h != want {
		t.Fatalf("Bob at a later join: hash %q (%v): %s", h, ok, got.Element())
	}

	// Carol is no contact with a profile: her messages name her, with no
	// picture, so her vCard has none, and her presence says so.
	ev := bridge.MessageEvent{Chat: loungeChat, Sender: "carol", ID: "c-1", Text: "hello", SenderName: "Carol"}
	if err := e.tr.Emit(e.ctx(), "acct-alice", ev); err != nil {
		t.Fatal(err)
	}
	m := e.expectMessage(func(m *xmpp.Message) bool { return m.Body == "hello" && m.To.String() == me })
	e.send(`<iq type='get' id='v2' from='%s' to='%s'><vCard xmlns='vcard-temp'/></iq>`, me, m.From)
	if iq := e.expectIQ("v2"); iq.Type != xmpp.IQResult || iq.Payload.Child("", "PHOTO") != nil {
		t.Fatalf("Carol's vCard %s", iq.Element())
	}
	none := e.expectPresence(func(p *xmpp.Presence) bool { return p.From == m.From && p.To.String() == me })
	if h, ok := photoUpdate(t, none); !ok || h != "" {
		t.Fatalf("Carol's presence: hash %q (%v), want an empty <photo/>: %s", h, ok, none.Element())
	}
}

// A sender whose messages carry another picture than before has their
// presence sent again with the new picture's hash, without a vCard
// request, once a presence carries their hash; before that, nothing is
// fetched for them.
func TestOccupantPhotoHashFollowsMessagesPicture(t *testing.T) {
	var hits atomic.Int32
	pics := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Header().Set("Content-Type", "image/png")
		w.Write([]byte("\x89PNG\r\n\x1a\n" + r.URL.Path))
	}))
	t.Cleanup(pics.Close)
	tr := bridgetest.New()
	tr.Caps = func(c *bridge.Capabilities) { c.Groups = true }
	tr.SetGroups("acct-alice", bridge.GroupInfo{ID: "g1", Name: "Lounge"})
	tr.SetMembers("g1",
		bridge.GroupMember{User: "acct-alice", Nick: "Alice"},
		bridge.GroupMember{User: "hook", Nick: "Deploy bot"},
	)
	e := newEnvWith(t, tr, func(c *bridge.Config) { c.AvatarClient = pics.Client() })
	e.register(alice, "good-alice")
	me := alice + "/phone"
	e.join(me, loungeRes+"alice", `<history maxstanzas='0'/>`)
	hookOcc := loungeRes + "Deploy bot"
	say := func(id, pic string) {
		t.Helper()
		ev := bridge.MessageEvent{Chat: loungeChat, Sender: "hook", ID: bridge.MessageID(id), Text: id, SenderName: "Deploy bot", SenderAvatarURL: pics.URL + pic}
		if err := tr.Emit(e.ctx(), "acct-alice", ev); err != nil {
			t.Fatal(err)
		}
		e.expectMessage(func(m *xmpp.Message) bool { return m.Body == id })
	}
	say("m1", "/a.png")
	say("m2", "/b.png")
	e.send(`<iq type='get' id='v1' from='%s' to='%s'><vCard xmlns='vcard-temp'/></iq>`, me, hookOcc)
	if iq := e.expectIQ("v1"); iq.Type != xmpp.IQResult || iq.Payload.Child("", "PHOTO") == nil {
		t.Fatalf("vCard %s", iq.Element())
	}
	if n := hits.Load(); n != 1 {
		t.Fatalf("%d pictures fetched, want 1 (the vCard's)", n)
	}
	hashOf := func(path string) string { return sha1Hex([]byte("\x89PNG\r\n\x1a\n" + path)) }
	p := e.expectPresence(func(p *xmpp.Presence) bool { return p.From.String() == hookOcc && p.To.String() == me })
	if h, _ := photoUpdate(t, p); h != hashOf("/b.png") {
		t.Fatalf("after the vCard: %s", p.Element())
	}
	say("m3", "/c.png")
	p = e.expectPresence(func(p *xmpp.Presence) bool { return p.From.String() == hookOcc && p.To.String() == me })
	if h, _ := photoUpdate(t, p); h != hashOf("/c.png") {
		t.Fatalf("after a message with another picture: %s, want hash %s", p.Element(), hashOf("/c.png"))
	}
}
