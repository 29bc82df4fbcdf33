package bridge_test

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/xgate-im/xgate/bridge"
	"github.com/xgate-im/xgate/bridge/bridgetest"
	"github.com/xgate-im/xgate/xmpp"
	"github.com/xgate-im/xgate/xmpp/xmpptest"
)

// writeFixture regenerates testdata/store-schema1.db. It must only ever be
// run at the commit that introduced the fixture (8be462c + this file): the
// point of the fixture is that it was written by the code before the
// chat-keyed core, so it can never be regenerated with newer code.
var writeFixture = flag.Bool("write-schema1-fixture", false, "write testdata/store-schema1.db (only at the commit that introduced it)")

const schema1Fixture = "testdata/store-schema1.db"

// TestWriteSchema1Fixture writes a store as the peer-keyed bridge (schema
// 1) left it: alice registered with account acct-a, bob a contact, her
// message x1 sent as m1 (an XMPP↔remote ID pair), two messages and a
// correction of x1 queued towards the network after temporary failures,
// and one message from bob waiting in the XMPP outbox because the host
// server was down.
func TestWriteSchema1Fixture(t *testing.T) {
	if !*writeFixture {
		t.Skip("run with -write-schema1-fixture to regenerate the fixture")
	}
	e := withBob(t)
	e.send(`<message type='chat' id='x1' from='alice@example.org/a' to='bob@fake.example.org'><body>teh</body></message>`)
	if _, err := e.tr.WaitSent(e.ctx(), 1); err != nil {
		t.Fatal(err)
	}
	var fails []error
	for range 1000 {
		fails = append(fails, fmt.Errorf("503: %w", bridge.ErrTemporary))
	}
	e.tr.FailSends(fails...)
	e.send(`<message type='chat' id='q0' from='alice@example.org/a' to='bob@fake.example.org'><body>q0</body><request xmlns='urn:xmpp:receipts'/></message>`)
	e.send(`<message type='chat' id='q1' from='alice@example.org/a' to='bob@fake.example.org'><body>the</body><replace xmlns='urn:xmpp:message-correct:0' id='x1'/></message>`)
	e.send(`<message type='chat' id='q2' from='alice@example.org/a' to='bob@fake.example.org'><body>q2</body><request xmlns='urn:xmpp:receipts'/></message>`)
	e.send(`<message type='chat' from='alice@example.org/a' to='fake.example.org'><body>status</body></message>`)
	e.expectMessage(func(m *xmpp.Message) bool { return m.From.String() == domain })

	e.srv.Refuse(true)
	e.conn.Close()
	if err := e.tr.Emit(e.ctx(), "acct-a", bridge.MessageEvent{Chat: bobChat, Sender: "bob", ID: "r1", Text: "while you were away"}); err != nil {
		t.Fatal(err)
	}
	e.stop()
	if err := os.MkdirAll("testdata", 0o755); err != nil {
		t.Fatal(err)
	}
	copyFile(t, e.dbPath, schema1Fixture)
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	src, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst, err := os.Create(to)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		t.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		t.Fatal(err)
	}
}

// A store written by the peer-keyed bridge opens, upgrades, and everything
// it held keeps working: the queued messages and the correction leave in
// order for the right chat, the correction names the remote ID stored
// before the upgrade, the stanza waiting for the host server is delivered,
// and an incoming reaction to m1 names the XMPP id x1.
func TestUpgradeFromSchema1(t *testing.T) {
	e := &env{t: t, srv: xmpptest.NewServer(t, "secret"), tr: bridgetest.New(), key: testKey(t)}
	e.dbPath = filepath.Join(t.TempDir(), "xgate.db")
	copyFile(t, schema1Fixture, e.dbPath)
	e.openDB()
	e.start()
	if err := e.tr.WaitLogin(e.ctx(), "acct-a"); err != nil {
		t.Fatal(err)
	}
	m := e.expectMessage(func(m *xmpp.Message) bool { return m.Body == "while you were away" })
	if m.From.String() != "bob@fake.example.org" || m.ID != "r1" || m.To.String() != alice {
		t.Fatalf("stored stanza %s", m.Element())
	}
	sent, err := e.tr.WaitSent(e.ctx(), 3)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct{ kind, text, id string }{{"message", "q0", ""}, {"edit", "the", "m1"}, {"message", "q2", ""}}
	for i, w := range want {
		s := sent[i]
		if s.Kind != w.kind || s.Msg.Text != w.text || string(s.ID) != w.id && w.id != "" || s.Chat.Peer != "bob" || s.Account != "acct-a" {
			t.Errorf("sent[%d] = %+v, want %s %q %s to bob", i, s, w.kind, w.text, w.id)
		}
	}
	e.expectMessage(func(m *xmpp.Message) bool {
		return len(m.Extra) > 0 && m.Extra[0].Name.Local == "received" && m.Extra[0].AttrValue("id") == "q0"
	})
	// The receipt of q2 follows its removal from the queue.
	e.expectMessage(func(m *xmpp.Message) bool {
		return len(m.Extra) > 0 && m.Extra[0].Name.Local == "received" && m.Extra[0].AttrValue("id") == "q2"
	})
	if err := e.tr.Emit(e.ctx(), "acct-a", bridge.ReactionEvent{Chat: bobChat, Sender: "bob", ID: "m1", Emojis: []string{"👍"}}); err != nil {
		t.Fatal(err)
	}
	r := e.expectMessage(func(m *xmpp.Message) bool { return len(m.Extra) > 0 && m.Extra[0].Name.Local == "reactions" })
	if r.Extra[0].AttrValue("id") != "x1" {
		t.Fatalf("reaction %s", r.Element())
	}
	// bob's r1 was delivered before the upgrade, when no record was kept:
	// a reaction to it is still passed on.
	e.send(`<message type='chat' id='x9' from='alice@example.org/a' to='bob@fake.example.org'><reactions xmlns='urn:xmpp:reactions:0' id='r1'><reaction>👋</reaction></reactions><request xmlns='urn:xmpp:receipts'/></message>`)
	if sent, err := e.tr.WaitSentKind(e.ctx(), "react", 1); err != nil || sent[0].ID != "r1" {
		t.Fatalf("reaction to a message from before the upgrade: %+v %v", sent, err)
	}
	e.expectMessage(func(m *xmpp.Message) bool {
		return len(m.Extra) > 0 && m.Extra[0].Name.Local == "received" && m.Extra[0].AttrValue("id") == "x9"
	})
	if n, err := e.gw.OutboxLen(); err != nil || n != 0 {
		t.Fatalf("outbox after upgrade: %d %v", n, err)
	}
}
