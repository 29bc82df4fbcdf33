package slack

import (
	"fmt"
	"testing"
	"time"

	"github.com/xgate-im/xgate/bridge"
	"github.com/xgate-im/xgate/bridge/bridgetest"
)

// The copy Slack sends back of a message alice posted from XMPP is settled
// in the reader when her session is the only one it concerns, and takes
// the usual way (the conversation's worker, which waits for the post in
// flight) otherwise. Either way, nobody sees it as a new message, and a
// copy sent again is acknowledged without effect.
func TestEchoSettledInTheReader(t *testing.T) {
	tests := []struct {
		name string
		// setup prepares the world after alice logged in; it returns the
		// conversation of the echo.
		setup func(w *world, tr *Transport) string
		// inReader: the echo is consumed before onEnvelope returns.
		inReader bool
		bobSees  bool
		// waits: the conversation waits for a login (of the community
		// session, of any member while in the grace period), so no marker
		// passes the echo; only the reader's choice is checked.
		waits bool
	}{
		{name: "alone in a known direct message", inReader: true,
			setup: func(w *world, _ *Transport) string { return w.aliceBob }},
		{name: "the other member logged in", bobSees: true,
			setup: func(w *world, _ *Transport) string { return w.aliceBob }},
		{name: "members not known yet",
			setup: func(w *world, tr *Transport) string {
				return w.fake.CreateChannel(w.team.ID, "fresh", false, w.alice.ID, w.carol.ID).ID
			}},
		{name: "bridged to a community room", waits: true,
			setup: func(w *world, tr *Transport) string {
				tr.router.bridge(w.aliceBob, "community.nobody")
				return w.aliceBob
			}},
		{name: "shortly after connecting", waits: true,
			setup: func(w *world, tr *Transport) string {
				tr.mu.Lock()
				tr.grace = time.Hour
				tr.mu.Unlock()
				return w.aliceBob
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t)
			tr := w.transport()
			sess, sink, _, envelope := w.aliceOnEnvelopes(tr)
			var bobSink *bridgetest.Recorder
			if tc.bobSees {
				_, bobSink = w.login(tr, w.bobTok)
			}
			conv := tc.setup(w, tr)
			key := echoKey{kind: "message", channel: conv, ts: "1700000000.000100"}
			echo := `{"type":"message","channel":"` + conv + `","user":"` + w.alice.ID + `","text":"from xmpp","ts":"` + key.ts + `"}`

			// The post is in flight: the usual way waits for it.
			c := sess.channel(conv)
			c.mu.Lock()
			sess.expectEcho(key)
			envelope("EvEcho", echo)
			left := sess.expectedEchoes(key)
			c.mu.Unlock()
			if consumed := left == 0; consumed != tc.inReader {
				t.Errorf("echo consumed in the reader: %v, want %v", consumed, tc.inReader)
			}
			if tc.waits {
				return
			}
			// Slack sends it again: it changes nothing.
			envelope("EvEcho", echo)
			// A marker in the same conversation: once it is out, the
			// events before it were handled.
			envelope("EvMarker", `{"type":"message","channel":"`+conv+`","user":"`+w.carol.ID+`","text":"marker","ts":"1700000000.000200"}`)
			waitFor(t, sink, func(m bridge.MessageEvent) bool { return m.Text == "marker" })
			if n := count(sink, func(m bridge.MessageEvent) bool { return m.Text == "from xmpp" }); n != 0 {
				t.Errorf("alice got her own message %d times: %s", n, bridgetest.Describe(sink.Events()))
			}
			if left := sess.expectedEchoes(key); left != 0 {
				t.Errorf("%d echoes still expected", left)
			}
			if bobSink != nil {
				waitFor(t, bobSink, func(m bridge.MessageEvent) bool { return m.Text == "marker" })
				if n := count(bobSink, func(m bridge.MessageEvent) bool { return m.Text == "from xmpp" && !m.FromSelf }); n != 1 {
					t.Errorf("bob got alice's message %d times: %s", n, bridgetest.Describe(bobSink.Events()))
				}
			}
		})
	}
}

// expectedEchoes returns how many echoes of k the session waits for.
func (s *Session) expectedEchoes(k echoKey) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.echoes.m[k].n
}

// The reader settles only new messages by a member in a conversation.
func TestEchoCandidate(t *testing.T) {
	msg := func(subtype, channel, user, ts string) *inbound {
		return &inbound{typ: "message", subtype: subtype, channel: channel,
			msg: &msgEvent{wireMsg: wireMsg{Subtype: subtype, User: user, TS: ts}}}
	}
	tests := []struct {
		name string
		in   *inbound
		want bool
	}{
		{"plain message", msg("", "D1", "U1", "1.1"), true},
		{"thread broadcast", msg("thread_broadcast", "C1", "U1", "1.1"), true},
		{"me message", msg("me_message", "C1", "U1", "1.1"), true},
		{"file share", msg("file_share", "C1", "U1", "1.1"), true},
		{"edit", msg("message_changed", "C1", "", ""), false},
		{"deletion", msg("message_deleted", "C1", "", ""), false},
		{"bot message", msg("bot_message", "C1", "", "1.1"), false},
		{"no author", msg("", "C1", "", "1.1"), false},
		{"no timestamp", msg("", "C1", "U1", ""), false},
		{"no conversation", msg("", "", "U1", "1.1"), false},
		{"not decoded", &inbound{typ: "message", channel: "C1"}, false},
		{"reaction", &inbound{typ: "reaction_added", channel: "C1"}, false},
	}
	r := &router{}
	for _, tc := range tests {
		if got := r.echoCandidate(tc.in); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

// The copy of a post often comes before chat.postMessage answers: the
// reader takes the message of the same author, conversation, thread and
// text for it, and then no echo is expected for the answer; any other
// message of the author reaches XMPP as written elsewhere.
func TestEchoBeforeThePostsAnswer(t *testing.T) {
	w := newWorld(t)
	tr := w.transport()
	sess, sink, _, onEvent := w.aliceOnEnvelopes(tr)
	envelope := func(id, ts, thread, text string) {
		event := `{"type":"message","channel":"` + w.aliceBob + `","user":"` + w.alice.ID + `","text":"` + text + `","ts":"` + ts + `"`
		if thread != "" {
			event += `,"thread_ts":"` + thread + `"`
		}
		onEvent(id, event+`}`)
	}
	tests := []struct {
		name                string
		thread, text        string // of the event
		ts                  string
		taken, reachesAlice bool
	}{
		{name: "the post's copy", text: "hello", ts: "1700000001.000100", taken: true},
		{name: "other text", text: "hello from my phone", ts: "1700000001.000200", reachesAlice: true},
		{name: "other thread", thread: "1700000000.000001", text: "hello", ts: "1700000001.000300", reachesAlice: true},
	}
	for i, tc := range tests {
		post := sess.startPost(w.aliceBob, "", "hello")
		envelope(fmt.Sprint("Ev", i), tc.ts, tc.thread, tc.text)
		if taken := post.echoTS == tc.ts; taken != tc.taken {
			t.Errorf("%s: taken for the echo %v, want %v", tc.name, taken, tc.taken)
		}
		answer := fmt.Sprintf("1700000002.%06d", i) // the post's own timestamp
		if tc.taken {
			answer = tc.ts
		}
		sess.endPost(post, answer)
		if want := map[bool]int{true: 0, false: 1}[tc.taken]; sess.expectedEchoes(echoKey{kind: "message", channel: w.aliceBob, ts: answer}) != want {
			t.Errorf("%s: echoes expected after the answer: want %d", tc.name, want)
		}
		envelope(fmt.Sprint("Ev", i), tc.ts, tc.thread, tc.text) // sent again
		if tc.reachesAlice {
			m := waitFor(t, sink, func(m bridge.MessageEvent) bool { return string(m.ID) == tc.ts })
			if !m.FromSelf || m.Text != tc.text {
				t.Errorf("%s: %+v", tc.name, m)
			}
		}
	}
	onEvent("EvMarker", `{"type":"message","channel":"`+w.aliceBob+`","user":"`+w.bob.ID+`","text":"marker","ts":"1700000009.000000"}`)
	waitFor(t, sink, func(m bridge.MessageEvent) bool { return m.Text == "marker" })
	for _, tc := range tests {
		want := map[bool]int{true: 1, false: 0}[tc.reachesAlice]
		if n := count(sink, func(m bridge.MessageEvent) bool { return string(m.ID) == tc.ts }); n != want {
			t.Errorf("%s: reached alice %d times, want %d: %s", tc.name, n, want, bridgetest.Describe(sink.Events()))
		}
	}
}
