package bridge_test

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/xgate-im/xgate/bridge"
	"github.com/xgate-im/xgate/bridge/bridgetest"
	"github.com/xgate-im/xgate/xmpp"
)

var bobChat = bridge.ChatRef{Kind: bridge.Direct, ID: "D1", Peer: "bob"}

// withBob registers alice and makes bob a known contact.
func withBob(t *testing.T) *env {
	e := newEnv(t)
	e.tr.SetContacts("acct-a", bridge.Contact{ID: "bob", Name: "Bob Builder"})
	e.register(alice, "good-a")
	p := e.expectPresence(func(p *xmpp.Presence) bool { return p.Type == "subscribe" && p.From.Local() == "bob" })
	if p.To.String() != alice || p.Extra[0].Text() != "Bob Builder" {
		t.Fatalf("roster offer %s", p.Element())
	}
	return e
}

func TestMessagesBothWays(t *testing.T) {
	e := withBob(t)
	// XMPP → network, with a receipt request.
	e.send(`<message type='chat' id='x1' from='alice@example.org/phone' to='bob@fake.example.org'><body>hi *bob*</body><request xmlns='urn:xmpp:receipts'/><origin-id xmlns='urn:xmpp:sid:0' id='o1'/></message>`)
	sent, err := e.tr.WaitSent(e.ctx(), 1)
	if err != nil {
		t.Fatal(err)
	}
	if s := sent[0]; s.Kind != "message" || s.Chat.Peer != "bob" || s.Msg.Text != "hi *bob*" || s.Account != "acct-a" {
		t.Fatalf("sent %+v", s)
	}
	r := e.expectMessage(func(m *xmpp.Message) bool { return len(m.Extra) > 0 && m.Extra[0].Name.Local == "received" })
	if r.Extra[0].AttrValue("id") != "x1" || r.From.String() != "bob@fake.example.org" || r.To.String() != "alice@example.org/phone" {
		t.Fatalf("receipt %s", r.Element())
	}

	// Network → XMPP.
	if err := e.tr.Emit(e.ctx(), "acct-a", bridge.MessageEvent{Chat: bobChat, Sender: "bob", ID: "r1", Text: "hello _alice_"}); err != nil {
		t.Fatal(err)
	}
	m := e.expectMessage(func(m *xmpp.Message) bool { return m.Body != "" })
	if m.From.String() != "bob@fake.example.org" || m.To.String() != alice || m.Body != "hello _alice_" || m.ID != "r1" || m.Type != "chat" {
		t.Fatalf("got %s", m.Element())
	}

	// A message from the user's own other client is reflected, marked.
	e.tr.Emit(e.ctx(), "acct-a", bridge.MessageEvent{Chat: bobChat, Sender: "acct-a-self", FromSelf: true, ID: "r2", Text: "from my phone"})
	m = e.expectMessage(func(m *xmpp.Message) bool { return m.ID == "r2" })
	if !strings.HasPrefix(m.Body, "You wrote: ") || m.From.Local() != "bob" {
		t.Fatalf("self message %s", m.Element())
	}
}

func TestEditsRetractionsReactionsMapIDs(t *testing.T) {
	e := withBob(t)
	// bob's message r9, delivered with its remote ID as XMPP id.
	if err := e.tr.Emit(e.ctx(), "acct-a", bridge.MessageEvent{Chat: bobChat, Sender: "bob", ID: "r9", Text: "yo"}); err != nil {
		t.Fatal(err)
	}
	e.send(`<message type='chat' id='x1' from='alice@example.org/a' to='bob@fake.example.org'><body>teh</body></message>`)
	sent, _ := e.tr.WaitSent(e.ctx(), 1)
	remote := sent[0].ID

	// XEP-0308 correction of the user's message targets the remote ID.
	e.send(`<message type='chat' id='x2' from='alice@example.org/a' to='bob@fake.example.org'><body>the</body><replace xmlns='urn:xmpp:message-correct:0' id='x1'/></message>`)
	// XEP-0444 reaction to bob's message r9 (whose XMPP id is its remote ID).
	e.send(`<message type='chat' id='x3' from='alice@example.org/a' to='bob@fake.example.org'><reactions xmlns='urn:xmpp:reactions:0' id='r9'><reaction>👍</reaction><reaction>🎉</reaction></reactions></message>`)
	// XEP-0424 retraction with its fallback body.
	e.send(`<message type='chat' id='x4' from='alice@example.org/a' to='bob@fake.example.org'><body>retracted</body><retract xmlns='urn:xmpp:message-retract:1' id='x1'/><fallback xmlns='urn:xmpp:fallback:0' for='urn:xmpp:message-retract:1'/></message>`)
	// XEP-0461 reply with a quoted fallback.
	e.send(`<message type='chat' id='x5' from='alice@example.org/a' to='bob@fake.example.org'><body>&gt; teh
ok</body><reply xmlns='urn:xmpp:reply:0' to='bob@fake.example.org' id='x1'/><fallback xmlns='urn:xmpp:fallback:0' for='urn:xmpp:reply:0'><body start='0' end='6'/></fallback></message>`)
	sent, err := e.tr.WaitSent(e.ctx(), 5)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		kind string
		id   bridge.MessageID
	}{{"message", remote}, {"edit", remote}, {"react", "r9"}, {"retract", remote}, {"message", ""}}
	for i, w := range want {
		if sent[i].Kind != w.kind || (w.id != "" && sent[i].ID != w.id) {
			t.Errorf("sent[%d] = %+v, want %s %s", i, sent[i], w.kind, w.id)
		}
	}
	if sent[1].Msg.Text != "the" || strings.Join(sent[2].Emojis, "") != "👍🎉" {
		t.Errorf("edit/react payloads %+v %+v", sent[1], sent[2])
	}
	if sent[4].Msg.Text != "ok" || sent[4].Msg.ReplyTo != remote {
		t.Errorf("reply %+v", sent[4])
	}

	// And back: an edit of the user's message by the network shows with
	// the user's own id.
	if err := e.tr.Emit(e.ctx(), "acct-a", bridge.EditEvent{Chat: bobChat, Sender: "bob", ID: remote, Text: "edited"}); err != nil {
		t.Fatal(err)
	}
	m := e.expectMessage(func(m *xmpp.Message) bool { return m.Body == "edited" })
	if r := m.Extra[0]; r.Name.Local != "replace" || r.AttrValue("id") != "x1" {
		t.Fatalf("edit %s", m.Element())
	}
	e.tr.Emit(e.ctx(), "acct-a", bridge.ReactionEvent{Chat: bobChat, Sender: "bob", ID: remote, Emojis: []string{"❤️"}})
	m = e.expectMessage(func(m *xmpp.Message) bool { return len(m.Extra) > 0 && m.Extra[0].Name.Local == "reactions" })
	if m.Extra[0].AttrValue("id") != "x1" || m.Extra[0].ChildText("", "reaction") != "❤️" {
		t.Fatalf("reaction %s", m.Element())
	}
	e.tr.Emit(e.ctx(), "acct-a", bridge.RetractionEvent{Chat: bobChat, Sender: "bob", ID: "r7"})
	m = e.expectMessage(func(m *xmpp.Message) bool { return len(m.Extra) > 0 && m.Extra[0].Name.Local == "retract" })
	if m.Extra[0].AttrValue("id") != "r7" || m.Body == "" {
		t.Fatalf("retraction %s", m.Element())
	}
}

// A correction, retraction or reaction naming a message the gateway does
// not know is answered item-not-found by the gateway, not handed to the
// network as if the id were a remote ID.
func TestActionsOnUnknownMessagesAreRefused(t *testing.T) {
	e := withBob(t)
	for i, action := range []string{
		`<body>fix</body><replace xmlns='urn:xmpp:message-correct:0' id='nope'/>`,
		`<retract xmlns='urn:xmpp:message-retract:1' id='nope'/>`,
		`<reactions xmlns='urn:xmpp:reactions:0' id='nope'><reaction>👍</reaction></reactions>`,
	} {
		e.send(`<message type='chat' id='u%d' from='alice@example.org/a' to='bob@fake.example.org'>%s</message>`, i, action)
		m := e.expectMessage(func(m *xmpp.Message) bool { return m.ID == fmt.Sprint("u", i) })
		if m.Type != "error" || errCond(m) != xmpp.CondItemNotFound || !strings.Contains(m.Error.Text, `"nope"`) {
			t.Fatalf("answer to %s: %s", action, m.Element())
		}
	}
	e.send(`<message type='chat' id='ok' from='alice@example.org/a' to='bob@fake.example.org'><body>fine</body></message>`)
	if sent, err := e.tr.WaitSent(e.ctx(), 1); err != nil || len(sent) != 1 || sent[0].Kind != "message" {
		t.Fatalf("sent %+v %v", sent, err)
	}
}

func TestTypingAndPresence(t *testing.T) {
	e := withBob(t)
	e.send(`<message type='chat' from='alice@example.org/a' to='bob@fake.example.org'><composing xmlns='http://jabber.org/protocol/chatstates'/></message>`)
	sent, err := e.tr.WaitSent(e.ctx(), 1)
	if err != nil || sent[0].Kind != "typing" || sent[0].Typing != bridge.TypingComposing {
		t.Fatalf("typing %+v %v", sent, err)
	}
	e.tr.Emit(e.ctx(), "acct-a", bridge.TypingEvent{Chat: bobChat, Sender: "bob", State: bridge.TypingComposing})
	e.expectMessage(func(m *xmpp.Message) bool {
		return m.From.Local() == "bob" && len(m.Extra) > 0 && m.Extra[0].Name.Local == "composing"
	})
	e.tr.Emit(e.ctx(), "acct-a", bridge.PresenceEvent{User: "bob", Presence: bridge.Presence{Show: bridge.ShowDND, Status: "in a meeting"}})
	p := e.expectPresence(func(p *xmpp.Presence) bool { return p.From.Local() == "bob" && p.Show == "dnd" })
	if p.Status != "in a meeting" {
		t.Fatalf("presence %s", p.Element())
	}
	// A probe gets the cached presence.
	e.send(`<presence type='probe' from='alice@example.org' to='bob@fake.example.org'/>`)
	e.expectPresence(func(p *xmpp.Presence) bool { return p.From.Local() == "bob" && p.Show == "dnd" && p.Type == "" })
	// The user's presence to the gateway goes to the network.
	e.send(`<presence from='alice@example.org/a' to='fake.example.org'><show>away</show><status>lunch</status></presence>`)
	sent, err = e.tr.WaitSent(e.ctx(), 2)
	if err != nil || sent[1].Kind != "presence" || sent[1].Pres.Show != bridge.ShowAway || sent[1].Pres.Status != "lunch" {
		t.Fatalf("presence to network %+v %v", sent, err)
	}
	// Subscribing to a contact is approved.
	e.send(`<presence type='subscribe' from='alice@example.org' to='bob@fake.example.org'/>`)
	e.expectPresence(func(p *xmpp.Presence) bool { return p.From.Local() == "bob" && p.Type == "subscribed" })
	e.send(`<presence type='subscribed' from='alice@example.org' to='bob@fake.example.org'/>`)
	e.send(`<message type='chat' id='sync' from='alice@example.org/a' to='fake.example.org'><body>status</body></message>`)
	e.expectMessage(func(m *xmpp.Message) bool { return m.From.String() == domain })
	it, err := e.db.GetRosterItem(alice, "fake", "bob@fake.example.org")
	if err != nil || it.Subscription != "both" || it.Name != "Bob Builder" {
		t.Fatalf("roster item %+v %v", it, err)
	}
}

func TestRateLimitRetriesInOrder(t *testing.T) {
	e := withBob(t)
	e.tr.FailSends(
		&bridge.RateLimitError{RetryAfter: 20 * time.Millisecond, Err: fmt.Errorf("429")},
		&bridge.RateLimitError{RetryAfter: 20 * time.Millisecond, Err: fmt.Errorf("429")},
		fmt.Errorf("timeout: %w", bridge.ErrTemporary),
	)
	for i := range 5 {
		e.send(`<message type='chat' id='x%d' from='alice@example.org/a' to='bob@fake.example.org'><body>n%d</body><request xmlns='urn:xmpp:receipts'/></message>`, i, i)
	}
	sent, err := e.tr.WaitSent(e.ctx(), 5)
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range sent {
		if s.Msg.Text != fmt.Sprintf("n%d", i) {
			t.Fatalf("order broken: %d is %q", i, s.Msg.Text)
		}
	}
	// The receipt of the last message comes after its accounting.
	e.expectMessage(func(m *xmpp.Message) bool {
		return len(m.Extra) > 0 && m.Extra[0].Name.Local == "received" && m.Extra[0].AttrValue("id") == "x4"
	})
	if snap := e.gw.Metrics().Snapshot(); snap.RateLimited != 2 || snap.RetriedRemote != 3 || snap.SentRemote != 5 {
		t.Fatalf("metrics %+v", snap)
	}
}

func TestPermanentFailureBounces(t *testing.T) {
	e := withBob(t)
	e.tr.FailSends(fmt.Errorf("channel_not_found: %w", bridge.ErrNotFound))
	e.send(`<message type='chat' id='lost' from='alice@example.org/a' to='bob@fake.example.org'><body>hello?</body></message>`)
	m := e.expectMessage(func(m *xmpp.Message) bool { return m.ID == "lost" })
	if m.Type != "error" || errCond(m) != xmpp.CondItemNotFound || !strings.Contains(m.Error.Text, "channel_not_found") || m.To.String() != "alice@example.org/a" {
		t.Fatalf("bounce %s", m.Element())
	}
	// The queue goes on with the next message.
	e.send(`<message type='chat' id='next' from='alice@example.org/a' to='bob@fake.example.org'><body>next</body></message>`)
	if sent, err := e.tr.WaitSent(e.ctx(), 1); err != nil || sent[0].Msg.Text != "next" {
		t.Fatalf("%+v %v", sent, err)
	}
}

func TestLoggedOutAccount(t *testing.T) {
	e := withBob(t)
	e.tr.Emit(e.ctx(), "acct-a", bridge.LoginStateEvent{State: bridge.LoggedOut, Reason: "token_revoked"})
	n := e.expectMessage(func(m *xmpp.Message) bool { return m.From.String() == domain })
	if !strings.Contains(n.Body, "token_revoked") || !strings.Contains(n.Body, "Register again") {
		t.Fatalf("notice %q", n.Body)
	}
	p := e.expectPresence(func(p *xmpp.Presence) bool { return p.From.String() == domain && p.Show == "xa" })
	if !strings.Contains(p.Status, "logged out") {
		t.Fatalf("gateway presence %s", p.Element())
	}
	// A message sent meanwhile waits, and leaves after re-registration.
	e.send(`<message type='chat' id='w1' from='alice@example.org/a' to='bob@fake.example.org'><body>waiting</body></message>`)
	e.register(alice, "good-a")
	sent, err := e.tr.WaitSent(e.ctx(), 1)
	if err != nil || sent[0].Msg.Text != "waiting" {
		t.Fatalf("%+v %v", sent, err)
	}
	if a, _ := e.gw.Metrics().Snapshot(), 0; a.FailedRemote != 0 {
		t.Fatal("message failed instead of waiting")
	}
}

func TestContactVCard(t *testing.T) {
	e := withBob(t)
	e.send(`<iq type='get' id='v1' from='alice@example.org/a' to='bob@fake.example.org'><vCard xmlns='vcard-temp'/></iq>`)
	iq := e.expectIQ("v1")
	if iq.Type != "result" || iq.Payload.ChildText("", "FN") != "Bob Builder" {
		t.Fatalf("vcard %s", iq.Element())
	}
	photo := iq.Payload.Child("", "PHOTO")
	if photo == nil || photo.ChildText("", "TYPE") != "image/png" || photo.ChildText("", "BINVAL") == "" {
		t.Fatalf("photo %s", iq.Element())
	}
	e.send(`<iq type='get' id='v2' from='alice@example.org/a' to='nobody@fake.example.org'><vCard xmlns='vcard-temp'/></iq>`)
	if errCond(e.expectIQ("v2")) != xmpp.CondItemNotFound {
		t.Fatal("vcard of an unknown contact")
	}
}

func TestMentionsBecomeReferences(t *testing.T) {
	e := withBob(t)
	text := "héllo @Carol and @Bob"
	e.tr.Emit(e.ctx(), "acct-a", bridge.MessageEvent{Chat: bobChat, Sender: "bob", ID: "m1", Text: text,
		Mentions: []bridge.Mention{{User: "carol", Begin: 6, End: 12}, {User: "bob", Begin: 17, End: 21}, {User: "x", Begin: 20, End: 99}}})
	m := e.expectMessage(func(m *xmpp.Message) bool { return m.ID == "m1" })
	var refs []string
	for _, x := range m.Extra {
		if x.Name.Local == "reference" {
			refs = append(refs, x.AttrValue("uri")+" "+x.AttrValue("begin")+"-"+x.AttrValue("end"))
		}
	}
	want := "xmpp:carol@fake.example.org 6-12,xmpp:bob@fake.example.org 17-21"
	if strings.Join(refs, ",") != want {
		t.Fatalf("references %v, want %s", refs, want)
	}
	// Offsets still point at the names after the self prefix.
	e.tr.Emit(e.ctx(), "acct-a", bridge.MessageEvent{Chat: bobChat, Sender: "me", FromSelf: true, ID: "m2", Text: "@Bob hi",
		Mentions: []bridge.Mention{{User: "bob", Begin: 0, End: 4}}})
	m = e.expectMessage(func(m *xmpp.Message) bool { return m.ID == "m2" })
	for _, x := range m.Extra {
		if x.Name.Local == "reference" {
			b, _ := strconv.Atoi(x.AttrValue("begin"))
			if got := string([]rune(m.Body)[b : b+4]); got != "@Bob" {
				t.Fatalf("reference points at %q in %q", got, m.Body)
			}
		}
	}
}

// A network without replies gets the quoted context in the text instead.
func TestReplyFallbackKeptWithoutReplies(t *testing.T) {
	tr := bridgetest.New()
	tr.Caps = func(c *bridge.Capabilities) { c.Replies = false }
	e := newEnvWith(t, tr)
	e.tr.SetContacts("acct-a", bridge.Contact{ID: "bob", Name: "Bob"})
	e.register(alice, "good-a")
	// bob is a contact once the gateway offered him.
	e.expectPresence(func(p *xmpp.Presence) bool { return p.Type == "subscribe" && p.From.Local() == "bob" })
	e.send(`<message type='chat' id='x5' from='alice@example.org/a' to='bob@fake.example.org'><body>&gt; teh
ok</body><reply xmlns='urn:xmpp:reply:0' to='bob@fake.example.org' id='x1'/><fallback xmlns='urn:xmpp:fallback:0' for='urn:xmpp:reply:0'><body start='0' end='6'/></fallback></message>`)
	sent, err := e.tr.WaitSentKind(e.ctx(), "message", 1)
	if err != nil {
		t.Fatal(err)
	}
	if sent[0].Msg.Text != "> teh\nok" || sent[0].Msg.ReplyTo != "" {
		t.Fatalf("sent %+v", sent[0].Msg)
	}
}

func TestDeactivatedContactGoesOffline(t *testing.T) {
	e := withBob(t)
	e.tr.Emit(e.ctx(), "acct-a", bridge.ContactEvent{Contact: bridge.Contact{ID: "bob", Name: "Bob Builder", Deactivated: true}})
	p := e.expectPresence(func(p *xmpp.Presence) bool { return p.From.Local() == "bob" && p.Type == "unavailable" })
	if p.Status != "Account deactivated" {
		t.Fatalf("presence %s", p.Element())
	}
}

// A network that reacts to a message at once, before the gateway heard
// back from sending it, names it by its remote ID: the reaction must reach
// the user with the id the user gave the message, not the remote one.
func TestReactionRightAfterSendNamesTheXMPPID(t *testing.T) {
	tr := bridgetest.New()
	emitted := make(chan error, 1)
	tr.Taken = func(s bridgetest.Sent) {
		if s.Kind != "message" {
			return
		}
		go func() {
			emitted <- tr.Emit(context.Background(), "acct-a", bridge.ReactionEvent{Chat: bobChat, Sender: "bob", ID: s.ID, Emojis: []string{"🚀"}})
		}()
		// Give the reaction the head start a fast bot has: the send
		// returns when the reaction was handled, or after 200 ms.
		select {
		case err := <-emitted:
			emitted <- err
		case <-time.After(200 * time.Millisecond):
		}
	}
	e := newEnvWith(t, tr)
	e.tr.SetContacts("acct-a", bridge.Contact{ID: "bob", Name: "Bob"})
	e.register(alice, "good-a")
	// Bob is a contact once he is offered to alice's roster.
	e.expectPresence(func(p *xmpp.Presence) bool { return p.Type == "subscribe" && p.From.Local() == "bob" })
	e.send(`<message type='chat' id='x1' from='alice@example.org/a' to='bob@fake.example.org'><body>launch</body></message>`)
	r := e.expectMessage(func(m *xmpp.Message) bool { return len(m.Extra) > 0 && m.Extra[0].Name.Local == "reactions" })
	if got := r.Extra[0].AttrValue("id"); got != "x1" {
		t.Fatalf("reaction names %q, want x1: %s", got, r.Element())
	}
	if err := <-emitted; err != nil {
		t.Fatal(err)
	}
}

// The network's copy of a message the user sent through the gateway (its
// echo, which Slack sends back as a message of the user's own) is not shown
// to her as written elsewhere, even after a restart made the transport
// forget what it had sent; a message she did write elsewhere still is.
func TestEchoOfOwnMessageIsNotReflected(t *testing.T) {
	e := withBob(t)
	e.send(`<message type='chat' id='x1' from='alice@example.org/a' to='bob@fake.example.org'><body>hi</body><request xmlns='urn:xmpp:receipts'/></message>`)
	sent, err := e.tr.WaitSent(e.ctx(), 1)
	if err != nil {
		t.Fatal(err)
	}
	e.expectMessage(func(m *xmpp.Message) bool { return len(m.Extra) > 0 && m.Extra[0].Name.Local == "received" })
	e.restart()
	if err := e.tr.WaitLogin(e.ctx(), "acct-a"); err != nil {
		t.Fatal(err)
	}
	if err := e.tr.Emit(e.ctx(), "acct-a", bridge.MessageEvent{Chat: bobChat, Sender: "acct-a-self", FromSelf: true, ID: sent[0].ID, Text: "hi"}); err != nil {
		t.Fatal(err)
	}
	if err := e.tr.Emit(e.ctx(), "acct-a", bridge.MessageEvent{Chat: bobChat, Sender: "acct-a-self", FromSelf: true, ID: "r2", Text: "from my phone"}); err != nil {
		t.Fatal(err)
	}
	m := e.expectMessage(func(m *xmpp.Message) bool { return m.Body != "" })
	if m.ID != "r2" {
		t.Fatalf("the echo of the user's own message was reflected: %s", m.Element())
	}
}

// A message longer than the network takes (MaxMessageLength) goes in parts
// cut at word boundaries, in order; a failure after the first part retries
// from the part that failed, not from the start; the user's id maps to the
// first part.
func TestLongMessagesAreSplit(t *testing.T) {
	tr := bridgetest.New()
	tr.Caps = func(c *bridge.Capabilities) { c.MaxMessageLength = 12 }
	e := newEnvWith(t, tr)
	e.tr.SetContacts("acct-a", bridge.Contact{ID: "bob", Name: "Bob"})
	e.register(alice, "good-a")
	e.expectPresence(func(p *xmpp.Presence) bool { return p.Type == "subscribe" && p.From.Local() == "bob" })
	e.tr.FailSends(nil, bridge.ErrTemporary) // the second part fails once
	e.send(`<message type='chat' id='x1' from='alice@example.org/a' to='bob@fake.example.org'><body>one two three four five six</body><request xmlns='urn:xmpp:receipts'/></message>`)
	e.expectMessage(func(m *xmpp.Message) bool { return len(m.Extra) > 0 && m.Extra[0].Name.Local == "received" })
	sent := e.tr.Sent()
	var texts []string
	for _, s := range sent {
		if s.Kind == "message" {
			texts = append(texts, s.Msg.Text)
		}
	}
	want := []string{"one two", "three four", "five six"}
	if !slices.Equal(texts, want) {
		t.Fatalf("sent %q, want %q", texts, want)
	}
	// A reaction to the user's message goes to its first part.
	e.send(`<message type='chat' id='x2' from='alice@example.org/a' to='bob@fake.example.org'><reactions xmlns='urn:xmpp:reactions:0' id='x1'><reaction>👍</reaction></reactions></message>`)
	all, err := e.tr.WaitSent(e.ctx(), len(sent)+1)
	if err != nil {
		t.Fatal(err)
	}
	if r := all[len(all)-1]; r.Kind != "react" || r.ID != sent[0].ID {
		t.Fatalf("reaction %+v, want on %q", r, sent[0].ID)
	}
}

// The presence a user sends while their account is still logging in (as
// right after a restart, when the host server answers the gateway's
// probes) reaches the network once the account is logged in.
func TestPresenceDuringLoginReachesTheNetwork(t *testing.T) {
	e := withBob(t)
	release := make(chan struct{})
	e.tr.BeforeLogin = func(bridge.AccountID) { <-release }
	e.restart()
	e.send(`<presence from='alice@example.org/a' to='fake.example.org'><show>dnd</show><status>busy</status></presence>`)
	// The dispatcher handles stanzas in order: once the ping is answered,
	// the presence was handled, while the login was held back.
	e.send(`<iq type='get' id='p1' from='alice@example.org/a' to='fake.example.org'><ping xmlns='urn:xmpp:ping'/></iq>`)
	e.expectIQ("p1")
	close(release)
	sent, err := e.tr.WaitSentKind(e.ctx(), "presence", 1)
	if err != nil {
		t.Fatal(err)
	}
	if p := sent[len(sent)-1].Pres; p.Show != bridge.ShowDND || p.Status != "busy" {
		t.Fatalf("presence to the network %+v", p)
	}
}
