package slack_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/xgate-im/xgate/bridge"
	"github.com/xgate-im/xgate/bridge/community"
	"github.com/xgate-im/xgate/store"
	"github.com/xgate-im/xgate/transports/slack"
	"github.com/xgate-im/xgate/transports/slack/slackfake"
	"github.com/xgate-im/xgate/xmpp"
	"github.com/xgate-im/xgate/xmpp/jid"
	"github.com/xgate-im/xgate/xmpp/prosodytest"
)

// communityWorld is a bridge group between a room of a real Prosody's MUC
// service and a channel of the fake Slack, through the Slack transport's
// gateway and a community hub.
type communityWorld struct {
	t       *testing.T
	p       *prosodytest.Server
	fake    *slackfake.Server
	hub     *community.Hub
	room    jid.JID
	channel slackfake.Channel
	carol   slackfake.User // a Slack member in the channel
	dave    slackfake.User // another, whose display name clashes with alice's nick
}

const mucDomain = "conference.localhost"

func startCommunity(t *testing.T) *communityWorld {
	t.Helper()
	prosodytest.Require(t)
	fake := slackfake.New()
	t.Cleanup(fake.Close)
	team := fake.CreateTeam("Acme")
	carol := fake.CreateUser(team.ID, slackfake.UserSpec{Name: "carol", DisplayName: "Carol C"})
	dave := fake.CreateUser(team.ID, slackfake.UserSpec{Name: "dave", DisplayName: "alice"})
	ch := fake.CreateChannel(team.ID, "general", false, carol.ID, dave.ID)
	botToken, _ := fake.InstallApp(team.ID)

	p := prosodytest.Start(t, prosodytest.Options{
		Components: []prosodytest.Component{{Domain: gwDomain, Secret: "s3cret"}},
		MUC:        mucDomain,
		Users:      map[string]string{"alice": "pw", "bob": "pw"},
	})
	key, err := store.ParseKey([]byte(strings.Repeat("5a", 32)))
	if err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(filepath.Join(t.TempDir(), "xgate.db"), store.Options{Key: key})
	if err != nil {
		t.Fatal(err)
	}
	tr, err := slack.New(slack.Config{
		APIURL: fake.APIURL(), AppToken: fake.AppToken(), BotToken: botToken,
		PresencePoll: slack.Duration(time.Hour), PostRate: 1000, PostBurst: 1000,
	}, testLogger(), nil)
	if err != nil {
		t.Fatal(err)
	}
	mux := community.NewMux()
	gw, err := bridge.New(bridge.Config{
		Name:      "slack",
		Component: xmpp.ComponentConfig{Addr: p.ComponentAddr(), Domain: gwDomain, Secret: "s3cret", MinBackoff: 20 * time.Millisecond, MaxBackoff: 200 * time.Millisecond},
		Access:    bridge.Access{Allow: []string{"localhost"}},
		RetryBase: 10 * time.Millisecond,
		Community: mux,
	}, tr, db, testLogger())
	if err != nil {
		t.Fatal(err)
	}
	room := jid.MustParse("general@" + mucDomain)
	hub, err := community.New(community.Config{
		Name: "general", Room: room,
		Networks: []community.Network{{
			Name: "slack", Channel: bridge.ChatID(ch.ID), Bridger: tr,
			Component: gw.Component(), Localpart: tr.ContactLocalpart,
		}},
		SelfPing: 100 * time.Millisecond, AnswerTimeout: 3 * time.Second, RetryBase: 20 * time.Millisecond,
	}, db, testLogger())
	if err != nil {
		t.Fatal(err)
	}
	if err := mux.Add(hub); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	gwDone, hubDone := make(chan error, 1), make(chan error, 1)
	go func() { gwDone <- gw.Run(ctx) }()
	go func() { hubDone <- hub.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		for _, done := range []chan error{hubDone, gwDone} {
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("run: %v", err)
				}
			case <-time.After(15 * time.Second):
				t.Error("did not stop")
			}
		}
		if err := db.Verify(); err != nil {
			t.Errorf("store invariants: %v", err)
		}
		db.Close()
	})
	return &communityWorld{t: t, p: p, fake: fake, hub: hub, room: room, channel: ch, carol: carol, dave: dave}
}

// join connects an XMPP user and has them join the room under nick; it
// returns once the room sent the user's own presence.
func (w *communityWorld) join(ctx context.Context, user, nick string) *prosodytest.Client {
	w.t.Helper()
	c := prosodytest.Dial(ctx, w.t, w.p.C2SAddr(), user, "localhost", "pw")
	w.enter(ctx, c, nick)
	return c
}

func (w *communityWorld) enter(ctx context.Context, c *prosodytest.Client, nick string) {
	w.t.Helper()
	to, _ := w.room.WithResource(nick)
	x := xmpp.NewElement("http://jabber.org/protocol/muc", "x").Append(xmpp.NewElement("", "history", "maxstanzas", "0"))
	if err := c.Send(&xmpp.Presence{Header: xmpp.Header{To: to}, Extra: []*xmpp.Element{x}}); err != nil {
		w.t.Fatal(err)
	}
	if _, err := c.Expect(ctx, func(s xmpp.Stanza) bool {
		p, ok := s.(*xmpp.Presence)
		return ok && p.From == to && p.Type == ""
	}); err != nil {
		w.t.Fatal(err)
	}
}

// say sends a groupchat message to the room.
func (w *communityWorld) say(c *prosodytest.Client, id, body string, extra ...*xmpp.Element) {
	w.t.Helper()
	if err := c.Send(&xmpp.Message{Header: xmpp.Header{To: w.room, ID: id, Type: xmpp.MessageGroupchat}, Body: body, Extra: extra}); err != nil {
		w.t.Fatal(err)
	}
}

// groupchat matches a groupchat message from nick in the room.
func (w *communityWorld) groupchat(nick string, ok func(*xmpp.Message) bool) func(xmpp.Stanza) bool {
	return func(s xmpp.Stanza) bool {
		m, is := s.(*xmpp.Message)
		return is && m.Type == xmpp.MessageGroupchat && m.From.Bare() == w.room && m.From.Resource() == nick && ok(m)
	}
}

func child(m *xmpp.Message, space, local string) *xmpp.Element {
	for _, e := range m.Extra {
		if e.Name.Space == space && e.Name.Local == local {
			return e
		}
	}
	return nil
}

func TestCommunityRoomAndSlackChannel(t *testing.T) {
	w := startCommunity(t)
	ctx := bounded(t)
	alice := w.join(ctx, "alice", "alice")
	// The listener joins the room.
	if _, err := alice.Expect(ctx, prosodytest.PresenceFrom(jid.MustParse("general@"+mucDomain+"/bridge"), "")); err != nil {
		t.Fatal(err)
	}

	// Slack → room: Carol speaks as herself, from her own occupant.
	ts1 := w.fake.Post(w.carol.ID, w.channel.ID, "hello from *Slack*")
	s, err := alice.Expect(ctx, w.groupchat("Carol C", func(m *xmpp.Message) bool { return m.Body == "hello from Slack" || strings.Contains(m.Body, "hello from") }))
	if err != nil {
		t.Fatal(err)
	}
	carolMsg := s.(*xmpp.Message)
	if carolMsg.Body != "hello from *Slack*" {
		t.Errorf("room got %q", carolMsg.Body)
	}

	// A Slack member whose name clashes with an occupant's nick gets the
	// network's name added.
	w.fake.Post(w.dave.ID, w.channel.ID, "me too")
	if _, err := alice.Expect(ctx, w.groupchat("alice (slack)", func(m *xmpp.Message) bool { return m.Body == "me too" })); err != nil {
		t.Fatal(err)
	}

	// Room → Slack: under alice's nick, through the bot; not echoed back.
	w.say(alice, "a1", "hi from xmpp")
	msg, err := w.fake.WaitMessage(ctx, w.channel.ID, func(m slackfake.Message) bool { return m.Text == "hi from xmpp" })
	if err != nil {
		t.Fatal(err)
	}
	if msg.Username != "alice" || msg.BotID == "" {
		t.Errorf("Slack shows %q (bot %q), want alice through the bot", msg.Username, msg.BotID)
	}

	// Corrections and retractions follow, both ways.
	w.fake.Edit(w.carol.ID, w.channel.ID, ts1, "hello again")
	s, err = alice.Expect(ctx, w.groupchat("Carol C", func(m *xmpp.Message) bool { return m.Body == "hello again" }))
	if err != nil {
		t.Fatal(err)
	}
	if r := child(s.(*xmpp.Message), "urn:xmpp:message-correct:0", "replace"); r == nil || r.AttrValue("id") != carolMsg.ID {
		t.Errorf("correction %v does not replace %q", s.Element(), carolMsg.ID)
	}
	w.fake.Delete(w.carol.ID, w.channel.ID, ts1)
	s, err = alice.Expect(ctx, w.groupchat("Carol C", func(m *xmpp.Message) bool {
		return child(m, "urn:xmpp:message-retract:1", "retract") != nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	if r := child(s.(*xmpp.Message), "urn:xmpp:message-retract:1", "retract"); r.AttrValue("id") != carolMsg.ID {
		t.Errorf("retraction of %q, want %q", r.AttrValue("id"), carolMsg.ID)
	}

	w.say(alice, "a2", "hi from xmpp, corrected", xmpp.NewElement("urn:xmpp:message-correct:0", "replace", "id", "a1"))
	if _, err := w.fake.WaitMessage(ctx, w.channel.ID, func(m slackfake.Message) bool {
		return m.TS == msg.TS && m.Text == "hi from xmpp, corrected"
	}); err != nil {
		t.Fatal(err)
	}
	w.say(alice, "a3", "(retracted)", xmpp.NewElement("urn:xmpp:message-retract:1", "retract", "id", "a1"))
	if err := w.fake.WaitUntil(ctx, func() bool {
		for _, m := range w.fake.Messages(w.channel.ID) {
			if m.TS == msg.TS {
				return false
			}
		}
		return true
	}); err != nil {
		t.Fatal(err)
	}

	// No echo: the room never got alice's own words from a puppet, and
	// Slack has exactly the bot's one post left of hers (none: retracted)
	// besides the members' own.
	w.say(alice, "a4", "last")
	if _, err := w.fake.WaitMessage(ctx, w.channel.ID, func(m slackfake.Message) bool { return m.Text == "last" }); err != nil {
		t.Fatal(err)
	}
	var texts []string
	for _, m := range w.fake.Messages(w.channel.ID) {
		if m.Subtype != "channel_join" {
			texts = append(texts, m.Username+":"+m.Text)
		}
	}
	if want := ":me too|alice:last"; strings.Join(texts, "|") != want {
		t.Errorf("Slack channel has %q, want %q", strings.Join(texts, "|"), want)
	}
	if st := w.hub.Stats(); st.Dropped != 0 || st.Barred != 0 || st.Gone != 0 {
		t.Errorf("stats %+v", st)
	}
}
