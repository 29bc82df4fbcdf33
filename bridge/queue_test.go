package bridge_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/xgate-im/xgate/bridge"
	"github.com/xgate-im/xgate/bridge/bridgetest"
	"github.com/xgate-im/xgate/xmpp"
)

// sentMessages returns the messages the fake network took.
func sentMessages(tr *bridgetest.Transport) []bridgetest.Sent {
	var out []bridgetest.Sent
	for _, s := range tr.Sent() {
		if s.Kind == "message" {
			out = append(out, s)
		}
	}
	return out
}

// isReceipt matches a XEP-0184 receipt for id.
func isReceipt(id string) func(*xmpp.Message) bool {
	return func(m *xmpp.Message) bool {
		return len(m.Extra) > 0 && m.Extra[0].Name.Local == "received" && m.Extra[0].AttrValue("id") == id
	}
}

// A burst in one chat goes out in order, every message with an Origin of
// its own, each receipted, and each ID pair recorded (a reaction to any of
// them names the right remote message), although the worker sends on
// while the completions are committed.
func TestBurstInOneChatKeepsOrderAndPairs(t *testing.T) {
	e := withBob(t)
	const n = 200
	for i := range n {
		e.send(`<message type='chat' id='b%d' from='alice@example.org/a' to='bob@fake.example.org'><body>m %d</body><request xmlns='urn:xmpp:receipts'/></message>`, i, i)
	}
	sent, err := e.tr.WaitSentKind(e.ctx(), "message", n)
	if err != nil {
		t.Fatal(err)
	}
	origins := map[string]bool{}
	for i, s := range sent {
		if s.Msg.Text != fmt.Sprint("m ", i) {
			t.Fatalf("message %d sent as %q", i, s.Msg.Text)
		}
		if s.Msg.Origin == "" || origins[s.Msg.Origin] {
			t.Fatalf("message %d sent with origin %q (seen: %v)", i, s.Msg.Origin, origins[s.Msg.Origin])
		}
		origins[s.Msg.Origin] = true
	}
	receipts := map[string]bool{}
	for len(receipts) < n {
		m := e.expectMessage(func(m *xmpp.Message) bool { return len(m.Extra) > 0 && m.Extra[0].Name.Local == "received" })
		receipts[m.Extra[0].AttrValue("id")] = true
	}
	for k, i := range []int{0, n / 2, n - 1} {
		expectReactionTo(t, e, k, fmt.Sprint("b", i), sent[i].ID)
	}
	if c := e.tr.FindCalls(); c != 0 {
		t.Errorf("%d searches for sent messages without a failure or a restart", c)
	}
}

// A message the network took while the send failed (the answer was lost)
// is found on the network before it is tried again: sent once, receipted,
// and its ID pair recorded.
func TestMessageTakenButUnansweredIsNotSentAgain(t *testing.T) {
	e := withBob(t)
	e.tr.FailSends(bridgetest.ErrAnswerLost)
	e.send(`<message type='chat' id='x1' from='alice@example.org/a' to='bob@fake.example.org'><body>once</body><request xmlns='urn:xmpp:receipts'/></message>`)
	e.expectMessage(isReceipt("x1"))
	if c := e.tr.FindCalls(); c != 1 {
		t.Errorf("%d searches for sent messages, want 1", c)
	}
	sent := sentMessages(e.tr)
	if len(sent) != 1 {
		t.Fatalf("sent %d times: %+v", len(sent), sent)
	}
	e.send(`<message type='chat' id='x2' from='alice@example.org/a' to='bob@fake.example.org'><retract id='x1' xmlns='urn:xmpp:message-retract:1'/></message>`)
	all, err := e.tr.WaitSentKind(e.ctx(), "retract", 1)
	if err != nil {
		t.Fatal(err)
	}
	if all[0].ID != sent[0].ID {
		t.Fatalf("retraction of x1 went to %q, want %q", all[0].ID, sent[0].ID)
	}
}

// A message sent just before the gateway stopped, whose completion was
// not recorded (here: its answer was lost and its retry was an hour
// away), is found on the network after the restart rather than sent
// again; the copy the network sends back meanwhile waits for that search
// and is not shown as written elsewhere, while a message the user did
// write elsewhere is.
func TestMessageSentBeforeRestartIsFound(t *testing.T) {
	e := withBob(t)
	e.restart(func(c *bridge.Config) { c.RetryBase = time.Hour })
	if err := e.tr.WaitLogin(e.ctx(), "acct-a"); err != nil {
		t.Fatal(err)
	}
	e.tr.FailSends(bridgetest.ErrAnswerLost)
	e.send(`<message type='chat' id='x1' from='alice@example.org/a' to='bob@fake.example.org'><body>once</body><request xmlns='urn:xmpp:receipts'/></message>`)
	if _, err := e.tr.WaitSentKind(e.ctx(), "message", 1); err != nil {
		t.Fatal(err)
	}
	// The attempt failed and waits for its retry: stored with its error.
	e.send(`<message type='chat' from='alice@example.org/a' to='fake.example.org'><body>status</body></message>`)
	e.expectMessage(func(m *xmpp.Message) bool { return m.From.String() == domain })
	e.restart()
	if err := e.tr.WaitLogin(e.ctx(), "acct-a"); err != nil {
		t.Fatal(err)
	}
	sent := sentMessages(e.tr)
	if err := e.tr.Emit(e.ctx(), "acct-a", bridge.MessageEvent{Chat: bobChat, Sender: "acct-a-self", FromSelf: true, ID: sent[0].ID, Text: "once"}); err != nil {
		t.Fatal(err)
	}
	if err := e.tr.Emit(e.ctx(), "acct-a", bridge.MessageEvent{Chat: bobChat, Sender: "acct-a-self", FromSelf: true, ID: "r2", Text: "from my phone"}); err != nil {
		t.Fatal(err)
	}
	e.expectMessage(isReceipt("x1"))
	m := e.expectMessage(func(m *xmpp.Message) bool { return m.Body != "" })
	if m.ID != "r2" {
		t.Fatalf("the copy of the user's own message was reflected: %s", m.Element())
	}
	if got := sentMessages(e.tr); len(got) != 1 {
		t.Fatalf("sent %d times: %+v", len(got), got)
	}
	if c := e.tr.FindCalls(); c != 1 {
		t.Errorf("%d searches for sent messages, want 1", c)
	}
}

// A message of the user's own that the network gives back with the Origin
// the gateway sent it with is the copy of one sent from XMPP: not shown,
// even when no ID pair names it.
func TestOwnMessageWithOriginIsNotReflected(t *testing.T) {
	e := withBob(t)
	for _, ev := range []bridge.MessageEvent{
		{Chat: bobChat, Sender: "acct-a-self", FromSelf: true, ID: "r1", Text: "sent from XMPP", Origin: "7:x7"},
		{Chat: bobChat, Sender: "acct-a-self", FromSelf: true, ID: "r2", Text: "from my phone"},
	} {
		if err := e.tr.Emit(e.ctx(), "acct-a", ev); err != nil {
			t.Fatal(err)
		}
	}
	m := e.expectMessage(func(m *xmpp.Message) bool { return m.Body != "" })
	if m.ID != "r2" {
		t.Fatalf("reflected: %s", m.Element())
	}
}
