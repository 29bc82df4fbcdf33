package discord_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
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

const gwDomain = "discord.localhost"

func testLogger() *slog.Logger {
	if os.Getenv("XGATE_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// gateway runs a bridge.Gateway with the Discord transport on a real
// Prosody until the test ends or stop is called; it returns once the
// component is connected. state, if given, is the transport's State.
func gateway(t *testing.T, p *prosodytest.Server, db *store.DB, cfg discord.Config, state ...discord.State) (stop func()) {
	t.Helper()
	tr, err := discord.New(cfg, testLogger(), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range state {
		tr.UseState(st)
	}
	states := make(chan xmpp.State, 64)
	gw, err := bridge.New(bridge.Config{
		Name: "discord",
		Component: xmpp.ComponentConfig{
			Addr: p.ComponentAddr(), Domain: gwDomain, Secret: "s3cret",
			OnState: func(s xmpp.State, _ error) {
				select {
				case states <- s:
				default:
				}
			},
		},
		Access:    bridge.Access{Allow: []string{"localhost"}},
		RetryBase: 10 * time.Millisecond,
	}, tr, db, testLogger())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- gw.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("gateway: %v", err)
				}
			case <-time.After(15 * time.Second):
				t.Error("gateway did not stop")
			}
		})
	}
	t.Cleanup(stop)
	timeout := time.After(15 * time.Second)
	for connected := false; !connected; {
		select {
		case s := <-states:
			connected = s == xmpp.StateConnected
		case err := <-done:
			t.Fatalf("gateway stopped: %v", err)
		case <-timeout:
			t.Fatalf("component never connected; prosody log:\n%s", p.LogTail(20))
		}
	}
	return stop
}

func bounded(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func messageFrom(from jid.JID, ok func(body string) bool) func(xmpp.Stanza) bool {
	return func(s xmpp.Stanza) bool {
		m, is := s.(*xmpp.Message)
		return is && m.From.Bare() == from && m.Body != "" && ok(m.Body)
	}
}

func presenceFrom(from jid.JID, ok func(*xmpp.Presence) bool) func(xmpp.Stanza) bool {
	return func(s xmpp.Stanza) bool {
		p, is := s.(*xmpp.Presence)
		return is && p.From.Bare() == from && p.Type == "" && ok(p)
	}
}

// TestEndToEndThroughProsody: a real XMPP client registers a personal
// Discord account and talks to a friend through a real Prosody, the
// gateway and discordgo, against discordfake.
func TestEndToEndThroughProsody(t *testing.T) {
	fake := discordfake.New()
	t.Cleanup(fake.Close)
	alice := fake.CreateUser(discordfake.UserSpec{Username: "alice", GlobalName: "Alice"})
	bob := fake.CreateUser(discordfake.UserSpec{Username: "bob", GlobalName: "Bob Builder", Avatar: "b0b"})
	bot := fake.CreateUser(discordfake.UserSpec{Username: "xgate", Bot: true})
	g := fake.CreateGuild(alice.ID, "Hub")
	fake.AddMember(g.ID, bob.ID, "")
	fake.AddMember(g.ID, bot.ID, "")
	fake.AddFriend(alice.ID, bob.ID)
	dm := fake.OpenDM(alice.ID, bob.ID).ID
	token := fake.IssueUserToken(alice.ID)
	botTok := fake.IssueBotToken(bot.ID, discordfake.IntentGuildMembers|discordfake.IntentGuildPresences|discordfake.IntentMessageContent)

	p := prosodytest.Start(t, prosodytest.Options{
		Components: []prosodytest.Component{{Domain: gwDomain, Secret: "s3cret"}},
		Users:      map[string]string{"alice": "pw"},
	})
	key, err := store.ParseKey([]byte(strings.Repeat("5a", 32)))
	if err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(filepath.Join(t.TempDir(), "xgate.db"), store.Options{Key: key})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := db.Verify(); err != nil {
			t.Errorf("store invariants: %v", err)
		}
		db.Close()
	})
	gateway(t, p, db, discord.Config{APIURL: fake.APIURL(), CDNURL: fake.URL() + "/", BotToken: botTok, PersonalAccounts: true})

	ctx := bounded(t)
	dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	c := prosodytest.Dial(dctx, t, p.C2SAddr(), "alice", "localhost", "pw")
	gw := jid.MustParse(gwDomain)
	bobJID := jid.MustParse(bob.ID + "@" + gwDomain)
	c.Send(&xmpp.Presence{})

	// XEP-0077: the form offers both kinds of account and warns about
	// personal ones; alice registers hers.
	res, err := c.Request(ctx, &xmpp.IQ{Header: xmpp.Header{To: gw, Type: xmpp.IQGet}, Payload: xmpp.NewElement(bridge.NSRegister, "query")})
	if err != nil {
		t.Fatal(err)
	}
	f, err := form.Parse(res.Payload.Child(form.NS, "x"))
	if err != nil || f.Field("token") == nil || f.Field("token").Type != form.FieldTextPrivate || f.Field("user") == nil ||
		!strings.Contains(res.Payload.String(), "terms of service forbid") {
		t.Fatalf("registration form %s (%v)", res.Payload, err)
	}
	sub := &form.Form{Type: form.TypeSubmit}
	sub.Set("FORM_TYPE", bridge.NSRegister)
	sub.Set("token", token)
	res, err = c.Request(ctx, &xmpp.IQ{Header: xmpp.Header{To: gw, Type: xmpp.IQSet}, Payload: xmpp.NewElement(bridge.NSRegister, "query").Append(sub.Element())})
	if err != nil || res.Type != xmpp.IQResult {
		t.Fatalf("register: %v %v", res, err)
	}

	// The gateway and Bob (a friend) ask to be in the roster, Bob with his
	// display name as nick.
	for _, j := range []jid.JID{gw, bobJID} {
		s, err := c.Expect(ctx, prosodytest.PresenceFrom(j, xmpp.PresenceSubscribe))
		if err != nil {
			t.Fatal(err)
		}
		if j == bobJID {
			if nick := s.(*xmpp.Presence).Extra; len(nick) == 0 || nick[0].Text() != "Bob Builder" {
				t.Errorf("Bob's subscription request without his nickname: %v", s)
			}
		}
		c.Approve(j)
		c.Subscribe(j)
	}

	// Presence both ways.
	fake.SetPresence(bob.ID, "idle", discordfake.Activity{Name: "Custom Status", Type: 4, State: "Lunch"})
	if _, err := c.Expect(ctx, presenceFrom(bobJID, func(p *xmpp.Presence) bool { return p.Show == "away" && p.Status == "Lunch" })); err != nil {
		t.Fatal(err)
	}
	c.Send(&xmpp.Presence{Show: "dnd", Status: "In a meeting"})
	if err := fake.WaitUntil(ctx, func() bool {
		u, _ := fake.User(alice.ID)
		return u.Status == "dnd" && strings.Contains(string(u.Activities), "In a meeting")
	}); err != nil {
		t.Fatal("alice's presence never reached Discord")
	}

	// Messages both ways with styling and a mention; typing.
	c.Send(&xmpp.Message{Header: xmpp.Header{To: bobJID, Type: xmpp.MessageChat, ID: "x1"}, Body: "*hello* _there_"})
	sent, err := fake.WaitMessage(ctx, dm, func(m discordfake.Message) bool { return m.Content == "**hello** _there_" })
	if err != nil || sent.AuthorID != alice.ID {
		t.Fatalf("message on Discord %+v %v; have %+v", sent, err, fake.Messages(dm))
	}
	fake.Typing(bob.ID, dm)
	if _, err := c.Expect(ctx, func(s xmpp.Stanza) bool {
		m, is := s.(*xmpp.Message)
		return is && m.From.Bare() == bobJID && m.Body == "" && len(m.Extra) > 0 && m.Extra[0].Name.Local == "composing"
	}); err != nil {
		t.Fatal(err)
	}
	id := fake.Post(bob.ID, dm, "hi <@"+alice.ID+">, **styled**")
	m, err := c.Expect(ctx, messageFrom(bobJID, func(string) bool { return true }))
	if err != nil {
		t.Fatal(err)
	}
	if body := m.(*xmpp.Message).Body; body != "hi @Alice, *styled*" {
		t.Errorf("body %q", body)
	}
	// Edits both ways, a reaction and a reply from XMPP.
	fake.Edit(bob.ID, dm, id, "hi again")
	if _, err := c.Expect(ctx, messageFrom(bobJID, func(b string) bool { return b == "hi again" })); err != nil {
		t.Fatal(err)
	}
	c.Send(&xmpp.Message{Header: xmpp.Header{To: bobJID, Type: xmpp.MessageChat, ID: "x2"}, Body: "*hello* again",
		Extra: []*xmpp.Element{xmpp.NewElement(bridge.NSCorrect, "replace", "id", "x1")}})
	if _, err := fake.WaitMessage(ctx, dm, func(m discordfake.Message) bool { return m.ID == sent.ID && m.Content == "**hello** again" }); err != nil {
		t.Fatal(err)
	}
	c.Send(&xmpp.Message{Header: xmpp.Header{To: bobJID, Type: xmpp.MessageChat, ID: "x3"},
		Extra: []*xmpp.Element{xmpp.NewElement(bridge.NSReactions, "reactions", "id", id).Append(xmpp.TextElement("", "reaction", "👍"))}})
	if _, err := fake.WaitMessage(ctx, dm, func(m discordfake.Message) bool {
		return m.ID == id && len(m.Reactions) == 1 && m.Reactions[0].Emoji == "👍" && m.Reactions[0].Users[0] == alice.ID
	}); err != nil {
		t.Fatalf("reaction: %v; have %+v", err, fake.Messages(dm))
	}
	// What alice writes in Discord's app is shown to her.
	fake.Post(alice.ID, dm, "sent from my phone")
	if _, err := c.Expect(ctx, messageFrom(bobJID, func(b string) bool { return strings.HasSuffix(b, "sent from my phone") })); err != nil {
		t.Fatal(err)
	}

	// Bob's vCard with his avatar.
	res, err = c.Request(ctx, &xmpp.IQ{Header: xmpp.Header{To: bobJID, Type: xmpp.IQGet}, Payload: xmpp.NewElement(bridge.NSVCard, "vCard")})
	if err != nil || res.Type != xmpp.IQResult {
		t.Fatalf("vCard %v %v", res, err)
	}
	photo := res.Payload.Child("", "PHOTO")
	if res.Payload.ChildText("", "NICKNAME") != "Bob Builder" || photo == nil {
		t.Fatalf("vCard %s", res.Payload)
	}
	if png, err := base64.StdEncoding.DecodeString(photo.ChildText("", "BINVAL")); err != nil || !bytes.HasPrefix(png, []byte("\x89PNG")) {
		t.Errorf("avatar %v", err)
	}

	// The Gateway drops (RESUME), reconnects (op 7) and loses its session
	// (op 9, re-identify) while Bob writes: nothing lost, in order.
	for i := range 8 {
		fake.Post(bob.ID, dm, fmt.Sprint("reconnect ", i))
		switch i {
		case 1:
			fake.DropSockets()
		case 3:
			fake.Reconnect()
		case 5:
			fake.InvalidateSessions(false)
		}
	}
	for i := range 8 {
		if _, err := c.Expect(ctx, messageFrom(bobJID, func(b string) bool { return b == fmt.Sprint("reconnect ", i) })); err != nil {
			t.Fatal(err)
		}
	}

	// A 429 storm: every message arrives, once, in order.
	before := len(fake.Messages(dm))
	fake.RateLimit("POST /channels/{channel.id}/messages", 6, 50*time.Millisecond)
	const storm = 30
	for i := range storm {
		c.Send(&xmpp.Message{Header: xmpp.Header{To: bobJID, Type: xmpp.MessageChat, ID: fmt.Sprint("s", i)}, Body: fmt.Sprint("storm ", i)})
	}
	if err := fake.WaitUntil(ctx, func() bool { return len(fake.Messages(dm)) >= before+storm }); err != nil {
		t.Fatalf("%d of %d messages arrived", len(fake.Messages(dm))-before, storm)
	}
	got := fake.Messages(dm)[before:]
	for i, m := range got {
		if m.Content != fmt.Sprint("storm ", i) {
			t.Fatalf("message %d is %q", i, m.Content)
		}
	}
	if len(got) != storm {
		t.Errorf("%d messages, want %d", len(got), storm)
	}

	// The token is revoked: the gateway says so in chat and in its presence.
	fake.RevokeToken(token)
	if _, err := c.Expect(ctx, messageFrom(gw, func(b string) bool { return strings.Contains(b, "logged out") && strings.Contains(b, "revoked") })); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Expect(ctx, presenceFrom(gw, func(p *xmpp.Presence) bool { return p.Show == "xa" && strings.Contains(p.Status, "revoked") })); err != nil {
		t.Fatal(err)
	}
}

// TestRestartCatchUpThroughProsody: xgate stops, bob writes, xgate starts
// again: alice gets what he wrote, once, in order, and nothing twice.
func TestRestartCatchUpThroughProsody(t *testing.T) {
	fake := discordfake.New()
	t.Cleanup(fake.Close)
	alice := fake.CreateUser(discordfake.UserSpec{Username: "alice", GlobalName: "Alice"})
	bob := fake.CreateUser(discordfake.UserSpec{Username: "bob", GlobalName: "Bob"})
	fake.AddFriend(alice.ID, bob.ID)
	dm := fake.OpenDM(alice.ID, bob.ID).ID
	token := fake.IssueUserToken(alice.ID)
	p := prosodytest.Start(t, prosodytest.Options{
		Components: []prosodytest.Component{{Domain: gwDomain, Secret: "s3cret"}},
		Users:      map[string]string{"alice": "pw"},
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
	cfg := discord.Config{APIURL: fake.APIURL(), CDNURL: fake.URL() + "/", PersonalAccounts: true}
	stop := gateway(t, p, db, cfg)
	ctx := bounded(t)
	dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	c := prosodytest.Dial(dctx, t, p.C2SAddr(), "alice", "localhost", "pw")
	gw := jid.MustParse(gwDomain)
	bobJID := jid.MustParse(bob.ID + "@" + gwDomain)
	c.Send(&xmpp.Presence{})
	sub := &form.Form{Type: form.TypeSubmit}
	sub.Set("FORM_TYPE", bridge.NSRegister)
	sub.Set("token", token)
	if res, err := c.Request(ctx, &xmpp.IQ{Header: xmpp.Header{To: gw, Type: xmpp.IQSet}, Payload: xmpp.NewElement(bridge.NSRegister, "query").Append(sub.Element())}); err != nil || res.Type != xmpp.IQResult {
		t.Fatalf("register: %v %v", res, err)
	}
	for _, j := range []jid.JID{gw, bobJID} {
		if _, err := c.Expect(ctx, prosodytest.PresenceFrom(j, xmpp.PresenceSubscribe)); err != nil {
			t.Fatal(err)
		}
		c.Approve(j)
		c.Subscribe(j)
	}
	fake.Post(bob.ID, dm, "before")
	if _, err := c.Expect(ctx, messageFrom(bobJID, func(b string) bool { return b == "before" })); err != nil {
		t.Fatal(err)
	}
	c.Send(&xmpp.Message{Header: xmpp.Header{To: bobJID, Type: xmpp.MessageChat, ID: "x1"}, Body: "mine"})
	if _, err := fake.WaitMessage(ctx, dm, func(m discordfake.Message) bool { return m.Content == "mine" }); err != nil {
		t.Fatal(err)
	}
	stop()
	for i := range 5 {
		fake.Post(bob.ID, dm, fmt.Sprint("meanwhile ", i))
	}
	gateway(t, p, db, cfg)
	fake.Post(bob.ID, dm, "after")
	// Every message with a body, in order: neither "before" again nor
	// "mine" as a carbon.
	chat := func(s xmpp.Stanza) bool {
		m, is := s.(*xmpp.Message)
		return is && m.Body != "" && (m.From.Bare() == bobJID || m.From.Bare() == c.JID().Bare())
	}
	for _, want := range []string{"meanwhile 0", "meanwhile 1", "meanwhile 2", "meanwhile 3", "meanwhile 4", "after"} {
		m, err := c.Expect(ctx, chat)
		if err != nil {
			t.Fatal(err)
		}
		if body := m.(*xmpp.Message).Body; body != want {
			t.Fatalf("came %q, want %q", body, want)
		}
	}
}
