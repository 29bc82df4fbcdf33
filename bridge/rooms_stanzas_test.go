package bridge

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/xgate-im/xgate/xmpp"
	"github.com/xgate-im/xgate/xmpp/jid"
)

var updateGolden = flag.Bool("update", false, "rewrite the golden files under testdata/")

// checkGolden compares got with testdata/rooms/name.xml, or rewrites it
// with -update.
func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", "rooms", name+".xml")
	if *updateGolden {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if strings.TrimSuffix(string(want), "\n") != got {
		t.Errorf("%s:\ngot  %s\nwant %s", name, got, want)
	}
}

func TestRoomStanzas(t *testing.T) {
	room := jid.MustParse("#lounge@fake.example.org")
	user := jid.MustParse("alice@example.org/phone")
	bob := jid.MustParse("bob@fake.example.org")
	occ := func(nick string) jid.JID { j, _ := room.WithResource(nick); return j }
	stamp := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	chat := chatStanza{
		From: occ("Bob"), To: user, ID: "fresh",
		XMPPID:   func(id MessageID) string { return "x-" + string(id) },
		TargetID: func(id MessageID) string { return "x-" + string(id) },
		JIDOf: func(u UserID) (jid.JID, bool) {
			if u == "alice" {
				return occ("alice"), true
			}
			return jid.JID{}, false
		},
		Domain: room.String(),
	}
	selfChat := chat
	selfChat.From = occ("alice (2)")
	tests := []struct {
		name string
		s    xmpp.Stanza
	}{
		{"occupant", occupantPresence(room, user, occupant{Nick: "Bob", RealJID: bob, Role: RoleMember, ID: occupantID(room, "bob")}, false)},
		{"occupant-away", occupantPresence(room, user, occupant{Nick: "Bob", RealJID: bob, ID: occupantID(room, "bob"), Presence: &Presence{Show: ShowAway, Status: "Lunch"}}, false)},
		{"occupant-offline", occupantPresence(room, user, occupant{Nick: "Bob", RealJID: bob, ID: occupantID(room, "bob"), Presence: &Presence{Show: ShowOffline}}, false)},
		{"occupant-owner", occupantPresence(room, user, occupant{Nick: "Carol", Role: RoleOwner, ID: occupantID(room, "carol")}, false)},
		{"self", occupantPresence(room, user, occupant{Nick: "alice", RealJID: user, ID: occupantID(room, "alice@example.org")}, false, statusNonAnonymous, statusSelf)},
		{"self-renamed", occupantPresence(room, user, occupant{Nick: "alice (2)", RealJID: user, ID: occupantID(room, "alice@example.org")}, false, statusNonAnonymous, statusSelf, statusNickChanged)},
		{"self-leave", occupantPresence(room, user, occupant{Nick: "alice", RealJID: user, ID: occupantID(room, "alice@example.org")}, true, statusSelf)},
		{"occupant-leave", occupantPresence(room, user, occupant{Nick: "Bob", RealJID: bob, ID: occupantID(room, "bob")}, true)},
		{"occupant-photo", occupantPresence(room, user, occupant{Nick: "Bob", RealJID: bob, ID: occupantID(room, "bob"), Photo: photoOf([]byte("bob's picture"))}, false)},
		{"occupant-no-photo", occupantPresence(room, user, occupant{Nick: "Bob", RealJID: bob, ID: occupantID(room, "bob"), Photo: photoOf(nil)}, false)},
		{"occupant-photo-leave", occupantPresence(room, user, occupant{Nick: "Bob", RealJID: bob, ID: occupantID(room, "bob"), Photo: photoOf([]byte("bob's picture"))}, true)},
		{"subject", subjectMessage(room, user, "s1", "Be nice")},
		{"subject-empty", subjectMessage(room, user, "s2", "")},
		{"message", roomMessageStanza(chat, MessageEvent{Sender: "bob", ID: "m1", Text: "hi alice", Mentions: []Mention{{User: "alice", Begin: 3, End: 8}}}, false)},
		{"message-history", roomMessageStanza(chat, MessageEvent{Sender: "bob", ID: "m0", Text: "earlier", Time: stamp, Historical: true}, true)},
		{"message-reply", roomMessageStanza(chat, MessageEvent{Sender: "bob", ID: "m2", Text: "yes", ReplyTo: "m1", SenderName: "Robert"}, false)},
		{"message-self", roomMessageStanza(selfChat, MessageEvent{Sender: "alice", FromSelf: true, ID: "m3", Text: "from my phone"}, false)},
		{"edit", inRoom(editStanza(chat, EditEvent{Sender: "bob", ID: "m1", Text: "hi again"}))},
		{"retraction", inRoom(retractionStanza(chat, RetractionEvent{Sender: "bob", ID: "m1"}))},
		{"reaction", inRoom(reactionStanza(chat, ReactionEvent{Sender: "bob", ID: "m1", Emojis: []string{"👍"}}))},
		{"typing", inRoom(typingStanza(chat, TypingEvent{Sender: "bob", State: TypingComposing}))},
		{"mam-result", mamResult(room, user, "q1", "x-m0", stamp, roomMessageStanza(chat, MessageEvent{Sender: "bob", ID: "m0", Text: "earlier", Time: stamp}, false))},
		{"mam-fin", &xmpp.IQ{Header: xmpp.Header{From: room, To: user, ID: "i1", Type: xmpp.IQResult}, Payload: mamFin("x-m0", "x-m1", false)}},
		{"mam-fin-empty", &xmpp.IQ{Header: xmpp.Header{From: room, To: user, ID: "i2", Type: xmpp.IQResult}, Payload: mamFin("", "", true)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			checkGolden(t, tc.name, tc.s.Element().String())
		})
	}
}

func TestXMPPURI(t *testing.T) {
	tests := []struct{ jid, want string }{
		{"bob@fake.example.org", "xmpp:bob@fake.example.org"},
		{"#lounge@fake.example.org/Bob (2)", "xmpp:%23lounge@fake.example.org/Bob%20(2)"},
		{"a?b@d/r#x", "xmpp:a%3Fb@d/r%23x"},
		{"d/ünï", "xmpp:d/ünï"},
	}
	for _, tc := range tests {
		if got := xmppURI(jid.MustParse(tc.jid)); got != tc.want {
			t.Errorf("xmppURI(%s) = %s, want %s", tc.jid, got, tc.want)
		}
	}
}

func TestRoomDisco(t *testing.T) {
	checkGolden(t, "disco-public", roomDisco("Lounge", "Be nice", false, 4, true).Element().String())
	checkGolden(t, "disco-private", roomDisco("secret", "", true, 0, false).Element().String())
}

func TestRoomLocalpart(t *testing.T) {
	tests := []struct {
		name string
		id   ChatID
		want string
	}{
		{"general", "C1", "#general"},
		{"Design Team", "C2", `#design\20team`},
		{"#already", "C3", "#already"},
		{"a@b", "C4", `#a\40b`},
		{"", "C0AB", "#c0ab"},
		{"  ", "C5", "#c5"},
		{"Ünïcode", "C6", "#ünïcode"},
	}
	for _, tc := range tests {
		if got := roomLocalpart(tc.name, tc.id, "fake.example.org"); got != tc.want {
			t.Errorf("roomLocalpart(%q, %q) = %q, want %q", tc.name, tc.id, got, tc.want)
		}
	}
	if got := roomLocalpart("", "", "fake.example.org"); !strings.HasPrefix(got, "#g-") {
		t.Errorf("no name nor ID: %q", got)
	}
}

func TestParseHistory(t *testing.T) {
	now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		xml   string
		max   int
		since time.Time
	}{
		{"", defaultHistory, time.Time{}},
		{`<x xmlns='http://jabber.org/protocol/muc'/>`, defaultHistory, time.Time{}},
		{`<x xmlns='http://jabber.org/protocol/muc'><history maxstanzas='5'/></x>`, 5, time.Time{}},
		{`<x xmlns='http://jabber.org/protocol/muc'><history maxstanzas='0'/></x>`, 0, time.Time{}},
		{`<x xmlns='http://jabber.org/protocol/muc'><history maxchars='0'/></x>`, 0, time.Time{}},
		{`<x xmlns='http://jabber.org/protocol/muc'><history maxstanzas='100000'/></x>`, maxHistory, time.Time{}},
		{`<x xmlns='http://jabber.org/protocol/muc'><history maxstanzas='-3'/></x>`, defaultHistory, time.Time{}},
		{`<x xmlns='http://jabber.org/protocol/muc'><history seconds='60'/></x>`, defaultHistory, now.Add(-time.Minute)},
		{`<x xmlns='http://jabber.org/protocol/muc'><history since='2026-12-04T11:00:00Z'/></x>`, defaultHistory, now.Add(-time.Hour)},
		{`<x xmlns='http://jabber.org/protocol/muc'><history since='2026-12-04T11:00:00Z' seconds='60'/></x>`, defaultHistory, now.Add(-time.Minute)},
		{`<x xmlns='http://jabber.org/protocol/muc'><history since='yesterday'/></x>`, defaultHistory, time.Time{}},
	}
	for _, tc := range tests {
		var x *xmpp.Element
		if tc.xml != "" {
			var err error
			if x, err = xmpp.ParseElement(tc.xml); err != nil {
				t.Fatal(err)
			}
		}
		h := parseHistory(x, now)
		if h.max != tc.max || !h.since.Equal(tc.since) {
			t.Errorf("%s: got %d since %v, want %d since %v", tc.xml, h.max, h.since, tc.max, tc.since)
		}
	}
}

func TestParseMAMQuery(t *testing.T) {
	tests := []struct {
		xml  string
		want mamQuery
	}{
		{`<query xmlns='urn:xmpp:mam:2'/>`, mamQuery{max: mamDefaultMax}},
		{`<query xmlns='urn:xmpp:mam:2' queryid='q'><set xmlns='http://jabber.org/protocol/rsm'><max>10</max><before/></set></query>`, mamQuery{queryID: "q", max: 10, backwards: true}},
		{`<query xmlns='urn:xmpp:mam:2'><set xmlns='http://jabber.org/protocol/rsm'><max>1000</max><before>x9</before></set></query>`, mamQuery{max: mamMaxMax, backwards: true, before: "x9"}},
		{`<query xmlns='urn:xmpp:mam:2'><set xmlns='http://jabber.org/protocol/rsm'><after>x9</after></set></query>`, mamQuery{max: mamDefaultMax, after: "x9"}},
		{`<query xmlns='urn:xmpp:mam:2'><x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE' type='hidden'><value>urn:xmpp:mam:2</value></field><field var='start'><value>2026-12-01T00:00:00Z</value></field><field var='end'><value>2026-12-02T00:00:00Z</value></field></x></query>`,
			mamQuery{max: mamDefaultMax, start: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), end: time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC)}},
	}
	for _, tc := range tests {
		q, err := xmpp.ParseElement(tc.xml)
		if err != nil {
			t.Fatal(err)
		}
		if got := parseMAMQuery(q); got != tc.want {
			t.Errorf("%s:\ngot  %+v\nwant %+v", tc.xml, got, tc.want)
		}
	}
}

func TestUniqueNicks(t *testing.T) {
	v := &roomView{room: jid.MustParse("#r@d"), members: map[UserID]GroupMember{}, nicks: map[string]UserID{}, self: "me"}
	v.setMembers([]GroupMember{
		{User: "u1", Nick: "Bob"}, {User: "u2", Nick: "Bob"}, {User: "me", Nick: "Me"},
		{User: "u3", Nick: ""}, {User: "u4", Nick: "Bob"}, {User: "u5", Nick: " Carol "},
	})
	want := map[UserID]string{"u1": "Bob", "u2": "Bob (2)", "u3": "u3", "u4": "Bob (3)", "u5": "Carol"}
	if len(v.members) != len(want) {
		t.Fatalf("members %v", v.members)
	}
	for u, n := range want {
		if v.members[u].Nick != n || v.nicks[n] != u {
			t.Errorf("%s: nick %q, want %q", u, v.members[u].Nick, n)
		}
	}
	// A rename frees the old nick.
	if m, _ := v.addMember(GroupMember{User: "u1", Nick: "Robert"}); m.Nick != "Robert" {
		t.Errorf("renamed to %q", m.Nick)
	}
	if m, _ := v.addMember(GroupMember{User: "u6", Nick: "Bob"}); m.Nick != "Bob" {
		t.Errorf("the freed nick is %q", m.Nick)
	}
}

func FuzzParseHistory(f *testing.F) {
	f.Add(`<x xmlns='http://jabber.org/protocol/muc'><history maxstanzas='5' seconds='60' since='2026-12-04T11:00:00Z'/></x>`)
	f.Add(`<x xmlns='http://jabber.org/protocol/muc'><history maxchars='0'/></x>`)
	now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, doc string) {
		x, err := xmpp.ParseElement(doc)
		if err != nil {
			return
		}
		h := parseHistory(x, now)
		if h.max < 0 || h.max > maxHistory {
			t.Errorf("max %d out of bounds", h.max)
		}
	})
}

func FuzzParseMAMQuery(f *testing.F) {
	f.Add(`<query xmlns='urn:xmpp:mam:2' queryid='q'><set xmlns='http://jabber.org/protocol/rsm'><max>10</max><before>x</before></set></query>`)
	f.Add(`<query xmlns='urn:xmpp:mam:2'><x xmlns='jabber:x:data' type='submit'><field var='start'><value>2026-12-01T00:00:00Z</value></field></x></query>`)
	f.Fuzz(func(t *testing.T, doc string) {
		q, err := xmpp.ParseElement(doc)
		if err != nil {
			return
		}
		mq := parseMAMQuery(q)
		if mq.max < 0 || mq.max > mamMaxMax {
			t.Errorf("max %d out of bounds", mq.max)
		}
	})
}
