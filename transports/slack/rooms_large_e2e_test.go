package slack_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/xgate-im/xgate/transports/slack"
	"github.com/xgate-im/xgate/transports/slack/slackfake"
	"github.com/xgate-im/xgate/xmpp"
	"github.com/xgate-im/xgate/xmpp/jid"
)

// TestRoomJoinLargeChannel: joining a channel of 1,000 members the
// gateway has never seen reads their names in a few users.list pages, not
// one users.info each, and completes within a bound (the 1,000 occupant
// presences through Prosody included).
func TestRoomJoinLargeChannel(t *testing.T) {
	fake := slackfake.New(slackfake.WithAckTimeout(500 * time.Millisecond))
	t.Cleanup(fake.Close)
	team := fake.CreateTeam("Acme")
	alice := fake.CreateUser(team.ID, slackfake.UserSpec{Name: "alice", DisplayName: "Alice"})
	token := fake.IssueUserToken(team.ID, alice.ID)
	e := startE2E(t, fake, slack.Config{
		APIURL: fake.APIURL(), AppToken: fake.AppToken(),
		PresencePoll: slack.Duration(time.Hour), PostRate: 1000, PostBurst: 1000,
	})
	c := e.client("alice")
	ctx := bounded(t)
	gw := jid.MustParse(gwDomain)
	c.Send(&xmpp.Presence{})
	register(t, ctx, c, token)
	accept(t, ctx, c, gw)
	if _, err := c.Expect(ctx, presenceFrom(gw, func(p *xmpp.Presence) bool { return strings.Contains(p.Status, "connected") })); err != nil {
		t.Fatal(err)
	}
	// The members join the workspace after alice logged in: the gateway
	// knows none of them.
	const n = 1000
	ids := []string{alice.ID}
	for i := range n {
		u := fake.CreateUser(team.ID, slackfake.UserSpec{Name: fmt.Sprintf("m%04d", i), DisplayName: fmt.Sprintf("Member %04d", i)})
		ids = append(ids, u.ID)
	}
	fake.CreateChannel(team.ID, "crowd", false, ids...)
	infoBefore := fake.CallCount("users.info")

	room := jid.MustParse("#crowd@" + gwDomain)
	start := time.Now()
	pres := joinRoom(t, ctx, c, room, "alice", `<history xmlns='http://jabber.org/protocol/muc' maxstanzas='0'/>`)
	took := time.Since(start)
	t.Logf("join of %d members: %v, users.info %d, users.list %d, conversations.members %d", n, took,
		fake.CallCount("users.info")-infoBefore, fake.CallCount("users.list"), fake.CallCount("conversations.members"))
	if len(pres) != n+1 {
		t.Fatalf("%d presences, want %d occupants and alice", len(pres), n+1)
	}
	if got := pres[0].From.Resource(); got != "Member 0000" {
		t.Errorf("first occupant %q: names not read", got)
	}
	for _, p := range pres {
		if strings.HasPrefix(p.From.Resource(), "U") {
			t.Fatalf("an occupant named by its ID: %s", p.From)
		}
	}
	if calls := fake.CallCount("users.info") - infoBefore; calls > 20 {
		t.Errorf("%d users.info calls for the join, want a few users.list pages instead", calls)
	}
	if took > 20*time.Second {
		t.Errorf("the join took %v", took)
	}
}
