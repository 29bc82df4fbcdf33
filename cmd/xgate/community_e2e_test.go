package main

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/xgate-im/xgate/transports/discord/discordfake"
	"github.com/xgate-im/xgate/transports/slack/slackfake"
	"github.com/xgate-im/xgate/xmpp"
	"github.com/xgate-im/xgate/xmpp/jid"
	"github.com/xgate-im/xgate/xmpp/prosodytest"
)

// TestServeBridgeGroupThreeWays runs serve with a [[bridge_group]] joining
// a room of a real Prosody's MUC service, a channel of the fake Slack and
// a channel of the fake Discord: every person shows under their own name
// on every side, nothing echoes, corrections and deletions follow, and a
// crash and restart of Prosody in the middle loses and duplicates nothing.
func TestServeBridgeGroupThreeWays(t *testing.T) {
	prosodytest.Require(t)
	sf := slackfake.New()
	t.Cleanup(sf.Close)
	team := sf.CreateTeam("Acme")
	carol := sf.CreateUser(team.ID, slackfake.UserSpec{Name: "carol", DisplayName: "Carol C"})
	slackChan := sf.CreateChannel(team.ID, "general", false, carol.ID)
	slackBot, slackBotUser := sf.InstallApp(team.ID)

	df := discordfake.New()
	t.Cleanup(df.Close)
	dan := df.CreateUser(discordfake.UserSpec{Username: "dan", GlobalName: "Dan D"})
	bot := df.CreateUser(discordfake.UserSpec{Username: "xgate", Bot: true})
	guild := df.CreateGuild(dan.ID, "Hub")
	df.AddMember(guild.ID, bot.ID, "")
	discordChan := df.CreateChannel(guild.ID, "general")
	discordBot := df.IssueBotToken(bot.ID, discordfake.IntentGuildMembers|discordfake.IntentGuildPresences|discordfake.IntentMessageContent)

	p := prosodytest.Start(t, prosodytest.Options{
		Components: []prosodytest.Component{{Domain: "slack.localhost", Secret: "s3cret"}, {Domain: "discord.localhost", Secret: "s3cret"}},
		MUC:        "conference.localhost",
		Users:      map[string]string{"alice": "pw"},
	})
	dir := t.TempDir()
	t.Setenv("XGATE_TEST_KEY", testKey(t))
	doc := fmt.Sprintf(`[store]
path = "xgate.db"
key_env = "XGATE_TEST_KEY"
[admin]
listen = "127.0.0.1:0"
[access]
allow = ["localhost"]
[xmpp]
server = %q
min_backoff = "20ms"
max_backoff = "200ms"
[[slack]]
domain = "slack.localhost"
secret = "s3cret"
api_url = %q
app_token = %q
bot_token = %q
[[discord]]
domain = "discord.localhost"
secret = "s3cret"
api_url = %q
cdn_url = %q
bot_token = %q
[[bridge_group]]
name = "general"
room = "general@conference.localhost"
slack_channel = %q
discord_channel = %q
self_ping = "200ms"
`, p.ComponentAddr(), sf.APIURL(), sf.AppToken(), slackBot, df.APIURL(), df.URL()+"/", discordBot, slackChan.ID, discordChan.ID)
	cfg, err := readConfig(writeFile(t, dir, "config.toml", doc), transportKinds)
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.resolve(); err != nil {
		t.Fatal(err)
	}
	sctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	s := startServe(t, sctx, cfg)
	ctx, done := context.WithTimeout(t.Context(), 90*time.Second)
	defer done()
	fail := func(err error) {
		t.Helper()
		t.Fatalf("%v\n%s", err, s.logs)
	}

	room := jid.MustParse("general@conference.localhost")
	alice := prosodytest.Dial(ctx, t, p.C2SAddr(), "alice", "localhost", "pw")
	join := func(c *prosodytest.Client, history bool) {
		t.Helper()
		x := xmpp.NewElement("http://jabber.org/protocol/muc", "x")
		if !history {
			x.Append(xmpp.NewElement("", "history", "maxstanzas", "0"))
		}
		me, _ := room.WithResource("alice")
		if err := c.Send(&xmpp.Presence{Header: xmpp.Header{To: me}, Extra: []*xmpp.Element{x}}); err != nil {
			fail(err)
		}
		if _, err := c.Expect(ctx, func(st xmpp.Stanza) bool {
			pr, ok := st.(*xmpp.Presence)
			return ok && pr.From == me && pr.Type == ""
		}); err != nil {
			fail(err)
		}
	}
	join(alice, false)
	listener, _ := room.WithResource("bridge")
	if _, err := alice.Expect(ctx, prosodytest.PresenceFrom(listener, "")); err != nil {
		fail(err)
	}
	from := func(nick string, ok func(*xmpp.Message) bool) func(xmpp.Stanza) bool {
		return func(st xmpp.Stanza) bool {
			m, is := st.(*xmpp.Message)
			return is && m.Type == xmpp.MessageGroupchat && m.From.Bare() == room && m.From.Resource() == nick && ok(m)
		}
	}
	body := func(b string) func(*xmpp.Message) bool { return func(m *xmpp.Message) bool { return m.Body == b } }
	onSlack := func(username, text string) slackfake.Message {
		t.Helper()
		m, err := sf.WaitMessage(ctx, slackChan.ID, func(m slackfake.Message) bool { return m.Username == username && m.Text == text })
		if err != nil {
			fail(err)
		}
		return m
	}
	onDiscord := func(username, content string) discordfake.Message {
		t.Helper()
		m, err := df.WaitMessage(ctx, discordChan.ID, func(m discordfake.Message) bool { return m.Username == username && m.Content == content })
		if err != nil {
			fail(err)
		}
		return m
	}

	// The bots are in their channels, and Discord's on its Gateway.
	if err := sf.WaitUntil(ctx, func() bool {
		ch, _ := sf.Channel(slackChan.ID)
		return slices.Contains(ch.Members, slackBotUser)
	}); err != nil {
		fail(err)
	}
	if err := df.WaitUntil(ctx, func() bool {
		ss := df.Sessions()
		return len(ss) == 1 && ss[0].Bot && ss[0].Connected
	}); err != nil {
		fail(err)
	}

	// Slack → room and Discord, as Carol.
	ts := sf.Post(carol.ID, slackChan.ID, "hi from slack")
	st, err := alice.Expect(ctx, from("Carol C", body("hi from slack")))
	if err != nil {
		fail(err)
	}
	carolInRoom := st.(*xmpp.Message)
	carolOnDiscord := onDiscord("Carol C", "hi from slack")
	if string(carolOnDiscord.AllowedMentions) != `{"parse":["users"],"replied_user":false}` {
		t.Errorf("allowed_mentions %s", carolOnDiscord.AllowedMentions)
	}
	// Discord → room and Slack, as Dan.
	danMsg := df.Post(dan.ID, discordChan.ID, "hi from discord")
	if _, err := alice.Expect(ctx, from("Dan D", body("hi from discord"))); err != nil {
		fail(err)
	}
	danOnSlack := onSlack("Dan D", "hi from discord")
	// Room → Slack and Discord, as alice.
	if err := alice.Send(&xmpp.Message{Header: xmpp.Header{To: room, ID: "a1", Type: xmpp.MessageGroupchat}, Body: "hi from xmpp"}); err != nil {
		fail(err)
	}
	onSlack("alice", "hi from xmpp")
	onDiscord("alice", "hi from xmpp")

	// Carol's correction follows to the room and Discord; Dan's deletion
	// to the room and Slack.
	sf.Edit(carol.ID, slackChan.ID, ts, "hi from slack, edited")
	st, err = alice.Expect(ctx, from("Carol C", body("hi from slack, edited")))
	if err != nil {
		fail(err)
	}
	if r := replaceOf(st.(*xmpp.Message)); r != carolInRoom.ID {
		t.Errorf("the correction replaces %q, want %q", r, carolInRoom.ID)
	}
	if _, err := df.WaitMessage(ctx, discordChan.ID, func(m discordfake.Message) bool {
		return m.ID == carolOnDiscord.ID && m.Content == "hi from slack, edited"
	}); err != nil {
		fail(err)
	}
	df.Delete(dan.ID, discordChan.ID, danMsg)
	if _, err := alice.Expect(ctx, from("Dan D", func(m *xmpp.Message) bool {
		for _, e := range m.Extra {
			if e.Name.Space == "urn:xmpp:message-retract:1" {
				return true
			}
		}
		return false
	})); err != nil {
		fail(err)
	}
	if err := sf.WaitUntil(ctx, func() bool {
		for _, m := range sf.Messages(slackChan.ID) {
			if m.TS == danOnSlack.TS {
				return false
			}
		}
		return true
	}); err != nil {
		fail(err)
	}

	// Prosody crashes and starts again (losing the room, which the
	// bridge must notice). What the room got was confirmed by the host
	// server before the next post of the group's queue went on: once a
	// post reached Discord after the room, the room's messages are
	// settled.
	sf.Post(carol.ID, slackChan.ID, "sync")
	onDiscord("Carol C", "sync")
	p.Kill()
	sf.Post(carol.ID, slackChan.ID, "during, from slack")
	if err := sf.WaitUntil(ctx, func() bool { return sf.Pending() == 0 }); err != nil {
		fail(err) // acknowledged: it is in the group's queue
	}
	df.Post(dan.ID, discordChan.ID, "during, from discord")
	p.Restart(t)
	alice = prosodytest.Dial(ctx, t, p.C2SAddr(), "alice", "localhost", "pw")
	join(alice, true)
	for _, want := range []struct{ nick, body string }{{"Carol C", "during, from slack"}, {"Dan D", "during, from discord"}} {
		if _, err := alice.Expect(ctx, from(want.nick, body(want.body))); err != nil {
			fail(err)
		}
	}
	onDiscord("Carol C", "during, from slack")
	onSlack("Dan D", "during, from discord")
	sf.Post(carol.ID, slackChan.ID, "sentinel")
	if _, err := alice.Expect(ctx, from("Carol C", body("sentinel"))); err != nil {
		fail(err)
	}
	onDiscord("Carol C", "sentinel")
	if _, err := alice.Expect(expiredContext(), func(st xmpp.Stanza) bool {
		m, ok := st.(*xmpp.Message)
		return ok && strings.HasPrefix(m.Body, "during")
	}); err == nil {
		t.Error("a message sent during the restart came twice to the room")
	}

	// Every side has each message once, under its author's name, and none
	// of its own back.
	var slackSide, discordSide []string
	for _, m := range sf.Messages(slackChan.ID) {
		if m.Subtype != "channel_join" {
			slackSide = append(slackSide, m.Username+":"+m.Text)
		}
	}
	for _, m := range df.Messages(discordChan.ID) {
		discordSide = append(discordSide, m.Username+":"+m.Content)
	}
	if got, want := strings.Join(slackSide, "|"), ":hi from slack, edited|alice:hi from xmpp|:sync|:during, from slack|Dan D:during, from discord|:sentinel"; got != want {
		t.Errorf("Slack channel:\n got %s\nwant %s", got, want)
	}
	if got, want := strings.Join(discordSide, "|"), "Carol C:hi from slack, edited|alice:hi from xmpp|Carol C:sync|:during, from discord|Carol C:during, from slack|Carol C:sentinel"; got != want {
		t.Errorf("Discord channel:\n got %s\nwant %s", got, want)
	}
	if v := metric(t, s, `xgate_bridge_group_dropped_total{group="general"}`); v != 0 {
		t.Errorf("%d posts dropped\n%s", v, s.logs)
	}
	if v := metric(t, s, `xgate_bridge_group_rejoins_total{group="general"}`); v < 1 {
		t.Errorf("no rejoin counted")
	}

	// Reactions and replies reach every side: in the room from the
	// person's own occupant; on Slack and Discord through the bot (the
	// reactions of everyone not on that network) and as a thread reply
	// (Slack) or a link to the message answered (Discord's webhooks make
	// no replies).
	tsQ := sf.Post(carol.ID, slackChan.ID, "lunch?")
	st, err = alice.Expect(ctx, from("Carol C", body("lunch?")))
	if err != nil {
		fail(err)
	}
	q := st.(*xmpp.Message).ID
	qOnDiscord := onDiscord("Carol C", "lunch?")
	df.React(dan.ID, discordChan.ID, qOnDiscord.ID, "👍")
	if _, err := alice.Expect(ctx, from("Dan D", func(m *xmpp.Message) bool {
		r := m.Extra
		return len(r) > 0 && slices.ContainsFunc(r, func(e *xmpp.Element) bool {
			return e.Name.Space == "urn:xmpp:reactions:0" && e.AttrValue("id") == q && e.ChildText("", "reaction") == "👍"
		})
	})); err != nil {
		fail(err)
	}
	botReacts := func(ts string) []string {
		var out []string
		for _, m := range sf.Messages(slackChan.ID) {
			for _, r := range m.Reactions {
				if m.TS == ts && slices.Contains(r.Users, slackBotUser) {
					out = append(out, r.Name)
				}
			}
		}
		slices.Sort(out)
		return out
	}
	reaction := xmpp.NewElement("urn:xmpp:reactions:0", "reactions", "id", q).Append(xmpp.NewElement("", "reaction").AppendText("❤️"))
	if err := alice.Send(&xmpp.Message{Header: xmpp.Header{To: room, ID: "r1", Type: xmpp.MessageGroupchat}, Extra: []*xmpp.Element{reaction}}); err != nil {
		fail(err)
	}
	if err := sf.WaitUntil(ctx, func() bool { return slices.Equal(botReacts(tsQ), []string{"+1", "heart"}) }); err != nil {
		fail(fmt.Errorf("the Slack bot's reactions %v: %w", botReacts(tsQ), err))
	}
	if err := df.WaitUntil(ctx, func() bool {
		m, _ := df.Message(discordChan.ID, qOnDiscord.ID)
		var mine []string
		for _, r := range m.Reactions {
			if slices.Contains(r.Users, bot.ID) {
				mine = append(mine, r.Emoji)
			}
		}
		return slices.Equal(mine, []string{"❤️"})
	}); err != nil {
		fail(fmt.Errorf("the Discord bot's reactions: %w", err))
	}
	df.Post(dan.ID, discordChan.ID, "on it", discordfake.ReplyTo(qOnDiscord.ID))
	if m := onSlack("Dan D", "on it"); m.ThreadTS != tsQ {
		t.Errorf("Dan's reply is in thread %q on Slack, want %q", m.ThreadTS, tsQ)
	}
	if _, err := alice.Expect(ctx, from("Dan D", func(m *xmpp.Message) bool {
		return strings.HasSuffix(m.Body, "on it") && slices.ContainsFunc(m.Extra, func(e *xmpp.Element) bool {
			return e.Name.Space == "urn:xmpp:reply:0" && e.AttrValue("id") == q
		})
	})); err != nil {
		fail(err)
	}
	reply := xmpp.NewElement("urn:xmpp:reply:0", "reply", "id", q)
	if err := alice.Send(&xmpp.Message{Header: xmpp.Header{To: room, ID: "q1", Type: xmpp.MessageGroupchat}, Body: "me too", Extra: []*xmpp.Element{reply}}); err != nil {
		fail(err)
	}
	onDiscord("alice", "-# ↪ https://discord.com/channels/"+guild.ID+"/"+discordChan.ID+"/"+qOnDiscord.ID+"\nme too")
	if m := onSlack("alice", "me too"); m.ThreadTS != tsQ {
		t.Errorf("alice's reply is in thread %q on Slack, want %q", m.ThreadTS, tsQ)
	}
	cancel()
	if err := s.wait(t); err != nil {
		t.Fatalf("serve: %v\n%s", err, s.logs)
	}
}

func replaceOf(m *xmpp.Message) string {
	for _, e := range m.Extra {
		if e.Name.Space == "urn:xmpp:message-correct:0" && e.Name.Local == "replace" {
			return e.AttrValue("id")
		}
	}
	return ""
}

func expiredContext() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}

// metric reads one sample of /metrics (a name with the start of its
// labels), -1 when absent.
func metric(t *testing.T, s *started, sample string) int {
	t.Helper()
	_, b := httpDo(t, "GET", "http://"+s.addr+"/metrics")
	re := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(sample) + `[^ ]* (\d+)$`)
	m := re.FindSubmatch(b)
	if m == nil {
		return -1
	}
	v, _ := strconv.Atoi(string(m[1]))
	return v
}
