package discord

import (
	"context"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/xgate-im/xgate/bridge"
	"github.com/xgate-im/xgate/bridge/bridgetest"
	"github.com/xgate-im/xgate/transports/discord/discordfake"
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

// allPrivileged grants the bot every privileged intent.
const allPrivileged = discordfake.IntentGuildMembers | discordfake.IntentGuildPresences | discordfake.IntentMessageContent

// world is a fake Discord with a guild "Hub" whose members are alice
// (display name "Alice"), bob ("Bob Builder", avatar), carol (nickname
// "Caz" in the guild) and the
// gateway's bot; alice and bob are friends with a DM; alice has a user
// token.
type world struct {
	t                 testing.TB
	fake              *discordfake.Server
	guild             discordfake.Guild
	alice, bob, carol discordfake.User
	bot               discordfake.User
	aliceTok, botTok  string
	aliceBob          string // DM channel
	general           string // the guild's text channel
}

func newWorld(t testing.TB, privileged discordfake.Intent, opts ...discordfake.Option) *world {
	t.Helper()
	fake := discordfake.New(opts...)
	t.Cleanup(fake.Close)
	w := &world{t: t, fake: fake}
	w.alice = fake.CreateUser(discordfake.UserSpec{Username: "alice", GlobalName: "Alice"})
	w.bob = fake.CreateUser(discordfake.UserSpec{Username: "bob", GlobalName: "Bob Builder", Avatar: "b0b"})
	w.carol = fake.CreateUser(discordfake.UserSpec{Username: "carol"})
	w.bot = fake.CreateUser(discordfake.UserSpec{Username: "xgate", Bot: true})
	w.guild = fake.CreateGuild(w.alice.ID, "Hub")
	fake.AddMember(w.guild.ID, w.bob.ID, "")
	fake.AddMember(w.guild.ID, w.carol.ID, "Caz")
	fake.AddMember(w.guild.ID, w.bot.ID, "")
	w.general = fake.CreateChannel(w.guild.ID, "general").ID
	fake.AddFriend(w.alice.ID, w.bob.ID)
	w.aliceBob = fake.OpenDM(w.alice.ID, w.bob.ID).ID
	w.aliceTok = fake.IssueUserToken(w.alice.ID)
	w.botTok = fake.IssueBotToken(w.bot.ID, privileged)
	return w
}

// config is a configuration reaching the fake, with the bot and personal
// accounts.
func (w *world) config() Config {
	return Config{APIURL: w.fake.APIURL(), CDNURL: w.fake.URL() + "/", BotToken: w.botTok, PersonalAccounts: true}
}

// transport returns a transport on the fake whose Run runs until the test
// ends.
func (w *world) transport(cfgs ...func(*Config)) *Transport {
	w.t.Helper()
	cfg := w.config()
	for _, f := range cfgs {
		f(&cfg)
	}
	tr, err := New(cfg, testLog(), nil)
	if err != nil {
		w.t.Fatal(err)
	}
	tr.redeliver = 200 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = tr.Run(ctx)
	}()
	w.t.Cleanup(func() {
		cancel()
		<-done
	})
	return tr
}

// login registers alice's personal account and logs it in.
func (w *world) login(tr *Transport) (*Session, *bridgetest.Recorder) {
	w.t.Helper()
	ctx := bounded(w.t, 10*time.Second)
	acct, err := tr.Register(ctx, map[string]string{"token": w.aliceTok})
	if err != nil {
		w.t.Fatal(err)
	}
	rec := bridgetest.NewRecorder()
	s, err := tr.Login(ctx, acct, rec)
	if err != nil {
		w.t.Fatal(err)
	}
	w.t.Cleanup(func() { s.Close() })
	sess := s.(*Session)
	select {
	case <-sess.c.ready:
	case <-ctx.Done():
		w.t.Fatal("the personal account's connection never got READY")
	}
	return sess, rec
}

// dm is alice's direct chat with bob.
func (w *world) dm() bridge.ChatRef {
	return bridge.ChatRef{Kind: bridge.Direct, Peer: bridge.UserID(w.bob.ID)}
}

// logCapture is a slog handler that passes every record on a channel.
type logCapture struct{ records chan slog.Record }

func newLogCapture() *logCapture { return &logCapture{records: make(chan slog.Record, 256)} }

func (l *logCapture) Enabled(context.Context, slog.Level) bool { return true }
func (l *logCapture) Handle(_ context.Context, r slog.Record) error {
	select {
	case l.records <- r:
	default:
	}
	return nil
}
func (l *logCapture) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *logCapture) WithGroup(string) slog.Handler      { return l }

// wait returns the first record at level whose message contains text.
func (l *logCapture) wait(t testing.TB, level slog.Level, text string) slog.Record {
	t.Helper()
	ctx := bounded(t, 10*time.Second)
	for {
		select {
		case r := <-l.records:
			if r.Level == level && strings.Contains(r.Message, text) {
				return r
			}
		case <-ctx.Done():
			t.Fatalf("no %s log line with %q", level, text)
		}
	}
}
