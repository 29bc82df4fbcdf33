package bridge_test

import (
	"fmt"
	"testing"

	"github.com/xgate-im/xgate/bridge"
	"github.com/xgate-im/xgate/bridge/bridgetest"
	"github.com/xgate-im/xgate/xmpp"
)

// While the host server is down, messages from the network are stored and
// then delivered in order when it comes back.
func TestHostOutageKeepsMessagesInOrder(t *testing.T) {
	states := make(chan xmpp.State, 64)
	e := newEnv(t, func(c *bridge.Config) {
		c.Component.OnState = func(s xmpp.State, _ error) { states <- s }
	})
	e.tr.SetContacts("acct-a", bridge.Contact{ID: "bob", Name: "Bob"})
	e.register(alice, "good-a")
	e.expectPresence(func(p *xmpp.Presence) bool { return p.Type == "subscribe" && p.From.Local() == "bob" })

	e.srv.Refuse(true)
	e.conn.Close()
	for s := range states {
		if s == xmpp.StateDisconnected {
			break
		}
	}
	const n = 20
	for i := range n {
		if err := e.tr.Emit(e.ctx(), "acct-a", bridge.MessageEvent{Chat: bobChat, Sender: "bob", ID: bridge.MessageID(fmt.Sprint("r", i)), Text: fmt.Sprint("msg ", i)}); err != nil {
			t.Fatal(err)
		}
	}
	if got, _ := e.db.OutboxLen(); got != n {
		t.Fatalf("outbox holds %d, want %d", got, n)
	}
	e.srv.Refuse(false)
	conn, err := e.srv.Accept(e.ctx())
	if err != nil {
		t.Fatal(err)
	}
	conn.ReadAhead()
	e.conn = conn
	for i := range n {
		m := e.expectMessage(func(m *xmpp.Message) bool { return m.Body != "" })
		if m.Body != fmt.Sprint("msg ", i) {
			t.Fatalf("message %d is %q", i, m.Body)
		}
	}
	if snap := e.gw.Metrics().Snapshot(); snap.QueuedForXMPP != n {
		t.Fatalf("metrics %+v", snap)
	}
}

// Messages to the network survive a gateway restart while the network
// fails, and are sent afterwards, in order.
func TestQueuedMessagesSurviveRestart(t *testing.T) {
	e := withBob(t)
	var fails []error
	for range 1000 {
		fails = append(fails, fmt.Errorf("503: %w", bridge.ErrTemporary))
	}
	e.tr.FailSends(fails...)
	for i := range 3 {
		e.send(`<message type='chat' id='q%d' from='alice@example.org/a' to='bob@fake.example.org'><body>q%d</body><request xmlns='urn:xmpp:receipts'/></message>`, i, i)
	}
	// Wait until the first failure was recorded: the items are stored.
	e.send(`<message type='chat' from='alice@example.org/a' to='fake.example.org'><body>status</body></message>`)
	e.expectMessage(func(m *xmpp.Message) bool { return m.From.String() == domain })
	e.restart()
	e.tr.ClearFailures()
	sent, err := e.tr.WaitSent(e.ctx(), 3)
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range sent {
		if s.Msg.Text != fmt.Sprint("q", i) {
			t.Fatalf("sent %d = %q", i, s.Msg.Text)
		}
	}
	e.expectMessage(func(m *xmpp.Message) bool {
		return len(m.Extra) > 0 && m.Extra[0].Name.Local == "received" && m.Extra[0].AttrValue("id") == "q2"
	})
}

// Two gateways in one process share a store: each keeps its own backlog
// and counts only its own.
func TestOutboxIsPerGateway(t *testing.T) {
	states := make(chan xmpp.State, 64)
	e := newEnv(t, func(c *bridge.Config) {
		c.Component.OnState = func(s xmpp.State, _ error) { states <- s }
	})
	e.register(alice, "good-a")
	e.srv.Refuse(true)
	e.conn.Close()
	for s := range states {
		if s == xmpp.StateDisconnected {
			break
		}
	}
	for i := range 3 {
		e.tr.Emit(e.ctx(), "acct-a", bridge.MessageEvent{Chat: bobChat, Sender: "bob", ID: bridge.MessageID(fmt.Sprint(i)), Text: "x"})
	}
	if n, err := e.gw.OutboxLen(); err != nil || n != 3 {
		t.Fatalf("OutboxLen %d %v", n, err)
	}
	other, err := bridge.New(bridge.Config{Name: "other", Component: xmpp.ComponentConfig{Addr: e.srv.Addr(), Domain: "other.example.org"}}, bridgetest.New(), e.db, nil)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := other.OutboxLen(); err != nil || n != 0 {
		t.Fatalf("other gateway counts %d %v", n, err)
	}
	e.srv.Refuse(false)
	conn, err := e.srv.Accept(e.ctx())
	if err != nil {
		t.Fatal(err)
	}
	conn.ReadAhead()
	e.conn = conn
}
