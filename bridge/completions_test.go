package bridge_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/xgate-im/xgate/bridge"
	"github.com/xgate-im/xgate/bridge/bridgetest"
	"github.com/xgate-im/xgate/xmpp"
)

// The messages a chat sends within Config.CompletionPeriod are recorded
// in one commit, and their receipts follow it. Something that needs the
// pairs stored, here a reaction to the last message, commits them at once
// instead of waiting for the period to end.
func TestSentMessagesAreRecordedTogether(t *testing.T) {
	e := withBobOn(t, bridgetest.New(), func(c *bridge.Config) { c.CompletionPeriod = time.Hour })
	commits := func() uint64 { return e.gw.Metrics().Snapshot().CompletionCommits }
	before := commits()
	const n = 6
	for i := range n {
		e.send(`<message type='chat' id='g%d' from='alice@example.org/a' to='bob@fake.example.org'><body>m %d</body><request xmlns='urn:xmpp:receipts'/></message>`, i, i)
	}
	sent, err := e.tr.WaitSentKind(e.ctx(), "message", n)
	if err != nil {
		t.Fatal(err)
	}
	if got := commits() - before; got != 0 {
		t.Fatalf("%d commits of sent messages within the period, want none before something needs them", got)
	}
	expectReactionTo(t, e, 0, fmt.Sprint("g", n-1), sent[n-1].ID)
	for i := range n {
		e.expectMessage(isReceipt(fmt.Sprint("g", i)))
	}
	if got := commits() - before; got != 1 {
		t.Errorf("%d commits recorded %d messages sent together, want 1", got, n)
	}
	if got := storedItems(t, e); got != 0 {
		t.Errorf("the queues hold %d items after every receipt", got)
	}
}

// The completions of every chat share the commit of their period: two
// chats' messages are recorded in one transaction.
func TestChatsShareTheirCompletionCommit(t *testing.T) {
	e := newEnvWith(t, bridgetest.New(), func(c *bridge.Config) { c.CompletionPeriod = time.Hour })
	e.tr.SetContacts("acct-a", bridge.Contact{ID: "bob", Name: "Bob"}, bridge.Contact{ID: "carol", Name: "Carol"})
	e.register(alice, "good-a")
	for _, peer := range []string{"bob", "carol"} {
		e.expectPresence(func(p *xmpp.Presence) bool { return p.Type == "subscribe" && p.From.Local() == peer })
	}
	commits := func() uint64 { return e.gw.Metrics().Snapshot().CompletionCommits }
	before := commits()
	const n = 3
	for i := range n {
		for _, peer := range []string{"bob", "carol"} {
			e.send(`<message type='chat' id='%s%d' from='alice@example.org/a' to='%s@fake.example.org'><body>m %d</body><request xmlns='urn:xmpp:receipts'/></message>`, peer, i, peer, i)
		}
	}
	sent, err := e.tr.WaitSentKind(e.ctx(), "message", 2*n)
	if err != nil {
		t.Fatal(err)
	}
	if got := commits() - before; got != 0 {
		t.Fatalf("%d commits of sent messages within the period", got)
	}
	// A reaction in bob's chat commits carol's chat's messages too.
	var last bridge.MessageID
	for _, m := range sent {
		if m.Chat.Peer == "bob" {
			last = m.ID
		}
	}
	expectReactionTo(t, e, 0, fmt.Sprint("bob", n-1), last)
	for i := range n {
		for _, peer := range []string{"bob", "carol"} {
			e.expectMessage(isReceipt(fmt.Sprint(peer, i)))
		}
	}
	if got := commits() - before; got != 1 {
		t.Errorf("%d commits recorded the messages of two chats sent together, want 1", got)
	}
}

// A chat with maxUnrecorded/2 completions waiting commits them without
// waiting for the period, so a burst is never held up by it.
func TestABurstIsRecordedWithoutWaitingForThePeriod(t *testing.T) {
	e := withBobOn(t, bridgetest.New(), func(c *bridge.Config) { c.CompletionPeriod = time.Hour })
	const n = 40
	for i := range n {
		e.send(`<message type='chat' id='h%d' from='alice@example.org/a' to='bob@fake.example.org'><body>m %d</body><request xmlns='urn:xmpp:receipts'/></message>`, i, i)
	}
	// A commit starts once 16 wait, and takes what waits by then: the
	// first 16 are receipted without anything asking for them.
	for i := range 16 {
		e.expectMessage(isReceipt(fmt.Sprint("h", i)))
	}
}
