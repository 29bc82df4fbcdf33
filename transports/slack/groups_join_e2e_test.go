package slack_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	slackapi "github.com/slack-go/slack"

	"github.com/xgate-im/xgate/transports/slack"
	"github.com/xgate-im/xgate/transports/slack/slackfake"
	"github.com/xgate-im/xgate/xmpp"
	"github.com/xgate-im/xgate/xmpp/jid"
	"github.com/xgate-im/xgate/xmpp/prosodytest"
)

// TestRoomJoinsTheChannelOnSlack: through a real Prosody and slackfake,
// joining the room of a public channel the account is not in (alice left
// it on Slack) joins the channel on Slack (conversations.join) and the
// room works; leaving the room afterwards does not leave the channel.
func TestRoomJoinsTheChannelOnSlack(t *testing.T) {
	fake := slackfake.New(slackfake.WithAckTimeout(500 * time.Millisecond))
	t.Cleanup(fake.Close)
	team := fake.CreateTeam("Acme")
	alice := fake.CreateUser(team.ID, slackfake.UserSpec{Name: "alice", DisplayName: "Alice"})
	bob := fake.CreateUser(team.ID, slackfake.UserSpec{Name: "bob", DisplayName: "Bob"})
	random := fake.CreateChannel(team.ID, "random", false, alice.ID, bob.ID)
	token := fake.IssueUserToken(team.ID, alice.ID)
	api := slackapi.New(token, slackapi.OptionAPIURL(fake.APIURL())) // alice's own Slack client

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
	room := jid.MustParse("#random@" + gwDomain)
	self, _ := room.WithResource("alice")
	bobOcc, _ := room.WithResource("Bob")
	noHistory := "<history xmlns='http://jabber.org/protocol/muc' maxstanzas='0'/>"
	members := func() []string {
		ch, ok := fake.Channel(random.ID)
		if !ok {
			t.Fatalf("no channel %s", random.ID)
		}
		return ch.Members
	}

	// alice is in the room, then leaves the channel with Slack's own
	// client: she is taken out of the room (321).
	joinRoom(t, ctx, c, room, "alice", noHistory)
	if _, err := api.LeaveConversation(random.ID); err != nil {
		t.Fatal(err)
	}
	s, err := c.Expect(ctx, prosodytest.PresenceFrom(self, xmpp.PresenceUnavailable))
	if err != nil || !hasStatus(s.(*xmpp.Presence), "321") {
		t.Fatalf("removal from the room: %v %v", s, err)
	}
	if slices.Contains(members(), alice.ID) {
		t.Fatalf("alice is still in #random on Slack: %v", members())
	}

	// Joining the room again joins the channel on Slack; the room is as
	// before, Bob an occupant, messages both ways.
	pres := joinRoom(t, ctx, c, room, "alice", noHistory)
	if !slices.Contains(members(), alice.ID) {
		t.Fatalf("joining the room did not join #random on Slack: members %v", members())
	}
	if !slices.ContainsFunc(pres, func(p *xmpp.Presence) bool { return p.From == bobOcc }) {
		t.Errorf("Bob is not an occupant after the join")
	}
	fake.Post(bob.ID, random.ID, "welcome back")
	if _, err := c.Expect(ctx, groupchatFrom(bobOcc, func(b string) bool { return b == "welcome back" })); err != nil {
		t.Fatal(err)
	}
	c.Send(&xmpp.Message{Header: xmpp.Header{To: room, Type: xmpp.MessageGroupchat, ID: "m1"}, Body: "thanks"})
	if _, err := fake.WaitMessage(ctx, random.ID, func(m slackfake.Message) bool { return m.Text == "thanks" && m.User == alice.ID }); err != nil {
		t.Fatal(err)
	}

	// Leaving the room leaves the channel alone.
	c.Send(&xmpp.Presence{Header: xmpp.Header{To: self, Type: xmpp.PresenceUnavailable}})
	if s, err := c.Expect(ctx, prosodytest.PresenceFrom(self, xmpp.PresenceUnavailable)); err != nil || !hasStatus(s.(*xmpp.Presence), "110") {
		t.Fatalf("leave: %v %v", s, err)
	}
	if !slices.Contains(members(), alice.ID) {
		t.Errorf("leaving the room left #random on Slack: members %v", members())
	}
}
