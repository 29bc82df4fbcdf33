package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/xgate-im/xgate/transports/discord/discordfake"
	"github.com/xgate-im/xgate/xmpp/xmpptest"
)

// TestServeDiscord runs serve with a [[discord]] section, the wiring table
// as built, against discordfake: the gateway's bot connects to the
// Gateway and the component to the host server; nothing logs the token.
func TestServeDiscord(t *testing.T) {
	fake := discordfake.New()
	t.Cleanup(fake.Close)
	bot := fake.CreateUser(discordfake.UserSpec{Username: "xgate", Bot: true})
	owner := fake.CreateUser(discordfake.UserSpec{Username: "owner"})
	g := fake.CreateGuild(owner.ID, "Hub")
	fake.AddMember(g.ID, bot.ID, "")
	tok := fake.IssueBotToken(bot.ID, discordfake.IntentGuildMembers|discordfake.IntentGuildPresences|discordfake.IntentMessageContent)

	srv := xmpptest.NewServer(t, "s3cret")
	dir := t.TempDir()
	t.Setenv("XGATE_TEST_KEY", testKey(t))
	t.Setenv("XGATE_TEST_DISCORD_BOT", tok)
	doc := fmt.Sprintf(`[store]
path = "xgate.db"
key_env = "XGATE_TEST_KEY"
[admin]
listen = "127.0.0.1:0"
[access]
allow = ["*"]
[xmpp]
server = %q
[[discord]]
domain = "discord.example.org"
secret = "s3cret"
api_url = %q
cdn_url = %q
bot_token_env = "XGATE_TEST_DISCORD_BOT"
personal_accounts = true
`, srv.Addr(), fake.APIURL(), fake.URL()+"/")
	cfg, err := readConfig(writeFile(t, dir, "config.toml", doc), transportKinds)
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.resolve(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	s := startServe(t, ctx, cfg)
	actx, acancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer acancel()
	conn, err := srv.Accept(actx)
	if err != nil {
		t.Fatal(err)
	}
	if conn.Domain != "discord.example.org" {
		t.Errorf("component asked for %q", conn.Domain)
	}
	go answerClose(t.Context(), conn)
	if err := fake.WaitUntil(actx, func() bool {
		ss := fake.Sessions()
		return len(ss) == 1 && ss[0].Bot && ss[0].Connected
	}); err != nil {
		t.Fatalf("the bot never connected to the Gateway: %v\n%s", err, s.logs)
	}
	if id, ok := fake.LastIdentify(); !ok || id.Intents&discordfake.IntentMessageContent == 0 {
		t.Errorf("IDENTIFY %+v lacks the default intents", id)
	}
	cancel()
	if err := s.wait(t); err != nil {
		t.Fatalf("serve: %v\n%s", err, s.logs)
	}
	if strings.Contains(s.logs.String(), tok) {
		t.Error("the bot token was logged")
	}
	if err := fake.WaitUntil(discordTestCtx(t), func() bool { return fake.Connections() == 0 }); err != nil {
		t.Errorf("the bot's Gateway socket outlived serve")
	}
}

func discordTestCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}
