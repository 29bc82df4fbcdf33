package discord

import (
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/xgate-im/xgate/bridge"
	"github.com/xgate-im/xgate/bridge/bridgetest"
	"github.com/xgate-im/xgate/kit/ratelimit"
)

// cpuTime is the CPU time (user+system) this process used so far. The
// fake runs in this process, so figures count its side too.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkSendToDiscord measures messages from the XMPP side to Discord
// through a Session (markdown conversion, our REST body, discordgo's
// bucket limiter, HTTP to the fake), one at a time as the bridge sends
// them within a chat; ns/op is the latency of one send. The global limit
// (50 a second, which would be all this measures) is lifted.
func BenchmarkSendToDiscord(b *testing.B) {
	w := newWorld(b, allPrivileged)
	s, _ := w.login(w.transport())
	s.c.limit = ratelimit.NewBucket(ratelimit.Rate{PerSecond: 1e9, Burst: 1 << 30})
	msg := bridge.OutgoingMessage{Text: "*hello* Bob, how are you? _fine_ I hope :)"}
	ctx := b.Context()
	start, cpu0 := time.Now(), cpuTime()
	n := 0
	for b.Loop() {
		if _, err := s.Send(ctx, w.dm(), msg); err != nil {
			b.Fatal(err)
		}
		n++
	}
	b.ReportMetric(float64(n)/time.Since(start).Seconds(), "msg/s")
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(n), "cpu-µs/msg")
}

// BenchmarkFromDiscord measures messages from Discord to the Sink: the
// fake dispatches MESSAGE_CREATE over the Gateway, discordgo decodes it,
// the transport converts it and the Fanout delivers it to a Recorder.
// The loop posts b.N messages and waits for the last; ns/op is hidden,
// msg/s and CPU per message are the figures.
func BenchmarkFromDiscord(b *testing.B) {
	w := newWorld(b, allPrivileged)
	_, rec := w.login(w.transport())
	start, cpu0 := time.Now(), cpuTime()
	last := ""
	for i := 0; b.Loop(); i++ {
		last = w.fake.Post(w.bob.ID, w.aliceBob, fmt.Sprintf("**message** %d with <@%s>", i, w.alice.ID))
	}
	bridgetest.WaitFor(b, rec, func(m bridge.MessageEvent) bool { return m.ID == bridge.MessageID(last) })
	n := b.N
	b.ReportMetric(float64(n)/time.Since(start).Seconds(), "msg/s")
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(n), "cpu-µs/msg")
	b.ReportMetric(0, "ns/op")
}
