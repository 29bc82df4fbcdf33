package community

import (
	"testing"

	"github.com/xgate-im/xgate/bridge"
	"github.com/xgate-im/xgate/xmpp"
	"github.com/xgate-im/xgate/xmpp/jid"
)

// skippingComponent records the filters installed on it.
type skippingComponent struct {
	fakeComponent
	filters *[]func(*xmpp.Element) bool
}

func (c skippingComponent) SkipStanzas(f func(start *xmpp.Element) bool) {
	*c.filters = append(*c.filters, f)
}

// The puppets' copies of the room's messages are dropped unread, and
// nothing else: the listener's copies, the reflections awaited, presence,
// errors, private messages, and messages from elsewhere pass.
func TestSkipPuppetCopies(t *testing.T) {
	var filters []func(*xmpp.Element) bool
	comp := skippingComponent{fakeComponent{jid.MustParse("slack.localhost")}, &filters}
	h, err := New(Config{Name: "g", Room: jid.MustParse("room@conference.localhost"), Networks: []Network{{
		Name: "slack", Channel: "C1", Bridger: noBridger{}, Component: comp,
		Localpart: func(u bridge.UserID) string { return string(u) },
	}}}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := NewMux().Add(h); err != nil {
		t.Fatal(err)
	}
	if len(filters) != 1 {
		t.Fatalf("%d filters installed, want 1", len(filters))
	}
	alice, err := h.room.puppet("slack", "u1", "Alice")
	if err != nil {
		t.Fatal(err)
	}
	carol, err := h.room.puppet("slack", "u3", "Carol")
	if err != nil {
		t.Fatal(err)
	}
	h.room.waits["awaited"] = make(chan error, 1)
	h.room.waitBy["awaited"] = alice
	h.room.waits["carol-1"] = make(chan error, 1)
	h.room.waitBy["carol-1"] = carol
	const (
		puppet   = "u1@slack.localhost/bridge-g"
		listener = "slack.localhost/bridge-g"
		bob      = "room@conference.localhost/bob"
	)
	cases := []struct {
		name, stanza string
		skip         bool
	}{
		{"a puppet's copy", "<message type='groupchat' from='" + bob + "' to='" + puppet + "' id='m1'><body>hi</body></message>", true},
		{"a puppet's copy without id", "<message type='groupchat' from='" + bob + "' to='" + puppet + "'><body>hi</body></message>", true},
		{"the reflection awaited", "<message type='groupchat' from='room@conference.localhost/Alice' to='" + puppet + "' id='awaited'/>", false},
		{"a puppet's copy of another puppet's message awaited", "<message type='groupchat' from='room@conference.localhost/Carol' to='" + puppet + "' id='carol-1'/>", true},
		{"the listener's copy", "<message type='groupchat' from='" + bob + "' to='" + listener + "' id='m1'/>", false},
		{"a private message", "<message type='chat' from='" + bob + "' to='" + puppet + "' id='m2'/>", false},
		{"an error", "<message type='error' from='room@conference.localhost' to='" + puppet + "' id='m3'/>", false},
		{"presence", "<presence from='" + bob + "' to='" + puppet + "'/>", false},
		{"an IQ", "<iq type='get' from='" + bob + "' to='" + puppet + "' id='i1'/>", false},
		{"from the room itself", "<message type='groupchat' from='room@conference.localhost' to='" + puppet + "'/>", false},
		{"from another room", "<message type='groupchat' from='other@conference.localhost/bob' to='" + puppet + "'/>", false},
		{"from a room whose name starts alike", "<message type='groupchat' from='room@conference.localhostx/bob' to='" + puppet + "'/>", false},
		{"to a person not a puppet", "<message type='groupchat' from='" + bob + "' to='u2@slack.localhost/bridge-g'/>", false},
	}
	for _, tc := range cases {
		el, err := xmpp.ParseElement(tc.stanza)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		start := &xmpp.Element{Name: el.Name, Attr: el.Attr}
		if got := filters[0](start); got != tc.skip {
			t.Errorf("%s: skip %v, want %v", tc.name, got, tc.skip)
		}
	}
}
