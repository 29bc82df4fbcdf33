package bridge_test

import (
	"sync"
	"testing"

	"github.com/xgate-im/xgate/bridge"
	"github.com/xgate-im/xgate/xmpp"
)

// expectBodies reads the next messages with a body sent to user and fails
// unless their bodies are want, in order.
func (e *env) expectBodies(user string, want ...string) {
	e.t.Helper()
	for _, w := range want {
		m := e.expectMessage(func(m *xmpp.Message) bool { return m.Body != "" && m.To.Bare().String() == user })
		if m.Body != w {
			e.t.Fatalf("message to %s: %q, want %q", user, m.Body, w)
		}
	}
}

// A remote message is delivered once per XMPP user: again through the
// same account, through a second account of the user, concurrently, and
// after a restart, it is not delivered again; another user gets their own
// copy.
func TestIncomingMessagesAreDeduplicated(t *testing.T) {
	e := withBob(t)
	e.register(alice, "good-b")
	emit := func(acct bridge.AccountID, id, text string) {
		t.Helper()
		if err := e.tr.Emit(e.ctx(), acct, bridge.MessageEvent{Chat: bobChat, Sender: "bob", ID: bridge.MessageID(id), Text: text}); err != nil {
			t.Fatal(err)
		}
	}
	emit("acct-a", "r1", "one")
	emit("acct-a", "r1", "one")
	emit("acct-b", "r1", "one")
	var wg sync.WaitGroup
	for _, acct := range []bridge.AccountID{"acct-a", "acct-b", "acct-a"} {
		wg.Go(func() { emit(acct, "r2", "two") })
	}
	wg.Wait()
	emit("acct-b", "r3", "three")
	e.expectBodies(alice, "one", "two", "three")

	e.restart()
	if err := e.tr.WaitLogin(e.ctx(), "acct-a"); err != nil {
		t.Fatal(err)
	}
	emit("acct-a", "r1", "one")
	emit("acct-a", "r2", "two")
	emit("acct-a", "r4", "four")
	e.expectBodies(alice, "four")
	if n := e.gw.Metrics().Snapshot().Events["duplicate"]; n != 2 {
		t.Errorf("duplicates counted after the restart: %d, want 2", n)
	}

	const carol = "carol@example.org"
	e.register(carol, "good-c")
	emit("acct-c", "r1", "one")
	e.expectBodies(carol, "one")
}
