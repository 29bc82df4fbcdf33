package discordfake_test

import (
	"errors"
	"net/http"
	"strings"
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
	_, err = bot.ChannelMessageSend(f.dm.ID, "y")
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

// TestScriptedLimitsHold: a scripted 429 holds for its retry_after, as
// Discord's limits do: a client that asks again at once (raw HTTP here, no
// limiter) gets a 429 with the time left, per route and channel for a
// per-route 429 and per token for a global one, and is counted early.
func TestScriptedLimitsHold(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		script func(*discordfake.Server)
		// then: the second request's channel and token (bot or alice)
		channel   func(*fixture) string
		asAlice   bool
		want      int // status of the second request
		wantEarly int
		global    bool
	}{
		{"per-route: same channel held", func(s *discordfake.Server) { s.RateLimit(sendRoute, 1, time.Minute) },
			func(f *fixture) string { return f.general.ID }, false, http.StatusTooManyRequests, 1, false},
		{"per-route: another channel free", func(s *discordfake.Server) { s.RateLimit(sendRoute, 1, time.Minute) },
			func(f *fixture) string { return f.dm.ID }, false, http.StatusOK, 0, false},
		{"global: every route of the token held", func(s *discordfake.Server) { s.RateLimitGlobal(1, time.Minute) },
			func(f *fixture) string { return f.dm.ID }, false, http.StatusTooManyRequests, 1, true},
		{"global: another token free", func(s *discordfake.Server) { s.RateLimitGlobal(1, time.Minute) },
			func(f *fixture) string { return f.dm.ID }, true, http.StatusOK, 0, false},
		{"a 5xx holds nothing", func(s *discordfake.Server) { s.FailNext(sendRoute, 1, http.StatusInternalServerError) },
			func(f *fixture) string { return f.general.ID }, false, http.StatusOK, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			post := func(channel, auth string) *http.Response {
				req, _ := http.NewRequestWithContext(t.Context(), "POST", f.fake.APIURL()+"channels/"+channel+"/messages", strings.NewReader(`{"content":"x"}`))
				req.Header.Set("Authorization", auth)
				req.Header.Set("Content-Type", "application/json")
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				return resp
			}
			tc.script(f.fake)
			if r := post(f.general.ID, "Bot "+f.botToken); r.StatusCode == http.StatusOK {
				t.Fatalf("the scripted fault did not answer: %s", r.Status)
			}
			auth := "Bot " + f.botToken
			if tc.asAlice {
				auth = f.userToken
			}
			r := post(tc.channel(f), auth)
			if r.StatusCode != tc.want {
				t.Fatalf("second request: %s, want %d", r.Status, tc.want)
			}
			if tc.want == http.StatusTooManyRequests {
				if ra := r.Header.Get("Retry-After"); ra != "60" {
					t.Errorf("Retry-After %q, want 60 (the time left, in whole seconds)", ra)
				}
				if g := r.Header.Get("X-RateLimit-Global") == "true"; g != tc.global {
					t.Errorf("X-RateLimit-Global %v, want %v", g, tc.global)
				}
			}
			if n := f.fake.EarlyRequests(); n != tc.wantEarly {
				t.Errorf("%d early requests, want %d", n, tc.wantEarly)
			}
		})
	}
}
