package discord_test

import (
	"context"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/xgate-im/xgate/bridge"
	"github.com/xgate-im/xgate/store"
	"github.com/xgate-im/xgate/transports/discord"
	"github.com/xgate-im/xgate/transports/discord/discordfake"
	"github.com/xgate-im/xgate/xmpp"
	"github.com/xgate-im/xgate/xmpp/form"
	"github.com/xgate-im/xgate/xmpp/jid"
	"github.com/xgate-im/xgate/xmpp/prosodytest"
)

// TestBotLinkRestartThroughProsody: a real XMPP client links its Discord
// user to the bot in two steps, talks to bob through the bot, and after a
// restart of the gateway gets what bob said meanwhile, in order, then
// what follows; another XMPP user cannot link the same Discord user.
func TestBotLinkRestartThroughProsody(t *testing.T) {
	fake := discordfake.New()
	t.Cleanup(fake.Close)
	alice := fake.CreateUser(discordfake.UserSpec{Username: "alice", GlobalName: "Alice"})
	bob := fake.CreateUser(discordfake.UserSpec{Username: "bob", GlobalName: "Bob"})
	bot := fake.CreateUser(discordfake.UserSpec{Username: "xgate", Bot: true})
	g := fake.CreateGuild(alice.ID, "Hub")
	fake.AddMember(g.ID, bob.ID, "")
	fake.AddMember(g.ID, bot.ID, "")
	botTok := fake.IssueBotToken(bot.ID, discordfake.PrivilegedIntents)
	p := prosodytest.Start(t, prosodytest.Options{
		Components: []prosodytest.Component{{Domain: gwDomain, Secret: "s3cret"}},
		Users:      map[string]string{"alice": "pw", "eve": "pw"},
	})
	key, err := store.ParseKey([]byte(strings.Repeat("5a", 32)))
	if err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(filepath.Join(t.TempDir(), "xgate.db"), store.Options{Key: key})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	cfg := discord.Config{APIURL: fake.APIURL(), CDNURL: fake.URL() + "/", BotToken: botTok}
	st := &discord.MemoryState{} // what the store keeps across restarts (cmd/xgate's kvState)
	stop := gateway(t, p, db, cfg, st)
	ctx := bounded(t)
	gw := jid.MustParse(gwDomain)
	bobJID := jid.MustParse(bob.ID + "@" + gwDomain)
	aliceBot := fake.OpenDM(alice.ID, bot.ID).ID
	codeRE := regexp.MustCompile(`\b\d{6}\b`)

	// register submits the user ID, then the code the bot sent.
	register := func(c *prosodytest.Client) (*xmpp.IQ, error) {
		submit := func(field, value string) (*xmpp.IQ, error) {
			sub := &form.Form{Type: form.TypeSubmit}
			sub.Set("FORM_TYPE", bridge.NSRegister)
			sub.Set(field, value)
			return c.Request(ctx, &xmpp.IQ{Header: xmpp.Header{To: gw, Type: xmpp.IQSet}, Payload: xmpp.NewElement(bridge.NSRegister, "query").Append(sub.Element())})
		}
		n := len(fake.Messages(aliceBot))
		res, err := submit("user", alice.ID)
		if err != nil || res.Type != xmpp.IQError || !strings.Contains(res.Error.Text, "code") {
			return res, err
		}
		if err := fake.WaitUntil(ctx, func() bool { return len(fake.Messages(aliceBot)) > n }); err != nil {
			t.Fatal(err)
		}
		ms := fake.Messages(aliceBot)
		return submit("code", codeRE.FindString(ms[len(ms)-1].Content))
	}

	dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	c := prosodytest.Dial(dctx, t, p.C2SAddr(), "alice", "localhost", "pw")
	c.Send(&xmpp.Presence{})
	if res, err := register(c); err != nil || res.Type != xmpp.IQResult {
		t.Fatalf("link: %v %v", res, err)
	}
	for _, j := range []jid.JID{gw, bobJID} {
		if _, err := c.Expect(ctx, prosodytest.PresenceFrom(j, xmpp.PresenceSubscribe)); err != nil {
			t.Fatal(err)
		}
		c.Approve(j)
		c.Subscribe(j)
	}
	botBob := fake.OpenDM(bot.ID, bob.ID).ID
	c.Send(&xmpp.Message{Header: xmpp.Header{To: bobJID, Type: xmpp.MessageChat, ID: "b1"}, Body: "hello bob"})
	if _, err := fake.WaitMessage(ctx, botBob, func(m discordfake.Message) bool { return m.Content == "**Alice:** hello bob" }); err != nil {
		t.Fatal(err)
	}
	fake.Post(bob.ID, botBob, "hi alice")
	if _, err := c.Expect(ctx, messageFrom(bobJID, func(b string) bool { return b == "hi alice" })); err != nil {
		t.Fatal(err)
	}

	stop()
	for i := range 3 {
		fake.Post(bob.ID, botBob, fmt.Sprint("meanwhile ", i))
	}
	gateway(t, p, db, cfg, st)
	fake.Post(bob.ID, botBob, "after")
	fromBob := func(s xmpp.Stanza) bool {
		m, is := s.(*xmpp.Message)
		return is && m.Body != "" && m.From.Bare() == bobJID
	}
	for _, want := range []string{"meanwhile 0", "meanwhile 1", "meanwhile 2", "after"} {
		m, err := c.Expect(ctx, fromBob)
		if err != nil {
			t.Fatal(err)
		}
		if body := m.(*xmpp.Message).Body; body != want {
			t.Fatalf("came %q, want %q", body, want)
		}
	}

	// eve cannot link alice's Discord user.
	e := prosodytest.Dial(dctx, t, p.C2SAddr(), "eve", "localhost", "pw")
	res, err := register(e)
	if err != nil || res.Type != xmpp.IQError || !strings.Contains(res.Error.Text, "already linked to another XMPP address") {
		t.Fatalf("eve's link: %v %v", res, err)
	}
}
