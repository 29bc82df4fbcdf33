package slack

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/xgate-im/xgate/bridge"
	"github.com/xgate-im/xgate/bridge/bridgetest"
	"github.com/xgate-im/xgate/transports/slack/slackfake"
)

func TestSendConvertsAndMentions(t *testing.T) {
	w := newWorld(t)
	tr := w.transport()
	sess, _ := w.login(tr, w.aliceTok)
	ctx := bounded(t, 10*time.Second)
	// The directory knows Bob once he is a contact.
	if _, err := sess.Contacts(ctx); err != nil {
		t.Fatal(err)
	}
	id, err := sess.Send(ctx, bridge.ChatRef{Kind: bridge.Direct, Peer: w.uid(w.bob)}, bridge.OutgoingMessage{Text: "*hi* @Bob Builder & see <this>"})
	if err != nil {
		t.Fatal(err)
	}
	msgs := w.fake.Messages(w.aliceBob)
	if len(msgs) != 1 {
		t.Fatalf("messages %+v", msgs)
	}
	m := msgs[0]
	if m.TS != string(id) || m.User != w.alice.ID {
		t.Errorf("posted %+v, returned id %s", m, id)
	}
	if want := "*hi* <@" + w.bob.ID + "> &amp; see &lt;this&gt;"; m.Text != want {
		t.Errorf("text %q, want %q", m.Text, want)
	}
}

func TestSendOpensIMAndReportsUndeliverable(t *testing.T) {
	w := newWorld(t)
	tr := w.transport()
	sess, sink := w.login(tr, w.aliceTok)
	ctx := bounded(t, 10*time.Second)
	// No IM with Carol yet: Send opens one.
	id, err := sess.Send(ctx, bridge.ChatRef{Kind: bridge.Direct, Peer: w.uid(w.carol)}, bridge.OutgoingMessage{Text: "hello carol"})
	if err != nil {
		t.Fatal(err)
	}
	im := w.fake.OpenIM(w.team.ID, w.alice.ID, w.carol.ID)
	if msgs := w.fake.Messages(im); len(msgs) != 1 || msgs[0].TS != string(id) || msgs[0].Text != "hello carol" {
		t.Fatalf("carol's IM: %+v", msgs)
	}
	tests := []struct {
		name string
		chat bridge.ChatRef
		msg  string
		code string // injected failure of chat.postMessage
		want error
	}{
		{"unknown conversation", bridge.ChatRef{Kind: bridge.Direct, ID: "D0000000999", Peer: w.uid(w.bob)}, "x", "", bridge.ErrNotFound},
		{"unknown member", bridge.ChatRef{Kind: bridge.Direct, Peer: MakeUserID(w.team.ID, "U0000000999")}, "x", "", bridge.ErrNotFound},
		{"other workspace", bridge.ChatRef{Kind: bridge.Direct, Peer: MakeUserID("T0000000999", w.bob.ID)}, "x", "", bridge.ErrNotFound},
		{"unknown channel", bridge.ChatRef{Kind: bridge.Group, ID: "C0000000999"}, "x", "", bridge.ErrNotFound},
		{"not a channel", bridge.ChatRef{Kind: bridge.Group, ID: "D0000000999"}, "x", "", bridge.ErrNotFound},
		{"empty", bridge.ChatRef{Kind: bridge.Direct, Peer: w.uid(w.bob)}, " ", "", bridge.ErrInvalidInput},
		{"not in channel", bridge.ChatRef{Kind: bridge.Direct, Peer: w.uid(w.bob)}, "x", "not_in_channel", bridge.ErrForbidden},
		{"slack trouble", bridge.ChatRef{Kind: bridge.Direct, Peer: w.uid(w.bob)}, "x", "internal_error", bridge.ErrTemporary},
		{"revoked", bridge.ChatRef{Kind: bridge.Direct, Peer: w.uid(w.bob)}, "x", "token_revoked", bridge.ErrAuth},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.code != "" {
				w.fake.FailNext("chat.postMessage", 1, tc.code)
			}
			_, err := sess.Send(ctx, tc.chat, bridge.OutgoingMessage{Text: tc.msg})
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
	// Nothing of this reached the sink as an echo.
	if n := count[bridge.MessageEvent](sink, nil); n != 0 {
		t.Errorf("echoes reflected: %s", bridgetest.Describe(sink.Events()))
	}
}

func TestSendInThread(t *testing.T) {
	w := newWorld(t)
	tr := w.transport()
	sess, _ := w.login(tr, w.aliceTok)
	ctx := bounded(t, 10*time.Second)
	chat := bridge.ChatRef{Kind: bridge.Direct, Peer: w.uid(w.bob)}
	root := w.fake.Post(w.bob.ID, w.aliceBob, "root")
	tests := []struct {
		thread, want string
	}{
		{root, root},                  // a reply in the thread
		{"a5f3-client-thread-id", ""}, // an XMPP client's own thread ID
		{"1600000000.000001", ""},     // a thread Slack does not know
	}
	for _, tc := range tests {
		id, err := sess.Send(ctx, chat, bridge.OutgoingMessage{Text: "reply", Thread: bridge.MessageID(tc.thread)})
		if err != nil {
			t.Fatalf("thread %q: %v", tc.thread, err)
		}
		if m := findMessage(t, w.fake, w.aliceBob, string(id)); m.ThreadTS != tc.want {
			t.Errorf("thread %q: posted in %q, want %q", tc.thread, m.ThreadTS, tc.want)
		}
	}
}

func TestRateLimits(t *testing.T) {
	w := newWorld(t)
	tr := w.transport(func(c *Config) { c.PostRate, c.PostBurst = 0.5, 1 })
	sess, _ := w.login(tr, w.aliceTok)
	ctx := bounded(t, 10*time.Second)
	chat := bridge.ChatRef{Kind: bridge.Direct, Peer: w.uid(w.bob)}

	// Slack's 429 becomes a RateLimitError with its Retry-After.
	w.fake.RateLimit("chat.postMessage", 1, 2*time.Second)
	_, err := sess.Send(ctx, chat, bridge.OutgoingMessage{Text: "one"})
	var rl *bridge.RateLimitError
	if !errors.As(err, &rl) || rl.RetryAfter != 2*time.Second || !errors.Is(err, bridge.ErrTemporary) {
		t.Fatalf("got %v, want a rate limit of 2s", err)
	}
	// The local limiter (one message per 2 s, no burst; the refused post
	// took the turn): a send that cannot wait long enough is a rate limit
	// too, without a call to Slack.
	calls := w.fake.CallCount("chat.postMessage")
	short := bounded(t, 100*time.Millisecond)
	_, err = sess.Send(short, chat, bridge.OutgoingMessage{Text: "three"})
	if !errors.As(err, &rl) || rl.RetryAfter <= 100*time.Millisecond {
		t.Fatalf("got %v, want a local rate limit", err)
	}
	if n := w.fake.CallCount("chat.postMessage"); n != calls {
		t.Errorf("chat.postMessage called %d times, want %d", n, calls)
	}
}

func TestIncomingMessages(t *testing.T) {
	w := newWorld(t)
	tr := w.transport()
	_, sink := w.login(tr, w.aliceTok)

	ts := w.fake.Post(w.bob.ID, w.aliceBob, "hi <@"+w.alice.ID+"> *there* :wave: <https://example.org|site>")
	m := waitFor[bridge.MessageEvent](t, sink, nil)
	want := bridge.MessageEvent{
		Chat:   bridge.ChatRef{Kind: bridge.Direct, ID: bridge.ChatID(w.aliceBob), Peer: w.uid(w.bob)},
		Sender: w.uid(w.bob), ID: bridge.MessageID(ts), Time: tsTime(ts),
		Text: "hi @Alice *there* 👋 site (https://example.org)",
	}
	if m.Chat != want.Chat || m.Sender != want.Sender || m.ID != want.ID || !m.Time.Equal(want.Time) || m.Text != want.Text || m.FromSelf {
		t.Errorf("got %+v\nwant %+v", m, want)
	}
	// Bob was not a contact yet: he was offered before the message (his
	// presence, polled at login, may come first).
	var first bridge.Event
	for _, ev := range sink.Events() {
		if _, isPresence := ev.(bridge.PresenceEvent); !isPresence {
			first = ev
			break
		}
	}
	c, ok := first.(bridge.ContactEvent)
	if !ok || c.Contact.ID != w.uid(w.bob) || c.Contact.Name != "Bob Builder" || c.Contact.Groups[0] != "Acme" {
		t.Errorf("first event %T %+v, want Bob's contact", first, first)
	}

	// A message alice writes in the official app is reflected as hers.
	ts2 := w.fake.Post(w.alice.ID, w.aliceBob, "from my phone")
	self := waitFor[bridge.MessageEvent](t, sink, func(e bridge.MessageEvent) bool { return e.ID == bridge.MessageID(ts2) })
	if !self.FromSelf || self.Sender != MakeUserID(w.team.ID, w.alice.ID) || self.Chat.Peer != w.uid(w.bob) || self.Text != "from my phone" {
		t.Errorf("self message %+v", self)
	}

	// A thread reply and a /me message.
	ts3 := w.fake.Post(w.bob.ID, w.aliceBob, "in thread", slackfake.WithThread(ts))
	r := waitFor[bridge.MessageEvent](t, sink, func(e bridge.MessageEvent) bool { return e.ID == bridge.MessageID(ts3) })
	if r.Thread != bridge.MessageID(ts) {
		t.Errorf("reply thread %q, want %q", r.Thread, ts)
	}
	if err := w.fake.WaitUntil(bounded(t, 5*time.Second), func() bool { return w.fake.Pending() == 0 }); err != nil {
		t.Errorf("%d envelopes not acknowledged", w.fake.Pending())
	}
}

func TestEditsDeletionsReactionsBothWays(t *testing.T) {
	w := newWorld(t)
	tr := w.transport()
	sess, sink := w.login(tr, w.aliceTok)
	ctx := bounded(t, 10*time.Second)
	chat := bridge.ChatRef{Kind: bridge.Direct, Peer: w.uid(w.bob)}

	// Slack → XMPP.
	ts := w.fake.Post(w.bob.ID, w.aliceBob, "helo")
	waitFor[bridge.MessageEvent](t, sink, nil)
	w.fake.Edit(w.bob.ID, w.aliceBob, ts, "hello")
	e := waitFor[bridge.EditEvent](t, sink, nil)
	if e.ID != bridge.MessageID(ts) || e.Text != "hello" || e.Sender != w.uid(w.bob) || e.FromSelf {
		t.Errorf("edit %+v", e)
	}
	w.fake.React(w.bob.ID, w.aliceBob, ts, "thumbsup")
	w.fake.React(w.bob.ID, w.aliceBob, ts, "party-parrot")
	r := waitFor[bridge.ReactionEvent](t, sink, func(r bridge.ReactionEvent) bool { return len(r.Emojis) == 2 })
	if r.ID != bridge.MessageID(ts) || r.Sender != w.uid(w.bob) || !slices.Equal(r.Emojis, []string{"👍", ":party-parrot:"}) {
		t.Errorf("reaction %+v", r)
	}
	w.fake.Unreact(w.bob.ID, w.aliceBob, ts, "thumbsup")
	waitFor[bridge.ReactionEvent](t, sink, func(r bridge.ReactionEvent) bool { return slices.Equal(r.Emojis, []string{":party-parrot:"}) })
	w.fake.Delete(w.bob.ID, w.aliceBob, ts)
	d := waitFor[bridge.RetractionEvent](t, sink, nil)
	if d.ID != bridge.MessageID(ts) || d.Sender != w.uid(w.bob) {
		t.Errorf("retraction %+v", d)
	}

	// XMPP → Slack, and none of it comes back as an echo.
	id, err := sess.Send(ctx, chat, bridge.OutgoingMessage{Text: "mine"})
	if err != nil {
		t.Fatal(err)
	}
	if err := sess.Edit(ctx, chat, id, bridge.OutgoingMessage{Text: "mine, edited"}); err != nil {
		t.Fatal(err)
	}
	if err := sess.React(ctx, chat, id, []string{"👍", "🎉"}); err != nil {
		t.Fatal(err)
	}
	if err := sess.React(ctx, chat, id, []string{"🎉"}); err != nil {
		t.Fatal(err)
	}
	msg := findMessage(t, w.fake, w.aliceBob, string(id))
	if msg.Text != "mine, edited" || len(msg.Reactions) != 1 || msg.Reactions[0].Name != "tada" {
		t.Errorf("message on Slack %+v", msg)
	}
	if err := sess.React(ctx, chat, id, []string{"no such emoji"}); !errors.Is(err, bridge.ErrInvalidInput) {
		t.Errorf("React with text: %v", err)
	}
	if err := sess.Retract(ctx, chat, id); err != nil {
		t.Fatal(err)
	}
	if err := sess.Retract(ctx, chat, id); err != nil {
		t.Errorf("retracting twice: %v", err)
	}
	// A marker event after our own changes: when it arrives, the echoes
	// before it were handled.
	marker := w.fake.Post(w.bob.ID, w.aliceBob, "marker")
	waitFor[bridge.MessageEvent](t, sink, func(e bridge.MessageEvent) bool { return e.ID == bridge.MessageID(marker) })
	for _, ev := range sink.Events() {
		switch ev := ev.(type) {
		case bridge.MessageEvent:
			if ev.FromSelf {
				t.Errorf("echo of own message: %+v", ev)
			}
		case bridge.EditEvent, bridge.RetractionEvent, bridge.ReactionEvent:
			if fromSelf(ev) {
				t.Errorf("echo of own change: %T %+v", ev, ev)
			}
		}
	}
	if err := w.fake.WaitUntil(ctx, func() bool { return w.fake.Pending() == 0 }); err != nil {
		t.Errorf("%d envelopes not acknowledged", w.fake.Pending())
	}
}

func fromSelf(ev bridge.Event) bool {
	switch ev := ev.(type) {
	case bridge.EditEvent:
		return ev.FromSelf
	case bridge.RetractionEvent:
		return ev.FromSelf
	case bridge.ReactionEvent:
		return ev.FromSelf
	}
	return false
}

func findMessage(t *testing.T, fake *slackfake.Server, channel, ts string) slackfake.Message {
	t.Helper()
	for _, m := range fake.Messages(channel) {
		if m.TS == ts {
			return m
		}
	}
	t.Fatalf("no message %s in %s", ts, channel)
	return slackfake.Message{}
}
