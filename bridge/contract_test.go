package bridge_test

import (
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/xgate-im/xgate/bridge"
	"github.com/xgate-im/xgate/bridge/bridgetest"
	"github.com/xgate-im/xgate/xmpp"
)

// What became of a message the user sent reaches the user on that message:
// a receipt, a displayed marker, or an error with the network's reason.
func TestDeliveryStates(t *testing.T) {
	e := withBob(t)
	e.send(`<message type='chat' id='x1' from='alice@example.org/a' to='bob@fake.example.org'><body>hi</body><request xmlns='urn:xmpp:receipts'/></message>`)
	sent, err := e.tr.WaitSent(e.ctx(), 1)
	if err != nil {
		t.Fatal(err)
	}
	remote := sent[0].ID
	// The network accepted it: the gateway's own receipt.
	e.expectMessage(func(m *xmpp.Message) bool { return len(m.Extra) > 0 && m.Extra[0].Name.Local == "received" })
	tests := []struct {
		name  string
		ev    bridge.DeliveryEvent
		match func(*xmpp.Message) bool
	}{
		{"delivered", bridge.DeliveryEvent{Chat: bobChat, ID: remote, State: bridge.Delivered}, func(m *xmpp.Message) bool {
			return len(m.Extra) == 1 && m.Extra[0].Name.Space == bridge.NSReceipts && m.Extra[0].AttrValue("id") == "x1"
		}},
		{"read", bridge.DeliveryEvent{Chat: bobChat, ID: remote, State: bridge.Read}, func(m *xmpp.Message) bool {
			return len(m.Extra) == 1 && m.Extra[0].Name.Local == "displayed" && m.Extra[0].AttrValue("id") == "x1"
		}},
		{"failed", bridge.DeliveryEvent{Chat: bobChat, ID: remote, State: bridge.Failed, Reason: "Carrier rejected the message (landline)."}, func(m *xmpp.Message) bool {
			return m.Type == "error" && m.ID == "x1" && m.Error != nil && strings.Contains(m.Error.Text, "landline")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := e.tr.Emit(e.ctx(), "acct-a", tt.ev); err != nil {
				t.Fatal(err)
			}
			m := e.expectMessage(func(m *xmpp.Message) bool { return m.From.Local() == "bob" })
			if !tt.match(m) || m.To.String() != alice {
				t.Fatalf("got %s", m.Element())
			}
		})
	}
}

// The sender's name the network gives with a message becomes its nick.
func TestSenderNameOnIncomingMessages(t *testing.T) {
	e := withBob(t)
	e.tr.Emit(e.ctx(), "acct-a", bridge.MessageEvent{Chat: bobChat, Sender: "bob", ID: "r1", Text: "hi", SenderName: "Bob (via webhook)", SenderAvatarURL: "https://example.org/b.png"})
	m := e.expectMessage(func(m *xmpp.Message) bool { return m.ID == "r1" })
	var nick string
	for _, x := range m.Extra {
		if x.Name.Space == bridge.NSNick {
			nick = x.Text()
		}
	}
	if nick != "Bob (via webhook)" {
		t.Fatalf("nick %q in %s", nick, m.Element())
	}
}

// A chat that cannot do what the network generally can refuses it with
// feature-not-implemented; other chats still can.
func TestPerChatCapabilities(t *testing.T) {
	tr := bridgetest.New()
	tr.ChatCaps = func(c bridge.ChatRef, caps *bridge.Capabilities) {
		if c.Peer == "landline" {
			caps.Reactions, caps.Edits = false, false
		}
	}
	e := newEnvWith(t, tr)
	e.tr.SetContacts("acct-a", bridge.Contact{ID: "bob", Name: "Bob"}, bridge.Contact{ID: "landline", Name: "Office"})
	e.register(alice, "good-a")
	for _, peer := range []string{"landline", "bob"} {
		e.expectPresence(func(p *xmpp.Presence) bool { return p.Type == "subscribe" && p.From.Local() == peer })
		id := "r-" + peer
		e.tr.Emit(e.ctx(), "acct-a", bridge.MessageEvent{Chat: bridge.ChatRef{Kind: bridge.Direct, Peer: bridge.UserID(peer)}, Sender: bridge.UserID(peer), ID: bridge.MessageID(id), Text: "hi"})
		e.expectMessage(func(m *xmpp.Message) bool { return m.ID == id })
		e.send(`<message type='chat' id='re-%s' from='alice@example.org/a' to='%s@fake.example.org'><reactions xmlns='urn:xmpp:reactions:0' id='%s'><reaction>👍</reaction></reactions></message>`, peer, peer, id)
	}
	m := e.expectMessage(func(m *xmpp.Message) bool { return m.ID == "re-landline" })
	if errCond(m) != xmpp.CondFeatureNotImplemented {
		t.Fatalf("reaction in the landline chat: %s", m.Element())
	}
	sent, err := e.tr.WaitSentKind(e.ctx(), "react", 1)
	if err != nil || sent[0].Chat.Peer != "bob" {
		t.Fatalf("reactions sent %+v %v", sent, err)
	}
}

// Group events (until the room part exists) are counted as unmapped and
// accepted, never refused: refusing would make the network send them
// again forever.
func TestGroupEventsAreCountedUnmapped(t *testing.T) {
	e := withBob(t)
	evs := []bridge.Event{
		bridge.GroupEvent{Group: bridge.GroupInfo{ID: "C1", Name: "general"}},
		bridge.MemberEvent{Chat: "C1", Member: bridge.GroupMember{User: "bob", Nick: "Bob"}},
		bridge.TopicEvent{Chat: "C1", Topic: "hi", By: "bob"},
		bridge.MessageEvent{Chat: bridge.ChatRef{Kind: bridge.Group, ID: "C1"}, Sender: "bob", ID: "g1", Text: "to all"},
	}
	for _, ev := range evs {
		if err := e.tr.Emit(e.ctx(), "acct-a", ev); err != nil {
			t.Fatalf("%T: %v", ev, err)
		}
	}
	if n := e.gw.Metrics().Snapshot().Events["unmapped"]; n != uint64(len(evs)) {
		t.Fatalf("unmapped %d, want %d", n, len(evs))
	}
}

// A sender the network gives no profile for (a webhook, a bot) has the
// name and picture of their messages in their vCard (XEP-0054; its PHOTO
// is the XEP-0153 avatar), fetched once and cached; a sender with a
// profile keeps the profile's picture.
func TestSenderAvatarInVCard(t *testing.T) {
	png := []byte("\x89PNG\r\n\x1a\nhook-avatar")
	var hits atomic.Int64
	pics := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		switch r.URL.Path {
		case "/hook.png":
			w.Header().Set("Content-Type", "image/png")
			w.Write(png)
		case "/huge.png":
			w.Header().Set("Content-Type", "image/png")
			w.Write(make([]byte, 1<<20))
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(pics.Close)
	e := newEnv(t, func(c *bridge.Config) { c.AvatarClient = pics.Client() })
	e.tr.SetContacts("acct-a", bridge.Contact{ID: "bob", Name: "Bob Builder"})
	e.register(alice, "good-a")
	e.expectPresence(func(p *xmpp.Presence) bool { return p.Type == "subscribe" && p.From.Local() == "bob" })

	from := map[string]string{}
	for _, ev := range []bridge.MessageEvent{
		{Sender: "hook-1", SenderName: "Deploy bot", SenderAvatarURL: pics.URL + "/hook.png"},
		{Sender: "hook-2", SenderName: "Big bot", SenderAvatarURL: pics.URL + "/huge.png"},
		{Sender: "bob", SenderName: "Bob (via webhook)", SenderAvatarURL: pics.URL + "/other.png"},
	} {
		ev.Chat, ev.ID, ev.Text = bridge.ChatRef{Kind: bridge.Direct, Peer: ev.Sender}, bridge.MessageID("m-"+ev.Sender), "hi"
		if err := e.tr.Emit(e.ctx(), "acct-a", ev); err != nil {
			t.Fatal(err)
		}
		from[string(ev.Sender)] = e.expectMessage(func(m *xmpp.Message) bool { return m.ID == string(ev.ID) }).From.String()
	}
	vcard := func(id, to string) *xmpp.IQ {
		t.Helper()
		e.send(`<iq type='get' id='%s' from='alice@example.org/a' to='%s'><vCard xmlns='vcard-temp'/></iq>`, id, to)
		iq := e.expectIQ(id)
		if iq.Type != xmpp.IQResult {
			t.Fatalf("vCard of %s: %s", to, iq.Element())
		}
		return iq
	}
	photo := func(iq *xmpp.IQ) (typ, binval string) {
		if p := iq.Payload.Child("", "PHOTO"); p != nil {
			return p.ChildText("", "TYPE"), p.ChildText("", "BINVAL")
		}
		return "", ""
	}
	for _, id := range []string{"v1", "v2"} {
		iq := vcard(id, from["hook-1"])
		typ, bin := photo(iq)
		if iq.Payload.ChildText("", "FN") != "Deploy bot" || typ != "image/png" || bin != base64.StdEncoding.EncodeToString(png) {
			t.Fatalf("webhook sender's vCard %s", iq.Element())
		}
	}
	if n := hits.Load(); n != 1 {
		t.Fatalf("the picture was fetched %d times, want once", n)
	}
	iq := vcard("v3", from["hook-2"])
	if _, bin := photo(iq); iq.Payload.ChildText("", "FN") != "Big bot" || bin != "" {
		t.Fatalf("a picture over the size limit is in the vCard: FN %q, %d base64 bytes", iq.Payload.ChildText("", "FN"), len(bin))
	}
	iq = vcard("v4", from["bob"])
	if _, bin := photo(iq); iq.Payload.ChildText("", "FN") != "Bob Builder" || bin != base64.StdEncoding.EncodeToString(bridgetest.AvatarPNG) {
		t.Fatalf("a sender with a profile: %s", iq.Element())
	}
	if n := hits.Load(); n != 2 {
		t.Fatalf("%d fetches, want 2 (the profile's picture wins over the message's)", n)
	}
}
