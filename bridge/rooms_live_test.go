package bridge_test

import (
	"strings"
	"testing"
	"time"

	"github.com/xgate-im/xgate/bridge"
	"github.com/xgate-im/xgate/bridge/bridgetest"
	"github.com/xgate-im/xgate/xmpp"
	"github.com/xgate-im/xgate/xmpp/jid"
	"github.com/xgate-im/xgate/xmpp/prosodytest"
)

// A room through each real host server: the "#" room JIDs on the
// component's domain, the join with the own presence last, groupchat both
// ways with the reflection, self-ping and leave, as the servers route them
// between the component and a real client.
func TestRoomThroughHostServers(t *testing.T) {
	for _, h := range []host{prosodyHost, ejabberdHost} {
		t.Run(h.name, func(t *testing.T) {
			t.Parallel()
			testRoomThrough(t, h)
		})
	}
}

func testRoomThrough(t *testing.T, h host) {
	chat := bridge.ChatRef{Kind: bridge.Group, ID: "g1"}
	l := startLiveOn(t, h, "s3cret", func(tr *bridgetest.Transport) {
		tr.Caps = func(c *bridge.Capabilities) { c.Groups = true }
		tr.SetGroups("acct-alice", bridge.GroupInfo{ID: "g1", Name: "Lounge", Topic: "Be nice"})
		tr.SetMembers("g1", bridge.GroupMember{User: "alice-on-net", Nick: "Alice", Self: true}, bridge.GroupMember{User: "bob", Nick: "Bob"})
		tr.SetHistory("g1", bridge.MessageEvent{Chat: chat, Sender: "bob", ID: "h1", Text: "before", Time: time.Now().Add(-time.Hour)})
	})
	l.waitConnected()
	ctx := bounded(t)
	c := l.client("alice")
	c.Send(&xmpp.Presence{})
	l.register(ctx, c)
	room := jid.MustParse("#lounge@" + gwDomain)
	self, _ := room.WithResource("alice")
	bob, _ := room.WithResource("Bob")

	c.Send(&xmpp.Presence{Header: xmpp.Header{To: self}, Extra: []*xmpp.Element{xmpp.NewElement(bridge.NSMUC, "x")}})
	var order []string
	for {
		s, err := c.Expect(ctx, func(s xmpp.Stanza) bool { return s.Head().From.Bare() == room })
		if err != nil {
			t.Fatal(err)
		}
		switch s := s.(type) {
		case *xmpp.Presence:
			order = append(order, "presence "+s.From.Resource())
		case *xmpp.Message:
			switch {
			case s.Subject != "":
				order = append(order, "subject "+s.Subject)
			case s.Delay != nil:
				order = append(order, "history "+s.Body)
			}
		}
		if strings.HasPrefix(order[len(order)-1], "subject") {
			break
		}
	}
	if got := strings.Join(order, ", "); got != "presence Bob, presence alice, history before, subject Be nice" {
		t.Fatalf("join: %s", got)
	}

	c.Send(&xmpp.Message{Header: xmpp.Header{To: room, Type: xmpp.MessageGroupchat, ID: "g1"}, Body: "hello"})
	if _, err := c.Expect(ctx, func(s xmpp.Stanza) bool {
		m, ok := s.(*xmpp.Message)
		return ok && m.From == self && m.ID == "g1" && m.Body == "hello"
	}); err != nil {
		t.Fatal(err)
	}
	sent, err := l.tr.WaitSentKind(ctx, "message", 1)
	if err != nil || sent[0].Chat != chat || sent[0].Msg.Text != "hello" {
		t.Fatalf("sent %+v %v", sent, err)
	}
	if err := l.tr.Emit(ctx, "acct-alice", bridge.MessageEvent{Chat: chat, Sender: "bob", ID: "n1", Text: "hi alice"}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Expect(ctx, func(s xmpp.Stanza) bool {
		m, ok := s.(*xmpp.Message)
		return ok && m.From == bob && m.Type == xmpp.MessageGroupchat && m.Body == "hi alice"
	}); err != nil {
		t.Fatal(err)
	}
	res, err := c.Request(ctx, &xmpp.IQ{Header: xmpp.Header{To: self, Type: xmpp.IQGet}, Payload: xmpp.NewElement(xmpp.NSPing, "ping")})
	if err != nil || res.Type != xmpp.IQResult {
		t.Fatalf("self-ping %v %v", res, err)
	}
	c.Send(&xmpp.Presence{Header: xmpp.Header{To: self, Type: xmpp.PresenceUnavailable}})
	if _, err := c.Expect(ctx, prosodytest.PresenceFrom(self, xmpp.PresenceUnavailable)); err != nil {
		t.Fatal(err)
	}
	res, err = c.Request(ctx, &xmpp.IQ{Header: xmpp.Header{To: self, Type: xmpp.IQGet}, Payload: xmpp.NewElement(xmpp.NSPing, "ping")})
	if err != nil || res.Error == nil || res.Error.Condition != xmpp.CondNotAcceptable {
		t.Fatalf("self-ping after leaving %v %v", res, err)
	}
}
