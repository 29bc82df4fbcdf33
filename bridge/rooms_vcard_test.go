package bridge_test

import (
	"testing"

	"github.com/xgate-im/xgate/bridge"
	"github.com/xgate-im/xgate/xmpp"
)

// TestOccupantVCard: a vCard request to an occupant JID is answered with
// the member's profile from the network, for users in the room only and
// for its occupants only.
func TestOccupantVCard(t *testing.T) {
	e := newRoomEnv(t)
	e.tr.SetContacts("acct-alice", bridge.Contact{ID: "bob", Name: "Bob Smith"})
	me := alice + "/phone"
	vcard := func(id, from, to, typ string) *xmpp.IQ {
		t.Helper()
		e.send(`<iq type='%s' id='%s' from='%s' to='%s'><vCard xmlns='vcard-temp'/></iq>`, typ, id, from, to)
		return e.expectIQ(id)
	}
	// Not in the room yet.
	if c := errCond(vcard("v0", me, loungeRes+"Bob", "get")); c != xmpp.CondNotAcceptable {
		t.Errorf("before joining: %q", c)
	}
	e.join(me, loungeRes+"alice", `<history maxstanzas='0'/>`)
	iq := vcard("v1", me, loungeRes+"Bob", "get")
	if iq.Type != xmpp.IQResult || iq.Payload.ChildText("", "FN") != "Bob Smith" || iq.Payload.Child("", "PHOTO") == nil {
		t.Fatalf("Bob's vCard %s", iq.Element())
	}
	// Another resource of the user, not itself in the room, may ask too:
	// the user is in the room.
	if iq := vcard("v2", alice+"/laptop", loungeRes+"Bob", "get"); iq.Type != xmpp.IQResult {
		t.Errorf("from another resource %s", iq.Element())
	}
	for _, tc := range []struct {
		id, from, to, typ string
		want              xmpp.Condition
	}{
		{"v3", me, loungeRes + "Nobody", "get", xmpp.CondItemNotFound},
		{"v4", me, loungeRes + "Bob", "set", xmpp.CondNotAllowed},
		{"v5", "bob@example.org/b", loungeRes + "Bob", "get", xmpp.CondNotAcceptable},
		{"v6", "mallory@evil.example/m", loungeRes + "Bob", "get", xmpp.CondForbidden},
	} {
		if c := errCond(vcard(tc.id, tc.from, tc.to, tc.typ)); c != tc.want {
			t.Errorf("%s %s from %s: %q, want %q", tc.typ, tc.to, tc.from, c, tc.want)
		}
	}
	// After leaving, nothing.
	e.send(`<presence type='unavailable' from='%s' to='%s'/>`, me, loungeRes+"alice")
	e.expectPresence(func(p *xmpp.Presence) bool { return p.Type == xmpp.PresenceUnavailable && p.To.String() == me })
	if c := errCond(vcard("v7", me, loungeRes+"Bob", "get")); c != xmpp.CondNotAcceptable {
		t.Errorf("after leaving: %q", c)
	}
}
