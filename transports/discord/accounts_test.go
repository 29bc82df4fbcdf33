package discord

import (
	"errors"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/xgate-im/xgate/bridge"
	"github.com/xgate-im/xgate/bridge/bridgetest"
	"github.com/xgate-im/xgate/transports/discord/discordfake"
)

var codeRE = regexp.MustCompile(`\b(\d{6})\b`)

// linkAlice links alice to the bot through the two registration steps,
// reading the code from the bot's DM as she would.
func linkAlice(t *testing.T, w *world, tr *Transport) bridge.AccountData {
	t.Helper()
	ctx := bounded(t, 10*time.Second)
	_, form, err := tr.RegisterStep(ctx, map[string]string{"user": w.alice.ID})
	if err != nil || form == nil || form.Fields[0].Var != "code" {
		t.Fatalf("first step: form %+v, %v", form, err)
	}
	dm := w.fake.OpenDM(w.alice.ID, w.bot.ID).ID
	ms := w.fake.Messages(dm)
	if len(ms) != 1 || ms[0].AuthorID != w.bot.ID {
		t.Fatalf("bot DM %+v", ms)
	}
	code := codeRE.FindString(ms[0].Content)
	wrong := "000000"
	if code == wrong {
		wrong = "000001"
	}
	if _, _, err := tr.RegisterStep(ctx, map[string]string{"user": w.alice.ID, "code": wrong}); !errors.Is(err, bridge.ErrAuth) {
		t.Fatalf("wrong code: %v, want ErrAuth", err)
	}
	acct, form, err := tr.RegisterStep(ctx, map[string]string{"user": w.alice.ID, "code": code})
	if err != nil || form != nil || acct.ID != MakeAccountID(kindBot, w.alice.ID) {
		t.Fatalf("second step: %+v %+v %v", acct, form, err)
	}
	// Five wrong tries void a code.
	if _, _, err := tr.RegisterStep(ctx, map[string]string{"user": w.carol.ID}); err != nil {
		t.Fatal(err)
	}
	carolDM := w.fake.OpenDM(w.carol.ID, w.bot.ID).ID
	carolCode := codeRE.FindString(w.fake.Messages(carolDM)[0].Content)
	for range linkCodeAttempts {
		bad := "999999"
		if carolCode == bad {
			bad = "999998"
		}
		_, _, _ = tr.RegisterStep(ctx, map[string]string{"user": w.carol.ID, "code": bad})
	}
	if _, _, err := tr.RegisterStep(ctx, map[string]string{"user": w.carol.ID, "code": carolCode}); !errors.Is(err, bridge.ErrAuth) {
		t.Fatalf("the right code after %d wrong ones: %v, want ErrAuth", linkCodeAttempts, err)
	}
	// A code works once.
	if _, _, err := tr.RegisterStep(ctx, map[string]string{"user": w.alice.ID, "code": code}); !errors.Is(err, bridge.ErrAuth) {
		t.Fatalf("code used twice: %v", err)
	}
	return acct
}

func TestBotLinkedAccount(t *testing.T) {
	w := newWorld(t, allPrivileged)
	w.fake.SetPresence(w.bob.ID, "dnd")
	tr := w.transport()
	// The bot learns bob's presence when it connects (GUILD_CREATE).
	for ctx := bounded(t, 10*time.Second); ; {
		tr.mu.Lock()
		p, changed := tr.presences[w.bob.ID], tr.presenceChanged
		tr.mu.Unlock()
		if p.Status == "dnd" {
			break
		}
		select {
		case <-changed:
		case <-ctx.Done():
			t.Fatal("the bot never saw bob's presence")
		}
	}
	acct := linkAlice(t, w, tr)
	ctx := bounded(t, 10*time.Second)
	rec := bridgetest.NewRecorder()
	s, err := tr.Login(ctx, acct, rec)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	cs, err := s.Contacts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, c := range cs {
		ids = append(ids, string(c.ID))
		if want := map[string]string{w.bob.ID: "Bob Builder", w.carol.ID: "Caz"}[string(c.ID)]; c.Name != want {
			t.Errorf("contact %s named %q, want %q (the guild nickname, else the display name)", c.ID, c.Name, want)
		}
	}
	// bob's presence, seen before alice logged in, comes with her contacts.
	if p := bridgetest.WaitFor(t, rec, func(e bridge.PresenceEvent) bool { return e.User == bridge.UserID(w.bob.ID) }); p.Presence.Show != bridge.ShowDND {
		t.Errorf("bob's presence %+v", p.Presence)
	}
	slices.Sort(ids)
	want := []string{w.bob.ID, w.carol.ID}
	slices.Sort(want)
	if !slices.Equal(ids, want) {
		t.Errorf("contacts %v, want the guild's people but alice and the bot: %v", ids, want)
	}
	id, err := s.Send(ctx, w.dm(), bridge.OutgoingMessage{Text: "hello from *XMPP*"})
	if err != nil {
		t.Fatal(err)
	}
	botBob := w.fake.OpenDM(w.bot.ID, w.bob.ID).ID
	m, ok := w.fake.Message(botBob, string(id))
	if !ok || m.Content != "**Alice:** hello from **XMPP**" || m.AuthorID != w.bot.ID {
		t.Errorf("on Discord: %+v", m)
	}
	rid := w.fake.Post(w.bob.ID, botBob, "hi Alice")
	got := bridgetest.WaitFor(t, rec, func(m bridge.MessageEvent) bool { return m.ID == bridge.MessageID(rid) })
	if got.Chat.Peer != bridge.UserID(w.bob.ID) || got.Sender != bridge.UserID(w.bob.ID) || got.Text != "hi Alice" || got.FromSelf {
		t.Errorf("bob's answer %+v", got)
	}
	// Someone nobody wrote to through the bot: not bridged to alice.
	botCarol := w.fake.OpenDM(w.bot.ID, w.carol.ID).ID
	cid := w.fake.Post(w.carol.ID, botCarol, "anyone?")
	marker := w.fake.Post(w.bob.ID, botBob, "marker")
	bridgetest.WaitFor(t, rec, func(m bridge.MessageEvent) bool { return m.ID == bridge.MessageID(marker) })
	if n := bridgetest.Count(rec, func(m bridge.MessageEvent) bool { return m.ID == bridge.MessageID(cid) }); n != 0 {
		t.Errorf("carol's message to the bot reached alice")
	}
	if err := s.(bridge.PresenceSetter).SetPresence(ctx, bridge.Presence{Show: bridge.ShowAway}); !errors.Is(err, bridge.ErrUnsupported) {
		t.Errorf("SetPresence of a bot-linked account: %v", err)
	}
}

func TestRegistrationRefusals(t *testing.T) {
	w := newWorld(t, allPrivileged)
	tr := w.transport()
	botOnly := w.transport(func(c *Config) { c.PersonalAccounts = false })
	ctx := bounded(t, 10*time.Second)
	tests := []struct {
		name   string
		tr     *Transport
		values map[string]string
		want   error
	}{
		{"nothing", tr, map[string]string{}, bridge.ErrInvalidInput},
		{"revoked token", tr, map[string]string{"token": w.fake.IssueUserToken(w.carol.ID) + "x"}, bridge.ErrAuth},
		{"bot token as personal", tr, map[string]string{"token": "Bot " + w.botTok}, bridge.ErrInvalidInput},
		{"personal accounts off", botOnly, map[string]string{"token": w.aliceTok}, bridge.ErrInvalidInput},
		{"not a user ID", tr, map[string]string{"user": "@alice"}, bridge.ErrInvalidInput},
		{"a code never sent", tr, map[string]string{"user": w.carol.ID, "code": "123456"}, bridge.ErrAuth},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, _, err := tc.tr.RegisterStep(ctx, tc.values); !errors.Is(err, tc.want) {
				t.Errorf("RegisterStep: %v, want %v", err, tc.want)
			}
		})
	}
	// Someone who shares no guild with the bot cannot get a code.
	loner := w.fake.CreateUser(discordfake.UserSpec{Username: "loner"})
	if _, _, err := tr.RegisterStep(ctx, map[string]string{"user": loner.ID}); !errors.Is(err, bridge.ErrForbidden) {
		t.Errorf("code to a stranger: %v, want ErrForbidden", err)
	}
}

func TestInfoAgreesWithSession(t *testing.T) {
	w := newWorld(t, allPrivileged)
	tr := w.transport()
	info := tr.Info()
	s, _ := w.login(tr)
	var sess bridge.Session = s
	caps := info.Capabilities
	for _, c := range []struct {
		name string
		has  bool
		impl bool
	}{
		{"Edits", caps.Edits, implements[bridge.Editor](sess)},
		{"Retractions", caps.Retractions, implements[bridge.Retractor](sess)},
		{"Reactions", caps.Reactions, implements[bridge.Reactor](sess)},
		{"Typing", caps.Typing, implements[bridge.Typer](sess)},
		{"ReadMarkers", caps.ReadMarkers, implements[bridge.ReadMarker](sess)},
		{"SetPresence", caps.SetPresence, implements[bridge.PresenceSetter](sess)},
		{"Avatars", caps.Avatars, implements[bridge.Profiler](sess)},
		{"Groups", caps.Groups, implements[bridge.GroupLister](sess) && implements[bridge.GroupMembers](sess) &&
			implements[bridge.TopicSetter](sess) && implements[bridge.HistoryFetcher](sess)},
		{"Attachments", caps.Attachments, true},
	} {
		if c.has && !c.impl {
			t.Errorf("%s declared but not implemented", c.name)
		}
	}
	if !caps.Groups || !caps.Attachments || caps.MaxMessageLength != 2000 || info.Network != "discord" {
		t.Errorf("info %+v", info)
	}
	var fields []string
	for _, f := range info.Registration.Fields {
		fields = append(fields, f.Var)
	}
	if !slices.Equal(fields, []string{"user", "token"}) || !regexp.MustCompile(`terms of service forbid`).MatchString(info.Registration.Instructions) {
		t.Errorf("registration form %+v", info.Registration)
	}
}

func implements[T any](s bridge.Session) bool { _, ok := s.(T); return ok }

func TestLoginAgainWhileAnEventIsInFlight(t *testing.T) {
	w := newWorld(t, allPrivileged)
	tr := w.transport()
	s1, rec1 := w.login(tr)
	rec1.Hold()
	w.fake.Post(w.bob.ID, w.aliceBob, "held")
	select {
	case <-rec1.Entered():
	case <-bounded(t, 10*time.Second).Done():
		t.Fatal("never emitted")
	}
	w.fake.Post(w.bob.ID, w.aliceBob, "queued behind it")
	if err := s1.c.waitPending(bounded(t, 10*time.Second), func(n int) bool { return n == 2 }); err != nil {
		t.Fatal(err)
	}
	s1.Close()
	_, rec2 := w.login(tr)
	rec1.Release()
	// The channel's queue still has a worker: the new session gets what
	// comes next.
	after := w.fake.Post(w.bob.ID, w.aliceBob, "after")
	bridgetest.WaitFor(t, rec2, func(m bridge.MessageEvent) bool { return m.ID == bridge.MessageID(after) })
}
