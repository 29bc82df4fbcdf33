package discord

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/xgate-im/xgate/bridge"
)

// TestJoinGroup: a personal account joins and leaves threads on Discord
// (thread-members/@me); channels and group DMs need no join and are not
// left from here; a bot-linked account joins nothing (the bot would).
func TestJoinGroup(t *testing.T) {
	for _, kind := range []string{kindUser, kindBot} {
		t.Run(kind, func(t *testing.T) {
			w := newWorld(t, allPrivileged)
			root := w.fake.Post(w.bob.ID, w.general, "a topic")
			thread := w.fake.StartThread(w.bob.ID, w.general, root, "talk").ID
			gdm := w.fake.CreateGroupDM(w.bob.ID, "", w.alice.ID, w.carol.ID).ID
			s, _ := loginKind(t, w, w.transport(), kind)
			ctx := bounded(t, 20*time.Second)
			member := kind == kindUser // whether alice ends up in the thread
			type step struct {
				name    string
				do      func() error
				wantErr error
				want    bool // alice in the thread afterwards
			}
			steps := []step{
				{"join the thread", func() error { return s.JoinGroup(ctx, bridge.ChatID(thread)) }, nil, member},
				{"join it again", func() error { return s.JoinGroup(ctx, bridge.ChatID(thread)) }, nil, member},
				{"join a channel", func() error { return s.JoinGroup(ctx, bridge.ChatID(w.general)) }, nil, member},
				{"join a group DM", func() error { return s.JoinGroup(ctx, bridge.ChatID(gdm)) }, nil, member},
				{"join no channel", func() error { return s.JoinGroup(ctx, "1") }, bridge.ErrNotFound, member},
				{"leave a channel", func() error { return s.LeaveGroup(ctx, bridge.ChatID(w.general)) }, bridge.ErrUnsupported, member},
				{"leave the thread", func() error { return s.LeaveGroup(ctx, bridge.ChatID(thread)) }, nil, false},
			}
			if kind == kindBot {
				// A bot sees no group DM.
				steps = slices.DeleteFunc(steps, func(s step) bool { return s.name == "join a group DM" })
			}
			for _, st := range steps {
				if err := st.do(); !errors.Is(err, st.wantErr) {
					t.Fatalf("%s: %v, want %v", st.name, err, st.wantErr)
				}
				ch, _ := w.fake.Channel(thread)
				if slices.Contains(ch.Members, w.alice.ID) != st.want {
					t.Fatalf("%s: thread members %v, alice in: want %v", st.name, ch.Members, st.want)
				}
				if slices.Contains(ch.Members, w.bot.ID) {
					t.Fatalf("%s: the bot joined the thread", st.name)
				}
			}
		})
	}
}
