package slack

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/xgate-im/xgate/bridge"
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
	if g := byID[bridge.ChatID(mpim)]; !g.Private || g.Members != 3 {
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
			{User: w.uid(w.alice), Nick: "Alice"}, {User: w.uid(w.bob), Nick: "Bob Builder"}, {User: w.uid(w.carol), Nick: "Carol"},
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
