package discordfake_test

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/xgate-im/xgate/transports/discord/discordfake"
)

const sendRoute = "POST /channels/{channel.id}/messages"

// TestRateLimitsWithDiscordgo checks that discordgo's own limiter copes with
// every kind of 429 the fake gives: nothing is lost and each message lands
// once.
func TestRateLimitsWithDiscordgo(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name        string
		setup       func(*discordfake.Server)
		sends       int
		wantCalls   int
		wantLimited int
	}{
		{"per-route 429s", func(s *discordfake.Server) { s.RateLimit(sendRoute, 2, 50*time.Millisecond) }, 1, 3, 2},
		{"global 429", func(s *discordfake.Server) { s.RateLimitGlobal(1, 50*time.Millisecond) }, 1, 2, 1},
		// With a real bucket, discordgo reads X-RateLimit-Remaining and
		// -Reset-After and waits instead of hitting the limit.
		{"bucket headers respected", func(s *discordfake.Server) { s.SetBucket(sendRoute, 2, 200*time.Millisecond) }, 5, 5, 0},
		{"502 retried by discordgo", func(s *discordfake.Server) { s.FailNext(sendRoute, 2, http.StatusBadGateway) }, 1, 3, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			bot, _ := f.client(t, "Bot "+f.botToken, botIntents)
			tc.setup(f.fake)
			for i := range tc.sends {
				if _, err := bot.ChannelMessageSend(f.general.ID, "msg "+string(rune('a'+i))); err != nil {
					t.Fatal(err)
				}
			}
			if n := len(f.fake.Messages(f.general.ID)); n != tc.sends {
				t.Errorf("%d messages stored, want %d", n, tc.sends)
			}
			if n := f.fake.CallCount(sendRoute); n != tc.wantCalls {
				t.Errorf("%d calls, want %d", n, tc.wantCalls)
			}
			if n := f.fake.RateLimited(); n != tc.wantLimited {
				t.Errorf("%d rate limited, want %d", n, tc.wantLimited)
			}
		})
	}
}

func TestRateLimitErrorWithoutRetry(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	bot, _ := f.client(t, "Bot "+f.botToken, botIntents)
	bot.ShouldRetryOnRateLimit = false
	f.fake.RateLimit(sendRoute, 1, 250*time.Millisecond)
	_, err := bot.ChannelMessageSend(f.general.ID, "x")
	var rl *discordgo.RateLimitError
	if !errors.As(err, &rl) || rl.RetryAfter != 250*time.Millisecond || rl.URL == "" {
		t.Fatalf("err = %v", err)
	}
	f.fake.FailNext(sendRoute, 1, http.StatusInternalServerError)
	_, err = bot.ChannelMessageSend(f.general.ID, "y")
	var re *discordgo.RESTError
	if !errors.As(err, &re) || re.Response.StatusCode != 500 || re.Message == nil || re.Message.Message != "500: Internal Server Error" {
		t.Fatalf("err = %v", err)
	}
}

func TestStrictBodies(t *testing.T) {
	t.Parallel()
	f := newFixture(t, discordfake.WithStrictBodies())
	bot, _ := f.client(t, "Bot "+f.botToken, botIntents)
	m, err := bot.ChannelMessageSend(f.general.ID, "first")
	if err != nil {
		t.Fatal(err)
	}
	// discordgo v0.29's edit body has "ID" and "Channel": refused here.
	if _, err := bot.ChannelMessageEdit(f.general.ID, m.ID, "second"); restCode(err) != 50035 {
		t.Fatalf("discordgo edit: %v", err)
	}
	// A body holding only documented fields passes.
	body := map[string]any{"content": "second", "allowed_mentions": map[string]any{"parse": []string{}}}
	if _, err := bot.RequestWithBucketID("PATCH", discordgo.EndpointChannelMessage(f.general.ID, m.ID), body,
		discordgo.EndpointChannelMessage(f.general.ID, "")); err != nil {
		t.Fatal(err)
	}
	if got, _ := f.fake.Message(f.general.ID, m.ID); got.Content != "second" {
		t.Fatalf("content = %q", got.Content)
	}
}

func TestUnknownRoutes(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	bot, _ := f.client(t, "Bot "+f.botToken, botIntents)
	_, err := bot.GuildRoles(f.guild.ID)
	var re *discordgo.RESTError
	if !errors.As(err, &re) || re.Response.StatusCode != 404 || string(re.ResponseBody) != `{"message":"404: Not Found","code":0}` {
		t.Fatalf("err = %v", err)
	}
	want := "GET /api/v9/guilds/" + f.guild.ID + "/roles"
	if u := f.fake.UnknownRoutes(); len(u) != 1 || u[0] != want || f.fake.CallCount(want) != 1 {
		t.Fatalf("unknown routes = %v", u)
	}
}
