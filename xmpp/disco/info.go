package disco

import (
	"slices"

	"github.com/xgate-im/xgate/xmpp"
	"github.com/xgate-im/xgate/xmpp/form"
)

// Namespaces of service discovery and entity capabilities.
const (
	// NSInfo is the namespace of disco#info queries (XEP-0030 §3).
	NSInfo = "http://jabber.org/protocol/disco#info"
	// NSItems is the namespace of disco#items queries (XEP-0030 §4).
	NSItems = "http://jabber.org/protocol/disco#items"
	// NSCaps is the namespace of the entity capabilities element
	// (XEP-0115).
	NSCaps = "http://jabber.org/protocol/caps"
)

// Identity is one identity of an entity (XEP-0030 §3.1): what kind of thing
// it is, from the registry of categories and types (a gateway is category
// "gateway" with a type such as "slack" or "sms"; a chat room service is
// "conference"/"text").
type Identity struct {
	// Category and Type are required.
	Category string
	Type     string
	// Name is a human-readable name, in the language Lang.
	Name string
	// Lang is the xml:lang of the identity, or "". An entity may give the
	// same category and type once per language.
	Lang string
}

// Info is a disco#info result: the identities and features of an entity
// or of one of its nodes, and optional extended information (XEP-0128).
// An Info is a plain value: safe to read from several goroutines, not to
// change while others read it.
type Info struct {
	// Node is the node queried, or "" for the entity itself.
	Node string
	// Identities are the entity's identities, in order.
	Identities []Identity
	// Features are the namespaces and feature names the entity supports.
	// Element writes them sorted and without duplicates; ParseInfo keeps
	// them as received.
	Features []string
	// Forms are extended information forms (XEP-0128), each of type
	// result with a hidden FORM_TYPE field.
	Forms []*form.Form
}

// Element returns <query xmlns="http://jabber.org/protocol/disco#info">
// with the node, the identities in order, the features sorted by byte value
// with duplicates and empty strings left out, and the extended forms.
func (i *Info) Element() *xmpp.Element {
	q := xmpp.NewElement(NSInfo, "query", "node", i.Node)
	for _, id := range i.Identities {
		q.Append(xmpp.NewElement(NSInfo, "identity",
			"category", id.Category, "type", id.Type, "name", id.Name, "xml:lang", id.Lang))
	}
	for _, f := range normalFeatures(i.Features) {
		q.Append(xmpp.NewElement(NSInfo, "feature", "var", f))
	}
	for _, f := range i.Forms {
		if f != nil {
			q.Append(f.Element())
		}
	}
	return q
}

// normalFeatures returns features sorted, without duplicates and without
// empty strings, in a new slice.
func normalFeatures(features []string) []string {
	out := slices.DeleteFunc(slices.Clone(features), func(f string) bool { return f == "" })
	slices.Sort(out)
	return slices.Compact(out)
}

// HasFeature reports whether the entity advertises feature f.
func (i *Info) HasFeature(f string) bool { return slices.Contains(i.Features, f) }

// ParseInfo reads a disco#info <query/> element. It requires category and
// type on every identity, var on every feature and a valid data form in
// every <x xmlns="jabber:x:data"/>; errors wrap ErrInvalid (and, for a
// form, the form package's error). Features are kept as received,
// duplicates included, so that VerifyCaps can see them. Children in other
// namespaces are ignored.
func ParseInfo(el *xmpp.Element) (*Info, error) {
	if el == nil || el.Name.Space != NSInfo || el.Name.Local != "query" {
		return nil, invalid(nil, "parse info: not a <query xmlns=%q/>", NSInfo)
	}
	info := &Info{Node: el.AttrValue("node")}
	for _, c := range el.Children() {
		switch {
		case c.Name.Space == form.NS && c.Name.Local == "x":
			f, err := form.Parse(c)
			if err != nil {
				return nil, invalid(err, "parse info: extended form %d", len(info.Forms)+1)
			}
			info.Forms = append(info.Forms, f)
		case !inNS(c, NSInfo):
			// Another namespace: not ours to read.
		case c.Name.Local == "identity":
			id := Identity{
				Category: c.AttrValue("category"),
				Type:     c.AttrValue("type"),
				Name:     c.AttrValue("name"),
				Lang:     c.AttrValue("xml:lang"),
			}
			if id.Category == "" || id.Type == "" {
				return nil, invalid(nil, "parse info: identity %d lacks a category or type", len(info.Identities)+1)
			}
			info.Identities = append(info.Identities, id)
		case c.Name.Local == "feature":
			v := c.AttrValue("var")
			if v == "" {
				return nil, invalid(nil, "parse info: feature %d has no var", len(info.Features)+1)
			}
			info.Features = append(info.Features, v)
		}
	}
	return info, nil
}

// inNS reports whether c is in space; trees built in code may leave a
// child's namespace empty to inherit its parent's.
func inNS(c *xmpp.Element, space string) bool { return c.Name.Space == space || c.Name.Space == "" }
