package discord

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/xgate-im/xgate/bridge"
	"github.com/xgate-im/xgate/bridge/bridgetest"
	"github.com/xgate-im/xgate/transports/discord/discordfake"
)

// loginKind logs alice in with a personal account or linked to the bot.
func loginKind(t *testing.T, w *world, tr *Transport, kind string) (*Session, *bridgetest.Recorder) {
	t.Helper()
	if kind == kindUser {
		return w.login(tr)
	}
	acct := linkAlice(t, w, tr)
	select { // what is said before the bot's Gateway session exists is caught up, not dispatched
	case <-tr.bot.ready:
	case <-bounded(t, 10*time.Second).Done():
		t.Fatal("the bot never got READY")
	}
	rec := bridgetest.NewRecorder()
	s, err := tr.Login(bounded(t, 10*time.Second), acct, rec)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s.(*Session), rec
}

// TestGroups: a guild's text channels and threads are groups, for a
// personal account and for a bot-linked one alike: listed with their
// guild as Parent, their members named, their topic set both ways, their
// history read, and their messages, edits, deletions, reactions, typing,
// members and channels passed as group events.
func TestGroups(t *testing.T) {
	for _, kind := range []string{kindUser, kindBot} {
		t.Run(kind, func(t *testing.T) {
			w := newWorld(t, allPrivileged)
			// A guild alice is not in: invisible to her even through the bot.
			other := w.fake.CreateGuild(w.bob.ID, "Elsewhere")
			w.fake.AddMember(other.ID, w.bot.ID, "")
			elsewhere := w.fake.CreateChannel(other.ID, "hidden").ID
			early := w.fake.Post(w.bob.ID, w.general, "before anyone logged in")
			tr := w.transport()
			s, rec := loginKind(t, w, tr, kind)
			ctx := bounded(t, 20*time.Second)
			guild := bridge.ChatID(w.guild.ID)
			general := bridge.ChatRef{Kind: bridge.Group, ID: bridge.ChatID(w.general), Parent: guild}

			gs, err := s.Groups(ctx)
			if err != nil {
				t.Fatal(err)
			}
			want := []bridge.GroupInfo{{ID: general.ID, Parent: guild, Name: "Hub #general"}}
			if !slices.Equal(gs, want) {
				t.Errorf("groups %+v, want %+v", gs, want)
			}
			ms, err := s.Members(ctx, general.ID)
			if err != nil {
				t.Fatal(err)
			}
			wantMembers := []bridge.GroupMember{
				{User: bridge.UserID(w.alice.ID), Nick: "Alice", Role: bridge.RoleOwner, Self: true},
				{User: bridge.UserID(w.bob.ID), Nick: "Bob Builder"},
				{User: bridge.UserID(w.carol.ID), Nick: "Caz"},
				{User: bridge.UserID(w.bot.ID), Nick: "xgate"},
			}
			if !slices.Equal(ms, wantMembers) {
				t.Errorf("members %+v, want %+v", ms, wantMembers)
			}
			if _, err := s.Members(ctx, bridge.ChatID(elsewhere)); err == nil {
				t.Error("members of a guild alice is not in were listed")
			}

			// History, oldest first.
			hist, err := s.History(ctx, general, "", 10)
			if err != nil || len(hist) != 1 || hist[0].ID != bridge.MessageID(early) || !hist[0].Historical || hist[0].Chat != general {
				t.Fatalf("history %+v, %v", hist, err)
			}

			// Messages both ways.
			id := w.fake.Post(w.bob.ID, w.general, "hello **all**")
			got := bridgetest.WaitFor(t, rec, func(m bridge.MessageEvent) bool { return m.ID == bridge.MessageID(id) })
			if got.Chat != general || got.Sender != bridge.UserID(w.bob.ID) || got.SenderName != "Bob Builder" || got.Text != "hello *all*" || got.FromSelf {
				t.Errorf("bob's message %+v", got)
			}
			own := w.fake.Post(w.alice.ID, w.general, "from the app")
			got = bridgetest.WaitFor(t, rec, func(m bridge.MessageEvent) bool { return m.ID == bridge.MessageID(own) })
			if !got.FromSelf || got.Sender != bridge.UserID(w.alice.ID) {
				t.Errorf("alice's own message from Discord's app %+v, want FromSelf", got)
			}
			sent, err := s.Send(ctx, general, bridge.OutgoingMessage{Text: "hi *there*"})
			if err != nil {
				t.Fatal(err)
			}
			m, ok := w.fake.Message(w.general, string(sent))
			wantText := map[string]string{kindUser: "hi **there**", kindBot: "**Alice:** hi **there**"}[kind]
			if !ok || m.Content != wantText {
				t.Errorf("sent to the channel: %+v, want %q", m, wantText)
			}
			w.fake.Edit(w.bob.ID, w.general, id, "hello everyone")
			bridgetest.WaitFor(t, rec, func(e bridge.EditEvent) bool {
				return e.ID == bridge.MessageID(id) && e.Chat == general && e.Text == "hello everyone"
			})
			w.fake.React(w.carol.ID, w.general, id, "👍")
			w.fake.React(w.bob.ID, w.general, id, "🎉")
			r := bridgetest.WaitFor(t, rec, func(e bridge.ReactionEvent) bool { return e.Sender == bridge.UserID(w.carol.ID) })
			if r.Chat != general || !slices.Equal(r.Emojis, []string{"👍"}) {
				t.Errorf("carol's reaction %+v", r)
			}
			w.fake.Typing(w.carol.ID, w.general)
			bridgetest.WaitFor(t, rec, func(e bridge.TypingEvent) bool { return e.Chat == general && e.Sender == bridge.UserID(w.carol.ID) })
			w.fake.Delete(w.bob.ID, w.general, id)
			bridgetest.WaitFor(t, rec, func(e bridge.RetractionEvent) bool { return e.ID == bridge.MessageID(id) && e.Chat == general })

			// Topics both ways.
			if err := s.SetTopic(ctx, general.ID, "plans for friday"); err != nil {
				t.Fatal(err)
			}
			if c, _ := w.fake.Channel(w.general); c.Topic != "plans for friday" {
				t.Errorf("topic on Discord %q", c.Topic)
			}
			w.fake.SetTopic(w.carol.ID, w.general, "carol's topic")
			bridgetest.WaitFor(t, rec, func(e bridge.TopicEvent) bool { return e.Chat == general.ID && e.Topic == "carol's topic" })
			if err := s.SetTopic(ctx, bridge.ChatID(w.aliceBob), "x"); err == nil {
				t.Error("a DM got a topic")
			}

			// Threads: a group inside the channel.
			root := w.fake.Post(w.bob.ID, w.general, "thread root")
			th := w.fake.StartThread(w.bob.ID, w.general, root, "details")
			ge := bridgetest.WaitFor(t, rec, func(e bridge.GroupEvent) bool { return e.Group.ID == bridge.ChatID(th.ID) })
			if ge.Group.Parent != general.ID || ge.Group.Name != "Hub #general › details" || ge.Left {
				t.Errorf("thread group %+v", ge)
			}
			tid := w.fake.Post(w.carol.ID, th.ID, "in the thread")
			got = bridgetest.WaitFor(t, rec, func(m bridge.MessageEvent) bool { return m.ID == bridge.MessageID(tid) })
			if want := (bridge.ChatRef{Kind: bridge.Group, ID: bridge.ChatID(th.ID), Parent: general.ID}); got.Chat != want {
				t.Errorf("thread message in %+v, want %+v", got.Chat, want)
			}

			// Channels and members coming and going.
			news := w.fake.CreateChannel(w.guild.ID, "news")
			ge = bridgetest.WaitFor(t, rec, func(e bridge.GroupEvent) bool { return e.Group.ID == bridge.ChatID(news.ID) })
			if ge.Group.Parent != guild || ge.Group.Name != "Hub #news" {
				t.Errorf("new channel %+v", ge)
			}
			dave := w.fake.CreateUser(discordfake.UserSpec{Username: "dave", GlobalName: "Dave"})
			w.fake.AddMember(w.guild.ID, dave.ID, "")
			me := bridgetest.WaitFor(t, rec, func(e bridge.MemberEvent) bool {
				return e.Chat == general.ID && e.Member.User == bridge.UserID(dave.ID)
			})
			if me.Left || me.Member.Nick != "Dave" {
				t.Errorf("dave joining %+v", me)
			}
			w.fake.RemoveMember(w.guild.ID, dave.ID)
			bridgetest.WaitFor(t, rec, func(e bridge.MemberEvent) bool {
				return e.Chat == general.ID && e.Member.User == bridge.UserID(dave.ID) && e.Left
			})

			// Nothing of the guild alice is not in.
			hid := w.fake.Post(w.bob.ID, elsewhere, "secret")
			marker := w.fake.Post(w.bob.ID, w.general, "marker")
			bridgetest.WaitFor(t, rec, func(m bridge.MessageEvent) bool { return m.ID == bridge.MessageID(marker) })
			if n := bridgetest.Count(rec, func(m bridge.MessageEvent) bool { return m.ID == bridge.MessageID(hid) }); n != 0 {
				t.Error("a message of a guild alice is not in reached her")
			}
		})
	}
}

// TestReadState: a personal account's XEP-0333 displayed markers become
// Discord's read state (POST .../ack) in DMs and groups; a bot-linked
// account has none, says so in its chats' capabilities, and refuses.
func TestReadState(t *testing.T) {
	for _, kind := range []string{kindUser, kindBot} {
		t.Run(kind, func(t *testing.T) {
			w := newWorld(t, allPrivileged)
			tr := w.transport()
			s, _ := loginKind(t, w, tr, kind)
			ctx := bounded(t, 10*time.Second)
			dmID := w.aliceBob
			if kind == kindBot {
				dmID = w.fake.OpenDM(w.bot.ID, w.bob.ID).ID
			}
			inDM := w.fake.Post(w.bob.ID, dmID, "read me")
			inGroup := w.fake.Post(w.bob.ID, w.general, "and me")
			general := bridge.ChatRef{Kind: bridge.Group, ID: bridge.ChatID(w.general), Parent: bridge.ChatID(w.guild.ID)}
			caps, err := s.ChatCapabilities(ctx, w.dm())
			if err != nil {
				t.Fatal(err)
			}
			errDM := s.MarkRead(ctx, w.dm(), bridge.MessageID(inDM))
			errGroup := s.MarkRead(ctx, general, bridge.MessageID(inGroup))
			if kind == kindBot {
				if caps.ReadMarkers || !errors.Is(errDM, bridge.ErrUnsupported) || !errors.Is(errGroup, bridge.ErrUnsupported) {
					t.Errorf("bot-linked: ReadMarkers %v, MarkRead %v / %v, want none and ErrUnsupported", caps.ReadMarkers, errDM, errGroup)
				}
				return
			}
			if !caps.ReadMarkers || errDM != nil || errGroup != nil {
				t.Fatalf("personal: ReadMarkers %v, MarkRead %v / %v", caps.ReadMarkers, errDM, errGroup)
			}
			if got := w.fake.ReadState(w.alice.ID, w.aliceBob); got != inDM {
				t.Errorf("read state of the DM %q, want %q", got, inDM)
			}
			if got := w.fake.ReadState(w.alice.ID, w.general); got != inGroup {
				t.Errorf("read state of the channel %q, want %q", got, inGroup)
			}
		})
	}
}

// TestGroupDM: a personal account's group DMs are groups without a
// parent: listed, their people named, their messages both ways.
func TestGroupDM(t *testing.T) {
	w := newWorld(t, allPrivileged)
	s, rec := w.login(w.transport())
	ctx := bounded(t, 10*time.Second)
	unnamed := w.fake.CreateGroupDM(w.bob.ID, "", w.alice.ID, w.carol.ID)
	named := w.fake.CreateGroupDM(w.alice.ID, "Lunch", w.bob.ID)
	gs, err := s.Groups(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []bridge.GroupInfo{
		{ID: bridge.ChatID(unnamed.ID), Name: "Bob Builder, carol", Private: true},
		{ID: bridge.ChatID(named.ID), Name: "Lunch", Private: true},
	} {
		if !slices.Contains(gs, want) {
			t.Errorf("groups %+v lack %+v", gs, want)
		}
	}
	ms, err := s.Members(ctx, bridge.ChatID(unnamed.ID))
	want := []bridge.GroupMember{
		{User: bridge.UserID(w.alice.ID), Nick: "Alice", Self: true},
		{User: bridge.UserID(w.bob.ID), Nick: "Bob Builder", Role: bridge.RoleOwner},
		{User: bridge.UserID(w.carol.ID), Nick: "carol"},
	}
	if err != nil || !slices.Equal(ms, want) {
		t.Errorf("members %+v, %v; want %+v", ms, err, want)
	}
	chat := bridge.ChatRef{Kind: bridge.Group, ID: bridge.ChatID(unnamed.ID)}
	id := w.fake.Post(w.carol.ID, unnamed.ID, "lunch?")
	got := bridgetest.WaitFor(t, rec, func(m bridge.MessageEvent) bool { return m.ID == bridge.MessageID(id) })
	if got.Chat != chat || got.Sender != bridge.UserID(w.carol.ID) {
		t.Errorf("message %+v", got)
	}
	sent, err := s.Send(ctx, chat, bridge.OutgoingMessage{Text: "yes"})
	if err != nil {
		t.Fatal(err)
	}
	if m, ok := w.fake.Message(unnamed.ID, string(sent)); !ok || m.Content != "yes" || m.AuthorID != w.alice.ID {
		t.Errorf("on Discord %+v", m)
	}
}
