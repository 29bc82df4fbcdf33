package slack

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/xgate-im/xgate/bridge"
	"github.com/xgate-im/xgate/transports/slack/slackfake"
)

func TestGroupsListsTheMembersConversations(t *testing.T) {
	w := newWorld(t)
	general := w.fake.CreateChannel(w.team.ID, "general", false, w.alice.ID, w.bob.ID, w.carol.ID)
	w.fake.CreateChannel(w.team.ID, "random", false, w.bob.ID) // public, alice not in it
	secret := w.fake.CreateChannel(w.team.ID, "secret", true, w.alice.ID, w.carol.ID)
	w.fake.CreateChannel(w.team.ID, "bobs", true, w.bob.ID) // private, not hers
	mpim := w.fake.OpenMPIM(w.team.ID, w.alice.ID, w.bob.ID, w.carol.ID)
	// More channels than one page of conversations.list holds.
	var many []string
	for i := range 210 {
		many = append(many, w.fake.CreateChannel(w.team.ID, fmt.Sprintf("c%03d", i), false, w.alice.ID).ID)
	}
	sess, _ := w.login(w.transport(), w.aliceTok)
	groups, err := sess.Groups(bounded(t, 10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	byID := map[bridge.ChatID]bridge.GroupInfo{}
	for _, g := range groups {
		if _, dup := byID[g.ID]; dup {
			t.Errorf("%s listed twice", g.ID)
		}
		byID[g.ID] = g
	}
	if len(groups) != 3+len(many) || w.fake.CallCount("conversations.list") < 2 {
		t.Errorf("%d groups in %d calls, want %d over several pages", len(groups), w.fake.CallCount("conversations.list"), 3+len(many))
	}
	for _, tc := range []struct {
		id   string
		want bridge.GroupInfo
	}{
		{general.ID, bridge.GroupInfo{ID: bridge.ChatID(general.ID), Name: "general", Members: 3}},
		{secret.ID, bridge.GroupInfo{ID: bridge.ChatID(secret.ID), Name: "secret", Private: true, Members: 2}},
		{many[209], bridge.GroupInfo{ID: bridge.ChatID(many[209]), Name: "c209", Members: 1}},
	} {
		if got := byID[bridge.ChatID(tc.id)]; got != tc.want {
			t.Errorf("group %s = %+v, want %+v", tc.id, got, tc.want)
		}
	}
	// A group DM is shown by its other members' names; its handle keeps
	// Slack's name, which makes its room JID.
	if g := byID[bridge.ChatID(mpim)]; !g.Private || g.Members != 3 || g.Name != "Bob Builder, Carol" || g.Handle != "mpdm-alice--bob--carol-1" {
		t.Errorf("group DM %s = %+v", mpim, g)
	}
	for i := 1; i < len(groups); i++ {
		if groups[i-1].ID >= groups[i].ID {
			t.Fatalf("groups not sorted by ID at %d", i)
		}
	}
}

func TestMembersOfAGroup(t *testing.T) {
	w := newWorld(t)
	general := w.fake.CreateChannel(w.team.ID, "general", false, w.alice.ID, w.bob.ID, w.carol.ID)
	bobs := w.fake.CreateChannel(w.team.ID, "bobs", true, w.bob.ID)
	sess, _ := w.login(w.transport(), w.aliceTok)
	for _, tc := range []struct {
		name string
		chat bridge.ChatID
		want []bridge.GroupMember
		err  error
	}{
		{"channel", bridge.ChatID(general.ID), []bridge.GroupMember{
			{User: w.uid(w.alice), Nick: "Alice", Self: true}, {User: w.uid(w.bob), Nick: "Bob Builder"}, {User: w.uid(w.carol), Nick: "Carol"},
		}, nil},
		{"private channel of others", bridge.ChatID(bobs.ID), nil, bridge.ErrNotFound},
		{"direct message", bridge.ChatID(w.aliceBob), nil, bridge.ErrNotFound},
		{"not an ID", "general", nil, bridge.ErrNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := sess.Members(bounded(t, 10*time.Second), tc.chat)
			if !errors.Is(err, tc.err) || (tc.err == nil && err != nil) {
				t.Fatalf("err %v, want %v", err, tc.err)
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("members %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestHistoryOldestFirstLikeLiveMessages(t *testing.T) {
	w := newWorld(t)
	general := w.fake.CreateChannel(w.team.ID, "general", false, w.alice.ID, w.bob.ID)
	one := w.fake.Post(w.bob.ID, general.ID, "one")
	two := w.fake.Post(w.alice.ID, general.ID, "*two*")
	w.fake.Post(w.bob.ID, general.ID, "hidden reply", slackfake.WithThread(one))
	three := w.fake.Post(w.bob.ID, general.ID, "shown reply", slackfake.WithThread(one), slackfake.WithBroadcast())
	four := w.fake.Post(w.bob.ID, general.ID, "hi <@"+w.alice.ID+">")
	w.fake.Join(w.carol.ID, general.ID) // a channel_join notice, newest
	dm := w.fake.Post(w.bob.ID, w.aliceBob, "in private")
	sess, _ := w.login(w.transport(), w.aliceTok)
	group := bridge.ChatRef{Kind: bridge.Group, ID: bridge.ChatID(general.ID)}
	direct := bridge.ChatRef{Kind: bridge.Direct, Peer: w.uid(w.bob)}
	msg := func(chat bridge.ChatRef, from bridge.UserID, ts, text string) string {
		return fmt.Sprintf("%s %s %s %q self=%v", chat.ID, from, ts, text, from == w.uid(w.alice))
	}
	for _, tc := range []struct {
		name   string
		chat   bridge.ChatRef
		before string
		limit  int
		want   []string
		err    error
	}{
		{"newest", group, "", 10, []string{
			msg(group, w.uid(w.bob), one, "one"), msg(group, w.uid(w.alice), two, "*two*"),
			msg(group, w.uid(w.bob), three, "shown reply"), msg(group, w.uid(w.bob), four, "hi @Alice"),
		}, nil},
		{"last two past the notice", group, "", 2, []string{
			msg(group, w.uid(w.bob), three, "shown reply"), msg(group, w.uid(w.bob), four, "hi @Alice"),
		}, nil},
		{"before", group, three, 5, []string{
			msg(group, w.uid(w.bob), one, "one"), msg(group, w.uid(w.alice), two, "*two*"),
		}, nil},
		{"direct by peer", direct, "", 5, []string{
			msg(bridge.ChatRef{ID: bridge.ChatID(w.aliceBob)}, w.uid(w.bob), dm, "in private"),
		}, nil},
		{"no limit", group, "", 0, nil, bridge.ErrInvalidInput},
		{"bad before", group, "yesterday", 5, nil, bridge.ErrInvalidInput},
		{"not a group", bridge.ChatRef{Kind: bridge.Group, ID: "nope"}, "", 5, nil, bridge.ErrNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			evs, err := sess.History(bounded(t, 10*time.Second), tc.chat, bridge.MessageID(tc.before), tc.limit)
			if !errors.Is(err, tc.err) || (tc.err == nil && err != nil) {
				t.Fatalf("err %v, want %v", err, tc.err)
			}
			var got []string
			for _, ev := range evs {
				if !ev.Historical || ev.Time.IsZero() || ev.Chat.Kind != tc.chat.Kind {
					t.Errorf("event %+v: not historical, no time or wrong kind", ev)
				}
				got = append(got, msg(ev.Chat, ev.Sender, string(ev.ID), ev.Text))
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("history\n%q\nwant\n%q", got, tc.want)
			}
		})
	}
	if evs, err := sess.History(bounded(t, 10*time.Second), group, "", 10); err == nil && (len(evs[3].Mentions) != 1 || evs[3].Mentions[0].User != w.uid(w.alice)) {
		t.Errorf("mentions %+v", evs[3].Mentions)
	}
}

func TestJoinLeaveAndTopic(t *testing.T) {
	w := newWorld(t)
	random := w.fake.CreateChannel(w.team.ID, "random", false, w.bob.ID)
	secret := w.fake.CreateChannel(w.team.ID, "secret", true, w.alice.ID, w.bob.ID)
	bobs := w.fake.CreateChannel(w.team.ID, "bobs", true, w.bob.ID)
	lobby := w.fake.CreateChannel(w.team.ID, "lobby", false, w.bob.ID)
	mpim := w.fake.OpenMPIM(w.team.ID, w.alice.ID, w.bob.ID, w.carol.ID)
	sess, _ := w.login(w.transport(), w.aliceTok)
	member := func(ch string) bool {
		c, _ := w.fake.Channel(ch)
		return slices.Contains(c.Members, w.alice.ID)
	}
	for _, tc := range []struct {
		name   string
		op     func(context.Context) error
		err    error
		chat   string
		member bool
	}{
		{"join public", func(ctx context.Context) error { return sess.JoinGroup(ctx, bridge.ChatID(random.ID)) }, nil, random.ID, true},
		{"join again", func(ctx context.Context) error { return sess.JoinGroup(ctx, bridge.ChatID(random.ID)) }, nil, random.ID, true},
		{"join a private one she is in", func(ctx context.Context) error { return sess.JoinGroup(ctx, bridge.ChatID(secret.ID)) }, nil, secret.ID, true},
		{"join a private one she is not in", func(ctx context.Context) error { return sess.JoinGroup(ctx, bridge.ChatID(bobs.ID)) }, bridge.ErrNotFound, bobs.ID, false},
		{"join a DM", func(ctx context.Context) error { return sess.JoinGroup(ctx, bridge.ChatID(w.aliceBob)) }, bridge.ErrNotFound, w.aliceBob, true},
		{"topic", func(ctx context.Context) error { return sess.SetTopic(ctx, bridge.ChatID(random.ID), "Fun & games") }, nil, random.ID, true},
		{"topic too long", func(ctx context.Context) error {
			return sess.SetTopic(ctx, bridge.ChatID(random.ID), strings.Repeat("é", 251))
		}, bridge.ErrInvalidInput, random.ID, true},
		{"topic elsewhere", func(ctx context.Context) error { return sess.SetTopic(ctx, bridge.ChatID(bobs.ID), "x") }, bridge.ErrNotFound, bobs.ID, false},
		{"leave", func(ctx context.Context) error { return sess.LeaveGroup(ctx, bridge.ChatID(secret.ID)) }, nil, secret.ID, false},
		{"leave a private one she left", func(ctx context.Context) error { return sess.LeaveGroup(ctx, bridge.ChatID(secret.ID)) }, bridge.ErrNotFound, secret.ID, false},
		{"leave a public one she is not in", func(ctx context.Context) error { return sess.LeaveGroup(ctx, bridge.ChatID(lobby.ID)) }, nil, lobby.ID, false},
		{"leave a group DM", func(ctx context.Context) error { return sess.LeaveGroup(ctx, bridge.ChatID(mpim)) }, nil, mpim, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.op(bounded(t, 10*time.Second))
			if !errors.Is(err, tc.err) || (tc.err == nil && err != nil) {
				t.Fatalf("err %v, want %v", err, tc.err)
			}
			if member(tc.chat) != tc.member {
				t.Errorf("member of %s: %v, want %v", tc.chat, !tc.member, tc.member)
			}
		})
	}
	groups, err := sess.Groups(bounded(t, 10*time.Second))
	if err != nil || len(groups) != 1 || groups[0].ID != bridge.ChatID(random.ID) || groups[0].Topic != "Fun & games" {
		t.Errorf("groups %+v, %v", groups, err)
	}
}

// Members joining (the fake's member_joined_channel) and leaving, and
// topic changes (channel_topic), become the group events of the room side.
func TestGroupEventsFromSlack(t *testing.T) {
	w := newWorld(t)
	general := w.fake.CreateChannel(w.team.ID, "general", false, w.alice.ID, w.carol.ID)
	tr := w.transport()
	_, sink := w.login(tr, w.aliceTok)
	ctx := bounded(t, 10*time.Second)

	w.fake.Join(w.bob.ID, general.ID)
	j := waitFor(t, sink, func(m bridge.MemberEvent) bool { return !m.Left })
	if j.Chat != bridge.ChatID(general.ID) || j.Member != (bridge.GroupMember{User: w.uid(w.bob), Nick: "Bob Builder"}) {
		t.Errorf("join %+v", j)
	}
	envelope := func(id, event string) {
		payload := `{"type":"event_callback","team_id":"` + w.team.ID + `","event_id":"` + id + `","event":` + event + `}`
		onPayload(t, ctx, tr, "envelope-"+id, payload)
	}
	envelope("EvLeft", `{"type":"member_left_channel","user":"`+w.bob.ID+`","channel":"`+general.ID+`","channel_type":"C","team":"`+w.team.ID+`"}`)
	l := waitFor(t, sink, func(m bridge.MemberEvent) bool { return m.Left })
	if l.Chat != bridge.ChatID(general.ID) || l.Member.User != w.uid(w.bob) {
		t.Errorf("leave %+v", l)
	}
	envelope("EvTopic", `{"type":"message","subtype":"channel_topic","channel":"`+general.ID+`","channel_type":"channel","user":"`+w.carol.ID+`","topic":"Ship it","text":"set the channel topic: Ship it","ts":"1.000001"}`)
	tp := waitFor[bridge.TopicEvent](t, sink, nil)
	if tp != (bridge.TopicEvent{Chat: bridge.ChatID(general.ID), Topic: "Ship it", By: w.uid(w.carol)}) {
		t.Errorf("topic %+v", tp)
	}
	// The account's own member leaving is the account leaving the group.
	envelope("EvSelfLeft", `{"type":"member_left_channel","user":"`+w.alice.ID+`","channel":"`+general.ID+`","channel_type":"C","team":"`+w.team.ID+`"}`)
	if g := waitFor(t, sink, func(g bridge.GroupEvent) bool { return g.Left }); g.Group.ID != bridge.ChatID(general.ID) {
		t.Errorf("own leave %+v", g)
	}
	// Without its topic field, the channel's topic is read.
	if _, err := slack.New(w.aliceTok, slack.OptionAPIURL(w.fake.APIURL())).SetTopicOfConversationContext(ctx, general.ID, "Ship it again"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, sink, func(tp bridge.TopicEvent) bool { return tp.Topic == "Ship it again" && tp.By == w.uid(w.alice) })
	// A membership event that names no conversation is reported, not
	// passed on.
	envelope("EvBad", `{"type":"member_joined_channel","user":"`+w.bob.ID+`"}`)
	waitFor(t, sink, func(u bridge.UnknownEvent) bool { return strings.Contains(u.Detail, "malformed membership") })
}
