package bridge

import (
	"testing"

	"github.com/xgate-im/xgate/xmpp/jid"
)

// TestRoomItems: rooms in a parent that is not a room are listed under
// the parent's node (a Discord guild and its channels, a thread next to
// its channel); rooms without a parent are listed flat at the top (Slack).
func TestRoomItems(t *testing.T) {
	gw := jid.MustParse("gw.example.org")
	room := func(g GroupInfo) listedRoom {
		return listedRoom{g, jid.MustParse(roomLocalpart(g.Name, g.ID, gw.Domain()) + "@" + gw.Domain())}
	}
	discord := []listedRoom{
		room(GroupInfo{ID: "c1", Parent: "g1", ParentName: "Hub", Name: "Hub #general"}),
		room(GroupInfo{ID: "t1", Parent: "c1", ParentName: "Hub #general", Name: "Hub #general › plans"}),
		room(GroupInfo{ID: "c2", Parent: "g1", ParentName: "Hub", Name: "Hub #random"}),
		room(GroupInfo{ID: "c3", Parent: "g2", Name: "#lobby"}),
		room(GroupInfo{ID: "d1", Name: "Alice, Bob"}),
	}
	slack := []listedRoom{
		room(GroupInfo{ID: "C1", Name: "general"}),
		room(GroupInfo{ID: "C2"}),
	}
	for _, tc := range []struct {
		golden, node string
		rooms        []listedRoom
		ok           bool
	}{
		{"disco-items-parents", "", discord, true},
		{"disco-items-parent", "parent/g1", discord, true},
		{"disco-items-parent-unnamed", "parent/g2", discord, true},
		{"disco-items-flat", "", slack, true},
		{"", "parent/c1", discord, false}, // a room is not a parent node
		{"", "parent/nope", discord, false},
		{"", "parent/g1", slack, false},
	} {
		items, ok := roomItems(gw, tc.node, tc.rooms)
		if ok != tc.ok {
			t.Errorf("node %q: ok %v, want %v", tc.node, ok, tc.ok)
			continue
		}
		if ok {
			checkGolden(t, tc.golden, items.Element().String())
		}
	}
	checkGolden(t, "disco-parent-info", parentDisco("parent/g1", "Hub").Element().String())
}
