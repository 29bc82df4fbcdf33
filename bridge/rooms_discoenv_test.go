package bridge_test

import (
	"testing"

	"github.com/xgate-im/xgate/bridge"
	"github.com/xgate-im/xgate/bridge/bridgetest"
	"github.com/xgate-im/xgate/xmpp"
	"github.com/xgate-im/xgate/xmpp/disco"
)

// TestRoomDiscoHierarchy: through the gateway, disco#items lists a
// parent as a node of the component (named by ParentName), the node
// lists its rooms and answers disco#info as a branch; a node that names
// no parent of the user's is item-not-found.
func TestRoomDiscoHierarchy(t *testing.T) {
	tr := bridgetest.New()
	tr.Caps = func(c *bridge.Capabilities) { c.Groups = true }
	tr.SetGroups("acct-alice",
		bridge.GroupInfo{ID: "g1", Name: "Lounge"},
		bridge.GroupInfo{ID: "c1", Parent: "guild1", ParentName: "Hub", Name: "Hub #general"},
		bridge.GroupInfo{ID: "c2", Parent: "guild1", ParentName: "Hub", Name: "Hub #random"},
	)
	tr.SetGroups("acct-bob", bridge.GroupInfo{ID: "c9", Parent: "guild9", ParentName: "Secret", Name: "Secret #x"})
	e := newEnvWith(t, tr)
	e.register(alice, "good-alice")
	e.register("bob@example.org", "good-bob")

	items := func(id, node string) (*xmpp.IQ, []disco.Item) {
		t.Helper()
		if node == "" {
			e.send(`<iq type='get' id='%s' from='%s/a' to='%s'><query xmlns='http://jabber.org/protocol/disco#items'/></iq>`, id, alice, domain)
		} else {
			e.send(`<iq type='get' id='%s' from='%s/a' to='%s'><query xmlns='http://jabber.org/protocol/disco#items' node='%s'/></iq>`, id, alice, domain, node)
		}
		iq := e.expectIQ(id)
		if iq.Type != xmpp.IQResult {
			return iq, nil
		}
		its, err := disco.ParseItems(iq.Payload)
		if err != nil {
			t.Fatal(err)
		}
		return iq, its.Items
	}
	_, top := items("top", "")
	if len(top) != 2 || top[0].JID.String() != "#lounge@"+domain || top[1].JID.String() != domain || top[1].Node != "parent/guild1" || top[1].Name != "Hub" {
		t.Fatalf("top items %+v", top)
	}
	_, hub := items("hub", "parent/guild1")
	if len(hub) != 2 || hub[0].Name != "Hub #general" || hub[1].Name != "Hub #random" || hub[0].JID.Local() == "" {
		t.Fatalf("Hub's items %+v", hub)
	}
	if iq, _ := items("bobs", "parent/guild9"); errCond(iq) != xmpp.CondItemNotFound {
		t.Errorf("another user's parent: %s", iq.Element())
	}
	e.send(`<iq type='get' id='info' from='%s/a' to='%s'><query xmlns='http://jabber.org/protocol/disco#info' node='parent/guild1'/></iq>`, alice, domain)
	iq := e.expectIQ("info")
	info, err := disco.ParseInfo(iq.Payload)
	if err != nil || len(info.Identities) != 1 || info.Identities[0].Category != "hierarchy" || info.Identities[0].Name != "Hub" || !info.HasFeature(disco.NSItems) {
		t.Errorf("disco#info of the parent node %s (%v)", iq.Element(), err)
	}
	// The node's rooms can be joined like any other.
	pres := e.join(alice+"/a", hub[0].JID.String()+"/alice", "<history maxstanzas='0'/>")
	if len(pres) == 0 {
		t.Fatal("no join")
	}
}
