package main

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"

	"github.com/xgate-im/xgate/bridge"
	"github.com/xgate-im/xgate/store"
	"github.com/xgate-im/xgate/transports/discord"
	"github.com/xgate-im/xgate/transports/discord/discordfake"
	"github.com/xgate-im/xgate/xmpp/jid"
)

// The demo's Discord side: a fake Discord (discordfake) with a guild, the
// gateway's bot, the demo user's own account and two people who answer
// direct messages. The demo user is registered with a personal account,
// so the people are contacts through their DMs.

// demoGuild is the fake Discord and its people.
type demoGuild struct {
	fake     *discordfake.Server
	guild    discordfake.Guild
	me       discordfake.User
	meToken  string
	botToken string
	people   []demoDiscordPerson
	wg       sync.WaitGroup
}

// demoDiscordPerson is a Discord user who answers the demo user's DMs.
type demoDiscordPerson struct {
	user   discordfake.User
	dm     string
	answer func(ctx context.Context, g *demoGuild, p *demoDiscordPerson, m discordfake.Message)
}

// newDemoGuild builds the Discord world of the demo; user names the demo
// user's own account.
func newDemoGuild(fake *discordfake.Server, user jid.JID) *demoGuild {
	g := &demoGuild{fake: fake}
	bot := fake.CreateUser(discordfake.UserSpec{Username: "xgate", Bot: true})
	handle, name := demoHandle(user)
	g.me = fake.CreateUser(discordfake.UserSpec{Username: handle, GlobalName: name})
	g.guild = fake.CreateGuild(g.me.ID, "Demo Guild")
	fake.AddMember(g.guild.ID, bot.ID, "")
	g.botToken = fake.IssueBotToken(bot.ID, discordfake.IntentGuildMembers|discordfake.IntentGuildPresences|discordfake.IntentMessageContent)
	g.meToken = fake.IssueUserToken(g.me.ID)
	specs := []struct {
		spec   discordfake.UserSpec
		answer func(ctx context.Context, g *demoGuild, p *demoDiscordPerson, m discordfake.Message)
	}{
		{discordfake.UserSpec{Username: "hedy", GlobalName: "Hedy"}, hedyAnswers},
		{discordfake.UserSpec{Username: "alan", GlobalName: "Alan"}, alanAnswers},
	}
	for _, s := range specs {
		u := fake.CreateUser(s.spec)
		fake.AddMember(g.guild.ID, u.ID, "")
		// The open DM makes them contacts of the personal account: the
		// account lists its DMs, whose recipients are the other person.
		dm := fake.OpenDM(g.me.ID, u.ID)
		g.people = append(g.people, demoDiscordPerson{user: u, dm: dm.ID, answer: s.answer})
	}
	return g
}

// demoHandle is the demo user's handle and display name on the networks.
func demoHandle(user jid.JID) (handle, name string) {
	if user.IsZero() {
		return "you", "You"
	}
	handle = user.Local()
	return handle, strings.ToUpper(handle[:1]) + handle[1:]
}

// start makes every person answer the DMs the demo user sends them.
func (g *demoGuild) start(ctx context.Context) {
	for i := range g.people {
		p := &g.people[i]
		g.wg.Go(func() {
			var last uint64
			for {
				m, err := g.fake.WaitMessage(ctx, p.dm, func(m discordfake.Message) bool {
					return m.AuthorID == g.me.ID && snowflake(m.ID) > last
				})
				if err != nil {
					return
				}
				last = snowflake(m.ID)
				p.answer(ctx, g, p, m)
			}
		})
	}
}

func (g *demoGuild) wait() { g.wg.Wait() }

// snowflake reads a Discord ID; IDs grow with time.
func snowflake(id string) uint64 {
	n, _ := strconv.ParseUint(id, 10, 64)
	return n
}

// person returns the demo Discord person named name, or nil.
func (g *demoGuild) person(name string) *demoDiscordPerson {
	for i := range g.people {
		if g.people[i].user.GlobalName == name {
			return &g.people[i]
		}
	}
	return nil
}

// hedyAnswers: Hedy types, reacts and answers with Discord markdown.
func hedyAnswers(_ context.Context, g *demoGuild, p *demoDiscordPerson, m discordfake.Message) {
	g.fake.Typing(p.user.ID, p.dm)
	g.fake.React(p.user.ID, p.dm, m.ID, "📡")
	g.fake.Post(p.user.ID, p.dm, fmt.Sprintf("Frequency hopping says: **%s**", strings.TrimSpace(m.Content)))
}

// alanAnswers: Alan answers, then corrects himself at once.
func alanAnswers(_ context.Context, g *demoGuild, p *demoDiscordPerson, m discordfake.Message) {
	id := g.fake.Post(p.user.ID, p.dm, "Can machines think? I'd say maybe.")
	g.fake.Edit(p.user.ID, p.dm, id, "Can machines think? The question is too meaningless to deserve discussion.")
}

// discordSection is the demo's [[discord]] table.
func discordSection(domain, secret string, g *demoGuild) string {
	q := strconv.Quote
	return fmt.Sprintf(`
[[discord]]
domain = %s
secret = %s
api_url = %s
cdn_url = %s
bot_token = %s
personal_accounts = true
`, q(domain), q(secret), q(g.fake.APIURL()), q(g.fake.URL()+"/"), q(g.botToken))
}

// provisionDiscordUser registers the demo user's own Discord account, the
// way the registration form would with a user token.
func provisionDiscordUser(ctx context.Context, db *store.DB, inst *instance, user jid.JID, token string) error {
	tr, err := discord.New(*inst.options.(*discord.Config), slog.New(slog.DiscardHandler), nil)
	if err != nil {
		return err
	}
	data, err := tr.Register(ctx, map[string]string{"token": token})
	if err != nil {
		return fmt.Errorf("demo: registering %s on Discord: %w", user, err)
	}
	return bridge.Provision(db, inst.Name, user, data)
}
