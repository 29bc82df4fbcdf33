package bridge_test

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/xgate-im/xgate/bridge"
	"github.com/xgate-im/xgate/xmpp"
)

// writeGate holds back the component's writes to the host server while
// closed, as a host server that stops reading does: the component's writer
// blocks in its socket write and its send queue fills.
type writeGate struct{ mu sync.RWMutex }

// dial is a ComponentConfig.Dial whose connections write through the gate.
func (g *writeGate) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	return gatedConn{c, g}, nil
}

func (g *writeGate) close() { g.mu.Lock() }
func (g *writeGate) open()  { g.mu.Unlock() }

type gatedConn struct {
	net.Conn
	g *writeGate
}

func (c gatedConn) Write(b []byte) (int, error) {
	c.g.mu.RLock()
	c.g.mu.RUnlock()
	return c.Conn.Write(b)
}

// An allowed user whose messages the gateway must bounce (they name no
// known contact) while the send queue to the host server is full does not
// hold up another user: each bounce is stored at once instead of waiting
// for room in the queue (before, 5 s each on the dispatcher, which every
// user's stanzas go through). The bounces arrive once the server reads
// again.
func TestBouncesDoNotWaitOnAFullSendQueue(t *testing.T) {
	gate := &writeGate{}
	e := newEnv(t, func(c *bridge.Config) {
		c.Component.SendQueue = 4
		c.Component.Dial = gate.dial
	})
	e.tr.SetContacts("acct-a", bridge.Contact{ID: "bob", Name: "Bob Builder"})
	e.register(alice, "good-a")
	e.expectPresence(func(p *xmpp.Presence) bool { return p.Type == "subscribe" && p.From.Local() == "bob" })

	gate.close()
	opened := false
	reopen := func() {
		if !opened {
			opened = true
			gate.open()
		}
	}
	t.Cleanup(reopen) // before the env stops the gateway
	// Fill the send queue with answers: the writer blocks on the first
	// ones, the next four fill the queue.
	ctx := e.ctx()
	comp := e.gw.Component()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for i := 0; ; i++ {
		st := comp.Stats()
		if st.QueueLen == st.QueueCap {
			break
		}
		e.send(`<iq type='get' id='fill%d' from='alice@example.org/a' to='%s'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>`, i, domain)
		select {
		case <-ctx.Done():
			t.Fatalf("the send queue did not fill: %+v", st)
		case <-tick.C:
		}
	}

	const bounced = 3
	for i := range bounced {
		e.send(`<message type='chat' id='u%d' from='carol@example.org/c' to='nobody@%s'><body>anyone?</body></message>`, i, domain)
	}
	start := time.Now()
	e.send(`<message type='chat' id='x1' from='alice@example.org/a' to='bob@%s'><body>still here</body></message>`, domain)
	wctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	if _, err := e.tr.WaitSent(wctx, 1); err != nil {
		t.Fatalf("alice's message waited behind carol's bounces: %v after %s", err, time.Since(start))
	}
	t.Logf("alice's message reached the network %s after it was sent", time.Since(start).Round(time.Millisecond))
	if st := comp.Stats(); st.QueueLen != st.QueueCap {
		t.Fatalf("the send queue was not full all along: %+v", st)
	}

	reopen()
	for i := range bounced {
		m := e.expectMessage(func(m *xmpp.Message) bool {
			return m.Type == xmpp.MessageError && m.To.Bare().String() == "carol@example.org"
		})
		if m.Error == nil || m.Error.Condition != xmpp.CondItemNotFound {
			t.Fatalf("bounce %d: %s", i, m.Element())
		}
	}
}
