package prosodytest

import (
	"context"
	"fmt"

	"github.com/xgate-im/xgate/xmpp"
	"github.com/xgate-im/xgate/xmpp/jid"
)

// nsRoster is the roster namespace (RFC 6121 §2).
const nsRoster = "jabber:iq:roster"

// RosterItem is one contact of a roster (RFC 6121 §2.1.2).
type RosterItem struct {
	// JID is the contact's bare JID as the server wrote it.
	JID string
	// Name is the user's nickname for the contact, often "".
	Name string
	// Subscription is "none", "to", "from" or "both" ("none" when the
	// server leaves it out), or "remove" in a push.
	Subscription string
	// Ask is "subscribe" while an outbound request is pending, else "".
	Ask string
	// Groups are the contact's roster groups, in document order.
	Groups []string
}

// Roster fetches the user's roster (a jabber:iq:roster get). It also makes
// the session an "interested resource": Prosody sends roster pushes only to
// sessions that fetched the roster (RFC 6121 §2.1.6).
func (c *Client) Roster(ctx context.Context) ([]RosterItem, error) {
	res, err := c.Request(ctx, &xmpp.IQ{Header: xmpp.Header{Type: xmpp.IQGet}, Payload: xmpp.NewElement(nsRoster, "query")})
	if err != nil {
		return nil, fmt.Errorf("prosodytest: roster get: %w", err)
	}
	if res.Type != xmpp.IQResult {
		return nil, fmt.Errorf("prosodytest: roster get: %w", iqError(res))
	}
	return parseRoster(res.Payload), nil
}

// parseRoster reads the items of a roster <query/>; nil yields nil. Items
// without a jid are skipped.
func parseRoster(q *xmpp.Element) []RosterItem {
	if q == nil {
		return nil
	}
	var items []RosterItem
	for _, el := range q.Children() {
		if el.Name.Local != "item" || el.AttrValue("jid") == "" {
			continue
		}
		it := RosterItem{
			JID:          el.AttrValue("jid"),
			Name:         el.AttrValue("name"),
			Subscription: el.AttrValue("subscription"),
			Ask:          el.AttrValue("ask"),
		}
		if it.Subscription == "" {
			it.Subscription = "none"
		}
		for _, g := range el.Children() {
			if g.Name.Local == "group" {
				it.Groups = append(it.Groups, g.Text())
			}
		}
		items = append(items, it)
	}
	return items
}

// ParseRosterPush returns the item of a roster push received through Next
// or Expect, or false when s is not a roster push.
func ParseRosterPush(s xmpp.Stanza) (RosterItem, bool) {
	iq, ok := s.(*xmpp.IQ)
	if !ok || iq.Type != xmpp.IQSet || iq.Payload == nil || iq.Payload.Name.Space != nsRoster {
		return RosterItem{}, false
	}
	items := parseRoster(iq.Payload)
	if len(items) != 1 {
		return RosterItem{}, false
	}
	return items[0], true
}

// SetRosterItem adds the contact item.JID to the roster or updates its name
// and groups (a jabber:iq:roster set). Subscription and Ask are ignored.
func (c *Client) SetRosterItem(ctx context.Context, item RosterItem) error {
	el := xmpp.NewElement("", "item", "jid", item.JID, "name", item.Name)
	for _, g := range item.Groups {
		el.Append(xmpp.TextElement("", "group", g))
	}
	return c.rosterSet(ctx, el)
}

// RemoveRosterItem removes contact from the roster, which also cancels the
// subscriptions both ways.
func (c *Client) RemoveRosterItem(ctx context.Context, contact jid.JID) error {
	return c.rosterSet(ctx, xmpp.NewElement("", "item", "jid", contact.Bare().String(), "subscription", "remove"))
}

func (c *Client) rosterSet(ctx context.Context, item *xmpp.Element) error {
	q := xmpp.NewElement(nsRoster, "query").Append(item)
	res, err := c.Request(ctx, &xmpp.IQ{Header: xmpp.Header{Type: xmpp.IQSet}, Payload: q})
	if err != nil {
		return fmt.Errorf("prosodytest: roster set %s: %w", item.AttrValue("jid"), err)
	}
	if res.Type != xmpp.IQResult {
		return fmt.Errorf("prosodytest: roster set %s: %w", item.AttrValue("jid"), iqError(res))
	}
	return nil
}

// Subscribe asks contact for a presence subscription (RFC 6121 §3.1.1).
func (c *Client) Subscribe(contact jid.JID) error {
	return c.sendPresence(contact, xmpp.PresenceSubscribe)
}

// Approve grants contact a subscription to the user's presence, answering
// its request or pre-approving one (RFC 6121 §3.1.4, §3.4).
func (c *Client) Approve(contact jid.JID) error {
	return c.sendPresence(contact, xmpp.PresenceSubscribed)
}

// Deny refuses or cancels contact's subscription to the user's presence
// (RFC 6121 §3.2).
func (c *Client) Deny(contact jid.JID) error {
	return c.sendPresence(contact, xmpp.PresenceUnsubscribed)
}

func (c *Client) sendPresence(to jid.JID, typ string) error {
	return c.Send(&xmpp.Presence{Header: xmpp.Header{To: to.Bare(), Type: typ}})
}

// AnswerSubscription waits until ctx is done for a subscription request
// from from (any resource of it) and approves or denies it. Other stanzas
// stay queued.
func (c *Client) AnswerSubscription(ctx context.Context, from jid.JID, approve bool) error {
	if _, err := c.Expect(ctx, PresenceFrom(from.Bare(), xmpp.PresenceSubscribe)); err != nil {
		return err
	}
	if approve {
		return c.Approve(from)
	}
	return c.Deny(from)
}

// iqError returns the error carried by a response that is not a result.
func iqError(res *xmpp.IQ) error {
	if res.Error != nil {
		return res.Error
	}
	return fmt.Errorf("iq %s answered with type %q", res.ID, res.Type)
}
