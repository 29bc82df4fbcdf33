package slackfake_test

import (
	"context"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"

	"github.com/xgate-im/xgate/transports/slack/slackfake"
)

// fixture is a fake with one team, three users, a channel with the bot and
// alice and bob in it, and the app installed.
type fixture struct {
	fake              *slackfake.Server
	team              slackfake.Team
	alice, bob, carol slackfake.User
	general           slackfake.Channel
	botToken, botUser string
	bot               *slack.Client
}

func newFixture(t *testing.T, opts ...slackfake.Option) *fixture {
	t.Helper()
	fake := slackfake.New(opts...)
	t.Cleanup(fake.Close)
	f := &fixture{fake: fake}
	f.team = fake.CreateTeam("Acme Corp")
	f.alice = fake.CreateUser(f.team.ID, slackfake.UserSpec{Name: "alice", RealName: "Alice Liddell", DisplayName: "alice"})
	f.bob = fake.CreateUser(f.team.ID, slackfake.UserSpec{Name: "bob", RealName: "Bob Builder"})
	f.carol = fake.CreateUser(f.team.ID, slackfake.UserSpec{Name: "carol"})
	f.botToken, f.botUser = fake.InstallApp(f.team.ID)
	f.general = fake.CreateChannel(f.team.ID, "general", false, f.alice.ID, f.bob.ID, f.botUser)
	f.bot = f.client(f.botToken)
	return f
}

// client returns a real slack-go client for a token, pointed at the fake.
func (f *fixture) client(token string) *slack.Client {
	return slack.New(token, slack.OptionAPIURL(f.fake.APIURL()), slack.OptionAppLevelToken(f.fake.AppToken()))
}

// testCtx bounds a test.
func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// runSocket starts a real socketmode client and stops it at cleanup.
func runSocket(t *testing.T, api *slack.Client, opts ...socketmode.Option) *socketmode.Client {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	sm := socketmode.New(api, opts...)
	done := make(chan error, 1)
	go func() { done <- sm.RunContext(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return sm
}

// nextRequest returns the next events_api request from the client, skipping
// connection life-cycle events.
func nextRequest(ctx context.Context, t *testing.T, sm *socketmode.Client) *socketmode.Request {
	t.Helper()
	for {
		select {
		case evt := <-sm.Events:
			switch evt.Type {
			case socketmode.EventTypeEventsAPI:
				return evt.Request
			case socketmode.EventTypeErrorBadMessage, socketmode.EventTypeInvalidAuth:
				t.Fatalf("socket mode: %s: %+v", evt.Type, evt.Data)
			}
		case <-ctx.Done():
			t.Fatalf("no events_api request: %v", ctx.Err())
		}
	}
}

// waitConnected waits for the client's next "connected" event.
func waitConnected(ctx context.Context, t *testing.T, sm *socketmode.Client) *socketmode.ConnectedEvent {
	t.Helper()
	for {
		select {
		case evt := <-sm.Events:
			if evt.Type == socketmode.EventTypeConnected {
				return evt.Data.(*socketmode.ConnectedEvent)
			}
			if evt.Type == socketmode.EventTypeEventsAPI {
				t.Fatalf("unexpected event before connect: %s", evt.Request.Payload)
			}
		case <-ctx.Done():
			t.Fatalf("not connected: %v", ctx.Err())
		}
	}
}
