package slack_test

import (
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/xgate-im/xgate/store"
	"github.com/xgate-im/xgate/transports/slack"
	"github.com/xgate-im/xgate/transports/slack/slackfake"
	"github.com/xgate-im/xgate/xmpp"
	"github.com/xgate-im/xgate/xmpp/jid"
	"github.com/xgate-im/xgate/xmpp/prosodytest"
)

// benchSetup is a registered XMPP user alice whose Slack DM partner bob is
// in her roster, through Prosody, the bridge (with its store) and the fake
// Slack.
type benchSetup struct {
	fake   *slackfake.Server
	c      *prosodytest.Client
	bob    slackfake.User
	bobJID jid.JID
	im     string
}

func newBenchSetup(b *testing.B, storeOpts ...func(*store.Options)) *benchSetup {
	fake := slackfake.New()
	b.Cleanup(fake.Close)
	team := fake.CreateTeam("Acme")
	alice := fake.CreateUser(team.ID, slackfake.UserSpec{Name: "alice"})
	bob := fake.CreateUser(team.ID, slackfake.UserSpec{Name: "bob", DisplayName: "Bob"})
	im := fake.OpenIM(team.ID, alice.ID, bob.ID)
	token := fake.IssueUserToken(team.ID, alice.ID)
	// The limiter is set as high as the configuration allows: the figure
	// is the gateway's, not Slack's one message a second per conversation.
	e := startE2E(b, fake, slack.Config{APIURL: fake.APIURL(), AppToken: fake.AppToken(), PostRate: 1000, PostBurst: 1000}, storeOpts...)
	c := e.client("alice")
	ctx := bounded(b)
	c.Send(&xmpp.Presence{})
	register(b, ctx, c, token)
	bobJID := jid.MustParse(slack.ContactLocalpart(slack.MakeUserID(team.ID, bob.ID)) + "@" + gwDomain)
	accept(b, ctx, c, jid.MustParse(gwDomain), bobJID)
	return &benchSetup{fake: fake, c: c, bob: bob, bobJID: bobJID, im: im}
}

// daemonBatchDelay is the store batch delay `xgate run` uses
// (cmd/xgate: storeBatchDelay).
const daemonBatchDelay = 2 * time.Millisecond

// withDaemonBatchDelay opens the store as the daemon does.
func withDaemonBatchDelay(o *store.Options) { o.BatchDelay = daemonBatchDelay }

// processCPU is the CPU time (user+system) this process used so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportPerMessage reports msg/s and the CPU per message of n messages
// since start and cpu0, and drops ns/op: the loops below do not wait for
// each message, so their time per iteration is not a message's cost. The
// CPU is this process's: the gateway, the test's XMPP client and the fake
// Slack, not Prosody. cmd/xgate-bench measures the xgate process alone.
func reportPerMessage(b *testing.B, n int, start time.Time, cpu0 time.Duration) {
	b.Helper()
	if n == 0 {
		return
	}
	b.ReportMetric(float64(n)/time.Since(start).Seconds(), "msg/s")
	b.ReportMetric(float64((processCPU()-cpu0).Microseconds())/float64(n), "cpu-µs/msg")
	b.ReportMetric(0, "ns/op")
}

// BenchmarkEndToEndXMPPToSlack measures messages an XMPP client sends to a
// Slack contact: c2s to Prosody, the component, the bridge's durable queue,
// the transport, chat.postMessage to the fake, with the store opened as the
// daemon opens it (2 ms batch delay). All are sent, then waited for.
func BenchmarkEndToEndXMPPToSlack(b *testing.B) {
	s := newBenchSetup(b, withDaemonBatchDelay)
	ctx := bounded(b)
	start, cpu0 := time.Now(), processCPU()
	n := 0
	for b.Loop() {
		s.c.Send(&xmpp.Message{Header: xmpp.Header{To: s.bobJID, Type: xmpp.MessageChat, ID: fmt.Sprint("b", n)}, Body: "*hello* there"})
		n++
	}
	// CallCount is cheap; copying the conversation at every change
	// would add the benchmark's own quadratic cost to the CPU figure.
	posted := func() bool { return s.fake.CallCount("chat.postMessage") >= n }
	if err := s.fake.WaitUntil(ctx, posted); err != nil {
		b.Fatalf("%d of %d messages arrived", len(s.fake.Messages(s.im)), n)
	}
	reportPerMessage(b, n, start, cpu0)
	if got := len(s.fake.Messages(s.im)); got != n {
		b.Fatalf("%d messages in the conversation, want %d", got, n)
	}
}

// BenchmarkEndToEndSlackToXMPP measures messages a Slack member writes to
// an XMPP user: Socket Mode, the transport, the bridge, the component,
// Prosody, the c2s client. All are posted, then waited for.
func BenchmarkEndToEndSlackToXMPP(b *testing.B) {
	s := newBenchSetup(b, withDaemonBatchDelay)
	ctx := bounded(b)
	start, cpu0 := time.Now(), processCPU()
	n := 0
	for b.Loop() {
		s.fake.Post(s.bob.ID, s.im, "hi *there*")
		n++
	}
	for i := range n {
		if _, err := s.c.Expect(ctx, messageFrom(s.bobJID, func(string) bool { return true })); err != nil {
			b.Fatalf("message %d of %d: %v", i, n, err)
		}
	}
	reportPerMessage(b, n, start, cpu0)
}
