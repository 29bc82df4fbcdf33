package bridge

import (
	"context"
	"slices"
	"strings"

	"github.com/xgate-im/xgate/xmpp"
	"github.com/xgate-im/xgate/xmpp/disco"
	"github.com/xgate-im/xgate/xmpp/jid"
)

// Room discovery (XEP-0030 on the component).
//
// disco#items on the component lists the user's rooms. Groups that live
// in a parent that is not itself one of the user's groups (a Discord
// guild) are not listed at the top: the parent is, as a node of the
// component (JID the component, node "parent/" and the parent's ID, named
// by GroupInfo.ParentName), and disco#items of that node lists its rooms.
// A group whose parent is one of the user's groups (a thread under its
// channel) is listed next to that group. Groups without a parent (Slack's
// channels) are listed at the top, flat. disco#info of a parent node
// answers the identity hierarchy/branch, as the XEP-0030 registry names a
// node that holds others.

// parentNodePrefix starts the disco node of a parent.
const parentNodePrefix = "parent/"

// isParentNode reports whether a node of the component names a parent.
func isParentNode(node string) bool { return strings.HasPrefix(node, parentNodePrefix) }

// listedRoom is one of the user's groups with its room JID.
type listedRoom struct {
	group GroupInfo
	room  jid.JID
}

// topParent returns the parent under whose node a room is listed: the
// first ancestor that is not one of the rooms, or "" for a room listed
// at the top.
func topParent(g GroupInfo, byID map[ChatID]GroupInfo) ChatID {
	p := g.Parent
	for range 8 { // parents nest a few levels at most; a loop stops here
		pg, ok := byID[p]
		if !ok || pg.Parent == "" {
			break
		}
		p = pg.Parent
	}
	if _, isRoom := byID[p]; isRoom {
		return ""
	}
	return p
}

// roomItems lays out the rooms for disco#items of a node of the
// component ("" for the top); ok is false for a node that names no
// parent of the user's.
func roomItems(component jid.JID, node string, rs []listedRoom) (items *disco.Items, ok bool) {
	byID := make(map[ChatID]GroupInfo, len(rs))
	for _, r := range rs {
		byID[r.group.ID] = r.group
	}
	items = &disco.Items{Node: node}
	var parents []ChatID
	names := map[ChatID]string{}
	for _, r := range rs {
		top := topParent(r.group, byID)
		if top != "" && r.group.Parent == top && names[top] == "" {
			names[top] = r.group.ParentName
		}
		switch {
		case node == "" && top == "":
			items.Items = append(items.Items, roomItem(r))
		case node == "" && !slices.Contains(parents, top):
			parents = append(parents, top)
		case node != "" && node == parentNodePrefix+string(top):
			items.Items = append(items.Items, roomItem(r))
			ok = true
		}
	}
	if node != "" {
		return items, ok
	}
	for _, p := range parents {
		name := names[p]
		if name == "" {
			name = string(p)
		}
		items.Items = append(items.Items, disco.Item{JID: component, Node: parentNodePrefix + string(p), Name: name})
	}
	return items, true
}

// roomItem is a room's disco item, named by its group's name.
func roomItem(r listedRoom) disco.Item {
	name := r.group.Name
	if name == "" {
		name = r.room.Local()
	}
	return disco.Item{JID: r.room, Name: name}
}

// listRooms returns the user's groups, every account's, with their room
// JIDs (network I/O).
func (r *rooms) listRooms(ctx context.Context, user jid.JID) []listedRoom {
	var out []listedRoom
	for _, acc := range r.accounts.userAccounts(user) {
		gs, err := r.accountGroups(ctx, acc, true)
		if err != nil {
			acc.log.Info("listing groups for disco", "err", err)
			continue
		}
		for _, g := range gs {
			room, err := r.roomFor(ChatRef{Kind: Group, ID: g.ID, Parent: g.Parent}, g.jidName())
			if err != nil {
				acc.log.Error("mapping a room", "chat", g.ID, "err", err)
				continue
			}
			out = append(out, listedRoom{group: g, room: room})
		}
	}
	return out
}

// discoItems answers disco#items on the component, at the top or of a
// parent's node: the rooms of the user's group chats, from each
// account's group list (network I/O: run outside the dispatcher).
func (r *rooms) discoItems(ctx context.Context, iq *xmpp.IQ) {
	items, ok := roomItems(r.domain, iq.Payload.AttrValue("node"), r.listRooms(ctx, iq.From))
	if !ok {
		r.out.replyError(ctx, iq, xmpp.NewStanzaError(xmpp.CondItemNotFound, ""))
		return
	}
	r.out.reply(ctx, iq, items.Element())
}

// discoParentInfo answers disco#info of a parent's node.
func (r *rooms) discoParentInfo(ctx context.Context, iq *xmpp.IQ) {
	node := iq.Payload.AttrValue("node")
	top, _ := roomItems(r.domain, "", r.listRooms(ctx, iq.From))
	for _, it := range top.Items {
		if it.Node == node {
			r.out.reply(ctx, iq, parentDisco(node, it.Name).Element())
			return
		}
	}
	r.out.replyError(ctx, iq, xmpp.NewStanzaError(xmpp.CondItemNotFound, ""))
}

// parentDisco is the disco#info of a parent's node.
func parentDisco(node, name string) *disco.Info {
	return &disco.Info{Node: node, Identities: []disco.Identity{{Category: "hierarchy", Type: "branch", Name: name}},
		Features: []string{disco.NSInfo, disco.NSItems}}
}
