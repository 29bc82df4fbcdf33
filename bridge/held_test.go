package bridge_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/xgate-im/xgate/bridge"
	"github.com/xgate-im/xgate/bridge/bridgetest"
	"github.com/xgate-im/xgate/xmpp"
)

// withBobOn is withBob on a prepared fake network and configuration.
func withBobOn(t *testing.T, tr *bridgetest.Transport, mods ...func(*bridge.Config)) *env {
	t.Helper()
	e := newEnvWith(t, tr, mods...)
	e.tr.SetContacts("acct-a", bridge.Contact{ID: "bob", Name: "Bob Builder"})
	e.register(alice, "good-a")
	e.expectPresence(func(p *xmpp.Presence) bool { return p.Type == "subscribe" && p.From.Local() == "bob" })
	return e
}

// storedItems returns how many items the store's queues hold.
func storedItems(t *testing.T, e *env) int {
	t.Helper()
	queues, err := e.db.OutboxQueues()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, q := range queues {
		items, err := e.db.OutboxPeek(q, 0)
		if err != nil {
			t.Fatal(err)
		}
		n += len(items)
	}
	return n
}

// waitStored waits until the store's queues hold n items.
func waitStored(t *testing.T, e *env, n int) {
	t.Helper()
	ctx := e.ctx()
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	for storedItems(t, e) != n {
		select {
		case <-ctx.Done():
			t.Fatalf("the queues hold %d items, want %d", storedItems(t, e), n)
		case <-tick.C:
		}
	}
}

// A message arriving in a chat whose queue is empty is sent from memory,
// never stored: its receipt follows the record of its ID pair, which is
// in the store (a reaction to it names the right remote message). The
// first message may be stored (its chat's worker was not running yet), and
// so may one arriving in the instant between a send's end and the
// worker's wait for the next; the bound leaves room for a few of those.
func TestMessagesInAnIdleChatAreSentFromMemory(t *testing.T) {
	e := withBobOn(t, bridgetest.New(), func(c *bridge.Config) { c.HoldUnstored = time.Hour })
	const n = 40
	for i := range n {
		e.send(`<message type='chat' id='b%d' from='alice@example.org/a' to='bob@fake.example.org'><body>m %d</body><request xmlns='urn:xmpp:receipts'/></message>`, i, i)
		e.expectMessage(isReceipt(fmt.Sprint("b", i)))
	}
	sent := sentMessages(e.tr)
	if len(sent) != n {
		t.Fatalf("sent %d messages, want %d", len(sent), n)
	}
	if got := e.gw.Metrics().Snapshot().SentUnstored; got < n-5 {
		t.Errorf("%d of %d messages sent from memory, want at least %d", got, n, n-5)
	}
	if got := storedItems(t, e); got != 0 {
		t.Errorf("the queues hold %d items after every receipt", got)
	}
	for k, i := range []int{0, n / 2, n - 1} {
		expectReactionTo(t, e, k, fmt.Sprint("b", i), sent[i].ID)
	}
}

// expectReactionTo reacts to the message alice sent as xmppID, the k-th
// reaction (from 0) of the test, and checks that it went to want.
func expectReactionTo(t *testing.T, e *env, k int, xmppID string, want bridge.MessageID) {
	t.Helper()
	e.send(`<message type='chat' id='r%d' from='alice@example.org/a' to='bob@fake.example.org'><reactions xmlns='urn:xmpp:reactions:0' id='%s'><reaction>👍</reaction></reactions></message>`, k, xmppID)
	all, err := e.tr.WaitSentKind(e.ctx(), "react", k+1)
	if err != nil {
		t.Fatal(err)
	}
	if r := all[k]; r.ID != want {
		t.Fatalf("reaction to %s went to %q, want %q", xmppID, r.ID, want)
	}
}

// A message whose send takes longer than the hold is stored while it is
// in flight, with the one held behind it: a crash then would not lose
// them. Once the send returns, both go out in order, are removed from the
// queue and receipted, and their ID pairs are recorded.
func TestSlowSendIsStoredWhileInFlight(t *testing.T) {
	tr := bridgetest.New()
	release := make(chan struct{})
	tr.Taken = func(s bridgetest.Sent) {
		if s.Kind == "message" && s.Msg.Text == "slow" {
			<-release
		}
	}
	e := withBobOn(t, tr, func(c *bridge.Config) { c.HoldUnstored = 5 * time.Millisecond })
	// A first message starts the chat's worker, which then waits for more
	// in memory.
	e.send(`<message type='chat' id='x0' from='alice@example.org/a' to='bob@fake.example.org'><body>first</body><request xmlns='urn:xmpp:receipts'/></message>`)
	e.expectMessage(isReceipt("x0"))
	e.send(`<message type='chat' id='x1' from='alice@example.org/a' to='bob@fake.example.org'><body>slow</body><request xmlns='urn:xmpp:receipts'/></message>`)
	if _, err := e.tr.WaitSentKind(e.ctx(), "message", 2); err != nil {
		t.Fatal(err)
	}
	e.send(`<message type='chat' id='x2' from='alice@example.org/a' to='bob@fake.example.org'><body>behind</body><request xmlns='urn:xmpp:receipts'/></message>`)
	waitStored(t, e, 2)
	close(release)
	e.expectMessage(isReceipt("x1"))
	e.expectMessage(isReceipt("x2"))
	sent := sentMessages(e.tr)
	if len(sent) != 3 || sent[1].Msg.Text != "slow" || sent[2].Msg.Text != "behind" {
		t.Fatalf("sent %+v", sent)
	}
	if got := storedItems(t, e); got != 0 {
		t.Errorf("the queues hold %d items after every receipt", got)
	}
	expectReactionTo(t, e, 0, "x1", sent[1].ID)
}

// A message sent from memory whose send fails is stored before it is
// tried again, ahead of the messages held behind it: order is kept, and
// each goes out once.
func TestRetryOfAMessageFromMemoryKeepsOrder(t *testing.T) {
	tr := bridgetest.New()
	e := withBobOn(t, tr, func(c *bridge.Config) { c.HoldUnstored = time.Hour })
	e.send(`<message type='chat' id='y0' from='alice@example.org/a' to='bob@fake.example.org'><body>m 0</body><request xmlns='urn:xmpp:receipts'/></message>`)
	e.expectMessage(isReceipt("y0"))
	tr.FailSends(fmt.Errorf("network hiccup: %w", bridge.ErrTemporary), bridge.ErrTemporary)
	const n = 6
	for i := 1; i < n; i++ {
		e.send(`<message type='chat' id='y%d' from='alice@example.org/a' to='bob@fake.example.org'><body>m %d</body><request xmlns='urn:xmpp:receipts'/></message>`, i, i)
	}
	for i := 1; i < n; i++ {
		e.expectMessage(isReceipt(fmt.Sprint("y", i)))
	}
	sent := sentMessages(e.tr)
	if len(sent) != n {
		t.Fatalf("sent %d messages, want %d: %+v", len(sent), n, sent)
	}
	for i, s := range sent {
		if s.Msg.Text != fmt.Sprint("m ", i) {
			t.Fatalf("message %d sent as %q", i, s.Msg.Text)
		}
	}
	if got := storedItems(t, e); got != 0 {
		t.Errorf("the queues hold %d items after every receipt", got)
	}
}
