package community

import (
	"context"
	"errors"
	"testing"

	"github.com/xgate-im/xgate/bridge"
	"github.com/xgate-im/xgate/xmpp"
	"github.com/xgate-im/xgate/xmpp/jid"
)

func TestNickFor(t *testing.T) {
	puppet := &occupant{base: "alice", network: "slack"}
	listener := &occupant{base: "bridge", listener: true}
	cases := []struct {
		o       *occupant
		attempt int
		want    string
	}{
		{puppet, 0, "alice"},
		{puppet, 1, "alice (slack)"},
		{puppet, 2, "alice (slack 2)"},
		{puppet, 5, "alice (slack 5)"},
		{listener, 0, "bridge"},
		{listener, 1, "bridge 2"},
	}
	for _, tc := range cases {
		if got := nickFor(tc.o, tc.attempt); got != tc.want {
			t.Errorf("nickFor(%q, %d) = %q, want %q", tc.o.base, tc.attempt, got, tc.want)
		}
	}
}

func TestJoinAndSendErrors(t *testing.T) {
	cases := []struct {
		cond       xmpp.Condition
		join, send error
	}{
		{xmpp.CondConflict, errConflict, nil},
		{xmpp.CondForbidden, ErrBarred, ErrBarred},
		{xmpp.CondItemNotFound, ErrRoomGone, errNotJoined},
		{xmpp.CondRegistrationRequired, ErrRoomGone, nil},
		{xmpp.CondNotAcceptable, nil, errNotJoined},
		{xmpp.CondServiceUnavailable, nil, nil},
	}
	for _, tc := range cases {
		e := xmpp.NewStanzaError(tc.cond, "")
		jerr, serr := joinError(e), sendError(e)
		if tc.join != nil && !errors.Is(jerr, tc.join) {
			t.Errorf("join %s: %v, want %v", tc.cond, jerr, tc.join)
		}
		if tc.join == nil && (permanent(jerr) || errors.Is(jerr, errConflict)) {
			t.Errorf("join %s: %v should be temporary", tc.cond, jerr)
		}
		if tc.send != nil && !errors.Is(serr, tc.send) {
			t.Errorf("send %s: %v, want %v", tc.cond, serr, tc.send)
		}
		if tc.send == nil && permanent(serr) {
			t.Errorf("send %s: %v should be temporary", tc.cond, serr)
		}
	}
}

// fakeComponent is enough of a component for configuration checks; it
// sends nothing.
type fakeComponent struct{ domain jid.JID }

func (c fakeComponent) Domain() jid.JID                         { return c.domain }
func (c fakeComponent) Send(context.Context, xmpp.Stanza) error { return errors.New("not connected") }
func (c fakeComponent) Request(context.Context, *xmpp.IQ) (*xmpp.IQ, error) {
	return nil, errors.New("not connected")
}

type noBridger struct{}

func (noBridger) WillBridge(bridge.ChatID) {}

func (noBridger) BridgeChannel(context.Context, bridge.ChatID, bridge.Sink) (bridge.Session, error) {
	return nil, bridge.ErrUnsupported
}

func TestConfigChecks(t *testing.T) {
	room := jid.MustParse("room@conference.localhost")
	net := Network{Name: "slack", Channel: "C1", Bridger: noBridger{}, Component: fakeComponent{jid.MustParse("slack.localhost")},
		Localpart: func(u bridge.UserID) string { return string(u) }}
	cases := []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{"valid", Config{Name: "g", Room: room, Networks: []Network{net}}, true},
		{"no name", Config{Room: room, Networks: []Network{net}}, false},
		{"full room JID", Config{Name: "g", Room: jid.MustParse("room@conference.localhost/nick"), Networks: []Network{net}}, false},
		{"domain room", Config{Name: "g", Room: jid.MustParse("conference.localhost"), Networks: []Network{net}}, false},
		{"no network", Config{Name: "g", Room: room}, false},
		{"network twice", Config{Name: "g", Room: room, Networks: []Network{net, net}}, false},
		{"network named xmpp", Config{Name: "g", Room: room, Networks: []Network{{Name: "xmpp", Channel: "C1", Bridger: noBridger{}, Component: net.Component, Localpart: net.Localpart}}}, false},
	}
	for _, tc := range cases {
		_, err := New(tc.cfg, nil, nil)
		if (err == nil) != tc.ok {
			t.Errorf("%s: %v", tc.name, err)
		}
		if err != nil && !errors.Is(err, ErrConfig) {
			t.Errorf("%s: %v is not ErrConfig", tc.name, err)
		}
	}
	h, err := New(Config{Name: "g", Room: room, Networks: []Network{net}}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if h.cfg.ListenerNick != DefaultListenerNick || h.cfg.IdleTimeout != DefaultIdleTimeout || h.cfg.SelfPing != DefaultSelfPing {
		t.Errorf("defaults %+v", h.cfg)
	}
	m := NewMux()
	if err := m.Add(h); err != nil {
		t.Fatal(err)
	}
	if err := m.Add(h); !errors.Is(err, ErrConfig) {
		t.Errorf("a room in two groups: %v", err)
	}
	for from, want := range map[string]bool{
		"room@conference.localhost/alice": true, "room@conference.localhost": true,
		"other@conference.localhost/alice": false, "alice@localhost/x": false,
	} {
		if got := m.Claims(jid.MustParse(from)); got != want {
			t.Errorf("Claims(%s) = %v", from, got)
		}
	}
}

func TestWithAttachments(t *testing.T) {
	atts := []bridge.Attachment{{URL: "https://x/a.png"}, {URL: "https://x/b.pdf"}}
	for _, tc := range []struct {
		text string
		atts []bridge.Attachment
		want string
	}{
		{"hi", nil, "hi"},
		{"hi", atts, "hi\nhttps://x/a.png\nhttps://x/b.pdf"},
		{"", atts[:1], "https://x/a.png"},
	} {
		if got := withAttachments(tc.text, tc.atts); got != tc.want {
			t.Errorf("withAttachments(%q) = %q, want %q", tc.text, got, tc.want)
		}
	}
}
