package slack

import (
	"errors"
	"testing"
	"time"

	"github.com/xgate-im/xgate/bridge"
)

func TestSendAsThroughTheBot(t *testing.T) {
	w := newWorld(t)
	botTok, _ := w.fake.InstallApp(w.team.ID)
	general := w.fake.CreateChannel(w.team.ID, "general", false, w.alice.ID, w.bob.ID)
	secret := w.fake.CreateChannel(w.team.ID, "secret", true, w.alice.ID, w.bob.ID)
	root := w.fake.Post(w.bob.ID, general.ID, "a thread")
	sess, sink := w.login(w.transport(func(c *Config) { c.BotToken = botTok }), w.aliceTok)
	group := bridge.ChatRef{Kind: bridge.Group, ID: bridge.ChatID(general.ID)}
	for _, tc := range []struct {
		name       string
		chat       bridge.ChatRef
		msg        bridge.OutgoingMessage
		err        error
		wantThread string
	}{
		{"joins and posts", group, bridge.OutgoingMessage{Text: "*hello*", SenderName: "romeo", SenderAvatarURL: "https://example.org/r.png"}, nil, ""},
		{"in a thread", group, bridge.OutgoingMessage{Text: "reply", SenderName: "juliet", Thread: bridge.MessageID(root)}, nil, root},
		{"no name", group, bridge.OutgoingMessage{Text: "who"}, bridge.ErrInvalidInput, ""},
		{"direct", bridge.ChatRef{Kind: bridge.Direct, Peer: w.uid(w.bob)}, bridge.OutgoingMessage{Text: "x", SenderName: "romeo"}, bridge.ErrUnsupported, ""},
		{"private channel without the bot", bridge.ChatRef{Kind: bridge.Group, ID: bridge.ChatID(secret.ID)}, bridge.OutgoingMessage{Text: "x", SenderName: "romeo"}, bridge.ErrNotFound, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id, err := sess.SendAs(bounded(t, 10*time.Second), tc.chat, tc.msg)
			if !errors.Is(err, tc.err) || (tc.err == nil && err != nil) {
				t.Fatalf("err %v, want %v", err, tc.err)
			}
			if tc.err != nil {
				return
			}
			var got *struct{ user, name, icon, text, thread, bot string }
			for _, m := range w.fake.Messages(string(tc.chat.ID)) {
				if m.TS == string(id) {
					got = &struct{ user, name, icon, text, thread, bot string }{m.User, m.Username, m.IconURL, m.Text, m.ThreadTS, m.BotID}
				}
			}
			if got == nil || got.user != "" || got.bot == "" || got.name != tc.msg.SenderName || got.icon != tc.msg.SenderAvatarURL ||
				got.text != StyledToMrkdwn(tc.msg.Text, sess.dir) || got.thread != tc.wantThread {
				t.Errorf("posted %+v", got)
			}
		})
	}
	// The relayed posts are not reflected: bob's next message is the only
	// new one alice's session emits in the channel.
	w.fake.Post(w.bob.ID, general.ID, "after")
	waitFor(t, sink, func(ev bridge.MessageEvent) bool { return ev.Text == "after" })
	if n := count(sink, func(ev bridge.MessageEvent) bool { return ev.Text == "reply" || ev.Text == "*hello*" }); n != 0 {
		t.Errorf("%d relayed posts came back", n)
	}
}

func TestSendAsWithoutABotToken(t *testing.T) {
	w := newWorld(t)
	general := w.fake.CreateChannel(w.team.ID, "general", false, w.alice.ID)
	sess, _ := w.login(w.transport(), w.aliceTok)
	_, err := sess.SendAs(bounded(t, 10*time.Second), bridge.ChatRef{Kind: bridge.Group, ID: bridge.ChatID(general.ID)}, bridge.OutgoingMessage{Text: "x", SenderName: "romeo"})
	if !errors.Is(err, bridge.ErrUnsupported) || w.fake.CallCount("chat.postMessage") != 0 {
		t.Errorf("err %v, %d posts", err, w.fake.CallCount("chat.postMessage"))
	}
}
