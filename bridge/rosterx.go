package bridge

import (
	"context"

	"github.com/xgate-im/xgate/xmpp"
	"github.com/xgate-im/xgate/xmpp/jid"
)

// NSRosterX is XEP-0144 Roster Item Exchange.
const NSRosterX = "http://jabber.org/protocol/rosterx"

// rosterSuggestion is a contact just offered to a user, with its JID.
type rosterSuggestion struct {
	jid     jid.JID
	contact Contact
}

// suggestGroups tells the user's client, in one XEP-0144 message from the
// gateway, the roster groups of contacts it just offered (a Slack
// workspace's name, for example): a subscription request carries a
// nickname but no group. Clients without XEP-0144 ignore it; the contacts
// are offered either way.
func (ro *roster) suggestGroups(ctx context.Context, user jid.JID, cs []rosterSuggestion) {
	if len(cs) == 0 {
		return
	}
	x := xmpp.NewElement(NSRosterX, "x")
	for _, s := range cs {
		it := xmpp.NewElement("", "item", "action", "add", "jid", s.jid.String())
		if s.contact.Name != "" {
			it.SetAttr("name", s.contact.Name)
		}
		for _, g := range s.contact.Groups {
			it.Append(xmpp.TextElement("", "group", g))
		}
		x.Append(it)
	}
	m := &xmpp.Message{Header: xmpp.Header{From: ro.domain, To: user.Bare(), ID: ro.out.newID()}, Extra: []*xmpp.Element{x}}
	if err := ro.out.send(ctx, m); err != nil {
		ro.log.Warn("suggesting roster groups", "user", user, "err", err)
	}
}
