package prosodytest_test

import (
	"context"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/xgate-im/xgate/xmpp"
	"github.com/xgate-im/xgate/xmpp/jid"
	"github.com/xgate-im/xgate/xmpp/prosodytest"
)

func TestSubscriptionAndRoster(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	s := prosodytest.Start(t, prosodytest.Options{Users: map[string]string{"alice": "a", "bob": "b"}})
	alice := prosodytest.Dial(ctx, t, s.C2SAddr(), "alice", s.Host(), "a")
	bob := prosodytest.Dial(ctx, t, s.C2SAddr(), "bob", s.Host(), "b")
	for _, c := range []*prosodytest.Client{alice, bob} {
		// Fetching the roster makes the session "interested": Prosody
		// sends roster pushes only to such sessions (RFC 6121 §2.1.6).
		if _, err := c.Roster(ctx); err != nil {
			t.Fatal(err)
		}
		if err := c.Send(&xmpp.Presence{}); err != nil {
			t.Fatal(err)
		}
	}

	if err := alice.Subscribe(bob.JID()); err != nil {
		t.Fatal(err)
	}
	push, err := alice.Expect(ctx, func(s xmpp.Stanza) bool {
		it, ok := prosodytest.ParseRosterPush(s)
		return ok && it.JID == "bob@localhost" && it.Ask == "subscribe"
	})
	if err != nil {
		t.Fatalf("no roster push with ask=subscribe: %v", err)
	}
	if it, _ := prosodytest.ParseRosterPush(push); it.Subscription != "none" {
		t.Errorf("pending item subscription = %q, want none", it.Subscription)
	}
	if err := bob.AnswerSubscription(ctx, alice.JID(), true); err != nil {
		t.Fatal(err)
	}
	if _, err := alice.Expect(ctx, prosodytest.PresenceFrom(bob.JID().Bare(), xmpp.PresenceSubscribed)); err != nil {
		t.Fatal(err)
	}
	// Once subscribed, alice receives bob's current presence.
	if _, err := alice.Expect(ctx, prosodytest.PresenceFrom(bob.JID(), xmpp.PresenceAvailable)); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		c       *prosodytest.Client
		contact string
		sub     string
	}{
		{alice, "bob@localhost", "to"},
		{bob, "alice@localhost", "from"},
	} {
		items, err := tc.c.Roster(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(items) != 1 || items[0].JID != tc.contact || items[0].Subscription != tc.sub || items[0].Ask != "" {
			t.Errorf("roster of %s = %+v, want %s with subscription %s", tc.c.JID(), items, tc.contact, tc.sub)
		}
	}

	if err := alice.RemoveRosterItem(ctx, bob.JID()); err != nil {
		t.Fatal(err)
	}
	items, err := alice.Roster(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 0 {
		t.Errorf("roster after removal = %+v, want empty", items)
	}
}

func TestExpectKeepsOthersQueued(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	s := prosodytest.Start(t, prosodytest.Options{Users: map[string]string{"alice": "a"}})
	c := prosodytest.Dial(ctx, t, s.C2SAddr(), "alice", s.Host(), "a")
	for _, body := range []string{"one", "two"} {
		if err := c.Send(&xmpp.Message{Header: xmpp.Header{To: c.JID(), Type: xmpp.MessageChat}, Body: body}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.Expect(ctx, prosodytest.MessageWithBody("two")); err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	_, err := c.Expect(short, prosodytest.MessageWithBody("never sent"))
	if err == nil || !strings.Contains(err.Error(), "<body>one</body>") || !strings.Contains(err.Error(), "1 waiting stanza") {
		t.Fatalf("Expect error = %v, want a timeout listing the waiting message", err)
	}
	got, err := c.Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if m, ok := got.(*xmpp.Message); !ok || m.Body != "one" {
		t.Fatalf("Next = %s, want the skipped message", got.Element())
	}

	// A request and the queue do not interfere: the ping result goes to
	// Request, not to Next.
	res, err := c.Request(ctx, &xmpp.IQ{Header: xmpp.Header{Type: xmpp.IQGet, To: jid.MustParse(s.Host())}, Payload: xmpp.NewElement(xmpp.NSPing, "ping")})
	if err != nil || res.Type != xmpp.IQResult {
		t.Fatalf("ping = %v, %v; want a result", res, err)
	}
	short2, cancel2 := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel2()
	if s, err := c.Next(short2); err == nil {
		t.Fatalf("Next returned %s, want nothing queued", s.Element())
	}
}

func TestOfflineDelivery(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	s := prosodytest.Start(t, prosodytest.Options{Users: map[string]string{"alice": "a", "bob": "b"}})
	alice := prosodytest.Dial(ctx, t, s.C2SAddr(), "alice", s.Host(), "a")
	bobJID := jid.MustParse("bob@" + s.Host())
	if err := alice.Send(&xmpp.Message{Header: xmpp.Header{To: bobJID, Type: xmpp.MessageChat}, Body: "while you were out"}); err != nil {
		t.Fatal(err)
	}
	// Prosody handles a stream's stanzas in order: once the ping is
	// answered, the message has been stored.
	if _, err := alice.Request(ctx, &xmpp.IQ{Header: xmpp.Header{Type: xmpp.IQGet}, Payload: xmpp.NewElement(xmpp.NSPing, "ping")}); err != nil {
		t.Fatal(err)
	}
	bob := prosodytest.Dial(ctx, t, s.C2SAddr(), "bob", s.Host(), "b")
	if err := bob.Send(&xmpp.Presence{}); err != nil {
		t.Fatal(err)
	}
	got, err := bob.Expect(ctx, prosodytest.MessageWithBody("while you were out"))
	if err != nil {
		t.Fatal(err)
	}
	if m := got.(*xmpp.Message); m.Delay == nil || m.From.Bare() != alice.JID().Bare() {
		t.Errorf("offline message from=%q delay=%v, want from alice with a delay", m.From, m.Delay)
	}
}

func TestMUC(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	s := prosodytest.Start(t, prosodytest.Options{MUC: "conference.localhost", Users: map[string]string{"alice": "a"}})
	c := prosodytest.Dial(ctx, t, s.C2SAddr(), "alice", s.Host(), "a")
	room := jid.MustParse("lobby@conference.localhost")
	occupant := jid.MustParse("lobby@conference.localhost/Alice")
	join := &xmpp.Presence{Header: xmpp.Header{To: occupant}, Extra: []*xmpp.Element{xmpp.NewElement("http://jabber.org/protocol/muc", "x")}}
	if err := c.Send(join); err != nil {
		t.Fatal(err)
	}
	self, err := c.Expect(ctx, prosodytest.PresenceFrom(occupant, xmpp.PresenceAvailable))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(self.Element().String(), `code="110"`) {
		t.Errorf("self-presence %s lacks status 110", self.Element())
	}
	if err := c.Send(&xmpp.Message{Header: xmpp.Header{To: room, Type: xmpp.MessageGroupchat}, Body: "hi room"}); err != nil {
		t.Fatal(err)
	}
	got, err := c.Expect(ctx, prosodytest.MessageWithBody("hi room"))
	if err != nil {
		t.Fatal(err)
	}
	if m := got.(*xmpp.Message); m.From != occupant || m.Type != xmpp.MessageGroupchat {
		t.Errorf("room echo from=%q type=%q, want %q groupchat", m.From, m.Type, occupant)
	}
}

func TestUpload(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	s := prosodytest.Start(t, prosodytest.Options{Upload: "upload.localhost", Users: map[string]string{"alice": "a"}})
	c := prosodytest.Dial(ctx, t, s.C2SAddr(), "alice", s.Host(), "a")
	const nsUpload = "urn:xmpp:http:upload:0"
	content := "file body\n"
	req := xmpp.NewElement(nsUpload, "request", "filename", "note.txt", "size", strconv.Itoa(len(content)), "content-type", "text/plain")
	res, err := c.Request(ctx, &xmpp.IQ{Header: xmpp.Header{Type: xmpp.IQGet, To: jid.MustParse("upload.localhost")}, Payload: req})
	if err != nil {
		t.Fatal(err)
	}
	if res.Type != xmpp.IQResult || res.Payload == nil {
		t.Fatalf("slot request answered %s", res.Element())
	}
	put, get := res.Payload.Child(nsUpload, "put"), res.Payload.Child(nsUpload, "get")
	if put == nil || get == nil {
		t.Fatalf("slot %s lacks put or get", res.Payload)
	}
	prefix := "http://" + s.HTTPAddr() + "/"
	if !strings.HasPrefix(put.AttrValue("url"), prefix) || !strings.HasPrefix(get.AttrValue("url"), prefix) {
		t.Fatalf("slot URLs %q %q do not start with %q", put.AttrValue("url"), get.AttrValue("url"), prefix)
	}

	hreq, err := http.NewRequestWithContext(ctx, http.MethodPut, put.AttrValue("url"), strings.NewReader(content))
	if err != nil {
		t.Fatal(err)
	}
	hreq.Header.Set("Content-Type", "text/plain")
	for _, h := range put.Children() {
		if h.Name.Local == "header" {
			hreq.Header.Set(h.AttrValue("name"), h.Text())
		}
	}
	resp, err := http.DefaultClient.Do(hreq)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("PUT status %s, want 201", resp.Status)
	}
	greq, err := http.NewRequestWithContext(ctx, http.MethodGet, get.AttrValue("url"), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err = http.DefaultClient.Do(greq)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK || string(body) != content {
		t.Fatalf("GET = %s %q (%v), want 200 %q", resp.Status, body, err, content)
	}
}
