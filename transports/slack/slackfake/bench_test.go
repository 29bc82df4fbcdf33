package slackfake_test

import (
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"

	"github.com/xgate-im/xgate/transports/slack/slackfake"
)

func benchFixture(b *testing.B) (*slackfake.Server, *slack.Client, slackfake.User, string) {
	fake := slackfake.New()
	b.Cleanup(fake.Close)
	team := fake.CreateTeam("Bench")
	alice := fake.CreateUser(team.ID, slackfake.UserSpec{Name: "alice"})
	tok, botUser := fake.InstallApp(team.ID)
	ch := fake.CreateChannel(team.ID, "general", false, alice.ID, botUser)
	api := slack.New(tok, slack.OptionAPIURL(fake.APIURL()), slack.OptionAppLevelToken(fake.AppToken()))
	return fake, api, alice, ch.ID
}

// processCPU is the CPU time (user+system) this process used so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportCPU reports the process's CPU per message since cpu0: client and
// fake together, since both run here. ns/op stays: each iteration waits
// for its message, so it is the round trip's latency.
func reportCPU(b *testing.B, n int, cpu0 time.Duration) {
	b.Helper()
	if n > 0 {
		b.ReportMetric(float64((processCPU()-cpu0).Microseconds())/float64(n), "cpu-µs/msg")
	}
}

// BenchmarkPostMessage measures a chat.postMessage round trip through the
// real client.
func BenchmarkPostMessage(b *testing.B) {
	_, api, _, ch := benchFixture(b)
	ctx := b.Context()
	cpu0, n := processCPU(), 0
	for b.Loop() {
		if _, _, err := api.PostMessageContext(ctx, ch, slack.MsgOptionText("hello", false)); err != nil {
			b.Fatal(err)
		}
		n++
	}
	reportCPU(b, n, cpu0)
}

// BenchmarkSocketModeDelivery measures a message from a Slack user to the
// app: Post, envelope, socketmode client, ack.
func BenchmarkSocketModeDelivery(b *testing.B) {
	fake, api, alice, ch := benchFixture(b)
	ctx, cancel := context.WithCancel(b.Context())
	sm := socketmode.New(api)
	done := make(chan error, 1)
	go func() { done <- sm.RunContext(ctx) }()
	b.Cleanup(func() { cancel(); <-done })
	next := func() {
		for evt := range sm.Events {
			if evt.Type == socketmode.EventTypeEventsAPI {
				sm.Ack(*evt.Request)
				return
			}
		}
	}
	cpu0, n := processCPU(), 0
	for b.Loop() {
		fake.Post(alice.ID, ch, "hi")
		next()
		n++
	}
	reportCPU(b, n, cpu0)
}
