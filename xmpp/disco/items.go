package disco

import (
	"github.com/xgate-im/xgate/xmpp"
	"github.com/xgate-im/xgate/xmpp/jid"
)

// Item is one item of a disco#items result (XEP-0030 §4): an entity, or a
// node of one, that the queried entity lists. JID is a parsed jid.JID
// rather than a string so that every item xgate writes carries a valid,
// canonical address; ParseItems refuses items whose address is not one.
type Item struct {
	// JID is the item's address; required.
	JID jid.JID
	// Node is a node at that address, or "".
	Node string
	// Name is a human-readable name, or "".
	Name string
}

// Items is a disco#items result. Like Info, it is a plain value.
type Items struct {
	// Node is the node queried, or "" for the entity itself.
	Node string
	// Items are the items, in order.
	Items []Item
}

// Element returns <query xmlns="http://jabber.org/protocol/disco#items">
// with the node and the items in order.
func (it *Items) Element() *xmpp.Element {
	q := xmpp.NewElement(NSItems, "query", "node", it.Node)
	for _, item := range it.Items {
		q.Append(xmpp.NewElement(NSItems, "item",
			"jid", item.JID.String(), "node", item.Node, "name", item.Name))
	}
	return q
}

// ParseItems reads a disco#items <query/> element. Every item needs a jid
// attribute holding a valid JID, which is canonicalized; errors wrap
// ErrInvalid (and jid.ErrMalformed for a bad address). Children in other
// namespaces, such as a result set (XEP-0059), are ignored.
func ParseItems(el *xmpp.Element) (*Items, error) {
	if el == nil || el.Name.Space != NSItems || el.Name.Local != "query" {
		return nil, invalid(nil, "parse items: not a <query xmlns=%q/>", NSItems)
	}
	its := &Items{Node: el.AttrValue("node")}
	for _, c := range el.Children() {
		if !inNS(c, NSItems) || c.Name.Local != "item" {
			continue
		}
		j, err := jid.Parse(c.AttrValue("jid"))
		if err != nil {
			return nil, invalid(err, "parse items: item %d", len(its.Items)+1)
		}
		its.Items = append(its.Items, Item{JID: j, Node: c.AttrValue("node"), Name: c.AttrValue("name")})
	}
	return its, nil
}
