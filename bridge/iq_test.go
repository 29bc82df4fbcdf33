package bridge_test

import (
	"testing"

	"github.com/xgate-im/xgate/xmpp"
	"github.com/xgate-im/xgate/xmpp/disco"
)

func TestGatewayIQs(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name    string
		request string
		check   func(t *testing.T, iq *xmpp.IQ)
	}{
		{"disco#info of the gateway", `<iq type='get' id='i1' from='alice@example.org/a' to='fake.example.org'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>`,
			func(t *testing.T, iq *xmpp.IQ) {
				info, err := disco.ParseInfo(iq.Payload)
				if err != nil {
					t.Fatal(err)
				}
				if len(info.Identities) != 1 || info.Identities[0].Category != "gateway" || info.Identities[0].Type != "fake" {
					t.Errorf("identities %+v", info.Identities)
				}
				for _, f := range []string{"jabber:iq:register", "http://jabber.org/protocol/commands", "jabber:iq:gateway", "urn:xmpp:ping", "jabber:iq:version"} {
					if !info.HasFeature(f) {
						t.Errorf("missing feature %s", f)
					}
				}
			}},
		{"disco#items of commands", `<iq type='get' id='i2' from='alice@example.org/a' to='fake.example.org'><query xmlns='http://jabber.org/protocol/disco#items' node='http://jabber.org/protocol/commands'/></iq>`,
			func(t *testing.T, iq *xmpp.IQ) {
				items, err := disco.ParseItems(iq.Payload)
				if err != nil {
					t.Fatal(err)
				}
				var nodes []string
				for _, it := range items.Items {
					nodes = append(nodes, it.Node)
				}
				if len(nodes) != 3 || nodes[0] != "register" || nodes[1] != "unregister" || nodes[2] != "status" {
					t.Errorf("nodes %v (admin commands must not be listed for non-admins)", nodes)
				}
			}},
		{"admin sees admin commands", `<iq type='get' id='i3' from='admin@example.org/a' to='fake.example.org'><query xmlns='http://jabber.org/protocol/disco#items' node='http://jabber.org/protocol/commands'/></iq>`,
			func(t *testing.T, iq *xmpp.IQ) {
				items, _ := disco.ParseItems(iq.Payload)
				if len(items.Items) != 5 || items.Items[3].Node != "users" || items.Items[4].Node != "statistics" {
					t.Errorf("items %+v", items.Items)
				}
			}},
		{"version", `<iq type='get' id='i4' from='alice@example.org/a' to='fake.example.org'><query xmlns='jabber:iq:version'/></iq>`,
			func(t *testing.T, iq *xmpp.IQ) {
				if iq.Type != "result" || iq.Payload.ChildText("", "name") != "xgate" || iq.Payload.ChildText("", "version") != "test" {
					t.Errorf("got %s", iq.Element())
				}
			}},
		{"ping the gateway", `<iq type='get' id='i5' from='alice@example.org/a' to='fake.example.org'><ping xmlns='urn:xmpp:ping'/></iq>`,
			func(t *testing.T, iq *xmpp.IQ) {
				if iq.Type != "result" {
					t.Errorf("got %s", iq.Element())
				}
			}},
		{"unknown get", `<iq type='get' id='i6' from='alice@example.org/a' to='fake.example.org'><query xmlns='urn:example:unknown'/></iq>`,
			func(t *testing.T, iq *xmpp.IQ) {
				if errCond(iq) != xmpp.CondServiceUnavailable {
					t.Errorf("got %s", iq.Element())
				}
			}},
		{"unknown set", `<iq type='set' id='i7' from='alice@example.org/a' to='fake.example.org'><pubsub xmlns='http://jabber.org/protocol/pubsub'/></iq>`,
			func(t *testing.T, iq *xmpp.IQ) {
				if errCond(iq) != xmpp.CondServiceUnavailable {
					t.Errorf("got %s", iq.Element())
				}
			}},
		{"disco of unknown contact", `<iq type='get' id='i8' from='alice@example.org/a' to='nobody@fake.example.org'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>`,
			func(t *testing.T, iq *xmpp.IQ) {
				if errCond(iq) != xmpp.CondItemNotFound {
					t.Errorf("got %s", iq.Element())
				}
			}},
		{"gateway prompt", `<iq type='get' id='i9' from='alice@example.org/a' to='fake.example.org'><query xmlns='jabber:iq:gateway'/></iq>`,
			func(t *testing.T, iq *xmpp.IQ) {
				if iq.Payload.ChildText("", "prompt") != "Fakenet user" {
					t.Errorf("got %s", iq.Element())
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.send("%s", tt.request)
			el, err := xmpp.Parse(mustElement(t, tt.request))
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, e.expectIQ(el.Head().ID))
		})
	}
}

func mustElement(t *testing.T, s string) *xmpp.Element {
	t.Helper()
	el, err := xmpp.ParseElement(s)
	if err != nil {
		t.Fatal(err)
	}
	return el
}

func TestUnknownContactMessageIsBounced(t *testing.T) {
	e := newEnv(t)
	e.register(alice, "good-a")
	e.send(`<message type='chat' id='m1' from='alice@example.org/a' to='ghost@fake.example.org'><body>hi</body></message>`)
	m := e.expectMessage(func(m *xmpp.Message) bool { return m.ID == "m1" })
	if m.Type != "error" || errCond(m) != xmpp.CondItemNotFound || m.To.String() != "alice@example.org/a" {
		t.Fatalf("got %s", m.Element())
	}
}
