package discord

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/xgate-im/xgate/bridge"
	"github.com/xgate-im/xgate/bridge/bridgetest"
	"github.com/xgate-im/xgate/transports/discord/discordfake"
)

func TestFormattingAndMentionsBothWays(t *testing.T) {
	w := newWorld(t, allPrivileged, discordfake.WithStrictBodies())
	s, rec := w.login(w.transport())
	ctx := bounded(t, 10*time.Second)
	id, err := s.Send(ctx, w.dm(), bridge.OutgoingMessage{Text: "*bold* _it_ ~gone~ 2*3*4"})
	if err != nil {
		t.Fatal(err)
	}
	m, _ := w.fake.Message(w.aliceBob, string(id))
	if m.Content != `**bold** _it_ ~~gone~~ 2\*3\*4` {
		t.Errorf("content on Discord %q", m.Content)
	}
	var am map[string]any
	if err := json.Unmarshal(m.AllowedMentions, &am); err != nil || am["parse"] == nil {
		t.Errorf("allowed_mentions %s, want explicit", m.AllowedMentions)
	}
	rid := w.fake.Post(w.bob.ID, w.aliceBob, "**hi** <@"+w.alice.ID+">, see <t:1700000000:d>")
	got := bridgetest.WaitFor(t, rec, func(m bridge.MessageEvent) bool { return m.ID == bridge.MessageID(rid) })
	want := bridge.MessageEvent{
		Chat:   bridge.ChatRef{Kind: bridge.Direct, ID: bridge.ChatID(w.aliceBob), Peer: bridge.UserID(w.bob.ID)},
		Sender: bridge.UserID(w.bob.ID), ID: bridge.MessageID(rid), Text: "*hi* @Alice, see 2023-11-14",
		Mentions: []bridge.Mention{{User: bridge.UserID(w.alice.ID), Begin: 5, End: 11}},
	}
	if got.Chat != want.Chat || got.Sender != want.Sender || got.Text != want.Text || !slices.Equal(got.Mentions, want.Mentions) || got.FromSelf || got.Time.IsZero() {
		t.Errorf("event %+v\nwant  %+v", got, want)
	}
	if f := w.fake.UnknownFields("POST /channels/{channel.id}/messages"); len(f) > 0 {
		t.Errorf("undocumented fields sent: %q", f)
	}
}

func TestOwnMessagesReflectedEchoesNot(t *testing.T) {
	w := newWorld(t, allPrivileged)
	s, rec := w.login(w.transport())
	ctx := bounded(t, 10*time.Second)
	sent, err := s.Send(ctx, w.dm(), bridge.OutgoingMessage{Text: "from xmpp"})
	if err != nil {
		t.Fatal(err)
	}
	phone := w.fake.Post(w.alice.ID, w.aliceBob, "from my phone")
	self := bridgetest.WaitFor(t, rec, func(m bridge.MessageEvent) bool { return m.ID == bridge.MessageID(phone) })
	if !self.FromSelf || self.Sender != bridge.UserID(w.alice.ID) || self.Chat.Peer != bridge.UserID(w.bob.ID) || self.Text != "from my phone" {
		t.Errorf("own message from another client: %+v", self)
	}
	// The echo of the message sent from XMPP came before the phone's (one
	// channel, one order) and was not emitted.
	if n := bridgetest.Count(rec, func(m bridge.MessageEvent) bool { return m.ID == sent }); n != 0 {
		t.Errorf("the echo of our own message was emitted %d times", n)
	}
}

func TestLongMessagesSplit(t *testing.T) {
	w := newWorld(t, allPrivileged)
	s, _ := w.login(w.transport())
	text := strings.Repeat("lorem ipsum ", 400) // 4,800 characters
	id, err := s.Send(bounded(t, 10*time.Second), w.dm(), bridge.OutgoingMessage{Text: text})
	if err != nil {
		t.Fatal(err)
	}
	ms := w.fake.Messages(w.aliceBob)
	if len(ms) != 3 || ms[2].ID != string(id) {
		t.Fatalf("%d messages on Discord (last %s), want 3 ending with %s", len(ms), ms[len(ms)-1].ID, id)
	}
	words := 0
	for _, m := range ms {
		if n := utf8.RuneCountInString(m.Content); n > 2000 {
			t.Errorf("a part of %d characters", n)
		}
		words += len(strings.Fields(m.Content))
	}
	if words != 800 {
		t.Errorf("%d words arrived, want 800", words)
	}
}

func TestRepliesReactionsTypingEdits(t *testing.T) {
	w := newWorld(t, allPrivileged, discordfake.WithStrictBodies())
	s, rec := w.login(w.transport())
	ctx := bounded(t, 10*time.Second)
	q := w.fake.Post(w.bob.ID, w.aliceBob, "question?")
	bridgetest.WaitFor(t, rec, func(m bridge.MessageEvent) bool { return m.ID == bridge.MessageID(q) })
	ans, err := s.Send(ctx, w.dm(), bridge.OutgoingMessage{Text: "answer", ReplyTo: bridge.MessageID(q)})
	if err != nil {
		t.Fatal(err)
	}
	if m, _ := w.fake.Message(w.aliceBob, string(ans)); m.ReferenceID != q || m.Type != 19 {
		t.Errorf("reply on Discord: reference %q type %d", m.ReferenceID, m.Type)
	}
	r := w.fake.Post(w.bob.ID, w.aliceBob, "thanks", discordfake.ReplyTo(string(ans)))
	if m := bridgetest.WaitFor(t, rec, func(m bridge.MessageEvent) bool { return m.ID == bridge.MessageID(r) }); m.ReplyTo != ans {
		t.Errorf("incoming reply to %q, want %q", m.ReplyTo, ans)
	}
	w.fake.React(w.bob.ID, w.aliceBob, string(ans), "pog:4242")
	re := bridgetest.WaitFor(t, rec, func(e bridge.ReactionEvent) bool { return e.ID == ans })
	if !slices.Equal(re.Emojis, []string{":pog:"}) || re.Sender != bridge.UserID(w.bob.ID) || re.FromSelf {
		t.Errorf("custom emoji reaction %+v", re)
	}
	if err := s.React(ctx, w.dm(), bridge.MessageID(q), []string{"👍", "🎉"}); err != nil {
		t.Fatal(err)
	}
	if err := s.React(ctx, w.dm(), bridge.MessageID(q), []string{"🎉"}); err != nil {
		t.Fatal(err)
	}
	if m, _ := w.fake.Message(w.aliceBob, q); len(m.Reactions) != 1 || m.Reactions[0].Emoji != "🎉" {
		t.Errorf("reactions on Discord %+v, want only 🎉", m.Reactions)
	}
	w.fake.Typing(w.bob.ID, w.aliceBob)
	ty := bridgetest.WaitFor(t, rec, func(e bridge.TypingEvent) bool { return true })
	if ty.Sender != bridge.UserID(w.bob.ID) || ty.State != bridge.TypingComposing {
		t.Errorf("typing %+v", ty)
	}
	if err := s.Typing(ctx, w.dm(), bridge.TypingComposing); err != nil {
		t.Fatal(err)
	}
	if err := s.Edit(ctx, w.dm(), ans, bridge.OutgoingMessage{Text: "*answer*"}); err != nil {
		t.Fatalf("edit under strict bodies: %v", err)
	}
	if m, _ := w.fake.Message(w.aliceBob, string(ans)); m.Content != "**answer**" {
		t.Errorf("edited content %q", m.Content)
	}
	if err := s.Edit(ctx, w.dm(), ans, bridge.OutgoingMessage{Text: strings.Repeat("x", 2001)}); err == nil {
		t.Error("an edit over 2,000 characters was accepted")
	}
	if err := s.MarkRead(ctx, w.dm(), bridge.MessageID(r)); err != nil {
		t.Fatal(err)
	}
}

func TestPresenceBothWays(t *testing.T) {
	w := newWorld(t, allPrivileged)
	w.fake.SetPresence(w.bob.ID, "dnd")
	s, rec := w.login(w.transport())
	// The friend's presence at login, from READY.
	if p := bridgetest.WaitFor(t, rec, func(e bridge.PresenceEvent) bool { return e.User == bridge.UserID(w.bob.ID) }); p.Presence.Show != bridge.ShowDND {
		t.Errorf("presence at login %+v", p.Presence)
	}
	ctx := bounded(t, 10*time.Second)
	cs, err := s.Contacts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 1 || cs[0].ID != bridge.UserID(w.bob.ID) || cs[0].Name != "Bob Builder" || cs[0].AvatarURL == "" {
		t.Fatalf("contacts %+v, want bob with his display name and avatar", cs)
	}
	w.fake.SetPresence(w.bob.ID, "idle", discordfake.Activity{Name: "Custom Status", Type: 4, State: "out for lunch"})
	p := bridgetest.WaitFor(t, rec, func(e bridge.PresenceEvent) bool {
		return e.User == bridge.UserID(w.bob.ID) && e.Presence.Show != bridge.ShowDND
	})
	if p.Presence.Show != bridge.ShowAway || p.Presence.Status != "out for lunch" {
		t.Errorf("presence %+v", p.Presence)
	}
	if err := s.SetPresence(ctx, bridge.Presence{Show: bridge.ShowDND, Status: "focus"}); err != nil {
		t.Fatal(err)
	}
	if err := w.fake.WaitUntil(ctx, func() bool { u, _ := w.fake.User(w.alice.ID); return u.Status == "dnd" }); err != nil {
		u, _ := w.fake.User(w.alice.ID)
		t.Errorf("alice on Discord: %s %s", u.Status, u.Activities)
	}
	prof, err := s.Profile(ctx, bridge.UserID(w.bob.ID))
	if err != nil {
		t.Fatal(err)
	}
	if prof.Nick != "Bob Builder" || len(prof.Avatar) == 0 || prof.AvatarType != "image/png" {
		t.Errorf("profile %+v", prof)
	}
}

func TestRevokedTokenLogsOut(t *testing.T) {
	w := newWorld(t, allPrivileged)
	s, rec := w.login(w.transport())
	w.fake.RevokeToken(w.aliceTok)
	ev := bridgetest.WaitFor(t, rec, func(e bridge.LoginStateEvent) bool { return e.State == bridge.LoggedOut })
	if !strings.Contains(ev.Reason, "token") {
		t.Errorf("reason %q", ev.Reason)
	}
	// The connection stopped for good: no reconnection loop is left.
	select {
	case <-s.done:
	case <-bounded(t, 10*time.Second).Done():
		t.Fatal("the connection kept running after 4004")
	}
	if n := bridgetest.Count(rec, func(e bridge.LoginStateEvent) bool { return e.State == bridge.LoggedOut }); n != 1 {
		t.Errorf("%d logout events, want 1", n)
	}
}

func TestMissingPrivilegedIntentToldToAdmin(t *testing.T) {
	// The intents asked for are not granted in the portal: Discord closes
	// with 4014; Run tells the admin and does not retry.
	w := newWorld(t, 0)
	logs := newLogCapture()
	tr, err := New(w.config(), slog.New(logs), nil)
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = tr.Run(t.Context()) }()
	logs.wait(t, slog.LevelError, "Privileged Gateway Intents")
	if n := len(w.fake.Identifies()); n != 1 {
		t.Errorf("%d IDENTIFYs, want 1", n)
	}
	// message_content not asked for: content is withheld, told once.
	w2 := newWorld(t, 0)
	logs2 := newLogCapture()
	cfg := w2.config()
	cfg.Intents = []string{"guilds", "guild_messages", "direct_messages"}
	tr2, err := New(cfg, slog.New(logs2), nil)
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = tr2.Run(t.Context()) }()
	if err := w2.fake.WaitUntil(bounded(t, 10*time.Second), func() bool {
		ss := w2.fake.Sessions()
		return len(ss) == 1 && ss[0].Connected
	}); err != nil {
		t.Fatal(err)
	}
	w2.fake.Post(w2.bob.ID, w2.general, "hello bot")
	w2.fake.Post(w2.bob.ID, w2.general, "hello again")
	logs2.wait(t, slog.LevelWarn, "Message Content Intent")
}

func TestCatchUpAfterReidentify(t *testing.T) {
	w := newWorld(t, allPrivileged)
	tr := w.transport()
	_, rec := w.login(tr)
	one := w.fake.Post(w.bob.ID, w.aliceBob, "one")
	bridgetest.WaitFor(t, rec, func(m bridge.MessageEvent) bool { return m.ID == bridge.MessageID(one) })
	// The session ends for good (4009) and the reconnection waits until
	// bob has written twice: Discord replays nothing to the new session.
	gate, entered := make(chan struct{}), make(chan struct{}, 1)
	tr.beforeOpen = func() {
		select {
		case entered <- struct{}{}:
		default:
		}
		<-gate
	}
	w.fake.CloseSockets(4009, "session timed out")
	<-entered
	two := w.fake.Post(w.bob.ID, w.aliceBob, "two")
	three := w.fake.Post(w.bob.ID, w.aliceBob, "three")
	close(gate)
	four := ""
	bridgetest.WaitFor(t, rec, func(m bridge.MessageEvent) bool { return m.ID == bridge.MessageID(three) })
	four = w.fake.Post(w.bob.ID, w.aliceBob, "four")
	bridgetest.WaitFor(t, rec, func(m bridge.MessageEvent) bool { return m.ID == bridge.MessageID(four) })
	var order []string
	for _, ev := range rec.Events() {
		if m, ok := ev.(bridge.MessageEvent); ok {
			order = append(order, m.Text)
		}
	}
	if !slices.Equal(order, []string{"one", "two", "three", "four"}) {
		t.Errorf("messages %q, want one to four once each in order (ids %s %s)", order, two, three)
	}
}

func TestCatchUpAfterRestart(t *testing.T) {
	w := newWorld(t, allPrivileged)
	s, rec := w.login(w.transport())
	one := w.fake.Post(w.bob.ID, w.aliceBob, "one")
	bridgetest.WaitFor(t, rec, func(m bridge.MessageEvent) bool { return m.ID == bridge.MessageID(one) })
	// xgate stops; bob writes, and alice from her phone.
	s.Close()
	w.fake.Post(w.bob.ID, w.aliceBob, "two")
	w.fake.Post(w.alice.ID, w.aliceBob, "from my phone")
	w.fake.Post(w.bob.ID, w.aliceBob, "three")
	// xgate starts again: the DM is read back an hour.
	_, rec2 := w.login(w.transport())
	four := w.fake.Post(w.bob.ID, w.aliceBob, "four")
	bridgetest.WaitFor(t, rec2, func(m bridge.MessageEvent) bool { return m.ID == bridge.MessageID(four) })
	var got []string
	for _, ev := range rec2.Events() {
		if m, ok := ev.(bridge.MessageEvent); ok {
			got = append(got, fmt.Sprintf("%s %v", m.Text, m.Historical))
		}
	}
	// "one" again (the bridge recognizes it), alice's own message left out.
	if want := []string{"one true", "two true", "three true", "four false"}; !slices.Equal(got, want) {
		t.Errorf("after the restart %q, want %q", got, want)
	}
	// With catch_up = "0s" nothing is read back.
	_, rec3 := w.login(w.transport(func(c *Config) { c.CatchUp = "0s" }))
	five := w.fake.Post(w.bob.ID, w.aliceBob, "five")
	bridgetest.WaitFor(t, rec3, func(m bridge.MessageEvent) bool { return m.ID == bridge.MessageID(five) })
	if n := bridgetest.Count(rec3, func(m bridge.MessageEvent) bool { return true }); n != 1 {
		t.Errorf("%d messages with catch-up off, want 1", n)
	}
}

func TestHistory(t *testing.T) {
	w := newWorld(t, allPrivileged)
	s, _ := w.login(w.transport())
	var ids []string
	for i := range 5 {
		ids = append(ids, w.fake.Post(w.bob.ID, w.aliceBob, fmt.Sprint("old ", i)))
	}
	w.fake.Post(w.alice.ID, w.aliceBob, "mine")
	ctx := bounded(t, 10*time.Second)
	evs, err := s.History(ctx, w.dm(), bridge.MessageID(ids[4]), 3)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range evs {
		if !e.Historical || e.Chat.Peer != bridge.UserID(w.bob.ID) {
			t.Errorf("event %+v", e)
		}
		got = append(got, e.Text)
	}
	if want := []string{"old 1", "old 2", "old 3"}; !slices.Equal(got, want) {
		t.Errorf("history before the fifth %q, want %q", got, want)
	}
	evs, err = s.History(ctx, w.dm(), "", 1)
	if err != nil || len(evs) != 1 || evs[0].Text != "mine" || !evs[0].FromSelf {
		t.Errorf("newest: %+v %v", evs, err)
	}
}
