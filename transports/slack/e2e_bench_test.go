package slack_test

import (
	"fmt"
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

// BenchmarkEndToEndXMPPToSlack measures messages an XMPP client sends to a
// Slack contact: c2s to Prosody, the component, the bridge's durable queue,
// the transport, chat.postMessage to the fake. All are sent, then waited
// for. With the store's default batch delay (10 ms), each message of a
// chat waits for it; "batch-delay=100us" shows the rest of the path.
func BenchmarkEndToEndXMPPToSlack(b *testing.B) {
	b.Run("store-defaults", func(b *testing.B) { benchXMPPToSlack(b, newBenchSetup(b)) })
	b.Run("batch-delay=100us", func(b *testing.B) {
		benchXMPPToSlack(b, newBenchSetup(b, func(o *store.Options) { o.BatchDelay = 100 * time.Microsecond }))
	})
}

func benchXMPPToSlack(b *testing.B, s *benchSetup) {
	ctx := bounded(b)
	start := time.Now()
	n := 0
	for b.Loop() {
		s.c.Send(&xmpp.Message{Header: xmpp.Header{To: s.bobJID, Type: xmpp.MessageChat, ID: fmt.Sprint("b", n)}, Body: "*hello* there"})
		n++
	}
	if err := s.fake.WaitUntil(ctx, func() bool { return len(s.fake.Messages(s.im)) >= n }); err != nil {
		b.Fatalf("%d of %d messages arrived", len(s.fake.Messages(s.im)), n)
	}
	b.ReportMetric(float64(n)/time.Since(start).Seconds(), "msgs/s")
}

// BenchmarkEndToEndSlackToXMPP measures messages a Slack member writes to
// an XMPP user: Socket Mode, the transport, the bridge, the component,
// Prosody, the c2s client. All are posted, then waited for.
func BenchmarkEndToEndSlackToXMPP(b *testing.B) {
	s := newBenchSetup(b)
	ctx := bounded(b)
	start := time.Now()
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
	b.ReportMetric(float64(n)/time.Since(start).Seconds(), "msgs/s")
}
