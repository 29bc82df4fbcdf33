package bridge_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/xgate-im/xgate/bridge"
	"github.com/xgate-im/xgate/xmpp"
)

// Rate limits interleaved with real failures wait what the network asks
// and do not grow the backoff: 6 rate limits and 6 server errors cost the
// backoff of 6 failures (10 ms doubling: 0.63 s), not of 12 (41 s).
func TestRateLimitsDoNotGrowTheBackoff(t *testing.T) {
	e := withBob(t)
	var fails []error
	for range 6 {
		fails = append(fails,
			&bridge.RateLimitError{RetryAfter: time.Millisecond, Err: fmt.Errorf("429")},
			fmt.Errorf("503: %w", bridge.ErrTemporary))
	}
	e.tr.FailSends(fails...)
	start := time.Now()
	e.send(`<message type='chat' id='x1' from='alice@example.org/a' to='bob@fake.example.org'><body>patience</body><request xmlns='urn:xmpp:receipts'/></message>`)
	e.expectMessage(func(m *xmpp.Message) bool {
		return len(m.Extra) > 0 && m.Extra[0].Name.Local == "received" && m.Extra[0].AttrValue("id") == "x1"
	})
	if took := time.Since(start); took > 8*time.Second {
		t.Errorf("delivered after %s", took)
	}
	if snap := e.gw.Metrics().Snapshot(); snap.RateLimited != 6 || snap.RetriedRemote != 12 || snap.SentRemote != 1 {
		t.Fatalf("metrics %+v", snap)
	}
}

// A message the network keeps refusing with temporary failures is bounced
// to its sender once it has been tried for DeliveryTimeout, and the queue
// goes on. (That time stopped does not count is kept by
// TestUpgradeFromSchema1: its stored messages were queued days ago.)
func TestDeliveryTimeoutBounces(t *testing.T) {
	const timeout = 300 * time.Millisecond
	e := newEnv(t, func(c *bridge.Config) { c.DeliveryTimeout = timeout })
	e.tr.SetContacts("acct-a", bridge.Contact{ID: "bob", Name: "Bob Builder"})
	e.register(alice, "good-a")
	e.expectPresence(func(p *xmpp.Presence) bool { return p.Type == "subscribe" && p.From.Local() == "bob" })
	var fails []error
	for range 10_000 {
		fails = append(fails, fmt.Errorf("503: %w", bridge.ErrTemporary))
	}
	e.tr.FailSends(fails...)
	start := time.Now()
	e.send(`<message type='chat' id='late' from='alice@example.org/a' to='bob@fake.example.org'><body>anyone?</body></message>`)
	m := e.expectMessage(func(m *xmpp.Message) bool { return m.ID == "late" })
	if took := time.Since(start); took < timeout {
		t.Errorf("bounced after %s, before the timeout", took)
	}
	if m.Type != "error" || errCond(m) != xmpp.CondRemoteServerTimeout || !strings.Contains(m.Error.Text, "503") || m.To.String() != "alice@example.org/a" {
		t.Fatalf("bounce %s", m.Element())
	}
	e.tr.ClearFailures()
	e.send(`<message type='chat' id='next' from='alice@example.org/a' to='bob@fake.example.org'><body>next</body></message>`)
	if sent, err := e.tr.WaitSent(e.ctx(), 1); err != nil || sent[0].Msg.Text != "next" {
		t.Fatalf("%+v %v", sent, err)
	}
}
