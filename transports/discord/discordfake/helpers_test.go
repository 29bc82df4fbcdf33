package discordfake_test

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/xgate-im/xgate/transports/discord/discordfake"
)

// fixture is a fake with a bot, two people, a guild owned by alice with the
// bot and bob in it, a text channel and a DM between alice and the bot.
type fixture struct {
	fake                *discordfake.Server
	bot, alice, bob     discordfake.User
	guild               discordfake.Guild
	general, dm         discordfake.Channel
	botToken, userToken string
}

// botIntents is what a bridge bot asks for.
const botIntents = discordgo.IntentsGuilds | discordgo.IntentsGuildMessages | discordgo.IntentsDirectMessages |
	discordgo.IntentsGuildMessageReactions | discordgo.IntentsDirectMessageReactions |
	discordgo.IntentsGuildMessageTyping | discordgo.IntentsDirectMessageTyping | discordgo.IntentMessageContent |
	discordgo.IntentsGuildPresences | discordgo.IntentsGuildMembers

func newFixture(t testing.TB, opts ...discordfake.Option) *fixture {
	t.Helper()
	fake := discordfake.New(opts...)
	t.Cleanup(fake.Close)
	f := &fixture{fake: fake}
	f.bot = fake.CreateUser(discordfake.UserSpec{Username: "xgate", Bot: true})
	f.alice = fake.CreateUser(discordfake.UserSpec{Username: "alice", GlobalName: "Alice Liddell", Avatar: "a1b2c3"})
	f.bob = fake.CreateUser(discordfake.UserSpec{Username: "bob"})
	f.guild = fake.CreateGuild(f.alice.ID, "Wonderland")
	fake.AddMember(f.guild.ID, f.bot.ID, "")
	fake.AddMember(f.guild.ID, f.bob.ID, "Bobby")
	f.general = fake.CreateChannel(f.guild.ID, "general")
	f.dm = fake.OpenDM(f.alice.ID, f.bot.ID)
	f.botToken = fake.IssueBotToken(f.bot.ID, discordfake.PrivilegedIntents)
	f.userToken = fake.IssueUserToken(f.alice.ID)
	return f
}

// clientFor returns an HTTP client that sends discord.com requests to the
// fake.
func clientFor(f *fixture) *http.Client { return f.fake.HTTPClient() }

// client returns a discordgo session for a token ("Bot …" for bots),
// pointed at the fake, that delivers every dispatch, in order, on events.
// It is not opened.
func (f *fixture) client(t testing.TB, auth string, intents discordgo.Intent) (*discordgo.Session, chan *discordgo.Event) {
	t.Helper()
	s, err := discordgo.New(auth)
	if err != nil {
		t.Fatal(err)
	}
	s.Client = clientFor(f)
	s.Identify.Intents = intents
	s.SyncEvents = true
	s.LogLevel = discordgo.LogError
	events := make(chan *discordgo.Event, 1024)
	s.AddHandler(func(_ *discordgo.Session, e *discordgo.Event) {
		select {
		case events <- e:
		default:
			t.Errorf("event buffer full, dropped %s", e.Type)
		}
	})
	return s, events
}

// open opens a client and closes it at cleanup.
func (f *fixture) open(t testing.TB, auth string, intents discordgo.Intent) (*discordgo.Session, chan *discordgo.Event) {
	t.Helper()
	s, events := f.client(t, auth, intents)
	if err := s.Open(); err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s, events
}

// testCtx bounds a test.
func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// next returns the next dispatch of type typ, skipping others.
func next(ctx context.Context, t testing.TB, events chan *discordgo.Event, typ string) *discordgo.Event {
	t.Helper()
	for {
		select {
		case e := <-events:
			if e.Type == typ {
				return e
			}
		case <-ctx.Done():
			t.Fatalf("no %s dispatch: %v", typ, ctx.Err())
			return nil
		}
	}
}

// until returns the dispatches before the next one of type typ, which it
// consumes.
func until(ctx context.Context, t *testing.T, events chan *discordgo.Event, typ string) []*discordgo.Event {
	t.Helper()
	var before []*discordgo.Event
	for {
		select {
		case e := <-events:
			if e.Type == typ {
				return before
			}
			before = append(before, e)
		case <-ctx.Done():
			t.Fatalf("no %s dispatch: %v", typ, ctx.Err())
			return nil
		}
	}
}

// testClock is a settable clock for WithClock.
type testClock struct{ ns atomic.Int64 }

func (c *testClock) set(t time.Time) { c.ns.Store(t.UnixNano()) }
func (c *testClock) now() time.Time  { return time.Unix(0, c.ns.Load()) }
