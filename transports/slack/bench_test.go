package slack

import (
	"fmt"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/xgate-im/xgate/bridge"
	"github.com/xgate-im/xgate/transports/slack/slackfake"
)

// unlimited lifts the per-conversation limiter (post_rate, 1 message a
// second by default, as Slack wants), to measure the transport itself.
func unlimited(tr *Transport) { tr.set.postRate, tr.set.postBurst = 1e9, 1e9 }

// processCPU is the CPU time (user+system) this process used so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// perMessage reports what n messages cost since start and cpu0: msg/s and
// the process's CPU per message. The fake Slack runs in this process, so
// the CPU figure counts its side too; cmd/xgate-bench measures xgate alone.
// ns/op is dropped when hideNsOp: the loop's time per iteration is not the
// cost of a message when the loop does not wait for each one.
func perMessage(b *testing.B, n int, start time.Time, cpu0 time.Duration, hideNsOp bool) {
	b.Helper()
	if n == 0 {
		return
	}
	b.ReportMetric(float64(n)/time.Since(start).Seconds(), "msg/s")
	b.ReportMetric(float64((processCPU()-cpu0).Microseconds())/float64(n), "cpu-µs/msg")
	if hideNsOp {
		b.ReportMetric(0, "ns/op")
	}
}

// BenchmarkSendToSlack measures messages from the XMPP side to Slack
// through a Session (mrkdwn conversion, limiter, chat.postMessage over
// HTTP to the fake), one conversation at a time as the bridge sends them.
// Each Send waits for Slack's answer, so ns/op is the latency of one send.
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
	start, cpu0 := time.Now(), processCPU()
	n := 0
	for b.Loop() {
		if _, err := sess.Send(ctx, chat, msg); err != nil {
			b.Fatal(err)
		}
		n++
	}
	perMessage(b, n, start, cpu0, false)
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
	b.ResetTimer()
	start, cpu0 := time.Now(), processCPU()
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
	perMessage(b, per*chats, start, cpu0, true)
}

// BenchmarkReceiveFromSlack measures messages from Slack to the bridge:
// a member posts in a DM, the fake sends the envelope over Socket Mode, the
// router hands it to the session, which converts it and emits it; the
// envelope is acknowledged. Posts are not waited for one by one, so the
// figures are msg/s from the first post to the last acknowledgement and
// the CPU per message, not the loop's ns/op.
func BenchmarkReceiveFromSlack(b *testing.B) {
	w := newWorld(b)
	tr := w.transport()
	_, sink := w.login(tr, w.aliceTok)
	// Bob is known: his first message offers him as a contact.
	w.fake.Post(w.bob.ID, w.aliceBob, "warm up")
	waitFor[bridge.MessageEvent](b, sink, nil)
	ctx := bounded(b, 5*time.Minute)
	start, cpu0 := time.Now(), processCPU()
	n := 0
	for b.Loop() {
		w.fake.Post(w.bob.ID, w.aliceBob, "hi <@"+w.alice.ID+"> *there* :wave:")
		n++
	}
	want := n + 1
	if err := w.fake.WaitUntil(ctx, func() bool { return w.fake.Acked() >= want }); err != nil {
		b.Fatalf("%d of %d acknowledged", w.fake.Acked(), want)
	}
	perMessage(b, n, start, cpu0, true)
	if got := count[bridge.MessageEvent](sink, nil); got != want {
		b.Fatalf("%d messages emitted, want %d", got, want)
	}
}
