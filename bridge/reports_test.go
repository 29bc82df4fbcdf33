package bridge_test

import (
	"strings"
	"testing"

	"github.com/xgate-im/xgate/bridge"
	"github.com/xgate-im/xgate/bridge/bridgetest"
	"github.com/xgate-im/xgate/xmpp"
)

// A transport that reports delivery (Capabilities.DeliveryReports): the
// receipt a sender asked for comes when the network reports the message
// delivered, not when it accepted it, and only if asked; a late failure is
// an error addressed to the client that sent the message. What the bridge
// remembers of the sends survives a restart.
func TestDeliveryReportsCapability(t *testing.T) {
	tr := bridgetest.New()
	tr.Caps = func(c *bridge.Capabilities) { c.DeliveryReports = true }
	e := newEnvWith(t, tr)
	e.tr.SetContacts("acct-a", bridge.Contact{ID: "bob", Name: "Bob"})
	e.register(alice, "good-a")
	e.expectPresence(func(p *xmpp.Presence) bool { return p.Type == "subscribe" && p.From.Local() == "bob" })

	e.send(`<message type='chat' id='x1' from='alice@example.org/phone' to='bob@fake.example.org'><body>one</body><request xmlns='urn:xmpp:receipts'/></message>`)
	e.send(`<message type='chat' id='x2' from='alice@example.org/tablet' to='bob@fake.example.org'><body>two</body><request xmlns='urn:xmpp:receipts'/></message>`)
	e.send(`<message type='chat' id='x3' from='alice@example.org/phone' to='bob@fake.example.org'><body>three</body></message>`)
	sent, err := e.tr.WaitSent(e.ctx(), 3)
	if err != nil {
		t.Fatal(err)
	}
	e.restart()
	if err := e.tr.WaitLogin(e.ctx(), "acct-a"); err != nil {
		t.Fatal(err)
	}
	for _, ev := range []bridge.DeliveryEvent{
		{Chat: bobChat, ID: sent[0].ID, State: bridge.Delivered},
		{Chat: bobChat, ID: sent[2].ID, State: bridge.Delivered},
		{Chat: bobChat, ID: sent[1].ID, State: bridge.Failed, Reason: "not delivered: carrier filtered"},
	} {
		if err := e.tr.Emit(e.ctx(), "acct-a", ev); err != nil {
			t.Fatal(err)
		}
	}
	m := e.expectMessage(func(m *xmpp.Message) bool { return m.ID == "x2" && m.Type == xmpp.MessageError })
	if m.To.String() != "alice@example.org/tablet" || m.From.Local() != "bob" || m.Error == nil || !strings.Contains(m.Error.Text, "carrier filtered") {
		t.Fatalf("failure: %s", m.Element())
	}
	// Every stanza before the failure is in the backlog: one receipt, for
	// x1, to the client that asked for it.
	var receipts []string
	for _, s := range e.backlog {
		if m, ok := s.(*xmpp.Message); ok {
			for _, x := range m.Extra {
				if x.Name.Space == bridge.NSReceipts && x.Name.Local == "received" {
					receipts = append(receipts, x.AttrValue("id")+" to "+m.To.String())
				}
			}
		}
	}
	if len(receipts) != 1 || receipts[0] != "x1 to alice@example.org/phone" {
		t.Fatalf("receipts %q", receipts)
	}
	// A report repeated after the final state changes nothing.
	if err := e.tr.Emit(e.ctx(), "acct-a", bridge.DeliveryEvent{Chat: bobChat, ID: sent[1].ID, State: bridge.Failed, Reason: "again"}); err != nil {
		t.Fatal(err)
	}
}
