package slack_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/xgate-im/xgate/bridge"
	"github.com/xgate-im/xgate/store"
	"github.com/xgate-im/xgate/transports/slack"
	"github.com/xgate-im/xgate/transports/slack/slackfake"
	"github.com/xgate-im/xgate/xmpp"
	"github.com/xgate-im/xgate/xmpp/form"
	"github.com/xgate-im/xgate/xmpp/jid"
	"github.com/xgate-im/xgate/xmpp/prosodytest"
)

const gwDomain = "slack.localhost"

func testLogger() *slog.Logger {
	if os.Getenv("XGATE_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// e2e is a gateway with the Slack transport, attached to a real Prosody,
// in front of a fake Slack.
type e2e struct {
	t    testing.TB
	p    *prosodytest.Server
	fake *slackfake.Server
	db   *store.DB
}

// startE2E runs Prosody, the fake Slack and the gateway until the test
// ends, and returns once the component is connected.
func startE2E(t testing.TB, fake *slackfake.Server, cfg slack.Config, storeOpts ...func(*store.Options)) *e2e {
	t.Helper()
	return startE2EOn(t, prosodytest.Options{}, fake, cfg, storeOpts...)
}

// startE2EOn is startE2E on a Prosody with more of popts (its MUC or
// upload service); the component and alice are always declared.
func startE2EOn(t testing.TB, popts prosodytest.Options, fake *slackfake.Server, cfg slack.Config, storeOpts ...func(*store.Options)) *e2e {
	t.Helper()
	popts.Components = append(popts.Components, prosodytest.Component{Domain: gwDomain, Secret: "s3cret"})
	if popts.Users == nil {
		popts.Users = map[string]string{}
	}
	popts.Users["alice"] = "pw"
	p := prosodytest.Start(t, popts)
	key, err := store.ParseKey([]byte(strings.Repeat("5a", 32)))
	if err != nil {
		t.Fatal(err)
	}
	opts := store.Options{Key: key}
	for _, o := range storeOpts {
		o(&opts)
	}
	db, err := store.Open(filepath.Join(t.TempDir(), "xgate.db"), opts)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := slack.New(cfg, testLogger(), nil)
	if err != nil {
		t.Fatal(err)
	}
	states := make(chan xmpp.State, 64)
	gw, err := bridge.New(bridge.Config{
		Name: "slack",
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
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("gateway: %v", err)
			}
		case <-time.After(15 * time.Second):
			t.Error("gateway did not stop")
		}
		if err := db.Verify(); err != nil {
			t.Errorf("store invariants: %v", err)
		}
		db.Close()
	})
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
	return &e2e{t: t, p: p, fake: fake, db: db}
}

func (e *e2e) client(user string) *prosodytest.Client {
	ctx, cancel := context.WithTimeout(e.t.Context(), 10*time.Second)
	defer cancel()
	return prosodytest.Dial(ctx, e.t, e.p.C2SAddr(), user, "localhost", "pw")
}

func bounded(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// messageFrom matches a chat message from a JID whose body satisfies ok.
func messageFrom(from jid.JID, ok func(body string) bool) func(xmpp.Stanza) bool {
	return func(s xmpp.Stanza) bool {
		m, is := s.(*xmpp.Message)
		return is && m.From.Bare() == from && m.Body != "" && ok(m.Body)
	}
}

// presenceFrom matches an available presence from a JID that satisfies ok.
func presenceFrom(from jid.JID, ok func(*xmpp.Presence) bool) func(xmpp.Stanza) bool {
	return func(s xmpp.Stanza) bool {
		p, is := s.(*xmpp.Presence)
		return is && p.From.Bare() == from && p.Type == "" && ok(p)
	}
}

// register fills in the gateway's registration form with a token and
// returns the form the gateway offered.
func register(t testing.TB, ctx context.Context, c *prosodytest.Client, token string) *form.Form {
	t.Helper()
	gw := jid.MustParse(gwDomain)
	res, err := c.Request(ctx, &xmpp.IQ{Header: xmpp.Header{To: gw, Type: xmpp.IQGet}, Payload: xmpp.NewElement(bridge.NSRegister, "query")})
	if err != nil {
		t.Fatal(err)
	}
	f, err := form.Parse(res.Payload.Child(form.NS, "x"))
	if err != nil {
		t.Fatalf("registration form %s (%v)", res.Payload, err)
	}
	sub := &form.Form{Type: form.TypeSubmit}
	sub.Set("FORM_TYPE", bridge.NSRegister)
	sub.Set("token", token)
	res, err = c.Request(ctx, &xmpp.IQ{Header: xmpp.Header{To: gw, Type: xmpp.IQSet}, Payload: xmpp.NewElement(bridge.NSRegister, "query").Append(sub.Element())})
	if err != nil || res.Type != xmpp.IQResult {
		t.Fatalf("register: %v %v", res, err)
	}
	return f
}

// accept waits for the subscription requests of JIDs, in order, approves
// them and subscribes back; it returns the requests.
func accept(t testing.TB, ctx context.Context, c *prosodytest.Client, from ...jid.JID) []*xmpp.Presence {
	t.Helper()
	var out []*xmpp.Presence
	for _, j := range from {
		s, err := c.Expect(ctx, prosodytest.PresenceFrom(j, xmpp.PresenceSubscribe))
		if err != nil {
			t.Fatal(err)
		}
		c.Approve(j)
		c.Subscribe(j)
		out = append(out, s.(*xmpp.Presence))
	}
	return out
}

func TestEndToEndThroughProsody(t *testing.T) {
	fake := slackfake.New(slackfake.WithAckTimeout(500 * time.Millisecond))
	t.Cleanup(fake.Close)
	team := fake.CreateTeam("Acme")
	alice := fake.CreateUser(team.ID, slackfake.UserSpec{Name: "alice", DisplayName: "Alice"})
	bob := fake.CreateUser(team.ID, slackfake.UserSpec{Name: "bob", RealName: "Robert Builder", DisplayName: "Bob Builder", StatusText: "Building", StatusEmoji: ":hammer:"})
	fake.CreateUser(team.ID, slackfake.UserSpec{Name: "carol"})
	im := fake.OpenIM(team.ID, alice.ID, bob.ID)
	token := fake.IssueUserToken(team.ID, alice.ID)

	e := startE2E(t, fake, slack.Config{
		APIURL: fake.APIURL(), AppToken: fake.AppToken(),
		PresencePoll: slack.Duration(100 * time.Millisecond), PostRate: 1000, PostBurst: 1000,
	})
	c := e.client("alice")
	ctx := bounded(t)
	gw := jid.MustParse(gwDomain)
	bobJID := jid.MustParse(slack.ContactLocalpart(slack.MakeUserID(team.ID, bob.ID)) + "@" + gwDomain)
	c.Send(&xmpp.Presence{})

	// XEP-0077: the transport's form, filled in with the user token.
	f := register(t, ctx, c, token)
	if tf := f.Field("token"); tf == nil || tf.Type != form.FieldTextPrivate {
		t.Fatalf("registration form %+v", f)
	}

	// The gateway and Bob (alice's DM partner) ask to be in the roster,
	// Bob with his display name.
	subs := accept(t, ctx, c, gw, bobJID)
	if nick := subs[1].Extra; len(nick) == 0 || nick[0].Text() != "Bob Builder" {
		t.Errorf("Bob's subscription request without his nickname: %v", subs[1])
	}
	items, err := c.Roster(ctx)
	if err != nil || len(items) != 2 {
		t.Fatalf("roster %+v %v", items, err)
	}

	// Bob's presence and status, then changes of them.
	if _, err := c.Expect(ctx, presenceFrom(bobJID, func(p *xmpp.Presence) bool { return p.Show == "" && p.Status == "🔨 Building" })); err != nil {
		t.Fatal(err)
	}
	fake.SetPresence(bob.ID, "away")
	if _, err := c.Expect(ctx, presenceFrom(bobJID, func(p *xmpp.Presence) bool { return p.Show == "away" })); err != nil {
		t.Fatal(err)
	}
	fake.SetStatus(bob.ID, "Lunch", ":hamburger:")
	if _, err := c.Expect(ctx, presenceFrom(bobJID, func(p *xmpp.Presence) bool { return p.Show == "away" && p.Status == "🍔 Lunch" })); err != nil {
		t.Fatal(err)
	}
	// Alice's own presence goes to Slack.
	c.Send(&xmpp.Presence{Show: "dnd", Status: "In a meeting"})
	if err := fake.WaitUntil(ctx, func() bool {
		u, _ := fake.User(alice.ID)
		return u.Presence == "away" && u.Profile.StatusText == "In a meeting"
	}); err != nil {
		t.Fatal("alice's presence never reached Slack")
	}

	// Direct messages both ways, with styling and mentions.
	c.Send(&xmpp.Message{Header: xmpp.Header{To: bobJID, Type: xmpp.MessageChat, ID: "x1"}, Body: "*hello* @Bob Builder, see <this>"})
	want := "*hello* <@" + bob.ID + ">, see &lt;this&gt;"
	sent, err := fake.WaitMessage(ctx, im, func(m slackfake.Message) bool { return m.Text == want })
	if err != nil || sent.User != alice.ID {
		t.Fatalf("message on Slack %+v %v; have %+v", sent, err, fake.Messages(im))
	}
	ts := fake.Post(bob.ID, im, "hi <@"+alice.ID+">, _styled_ :smile: <https://example.org|link>")
	m, err := c.Expect(ctx, messageFrom(bobJID, func(string) bool { return true }))
	if err != nil {
		t.Fatal(err)
	}
	if body := m.(*xmpp.Message).Body; body != "hi @Alice, _styled_ 😄 link (https://example.org)" {
		t.Errorf("body %q", body)
	}
	// The mention of alice is a XEP-0372 reference to her own contact JID
	// in that workspace, over "@Alice".
	var ref *xmpp.Element
	for _, x := range m.(*xmpp.Message).Extra {
		if x.Name.Space == bridge.NSReference {
			ref = x
		}
	}
	if ref == nil || ref.AttrValue("begin") != "3" || ref.AttrValue("end") != "9" || !strings.HasPrefix(ref.AttrValue("uri"), "xmpp:"+strings.ToLower(alice.ID)+".") {
		t.Errorf("mention reference %v in %s", ref, m.Element())
	}
	// Edits both ways, and a reaction from XMPP.
	fake.Edit(bob.ID, im, ts, "hi again")
	m, err = c.Expect(ctx, messageFrom(bobJID, func(b string) bool { return b == "hi again" }))
	if err != nil || m.(*xmpp.Message).Extra[0].Name.Space != bridge.NSCorrect {
		t.Fatalf("correction %v %v", m, err)
	}
	c.Send(&xmpp.Message{Header: xmpp.Header{To: bobJID, Type: xmpp.MessageChat, ID: "x2"}, Body: "*hello* again",
		Extra: []*xmpp.Element{xmpp.NewElement(bridge.NSCorrect, "replace", "id", "x1")}})
	if _, err := fake.WaitMessage(ctx, im, func(m slackfake.Message) bool { return m.TS == sent.TS && m.Text == "*hello* again" }); err != nil {
		t.Fatal(err)
	}
	c.Send(&xmpp.Message{Header: xmpp.Header{To: bobJID, Type: xmpp.MessageChat, ID: "x3"},
		Extra: []*xmpp.Element{xmpp.NewElement(bridge.NSReactions, "reactions", "id", ts).Append(xmpp.TextElement("", "reaction", "👍"))}})
	if _, err := fake.WaitMessage(ctx, im, func(m slackfake.Message) bool {
		return m.TS == ts && len(m.Reactions) == 1 && m.Reactions[0].Name == "+1" && m.Reactions[0].Users[0] == alice.ID
	}); err != nil {
		t.Fatalf("reaction: %v; have %+v", err, fake.Messages(im))
	}
	// What alice writes in the official app is shown to her.
	fake.Post(alice.ID, im, "sent from my phone")
	if _, err := c.Expect(ctx, messageFrom(bobJID, func(b string) bool { return strings.HasSuffix(b, "sent from my phone") })); err != nil {
		t.Fatal(err)
	}

	// Bob's vCard, with his avatar.
	res, err := c.Request(ctx, &xmpp.IQ{Header: xmpp.Header{To: bobJID, Type: xmpp.IQGet}, Payload: xmpp.NewElement(bridge.NSVCard, "vCard")})
	if err != nil || res.Type != xmpp.IQResult {
		t.Fatalf("vCard %v %v", res, err)
	}
	photo := res.Payload.Child("", "PHOTO")
	if res.Payload.ChildText("", "FN") != "Robert Builder" || res.Payload.ChildText("", "NICKNAME") != "Bob Builder" || photo == nil {
		t.Fatalf("vCard %s", res.Payload)
	}
	png, err := base64.StdEncoding.DecodeString(photo.ChildText("", "BINVAL"))
	if err != nil || !bytes.HasPrefix(png, []byte("\x89PNG")) || photo.ChildText("", "TYPE") != "image/png" {
		t.Errorf("avatar %q %v", photo.ChildText("", "TYPE"), err)
	}

	// Socket Mode reconnects while Bob writes: nothing lost, in order.
	for i := range 6 {
		fake.Post(bob.ID, im, fmt.Sprint("reconnect ", i))
		switch i {
		case 1:
			fake.Disconnect("refresh_requested")
		case 3:
			fake.DropSockets()
		}
	}
	for i := range 6 {
		if _, err := c.Expect(ctx, messageFrom(bobJID, func(b string) bool { return b == fmt.Sprint("reconnect ", i) })); err != nil {
			t.Fatal(err)
		}
	}

	// A 429 storm: every message arrives, in order.
	before := len(fake.Messages(im))
	fake.RateLimit("chat.postMessage", 6, 0)
	const storm = 30
	for i := range storm {
		c.Send(&xmpp.Message{Header: xmpp.Header{To: bobJID, Type: xmpp.MessageChat, ID: fmt.Sprint("s", i)}, Body: fmt.Sprint("storm ", i)})
	}
	if err := fake.WaitUntil(ctx, func() bool { return len(fake.Messages(im)) >= before+storm }); err != nil {
		t.Fatalf("%d of %d messages arrived", len(fake.Messages(im))-before, storm)
	}
	got := fake.Messages(im)[before:]
	for i, m := range got {
		if m.Text != fmt.Sprint("storm ", i) {
			t.Fatalf("message %d is %q", i, m.Text)
		}
	}
	if len(got) != storm {
		t.Errorf("%d messages, want %d", len(got), storm)
	}

	// The token is revoked: the gateway says so in a chat message and in
	// its presence.
	fake.SetTokenState(token, slackfake.TokenRevoked)
	if _, err := c.Expect(ctx, messageFrom(gw, func(b string) bool { return strings.Contains(b, "logged out") && strings.Contains(b, "revoked") })); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Expect(ctx, presenceFrom(gw, func(p *xmpp.Presence) bool { return p.Show == "xa" && strings.Contains(p.Status, "revoked") })); err != nil {
		t.Fatal(err)
	}
	if err := fake.WaitUntil(ctx, func() bool { return fake.Pending() == 0 }); err != nil {
		t.Errorf("%d envelopes never acknowledged", fake.Pending())
	}
}
