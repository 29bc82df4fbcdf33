package discordfake_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/xgate-im/xgate/transports/discord/discordfake"
)

// collect reads MESSAGE_CREATE dispatches until n arrived and returns their
// contents in order, failing on a duplicate ID.
func collect(ctx context.Context, t *testing.T, events chan *discordgo.Event, n int) []string {
	t.Helper()
	seen := map[string]bool{}
	var out []string
	for len(out) < n {
		m := next(ctx, t, events, "MESSAGE_CREATE").Struct.(*discordgo.MessageCreate)
		if seen[m.ID] {
			t.Fatalf("message %s (%q) delivered twice", m.ID, m.Content)
		}
		seen[m.ID] = true
		out = append(out, m.Content)
	}
	return out
}

func TestNothingLostAcrossGatewayFaults(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name       string
		opts       []discordfake.Option
		fault      func(f *fixture)
		reidentify bool // a new session, not a resume
	}{
		{"dropped socket", nil, func(f *fixture) { f.fake.DropSockets() }, false},
		{"op 7 reconnect", []discordfake.Option{discordfake.WithReconnectGrace(5 * time.Second)},
			func(f *fixture) { f.fake.Reconnect() }, false},
		{"close 4000", nil, func(f *fixture) { f.fake.CloseSockets(4000, "Unknown error.") }, false},
		{"heartbeat ACK withheld", []discordfake.Option{discordfake.WithHeartbeatInterval(100 * time.Millisecond)},
			func(f *fixture) { f.fake.WithholdHeartbeatACK(true) }, false},
		{"op 9 invalid session", nil, func(f *fixture) { f.fake.InvalidateSessions(false) }, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, tc.opts...)
			ctx := testCtx(t)
			_, events := f.open(t, "Bot "+f.botToken, botIntents)
			first := next(ctx, t, events, "READY").Struct.(*discordgo.Ready)
			f.fake.Post(f.alice.ID, f.general.ID, "before")
			if got := collect(ctx, t, events, 1); got[0] != "before" {
				t.Fatalf("got %q", got)
			}

			tc.fault(f)
			f.fake.Post(f.alice.ID, f.general.ID, "during 1")
			f.fake.Post(f.bob.ID, f.general.ID, "during 2")

			if tc.reidentify {
				ready := next(ctx, t, events, "READY").Struct.(*discordgo.Ready)
				if ready.SessionID == first.SessionID {
					t.Fatal("op 9 d:false kept the session")
				}
				// What was said while no session existed is not replayed:
				// a client fetches it from history.
				msgs, err := restHistory(f)
				if err != nil || len(msgs) != 3 {
					t.Fatalf("history = %d messages, %v", len(msgs), err)
				}
				f.fake.Post(f.alice.ID, f.general.ID, "after")
				for got := collect(ctx, t, events, 1); got[0] != "after"; got = collect(ctx, t, events, 1) {
					if got[0] != "during 1" && got[0] != "during 2" {
						t.Fatalf("after re-identify got %q", got)
					}
				}
				return
			}
			// The replay comes before RESUMED, in order.
			var replayed []string
			for _, e := range until(ctx, t, events, "RESUMED") {
				if e.Type == "MESSAGE_CREATE" {
					replayed = append(replayed, e.Struct.(*discordgo.MessageCreate).Content)
				}
			}
			if !slices.Equal(replayed, []string{"during 1", "during 2"}) {
				t.Fatalf("before RESUMED got %q", replayed)
			}
			if tc.name == "heartbeat ACK withheld" {
				f.fake.WithholdHeartbeatACK(false)
			}
			f.fake.Post(f.alice.ID, f.general.ID, "after")
			if got := collect(ctx, t, events, 1); got[0] != "after" {
				t.Fatalf("after resume got %q", got)
			}
			ss := f.fake.Sessions()
			if len(ss) != 1 || ss[0].Resumes < 1 || ss[0].ID != first.SessionID {
				t.Fatalf("sessions = %+v", ss)
			}
			var contents []string
			for _, d := range f.fake.Dispatches(ss[0].ID) {
				if d.Type == "MESSAGE_CREATE" {
					contents = append(contents, string(d.Data))
				}
			}
			if len(contents) != 4 {
				t.Fatalf("%d MESSAGE_CREATE dispatched, want 4", len(contents))
			}
		})
	}
}

// restHistory reads #general through REST with a fresh client.
func restHistory(f *fixture) ([]*discordgo.Message, error) {
	s, err := discordgo.New("Bot " + f.botToken)
	if err != nil {
		return nil, err
	}
	s.Client = clientFor(f)
	return s.ChannelMessages(f.general.ID, 100, "", "", "")
}
