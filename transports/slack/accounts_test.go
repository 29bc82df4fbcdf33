package slack

import (
	"errors"
	"net"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/xgate-im/xgate/bridge"
	"github.com/xgate-im/xgate/bridge/bridgetest"
	"github.com/xgate-im/xgate/transports/slack/slackfake"
)

func TestRegister(t *testing.T) {
	w := newWorld(t)
	revoked := w.fake.IssueUserToken(w.team.ID, w.carol.ID)
	w.fake.SetTokenState(revoked, slackfake.TokenRevoked)
	botTok, _ := w.fake.InstallApp(w.team.ID)
	tr, err := New(w.config(), testLog(), nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := bounded(t, 10*time.Second)
	tests := []struct {
		name    string
		token   string
		want    error
		message string
	}{
		{"empty", "", bridge.ErrInvalidInput, "enter your Slack user token"},
		{"bot token", botTok, bridge.ErrInvalidInput, "bot token"},
		{"app token", w.fake.AppToken(), bridge.ErrInvalidInput, "app-level token"},
		{"not a token", "hello", bridge.ErrInvalidInput, "starts with xoxp-"},
		{"unknown token", "xoxp-0-0-0-nope", bridge.ErrAuth, "invalid_auth"},
		{"revoked", revoked, bridge.ErrAuth, "revoked"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tr.Register(ctx, map[string]string{"token": tc.token})
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.message) {
				t.Fatalf("got %v, want %v mentioning %q", err, tc.want, tc.message)
			}
			if tc.token != "" && strings.Contains(err.Error(), tc.token) {
				t.Errorf("the error shows the token: %v", err)
			}
		})
	}
	acct, err := tr.Register(ctx, map[string]string{"token": " " + w.aliceTok + "\n"})
	if err != nil {
		t.Fatal(err)
	}
	want := bridge.AccountData{ID: MakeAccountID(w.team.ID, w.alice.ID), Name: "alice in Acme (acme.slack.com)", Secrets: map[string]string{"token": w.aliceTok}}
	if acct.ID != want.ID || acct.Name != want.Name || acct.Secrets["token"] != w.aliceTok || len(acct.Secrets) != 1 {
		t.Errorf("got %+v, want %+v", acct, want)
	}

	// Slack unreachable: a temporary failure.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	cfg := w.config()
	cfg.APIURL = "http://" + addr + "/api/"
	down, err := New(cfg, testLog(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := down.Register(ctx, map[string]string{"token": w.aliceTok}); !errors.Is(err, bridge.ErrTemporary) {
		t.Errorf("Slack down: %v", err)
	}
}

func TestLogin(t *testing.T) {
	w := newWorld(t)
	tr := w.transport()
	ctx := bounded(t, 10*time.Second)
	aliceID := MakeAccountID(w.team.ID, w.alice.ID)
	dave := w.fake.CreateUser(w.team.ID, slackfake.UserSpec{Name: "dave"})
	daveTok := w.fake.IssueUserToken(w.team.ID, dave.ID)
	w.fake.DeactivateUser(dave.ID)
	tests := []struct {
		name string
		acct bridge.AccountData
		want error
		why  string
	}{
		{"other member's token", bridge.AccountData{ID: aliceID, Secrets: map[string]string{"token": w.bobTok}}, bridge.ErrAuth, "not for this account"},
		{"no token", bridge.AccountData{ID: aliceID}, bridge.ErrAuth, "no token"},
		{"bad ID", bridge.AccountData{ID: "alice", Secrets: map[string]string{"token": w.aliceTok}}, bridge.ErrAuth, "register again"},
		{"deactivated", bridge.AccountData{ID: MakeAccountID(w.team.ID, dave.ID), Secrets: map[string]string{"token": daveTok}}, bridge.ErrAuth, "deactivated"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tr.Login(ctx, tc.acct, bridgetest.NewRecorder())
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.why) {
				t.Fatalf("got %v, want %v saying %q", err, tc.want, tc.why)
			}
		})
	}
	sess, err := tr.Login(ctx, bridge.AccountData{ID: aliceID, Secrets: map[string]string{"token": w.aliceTok}}, bridgetest.NewRecorder())
	if err != nil {
		t.Fatal(err)
	}
	if err := sess.Close(); err != nil {
		t.Fatal(err)
	}
	if n := len(tr.fanout.Group(w.team.ID)); n != 0 {
		t.Errorf("%d sessions left after Close", n)
	}
}

func TestRevokedTokenLogsOut(t *testing.T) {
	w := newWorld(t)
	tr := w.transport(func(c *Config) { c.PresencePoll = Duration(20 * time.Millisecond) })
	sess, sink := w.login(tr, w.aliceTok)
	w.fake.SetTokenState(w.aliceTok, slackfake.TokenRevoked)
	ev := waitFor[bridge.LoginStateEvent](t, sink, nil)
	if ev.State != bridge.LoggedOut || !strings.Contains(ev.Reason, "revoked") {
		t.Errorf("got %+v", ev)
	}
	// Sending tells the bridge too.
	_, err := sess.Send(bounded(t, 5*time.Second), bridge.ChatRef{Kind: bridge.Direct, Peer: w.uid(w.bob)}, bridge.OutgoingMessage{Text: "x"})
	if !errors.Is(err, bridge.ErrAuth) {
		t.Errorf("Send with a revoked token: %v", err)
	}
	if n := count[bridge.LoginStateEvent](sink, nil); n != 1 {
		t.Errorf("%d logout events, want 1", n)
	}
}

func TestContacts(t *testing.T) {
	w := newWorld(t)
	botTok, botUser := w.fake.InstallApp(w.team.ID)
	gone := w.fake.CreateUser(w.team.ID, slackfake.UserSpec{Name: "gone", Deleted: true})
	w.fake.OpenIM(w.team.ID, w.alice.ID, gone.ID)
	w.fake.OpenIM(w.team.ID, w.alice.ID, w.alice.ID) // a self DM is no contact
	ctx := bounded(t, 10*time.Second)
	ids := func(cs []bridge.Contact) []string {
		var out []string
		for _, c := range cs {
			s := string(c.ID) + " " + c.Name
			if c.Bot {
				s += " bot"
			}
			if c.Deactivated {
				s += " deactivated"
			}
			out = append(out, s)
		}
		return out
	}
	tests := []struct {
		roster, botToken string
		want             []string
	}{
		{"", "", []string{string(w.uid(w.bob)) + " Bob Builder", string(w.uid(gone)) + " gone deactivated"}},
		{RosterAll, "", []string{
			string(w.uid(w.bob)) + " Bob Builder", string(w.uid(w.carol)) + " Carol",
			string(w.uid(slackfake.User{ID: botUser})) + " xgate bot", string(w.uid(gone)) + " gone deactivated",
		}},
		// The gateway's own bot (known from bot_token) is no contact
		// (issue 12 bug 7).
		{RosterAll, botTok, []string{
			string(w.uid(w.bob)) + " Bob Builder", string(w.uid(w.carol)) + " Carol", string(w.uid(gone)) + " gone deactivated",
		}},
	}
	for _, tc := range tests {
		t.Run("roster="+tc.roster+",bot="+strconv.FormatBool(tc.botToken != ""), func(t *testing.T) {
			tr := w.transport(func(c *Config) { c.Roster, c.BotToken = tc.roster, tc.botToken })
			sess, _ := w.login(tr, w.aliceTok)
			cs, err := sess.Contacts(ctx)
			if err != nil {
				t.Fatal(err)
			}
			got := ids(cs)
			want := slices.Clone(tc.want)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("got %q\nwant %q", got, want)
			}
			for _, c := range cs {
				if len(c.Groups) != 1 || c.Groups[0] != "Acme" || !strings.HasPrefix(c.AvatarURL, w.fake.URL()) {
					t.Errorf("contact %+v", c)
				}
			}
		})
	}
}

func TestProfileWithAvatar(t *testing.T) {
	w := newWorld(t)
	tr := w.transport()
	sess, _ := w.login(tr, w.aliceTok)
	ctx := bounded(t, 10*time.Second)
	p, err := sess.Profile(ctx, w.uid(w.bob))
	if err != nil {
		t.Fatal(err)
	}
	if p.Name != "Robert Builder" || p.Nick != "Bob Builder" || p.Email != "bob@acme.example" || p.Title != "Builder" ||
		p.URL != "https://acme.slack.com/team/"+w.bob.ID {
		t.Errorf("profile %+v", p)
	}
	if p.AvatarType != "image/png" || len(p.Avatar) < 8 || string(p.Avatar[1:4]) != "PNG" {
		t.Errorf("avatar %q (%d bytes)", p.AvatarType, len(p.Avatar))
	}
	if _, err := sess.Profile(ctx, MakeUserID(w.team.ID, "U0000000999")); !errors.Is(err, bridge.ErrNotFound) {
		t.Errorf("unknown member: %v", err)
	}
}

func TestResolveContact(t *testing.T) {
	w := newWorld(t)
	tr := w.transport()
	sess, _ := w.login(tr, w.aliceTok)
	ctx := bounded(t, 10*time.Second)
	tests := []struct {
		input string
		want  bridge.UserID
		err   error
	}{
		{w.bob.ID, w.uid(w.bob), nil},
		{strings.ToLower(w.bob.ID), w.uid(w.bob), nil},
		{"@bob", w.uid(w.bob), nil},
		{"Bob Builder", w.uid(w.bob), nil},
		{"@carol", w.uid(w.carol), nil},
		{"bob@acme.example", w.uid(w.bob), nil},
		{"@nobody", "", bridge.ErrNotFound},
		{"nobody@acme.example", "", bridge.ErrNotFound},
		{"U0000000999", "", bridge.ErrNotFound},
		{"  ", "", bridge.ErrInvalidInput},
		{"@alice", "", bridge.ErrInvalidInput},
	}
	for _, tc := range tests {
		t.Run(tc.input, func(t *testing.T) {
			c, err := sess.ResolveContact(ctx, tc.input)
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("got %+v, %v; want %v", c, err, tc.err)
				}
				return
			}
			if err != nil || c.ID != tc.want {
				t.Fatalf("got %+v, %v; want %s", c, err, tc.want)
			}
		})
	}
}

func TestPresenceAndStatus(t *testing.T) {
	w := newWorld(t)
	tr := w.transport(func(c *Config) { c.PresencePoll = Duration(20 * time.Millisecond) })
	sess, sink := w.login(tr, w.aliceTok)
	ctx := bounded(t, 10*time.Second)
	if _, err := sess.Contacts(ctx); err != nil { // bob becomes a contact that matters
		t.Fatal(err)
	}
	isBob := func(p bridge.PresenceEvent) bool { return p.User == w.uid(w.bob) }
	p := waitFor(t, sink, isBob)
	if p.Presence.Show != bridge.ShowAvailable || p.Presence.Status != "🔨 Building" {
		t.Errorf("bob's presence %+v", p.Presence)
	}
	w.fake.SetPresence(w.bob.ID, "away")
	waitFor(t, sink, func(p bridge.PresenceEvent) bool { return isBob(p) && p.Presence.Show == bridge.ShowAway })
	w.fake.SetStatus(w.bob.ID, "Lunch", ":hamburger:")
	waitFor(t, sink, func(p bridge.PresenceEvent) bool {
		return isBob(p) && p.Presence.Show == bridge.ShowAway && p.Presence.Status == "🍔 Lunch"
	})
	w.fake.UpdateProfile(w.bob.ID, func(p *slackfake.Profile) { p.DisplayName = "Bobby" })
	waitFor(t, sink, func(c bridge.ContactEvent) bool { return c.Contact.ID == w.uid(w.bob) && c.Contact.Name == "Bobby" })
	w.fake.DeactivateUser(w.bob.ID)
	waitFor(t, sink, func(c bridge.ContactEvent) bool { return c.Contact.ID == w.uid(w.bob) && c.Contact.Deactivated })
	waitFor(t, sink, func(p bridge.PresenceEvent) bool { return isBob(p) && p.Presence.Show == bridge.ShowOffline })
	// Carol is no contact: nothing about her.
	if n := count(sink, func(p bridge.PresenceEvent) bool { return p.User == w.uid(w.carol) }); n != 0 {
		t.Errorf("presence of a non-contact")
	}

	// The user's own presence and status go to Slack.
	if err := sess.SetPresence(ctx, bridge.Presence{Show: bridge.ShowAway, Status: "🏖 On  holiday"}); err != nil {
		t.Fatal(err)
	}
	u, _ := w.fake.User(w.alice.ID)
	if u.Presence != "away" || u.Profile.StatusText != "On holiday" || u.Profile.StatusEmoji != ":beach_with_umbrella:" {
		t.Errorf("alice on Slack: %s %+v", u.Presence, u.Profile)
	}
	sets := w.fake.CallCount("users.profile.set")
	if err := sess.SetPresence(ctx, bridge.Presence{Show: bridge.ShowAvailable, Status: "🏖 On  holiday"}); err != nil {
		t.Fatal(err)
	}
	if err := sess.SetPresence(ctx, bridge.Presence{Show: bridge.ShowOffline}); err != nil {
		t.Fatal(err)
	}
	u, _ = w.fake.User(w.alice.ID)
	if u.Presence != "away" || w.fake.CallCount("users.profile.set") != sets || u.Profile.StatusText != "On holiday" {
		t.Errorf("alice on Slack: %s %+v, %d status changes", u.Presence, u.Profile, w.fake.CallCount("users.profile.set")-sets)
	}
	// Alice's own profile changes are not a contact's.
	if n := count(sink, func(c bridge.ContactEvent) bool { return c.Contact.ID == w.uid(w.alice) }); n != 0 {
		t.Errorf("alice offered as her own contact")
	}
}

func TestInfoAgreesWithSession(t *testing.T) {
	w := newWorld(t)
	tr := w.transport(func(c *Config) { c.InstallURL = "https://slack.com/oauth/v2/authorize?client_id=1" })
	info := tr.Info()
	if info.Network != "slack" || !strings.Contains(info.Registration.Instructions, "https://slack.com/oauth/v2/authorize?client_id=1") {
		t.Errorf("info %+v", info)
	}
	if f := info.Registration.Fields; len(f) != 1 || f[0].Var != "token" || f[0].Type != bridge.FieldPassword || !f[0].Secret || !f[0].Required {
		t.Errorf("registration fields %+v", f)
	}
	sess, _ := w.login(tr, w.aliceTok)
	var s bridge.Session = sess
	caps := info.Capabilities
	_, editor := s.(bridge.Editor)
	_, retractor := s.(bridge.Retractor)
	_, reactor := s.(bridge.Reactor)
	_, typer := s.(bridge.Typer)
	_, marker := s.(bridge.ReadMarker)
	_, setter := s.(bridge.PresenceSetter)
	_, lister := s.(bridge.GroupLister)
	_, members := s.(bridge.GroupMembers)
	_, joiner := s.(bridge.GroupJoiner)
	_, topics := s.(bridge.TopicSetter)
	if caps.Groups != (lister && members && joiner && topics) {
		t.Errorf("Groups %v, but the session's group interfaces: list %v, members %v, join %v, topic %v", caps.Groups, lister, members, joiner, topics)
	}
	if caps.Edits != editor || caps.Retractions != retractor || caps.Reactions != reactor || caps.Typing != typer ||
		caps.ReadMarkers != marker || caps.SetPresence != setter || caps.Typing {
		t.Errorf("capabilities %+v disagree with the session's interfaces", caps)
	}
	ctx := bounded(t, 10*time.Second)
	chat := bridge.ChatRef{Kind: bridge.Direct, Peer: w.uid(w.bob)}
	ts := w.fake.Post(w.bob.ID, w.aliceBob, "read me")
	if err := sess.MarkRead(ctx, chat, bridge.MessageID(ts)); err != nil || w.fake.CallCount("conversations.mark") != 1 {
		t.Errorf("MarkRead: %v, %d calls", err, w.fake.CallCount("conversations.mark"))
	}
}
