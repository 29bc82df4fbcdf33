package slack

import (
	"context"
	"log/slog"
	"os"
	"testing"
	"time"

	"golang.org/x/time/rate"

	"github.com/xgate-im/xgate/bridge"
	"github.com/xgate-im/xgate/bridge/bridgetest"
	"github.com/xgate-im/xgate/transports/slack/slackfake"
)

// testLog logs to stderr with XGATE_TEST_LOG set, else nowhere.
func testLog() *slog.Logger {
	if os.Getenv("XGATE_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// bounded returns a context that ends with the test or after d.
func bounded(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), d)
	t.Cleanup(cancel)
	return ctx
}

// world is a fake Slack with one workspace "Acme" and members alice, bob
// (display name "Bob Builder") and carol, where alice and bob have user
// tokens of the app.
type world struct {
	t                   testing.TB
	fake                *slackfake.Server
	team                slackfake.Team
	alice, bob, carol   slackfake.User
	aliceTok, bobTok    string
	aliceBob, aliceCarl string // IM channels
}

func newWorld(t testing.TB, opts ...slackfake.Option) *world {
	t.Helper()
	fake := slackfake.New(opts...)
	t.Cleanup(fake.Close)
	w := &world{t: t, fake: fake}
	w.team = fake.CreateTeam("Acme")
	w.alice = fake.CreateUser(w.team.ID, slackfake.UserSpec{Name: "alice", RealName: "Alice Liddell", DisplayName: "Alice", Email: "alice@acme.example"})
	w.bob = fake.CreateUser(w.team.ID, slackfake.UserSpec{Name: "bob", RealName: "Robert Builder", DisplayName: "Bob Builder", Email: "bob@acme.example", Title: "Builder", StatusText: "Building", StatusEmoji: ":hammer:"})
	w.carol = fake.CreateUser(w.team.ID, slackfake.UserSpec{Name: "carol", RealName: "Carol", Away: true})
	w.aliceTok = fake.IssueUserToken(w.team.ID, w.alice.ID)
	w.bobTok = fake.IssueUserToken(w.team.ID, w.bob.ID)
	w.aliceBob = fake.OpenIM(w.team.ID, w.alice.ID, w.bob.ID)
	return w
}

// uid returns the bridge ID of a member.
func (w *world) uid(u slackfake.User) bridge.UserID { return MakeUserID(w.team.ID, u.ID) }

// config returns a configuration pointing at the fake.
func (w *world) config() Config {
	return Config{APIURL: w.fake.APIURL(), AppToken: w.fake.AppToken(), PresencePoll: Duration(time.Hour), PostRate: 1000, PostBurst: 1000}
}

// transport makes a transport for the fake with test timings, adjusted by
// mods, and runs it until the test ends.
func (w *world) transport(mods ...func(*Config)) *Transport {
	w.t.Helper()
	cfg := w.config()
	for _, m := range mods {
		m(&cfg)
	}
	tr, err := New(cfg, testLog(), nil)
	if err != nil {
		w.t.Fatal(err)
	}
	tr.grace = 0
	tr.presenceLimit = rate.Inf
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- tr.Run(ctx) }()
	w.t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				w.t.Errorf("Run: %v", err)
			}
		case <-time.After(10 * time.Second):
			w.t.Error("Run did not return")
		}
	})
	if err := w.fake.WaitUntil(bounded(w.t, 10*time.Second), func() bool { return w.fake.Connections() > 0 }); err != nil {
		w.t.Fatalf("no Socket Mode connection: %v", err)
	}
	return tr
}

// login registers a token and logs the account in with a recording sink.
func (w *world) login(tr *Transport, token string) (*Session, *bridgetest.Recorder) {
	w.t.Helper()
	ctx := bounded(w.t, 10*time.Second)
	acct, err := tr.Register(ctx, map[string]string{"token": token})
	if err != nil {
		w.t.Fatalf("Register: %v", err)
	}
	sink := bridgetest.NewRecorder()
	sess, err := tr.Login(ctx, acct, sink)
	if err != nil {
		w.t.Fatalf("Login: %v", err)
	}
	w.t.Cleanup(func() { sess.Close() })
	return sess.(*Session), sink
}

// waitFor and count are bridgetest's, for the tests and benchmarks of this
// package.
func waitFor[T bridge.Event](t testing.TB, r *bridgetest.Recorder, match func(T) bool) T {
	t.Helper()
	return bridgetest.WaitFor(t, r, match)
}

func count[T bridge.Event](r *bridgetest.Recorder, match func(T) bool) int {
	return bridgetest.Count(r, match)
}
