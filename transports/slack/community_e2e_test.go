package slack_test

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/xgate-im/xgate/bridge"
	"github.com/xgate-im/xgate/bridge/community"
	"github.com/xgate-im/xgate/store"
	"github.com/xgate-im/xgate/transports/slack"
	"github.com/xgate-im/xgate/transports/slack/slackfake"
	"github.com/xgate-im/xgate/xmpp"
	"github.com/xgate-im/xgate/xmpp/ejabberdtest"
	"github.com/xgate-im/xgate/xmpp/jid"
	"github.com/xgate-im/xgate/xmpp/prosodytest"
)

// communityWorld is a bridge group between a room of a real Prosody's MUC
// service and a channel of the fake Slack, through the Slack transport's
// gateway and a community hub.
type communityWorld struct {
	t        testing.TB
	p        *prosodytest.Server // nil on ejabberd
	c2s      string
	comp     string
	fake     *slackfake.Server
	db       *store.DB
	botToken string
	botUser  string
	room     jid.JID
	channel  slackfake.Channel
	carol    slackfake.User // a Slack member in the channel
	dave     slackfake.User // another, whose display name clashes with alice's nick

	hub *community.Hub // of the running xgate
	gw  *bridge.Gateway
}

const mucDomain = "conference.localhost"

// startCommunity starts Prosody, the fake Slack and xgate with a bridge
// group of the room general@conference.localhost and #general.
func startCommunity(t testing.TB) *communityWorld {
	t.Helper()
	w := newCommunity(t)
	w.start(w.channel.ID)
	return w
}

// newCommunity starts Prosody and the fake Slack and opens the store.
func newCommunity(t testing.TB) *communityWorld {
	t.Helper()
	prosodytest.Require(t)
	p := prosodytest.Start(t, prosodytest.Options{
		Components: []prosodytest.Component{{Domain: gwDomain, Secret: "s3cret"}},
		MUC:        mucDomain,
		Users:      map[string]string{"alice": "pw", "bob": "pw"},
	})
	w := newCommunityOn(t, p.C2SAddr(), p.ComponentAddr())
	w.p = p
	return w
}

// newCommunityOn starts the fake Slack and opens the store, for a host
// server already running with the component gwDomain, the MUC service
// mucDomain and the user alice.
func newCommunityOn(t testing.TB, c2s, comp string) *communityWorld {
	t.Helper()
	fake := slackfake.New()
	t.Cleanup(fake.Close)
	team := fake.CreateTeam("Acme")
	carol := fake.CreateUser(team.ID, slackfake.UserSpec{Name: "carol", DisplayName: "Carol C"})
	dave := fake.CreateUser(team.ID, slackfake.UserSpec{Name: "dave", DisplayName: "alice"})
	ch := fake.CreateChannel(team.ID, "general", false, carol.ID, dave.ID)
	botToken, botUser := fake.InstallApp(team.ID)

	key, err := store.ParseKey([]byte(strings.Repeat("5a", 32)))
	if err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(filepath.Join(t.TempDir(), "xgate.db"), store.Options{Key: key})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := db.Verify(); err != nil {
			t.Errorf("store invariants: %v", err)
		}
		db.Close()
	})
	return &communityWorld{t: t, c2s: c2s, comp: comp, fake: fake, db: db, botToken: botToken, botUser: botUser,
		room: jid.MustParse("general@" + mucDomain), channel: ch, carol: carol, dave: dave}
}

// start runs xgate (the Slack transport, its gateway and the hub of the
// group bridging the room with channel) until stop or the end of the test.
func (w *communityWorld) start(channel string, mods ...func(*community.Config)) (stop func()) {
	t := w.t
	t.Helper()
	tr, err := slack.New(slack.Config{
		APIURL: w.fake.APIURL(), AppToken: w.fake.AppToken(), BotToken: w.botToken,
		PresencePoll: slack.Duration(time.Hour), PostRate: 1000, PostBurst: 1000,
	}, testLogger(), nil)
	if err != nil {
		t.Fatal(err)
	}
	mux := community.NewMux()
	gw, err := bridge.New(bridge.Config{
		Name:      "slack",
		Component: xmpp.ComponentConfig{Addr: w.comp, Domain: gwDomain, Secret: "s3cret", MinBackoff: 20 * time.Millisecond, MaxBackoff: 200 * time.Millisecond},
		Access:    bridge.Access{Allow: []string{"localhost"}},
		RetryBase: 10 * time.Millisecond,
		Community: mux,
	}, tr, w.db, testLogger())
	if err != nil {
		t.Fatal(err)
	}
	w.gw = gw // for mods
	hc := community.Config{
		Name: "general", Room: w.room,
		Networks: []community.Network{{
			Name: "slack", Channel: bridge.ChatID(channel), Bridger: tr,
			Component: gw.Component(), Localpart: tr.ContactLocalpart,
		}},
		SelfPing: 100 * time.Millisecond, AnswerTimeout: 3 * time.Second, RetryBase: 20 * time.Millisecond,
	}
	for _, m := range mods {
		m(&hc)
	}
	hub, err := community.New(hc, w.db, testLogger())
	if err != nil {
		t.Fatal(err)
	}
	if err := mux.Add(hub); err != nil {
		t.Fatal(err)
	}
	w.hub, w.gw = hub, gw
	ctx, cancel := context.WithCancel(context.Background())
	gwDone, hubDone := make(chan error, 1), make(chan error, 1)
	go func() { gwDone <- gw.Run(ctx) }()
	go func() { hubDone <- hub.Run(ctx) }()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
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
	}
	t.Cleanup(stop)
	// Slack sends the bot the messages of a channel once it is in it.
	wctx, done := context.WithTimeout(t.Context(), 15*time.Second)
	defer done()
	if err := w.fake.WaitUntil(wctx, func() bool {
		ch, ok := w.fake.Channel(channel)
		return !ok || slices.Contains(ch.Members, w.botUser)
	}); err != nil {
		t.Fatalf("the bot never joined the channel: %v", err)
	}
	return stop
}

// join connects an XMPP user and has them join the room under nick; it
// returns once the room sent the user's own presence.
func (w *communityWorld) join(ctx context.Context, user, nick string) *prosodytest.Client {
	w.t.Helper()
	c := prosodytest.Dial(ctx, w.t, w.c2s, user, "localhost", "pw")
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
	testRoomAndChannel(t, startCommunity(t))
}

// The same against ejabberd's MUC service.
func TestCommunityRoomAndSlackChannelEjabberd(t *testing.T) {
	e := ejabberdtest.Start(t, ejabberdtest.Options{
		Components: []ejabberdtest.Component{{Domain: gwDomain, Secret: "s3cret"}},
		MUC:        mucDomain,
		Users:      map[string]string{"alice": "pw"},
	})
	w := newCommunityOn(t, e.C2SAddr(), e.ComponentAddr())
	w.start(w.channel.ID)
	testRoomAndChannel(t, w)
}

// testRoomAndChannel: names, both directions, no echo, corrections and
// retractions both ways.
func testRoomAndChannel(t *testing.T, w *communityWorld) {
	ctx := bounded(t)
	alice := w.join(ctx, "alice", "alice")
	// The listener joins the room.
	if _, err := alice.Expect(ctx, prosodytest.PresenceFrom(jid.MustParse("general@"+mucDomain+"/bridge"), "")); err != nil {
		t.Fatal(err)
	}

	// Slack → room: Carol speaks as herself, from her own occupant.
	ts1 := w.fake.Post(w.carol.ID, w.channel.ID, "hello from *Slack*")
	s, err := alice.Expect(ctx, w.groupchat("Carol C", func(m *xmpp.Message) bool {
		return m.Body == "hello from Slack" || strings.Contains(m.Body, "hello from")
	}))
	if err != nil {
		t.Fatal(err)
	}
	carolMsg := s.(*xmpp.Message)
	if carolMsg.Body != "hello from *Slack*" {
		t.Errorf("room got %q", carolMsg.Body)
	}

	// A private message to Carol's occupant is refused, and she stays.
	carolNick, _ := w.room.WithResource("Carol C")
	if err := alice.Send(&xmpp.Message{Header: xmpp.Header{To: carolNick, ID: "pm1", Type: xmpp.MessageChat}, Body: "psst"}); err != nil {
		t.Fatal(err)
	}
	if st, err := alice.Expect(ctx, func(s xmpp.Stanza) bool {
		m, ok := s.(*xmpp.Message)
		return ok && m.ID == "pm1"
	}); err != nil {
		t.Fatal(err)
	} else if m := st.(*xmpp.Message); m.Type != xmpp.MessageError || m.Error == nil || m.Error.Condition != xmpp.CondFeatureNotImplemented {
		t.Errorf("private message answered %s", st.Element())
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
	if _, err := alice.Expect(expired(), prosodytest.PresenceFrom(carolNick, xmpp.PresenceUnavailable)); err == nil {
		t.Error("Carol's occupant left the room")
	}
}

// expired is a context that is already done: Expect with it only looks at
// what is queued.
func expired() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}

func TestCommunityPuppetKickedIsReportedNotRejoined(t *testing.T) {
	w := newCommunity(t)
	ctx := bounded(t)
	alice := w.join(ctx, "alice", "alice") // first in, before xgate: the room's owner
	w.start(w.channel.ID)
	w.fake.Post(w.carol.ID, w.channel.ID, "one")
	if _, err := alice.Expect(ctx, w.groupchat("Carol C", func(m *xmpp.Message) bool { return m.Body == "one" })); err != nil {
		t.Fatal(err)
	}
	kick := xmpp.NewElement("http://jabber.org/protocol/muc#admin", "query").Append(
		xmpp.NewElement("", "item", "nick", "Carol C", "role", "none"))
	if res, err := alice.Request(ctx, &xmpp.IQ{Header: xmpp.Header{To: w.room, Type: xmpp.IQSet}, Payload: kick}); err != nil || res.Type != xmpp.IQResult {
		t.Fatalf("kick: %v %v", res, err)
	}
	// Everything up to the kick is read.
	for {
		s, err := alice.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if p, ok := s.(*xmpp.Presence); ok && p.From.Resource() == "Carol C" && p.Type == xmpp.PresenceUnavailable {
			break
		}
	}
	w.fake.Post(w.carol.ID, w.channel.ID, "two")
	w.fake.Post(w.dave.ID, w.channel.ID, "three")
	if _, err := alice.Expect(ctx, w.groupchat("alice (slack)", func(m *xmpp.Message) bool { return m.Body == "three" })); err != nil {
		t.Fatal(err)
	}
	if _, err := alice.Expect(expired(), func(s xmpp.Stanza) bool {
		p, ok := s.(*xmpp.Presence)
		return ok && p.From.Resource() == "Carol C" && p.Type == ""
	}); err == nil {
		t.Error("the kicked puppet joined again")
	}
	if err := w.hub.WaitStats(ctx, func(st community.Stats) bool { return st.Barred == 1 && st.Dropped == 1 }); err != nil {
		t.Error(err)
	}
}

func TestCommunityProsodyCrashLosesNothing(t *testing.T) {
	w := startCommunity(t)
	ctx := bounded(t)
	alice := w.join(ctx, "alice", "alice")
	if _, err := alice.Expect(ctx, prosodytest.PresenceFrom(jid.MustParse("general@"+mucDomain+"/bridge"), "")); err != nil {
		t.Fatal(err)
	}
	w.fake.Post(w.carol.ID, w.channel.ID, "before")
	if _, err := alice.Expect(ctx, w.groupchat("Carol C", func(m *xmpp.Message) bool { return m.Body == "before" })); err != nil {
		t.Fatal(err)
	}

	// Prosody processed everything written to it before it crashes: the
	// component replays stanzas whose processing it did not see confirmed
	// (xmpp/barrier.go), which after a crash a few milliseconds after a
	// message may duplicate it; that window is not what this test is
	// about. The crash loses the room and its occupants (a clean stop
	// would save them), so the bridge must find out and join again.
	if err := w.gw.Component().Flush(ctx); err != nil {
		t.Fatal(err)
	}
	w.p.Kill()
	w.fake.Post(w.carol.ID, w.channel.ID, "during 1")
	w.fake.Post(w.dave.ID, w.channel.ID, "during 2")
	// Both are acknowledged to Slack while the host server is down: they
	// are in the hub's queue.
	if err := w.hub.WaitStats(ctx, func(st community.Stats) bool { return st.Queued == 2 }); err != nil {
		t.Fatal(err)
	}
	if err := w.fake.WaitUntil(ctx, func() bool { return w.fake.Pending() == 0 }); err != nil {
		t.Fatal(err)
	}
	w.p.Restart(t)

	alice = prosodytest.Dial(ctx, t, w.c2s, "alice", "localhost", "pw")
	to, _ := w.room.WithResource("alice")
	// Join with the room's history: the puppets may have spoken first.
	if err := alice.Send(&xmpp.Presence{Header: xmpp.Header{To: to}, Extra: []*xmpp.Element{xmpp.NewElement("http://jabber.org/protocol/muc", "x")}}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []struct{ nick, body string }{{"Carol C", "during 1"}, {"alice (slack)", "during 2"}} {
		if _, err := alice.Expect(ctx, w.groupchat(want.nick, func(m *xmpp.Message) bool { return m.Body == want.body })); err != nil {
			t.Fatal(err)
		}
	}
	// The room → Slack direction works again too.
	w.say(alice, "r1", "after")
	if _, err := w.fake.WaitMessage(ctx, w.channel.ID, func(m slackfake.Message) bool { return m.Text == "after" }); err != nil {
		t.Fatal(err)
	}
	w.fake.Post(w.carol.ID, w.channel.ID, "sentinel")
	if _, err := alice.Expect(ctx, w.groupchat("Carol C", func(m *xmpp.Message) bool { return m.Body == "sentinel" })); err != nil {
		t.Fatal(err)
	}
	// Exactly once: no second copy arrived before the sentinel. ("before"
	// may come once more, in the room's history, which Prosody keeps
	// across its restart.)
	_, _ = alice.Expect(expired(), prosodytest.MessageWithBody("before"))
	for _, body := range []string{"during 1", "during 2", "before"} {
		if s, err := alice.Expect(expired(), func(s xmpp.Stanza) bool {
			m, ok := s.(*xmpp.Message)
			return ok && m.Body == body
		}); err == nil {
			t.Errorf("%q came twice: %s", body, s.Element())
		}
	}
	n := 0
	for _, m := range w.fake.Messages(w.channel.ID) {
		if m.Text == "after" {
			n++
		}
	}
	if n != 1 {
		t.Errorf("Slack got %q %d times", "after", n)
	}
	if err := w.hub.WaitStats(ctx, func(st community.Stats) bool { return st.Queued == 0 }); err != nil {
		t.Error(err)
	}
	if st := w.hub.Stats(); st.Rejoins == 0 || st.Dropped != 0 {
		t.Errorf("stats %+v, want a rejoin and nothing dropped", st)
	}
}

func TestCommunityQueueSurvivesXgateRestart(t *testing.T) {
	w := newCommunity(t)
	stop := w.start(w.channel.ID)
	ctx := bounded(t)
	alice := w.join(ctx, "alice", "alice")
	if _, err := alice.Expect(ctx, prosodytest.PresenceFrom(jid.MustParse("general@"+mucDomain+"/bridge"), "")); err != nil {
		t.Fatal(err)
	}
	w.p.Stop()
	w.fake.Post(w.carol.ID, w.channel.ID, "queued")
	if err := w.hub.WaitStats(ctx, func(st community.Stats) bool { return st.Queued == 1 }); err != nil {
		t.Fatal(err)
	}
	if err := w.fake.WaitUntil(ctx, func() bool { return w.fake.Pending() == 0 }); err != nil {
		t.Fatal(err) // acknowledged to Slack: it will not come again
	}
	stop()
	w.p.Restart(t)
	alice = w.join(ctx, "alice", "alice")
	w.start(w.channel.ID)
	if _, err := alice.Expect(ctx, w.groupchat("Carol C", func(m *xmpp.Message) bool { return m.Body == "queued" })); err != nil {
		t.Fatal(err)
	}
	w.fake.Post(w.carol.ID, w.channel.ID, "sentinel")
	if _, err := alice.Expect(ctx, w.groupchat("Carol C", func(m *xmpp.Message) bool { return m.Body == "sentinel" })); err != nil {
		t.Fatal(err)
	}
	if _, err := alice.Expect(expired(), prosodytest.MessageWithBody("queued")); err == nil {
		t.Error("the queued message came twice")
	}
}

func TestCommunityChannelGoneIsReported(t *testing.T) {
	w := newCommunity(t)
	w.start("C999999999")
	ctx := bounded(t)
	alice := w.join(ctx, "alice", "alice")
	if _, err := alice.Expect(ctx, prosodytest.PresenceFrom(jid.MustParse("general@"+mucDomain+"/bridge"), "")); err != nil {
		t.Fatal(err)
	}
	w.say(alice, "g1", "anyone?")
	if err := w.hub.WaitStats(ctx, func(st community.Stats) bool { return st.Gone == 1 && st.Dropped == 1 && st.Queued == 0 }); err != nil {
		t.Fatal(err)
	}
}

func TestCommunityRoomDestroyedIsReported(t *testing.T) {
	w := newCommunity(t)
	ctx := bounded(t)
	alice := w.join(ctx, "alice", "alice") // first in, before xgate: the owner
	w.start(w.channel.ID)
	if _, err := alice.Expect(ctx, prosodytest.PresenceFrom(jid.MustParse("general@"+mucDomain+"/bridge"), "")); err != nil {
		t.Fatal(err)
	}
	destroy := xmpp.NewElement("http://jabber.org/protocol/muc#owner", "query").Append(xmpp.NewElement("", "destroy"))
	if res, err := alice.Request(ctx, &xmpp.IQ{Header: xmpp.Header{To: w.room, Type: xmpp.IQSet}, Payload: destroy}); err != nil || res.Type != xmpp.IQResult {
		t.Fatalf("destroy: %v %v", res, err)
	}
	if err := w.hub.WaitStats(ctx, func(st community.Stats) bool { return st.Gone == 1 }); err != nil {
		t.Fatal(err)
	}
	w.fake.Post(w.carol.ID, w.channel.ID, "hello?")
	if err := w.hub.WaitStats(ctx, func(st community.Stats) bool { return st.Dropped == 1 && st.Queued == 0 }); err != nil {
		t.Fatal(err)
	}
}

func TestCommunityIdlePuppetLeaves(t *testing.T) {
	w := newCommunity(t)
	w.start(w.channel.ID, func(c *community.Config) { c.IdleTimeout = 300 * time.Millisecond })
	ctx := bounded(t)
	alice := w.join(ctx, "alice", "alice")
	w.fake.Post(w.carol.ID, w.channel.ID, "hello")
	if _, err := alice.Expect(ctx, w.groupchat("Carol C", func(m *xmpp.Message) bool { return m.Body == "hello" })); err != nil {
		t.Fatal(err)
	}
	carol, _ := w.room.WithResource("Carol C")
	if _, err := alice.Expect(ctx, prosodytest.PresenceFrom(carol, xmpp.PresenceUnavailable)); err != nil {
		t.Fatal(err)
	}
	// She comes back with her next message.
	w.fake.Post(w.carol.ID, w.channel.ID, "again")
	if _, err := alice.Expect(ctx, w.groupchat("Carol C", func(m *xmpp.Message) bool { return m.Body == "again" })); err != nil {
		t.Fatal(err)
	}
}

func TestCommunityEventsBeforeTheChannelOpensAreKept(t *testing.T) {
	w := newCommunity(t)
	ctx := bounded(t)
	alice := w.join(ctx, "alice", "alice")
	// The bot is in the channel already, and Carol speaks before xgate
	// starts: Slack keeps the event for the app's connection, which gets
	// it while the hub cannot open the channel yet (Slack fails its
	// first conversations.info calls).
	w.fake.Join(w.botUser, w.channel.ID)
	w.fake.Post(w.carol.ID, w.channel.ID, "early")
	w.fake.FailNext("conversations.info", 5, "internal_error")
	w.start(w.channel.ID)
	if _, err := alice.Expect(ctx, w.groupchat("Carol C", func(m *xmpp.Message) bool { return m.Body == "early" })); err != nil {
		t.Fatal(err)
	}
}
