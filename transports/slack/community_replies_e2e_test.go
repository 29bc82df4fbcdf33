package slack_test

import (
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/xgate-im/xgate/transports/slack"
	"github.com/xgate-im/xgate/transports/slack/slackfake"
	"github.com/xgate-im/xgate/xmpp"
	"github.com/xgate-im/xgate/xmpp/ejabberdtest"
	"github.com/xgate-im/xgate/xmpp/jid"
	"github.com/xgate-im/xgate/xmpp/prosodytest"
)

const (
	nsReactions = "urn:xmpp:reactions:0"
	nsReply     = "urn:xmpp:reply:0"
)

// reactionsOf returns the target and emojis of a XEP-0444 reactions
// message, ok false for any other message.
func reactionsOf(m *xmpp.Message) (target string, emojis []string, ok bool) {
	r := child(m, nsReactions, "reactions")
	if r == nil {
		return "", nil, false
	}
	for _, e := range r.Children() {
		emojis = append(emojis, e.Text())
	}
	return r.AttrValue("id"), emojis, true
}

// reacts matches the reactions of nick on message target.
func (w *communityWorld) reacts(nick, target string, emojis ...string) func(xmpp.Stanza) bool {
	return w.groupchat(nick, func(m *xmpp.Message) bool {
		id, got, ok := reactionsOf(m)
		return ok && id == target && slices.Equal(got, emojis)
	})
}

// botReactions returns the reactions the bot has on a Slack message.
func (w *communityWorld) botReactions(ts string) []string {
	var names []string
	for _, m := range w.fake.Messages(w.channel.ID) {
		if m.TS != ts {
			continue
		}
		for _, r := range m.Reactions {
			if slices.Contains(r.Users, w.botUser) {
				names = append(names, r.Name)
			}
		}
	}
	return names
}

// TestCommunityReactionsAndReplies: reactions and replies cross the
// bridge both ways. In the room each Slack member reacts and replies from
// their own occupant (XEP-0444, XEP-0461 with a quoted fallback); on Slack
// the bot carries the reactions of the room's occupants, and replies go to
// the thread of the message answered.
func TestCommunityReactionsAndReplies(t *testing.T) {
	testReactionsAndReplies(t, startCommunity(t))
}

// The same against ejabberd's MUC service.
func TestCommunityReactionsAndRepliesEjabberd(t *testing.T) {
	e := ejabberdtest.Start(t, ejabberdtest.Options{
		Components: []ejabberdtest.Component{{Domain: gwDomain, Secret: "s3cret"}},
		MUC:        mucDomain,
		Users:      map[string]string{"alice": "pw"},
	})
	w := newCommunityOn(t, e.C2SAddr(), e.ComponentAddr())
	w.start(w.channel.ID)
	testReactionsAndReplies(t, w)
}

func testReactionsAndReplies(t *testing.T, w *communityWorld) {
	ctx := bounded(t)
	alice := w.join(ctx, "alice", "alice")
	if _, err := alice.Expect(ctx, prosodytest.PresenceFrom(jid.MustParse("general@"+mucDomain+"/bridge"), "")); err != nil {
		t.Fatal(err)
	}
	ts1 := w.fake.Post(w.carol.ID, w.channel.ID, "where is the meeting?")
	s, err := alice.Expect(ctx, w.groupchat("Carol C", func(m *xmpp.Message) bool { return m.Body == "where is the meeting?" }))
	if err != nil {
		t.Fatal(err)
	}
	question := s.(*xmpp.Message).ID
	thumbs, _ := slack.ReactionName("👍")

	// Room → Slack: alice's reaction is the bot's on Carol's message.
	w.say(alice, "r1", "", xmpp.NewElement(nsReactions, "reactions", "id", question).Append(xmpp.NewElement("", "reaction").AppendText("👍")))
	if err := w.fake.WaitUntil(ctx, func() bool { return slices.Equal(w.botReactions(ts1), []string{thumbs}) }); err != nil {
		t.Fatalf("Slack shows the bot's reactions %v: %v", w.botReactions(ts1), err)
	}

	// Room → Slack: alice's reply, with its quoted fallback, goes to the
	// thread of the question without the quote.
	fallback := "> Carol C: where is the meeting?\n"
	end := strconv.Itoa(len([]rune(fallback)))
	w.say(alice, "q1", fallback+"room 4",
		xmpp.NewElement(nsReply, "reply", "to", w.room.String()+"/Carol C", "id", question),
		xmpp.NewElement("urn:xmpp:fallback:0", "fallback", "for", nsReply).Append(xmpp.NewElement("", "body", "start", "0", "end", end)))
	answer, err := w.fake.WaitMessage(ctx, w.channel.ID, func(m slackfake.Message) bool { return m.Username == "alice" })
	if err != nil {
		t.Fatal(err)
	}
	if answer.Text != "room 4" || answer.ThreadTS != ts1 {
		t.Errorf("Slack got %q in thread %q, want %q in %q", answer.Text, answer.ThreadTS, "room 4", ts1)
	}

	// Slack → room: Carol's reaction on her message, Dave's on alice's
	// reply, each from their own occupant, naming the room's messages.
	w.fake.React(w.carol.ID, w.channel.ID, ts1, "tada")
	if _, err := alice.Expect(ctx, w.reacts("Carol C", question, "🎉")); err != nil {
		t.Fatal(err)
	}
	w.fake.React(w.dave.ID, w.channel.ID, answer.TS, "heart")
	if _, err := alice.Expect(ctx, w.reacts("alice (slack)", "q1", "❤️")); err != nil {
		t.Fatal(err)
	}
	w.fake.Unreact(w.carol.ID, w.channel.ID, ts1, "tada")
	if _, err := alice.Expect(ctx, w.reacts("Carol C", question)); err != nil {
		t.Fatal(err)
	}

	// Slack → room: a reply in the thread is a XEP-0461 reply to the
	// thread's message, with the quote as fallback.
	w.fake.Post(w.carol.ID, w.channel.ID, "thanks!", slackfake.WithThread(ts1))
	s, err = alice.Expect(ctx, w.groupchat("Carol C", func(m *xmpp.Message) bool { return strings.HasSuffix(m.Body, "thanks!") }))
	if err != nil {
		t.Fatal(err)
	}
	m := s.(*xmpp.Message)
	reply := child(m, nsReply, "reply")
	if reply == nil || reply.AttrValue("id") != question || reply.AttrValue("to") != w.room.String()+"/Carol C" {
		t.Fatalf("reply %s does not answer %q", m.Element(), question)
	}
	if m.Body != fallback+"thanks!" {
		t.Errorf("body %q", m.Body)
	}
	fb := child(m, "urn:xmpp:fallback:0", "fallback")
	if fb == nil || fb.AttrValue("for") != nsReply || fb.Child("", "body") == nil || fb.Child("", "body").AttrValue("end") != end {
		t.Errorf("fallback %v, want the quote's %s code points", fb, end)
	}

	// Taking a reaction back in the room takes the bot's back on Slack;
	// the bot's own reactions never came back to the room.
	w.say(alice, "r2", "", xmpp.NewElement(nsReactions, "reactions", "id", question))
	if err := w.fake.WaitUntil(ctx, func() bool { return len(w.botReactions(ts1)) == 0 }); err != nil {
		t.Fatalf("Slack keeps the bot's reactions %v: %v", w.botReactions(ts1), err)
	}
	w.fake.Post(w.carol.ID, w.channel.ID, "sentinel")
	if _, err := alice.Expect(ctx, w.groupchat("Carol C", func(m *xmpp.Message) bool { return m.Body == "sentinel" })); err != nil {
		t.Fatal(err)
	}
	if s, err := alice.Expect(expired(), func(s xmpp.Stanza) bool {
		m, ok := s.(*xmpp.Message)
		if !ok || m.From.Resource() == "alice" {
			return false
		}
		_, emojis, ok := reactionsOf(m)
		return ok && slices.Contains(emojis, "👍")
	}); err == nil {
		t.Errorf("alice's reaction came back: %s", s.Element())
	}
}
