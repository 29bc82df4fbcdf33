package slack_test

import (
	"context"
	"fmt"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/xgate-im/xgate/transports/slack/slackfake"
	"github.com/xgate-im/xgate/xmpp"
	"github.com/xgate-im/xgate/xmpp/jid"
	"github.com/xgate-im/xgate/xmpp/prosodytest"
)

// BenchmarkCommunityToRoom: 100 members of a bridged Slack channel take
// turns posting; each message goes through Socket Mode, the group's queue
// in the store, its author's puppet (joined at their first message) and
// Prosody's MUC to alice in the room. Reported per message: wall-ns/msg,
// the end-to-end time with the queue kept busy (the group writes up to 32
// messages to the room before it waits for their reflections, then waits
// for the host server's confirmation once and stores them in one commit),
// and its inverse msg/s; cpu-ns/msg, the CPU time of this process
// (xgate and the fake Slack; Prosody and the client not counted), which
// includes decoding the room's copy of each message for each of the 100
// puppets. heap-B/puppet is the live heap after the 100 puppets joined,
// less before, per puppet (approximate: it includes the directory's
// members).
func BenchmarkCommunityToRoom(b *testing.B) {
	const members = 100
	w := newCommunity(b)
	users := make([]slackfake.User, members)
	for i := range users {
		users[i] = w.fake.CreateUser(w.channel.TeamID, slackfake.UserSpec{Name: fmt.Sprintf("m%03d", i), DisplayName: fmt.Sprintf("Member %03d", i)})
		w.fake.Join(users[i].ID, w.channel.ID)
	}
	w.start(w.channel.ID)
	// The 100 joins and the messages take minutes on a loaded machine.
	ctx, cancel := context.WithTimeout(b.Context(), 5*time.Minute)
	defer cancel()
	alice := w.join(ctx, "alice", "alice")
	if _, err := alice.Expect(ctx, prosodytest.PresenceFrom(jid.MustParse("general@"+mucDomain+"/bridge"), "")); err != nil {
		b.Fatal(err)
	}
	expect := func(i int) {
		body := fmt.Sprintf("message %d", i)
		if _, err := alice.Expect(ctx, func(s xmpp.Stanza) bool {
			m, ok := s.(*xmpp.Message)
			return ok && m.Body == body
		}); err != nil {
			b.Fatal(err)
		}
	}
	// Every member speaks once: the puppets join.
	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i := range members {
		w.fake.Post(users[i].ID, w.channel.ID, fmt.Sprintf("message %d", -1-i))
		expect(-1 - i)
	}
	var after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&after)

	b.ResetTimer()
	cpu0, start := cpuTime(), time.Now()
	for i := range b.N {
		w.fake.Post(users[i%members].ID, w.channel.ID, fmt.Sprintf("message %d", i))
	}
	for i := range b.N {
		expect(i)
	}
	wall, cpu := time.Since(start), cpuTime()-cpu0
	b.StopTimer()
	b.ReportMetric(float64(wall.Nanoseconds())/float64(b.N), "wall-ns/msg")
	b.ReportMetric(float64(b.N)/wall.Seconds(), "msg/s")
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/msg")
	b.ReportMetric((float64(after.HeapAlloc)-float64(before.HeapAlloc))/members, "heap-B/puppet")
}

// cpuTime is the process's user and system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
