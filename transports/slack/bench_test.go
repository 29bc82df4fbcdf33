package slack

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/xgate-im/xgate/bridge"
	"github.com/xgate-im/xgate/transports/slack/slackfake"
)

// unlimited lifts the per-conversation limiter (post_rate, 1 message a
// second by default, as Slack wants), to measure the transport itself.
func unlimited(tr *Transport) { tr.set.postRate, tr.set.postBurst = 1e9, 1e9 }

// BenchmarkSendToSlack measures messages from the XMPP side to Slack
// through a Session (mrkdwn conversion, limiter, chat.postMessage over
// HTTP to the fake), one conversation at a time as the bridge sends them.
func BenchmarkSendToSlack(b *testing.B) {
	w := newWorld(b)
	tr := w.transport()
	unlimited(tr)
	sess, _ := w.login(tr, w.aliceTok)
	chat := bridge.ChatRef{Kind: bridge.Direct, Peer: w.uid(w.bob)}
	msg := bridge.OutgoingMessage{Text: "*hello* @Bob Builder, how are you? _fine_ I hope :)"}
	ctx := b.Context()
	if _, err := sess.Contacts(ctx); err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	n := 0
	for b.Loop() {
		if _, err := sess.Send(ctx, chat, msg); err != nil {
			b.Fatal(err)
		}
		n++
	}
	b.ReportMetric(float64(n)/time.Since(start).Seconds(), "msgs/s")
}

// BenchmarkSendToSlackParallel is BenchmarkSendToSlack over 8
// conversations at once.
func BenchmarkSendToSlackParallel(b *testing.B) {
	w := newWorld(b)
	tr := w.transport()
	unlimited(tr)
	sess, _ := w.login(tr, w.aliceTok)
	const chats = 8
	peers := make([]bridge.UserID, chats)
	for i := range peers {
		u := w.fake.CreateUser(w.team.ID, slackfake.UserSpec{Name: fmt.Sprint("peer", i)})
		peers[i] = w.uid(u)
	}
	ctx := b.Context()
	start := time.Now()
	b.ResetTimer()
	var wg sync.WaitGroup
	per := (b.N + chats - 1) / chats
	for i := range chats {
		wg.Go(func() {
			chat := bridge.ChatRef{Kind: bridge.Direct, Peer: peers[i]}
			for range per {
				if _, err := sess.Send(ctx, chat, bridge.OutgoingMessage{Text: "hello"}); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	b.ReportMetric(float64(per*chats)/time.Since(start).Seconds(), "msgs/s")
}

// BenchmarkReceiveFromSlack measures messages from Slack to the bridge:
// a member posts in a DM, the fake sends the envelope over Socket Mode, the
// router hands it to the session, which converts it and emits it; the
// envelope is acknowledged. Posts are not waited for one by one.
func BenchmarkReceiveFromSlack(b *testing.B) {
	w := newWorld(b)
	tr := w.transport()
	_, sink := w.login(tr, w.aliceTok)
	// Bob is known: his first message offers him as a contact.
	w.fake.Post(w.bob.ID, w.aliceBob, "warm up")
	waitFor[bridge.MessageEvent](b, sink, nil)
	ctx := bounded(b, 5*time.Minute)
	start := time.Now()
	n := 0
	for b.Loop() {
		w.fake.Post(w.bob.ID, w.aliceBob, "hi <@"+w.alice.ID+"> *there* :wave:")
		n++
	}
	want := n + 1
	if err := w.fake.WaitUntil(ctx, func() bool { return w.fake.Acked() >= want }); err != nil {
		b.Fatalf("%d of %d acknowledged", w.fake.Acked(), want)
	}
	b.ReportMetric(float64(n)/time.Since(start).Seconds(), "msgs/s")
	if got := count[bridge.MessageEvent](sink, nil); got != want {
		b.Fatalf("%d messages emitted, want %d", got, want)
	}
}
