package bridge

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/xgate-im/xgate/store"
	"github.com/xgate-im/xgate/xmpp"
	"github.com/xgate-im/xgate/xmpp/disco"
	"github.com/xgate-im/xgate/xmpp/jid"
)

// NSNick is XEP-0172 user nickname.
const NSNick = "http://jabber.org/protocol/nick"

// capsNode is the XEP-0115 node of xgate's entities.
const capsNode = "https://github.com/xgate-im/xgate"

// reofferAfter is how long an unanswered subscription request waits before
// it is sent again (at the next login).
const reofferAfter = 7 * 24 * time.Hour

// gatewayPresence is the presence of the gateway JID for a user: it shows
// the user's login state on this network.
func (g *Gateway) gatewayPresence(user jid.JID) *xmpp.Presence {
	p := &xmpp.Presence{Header: xmpp.Header{From: g.domain, To: user.Bare()}}
	accs := g.userAccounts(user)
	if len(accs) == 0 {
		p.Type = xmpp.PresenceUnavailable
		p.Status = "Not registered"
		return p
	}
	var lines []string
	for _, a := range accs {
		_, state, reason := a.snapshot()
		name := a.data.Name
		if name == "" {
			name = string(a.data.ID)
		}
		switch state {
		case LoggedIn:
			lines = append(lines, name+": connected")
		case Connecting:
			if p.Show == "" {
				p.Show = "away"
			}
			line := name + ": connecting"
			if reason != "" {
				line += " (" + reason + ")"
			}
			lines = append(lines, line)
		case LoggedOut:
			p.Show = "xa"
			lines = append(lines, name+": logged out: "+reason+". Register again to reconnect.")
		}
	}
	p.Status = strings.Join(lines, "\n")
	p.Extra = append(p.Extra, disco.CapsElement(capsNode, g.gatewayInfo()))
	return p
}

// announceGateway sends the gateway's presence to a user.
func (g *Gateway) announceGateway(ctx context.Context, user jid.JID) {
	g.sendEphemeral(ctx, g.gatewayPresence(user))
}

// announceAll sends every user the gateway's presence and their contacts'
// presence, after the component (re)connected.
func (g *Gateway) announceAll() {
	ctx := g.runCtx
	if ctx == nil {
		return
	}
	g.wg.Go(func() {
		for _, u := range g.users() {
			g.announceGateway(ctx, u)
			items, err := g.db.Roster(u.String(), g.cfg.Name)
			if err != nil {
				continue
			}
			for _, it := range items {
				if it.Subscription != "to" && it.Subscription != "both" {
					continue
				}
				if c, err := jid.Parse(it.Contact); err == nil {
					g.sendContactPresence(ctx, c, u)
				}
			}
		}
	})
}

// contactPresence converts the cached presence of a contact.
func (g *Gateway) contactPresence(contact jid.JID, to jid.JID) *xmpp.Presence {
	p := &xmpp.Presence{Header: xmpp.Header{From: contact, To: to}}
	uid, err := g.contacts.userFor(contact.Local())
	if err != nil {
		p.Type = xmpp.PresenceUnavailable
		return p
	}
	g.mu.Lock()
	pr, known := g.presence[uid]
	g.mu.Unlock()
	if !known {
		if g.info.Capabilities.Presence {
			p.Type = xmpp.PresenceUnavailable
		}
	} else {
		applyPresence(p, pr)
	}
	if p.Type == xmpp.PresenceAvailable {
		p.Extra = append(p.Extra, disco.CapsElement(capsNode, g.contactInfo()))
	}
	return p
}

func applyPresence(p *xmpp.Presence, pr Presence) {
	switch pr.Show {
	case ShowOffline:
		p.Type = xmpp.PresenceUnavailable
	case ShowChat:
		p.Show = "chat"
	case ShowAway:
		p.Show = "away"
	case ShowXA:
		p.Show = "xa"
	case ShowDND:
		p.Show = "dnd"
	}
	p.Status = pr.Status
}

func (g *Gateway) sendContactPresence(ctx context.Context, contact, to jid.JID) {
	g.sendEphemeral(ctx, g.contactPresence(contact, to))
}

// syncContacts offers the account's contacts to the user's roster.
func (g *Gateway) syncContacts(ctx context.Context, acc *account, sess Session) {
	cs, err := sess.Contacts(ctx)
	if err != nil {
		acc.log.Warn("listing contacts", "err", err)
		return
	}
	for _, c := range cs {
		if ctx.Err() != nil {
			return
		}
		g.offerContact(ctx, acc, c)
	}
}

// offerContact makes sure a contact is in the user's roster: it asks the
// user to accept a subscription from the contact JID (with its nickname)
// unless the user already did, or was asked recently.
func (g *Gateway) offerContact(ctx context.Context, acc *account, c Contact) {
	if c.Deactivated {
		// Not offered; one already in the roster shows why it went quiet.
		cj, err := g.contacts.jidFor(c.ID)
		if err != nil {
			return
		}
		if _, err := g.db.GetRosterItem(acc.user.String(), g.cfg.Name, cj.String()); err == nil {
			g.mu.Lock()
			g.presence[c.ID] = Presence{Show: ShowOffline, Status: "Account deactivated"}
			g.mu.Unlock()
			g.sendEphemeral(ctx, &xmpp.Presence{Header: xmpp.Header{From: cj, To: acc.user, Type: xmpp.PresenceUnavailable}, Status: "Account deactivated"})
		}
		return
	}
	cj, err := g.contacts.jidFor(c.ID)
	if err != nil {
		acc.log.Error("mapping contact", "contact", c.ID, "err", err)
		return
	}
	g.noteRoute(acc, c.ID)
	ask := false
	g.updateRosterItem(acc.user, cj, func(it *store.RosterItem, fresh bool) bool {
		accepted := it.Subscription == "from" || it.Subscription == "both"
		changed := fresh || it.Name != c.Name || !equalStrings(it.Groups, c.Groups)
		it.Name, it.Groups = c.Name, c.Groups
		if !accepted && time.Since(it.AskedAt) > reofferAfter {
			it.AskedAt = time.Now()
			ask, changed = true, true
		}
		return changed
	})
	if !ask {
		return
	}
	p := &xmpp.Presence{Header: xmpp.Header{From: cj, To: acc.user, Type: xmpp.PresenceSubscribe}}
	if c.Name != "" {
		p.Extra = append(p.Extra, xmpp.TextElement(NSNick, "nick", c.Name))
	}
	if err := g.send(ctx, p); err != nil {
		acc.log.Error("offering contact", "contact", cj, "err", err)
	}
}

// updateRosterItem changes a stored roster item under the roster lock, so
// that concurrent changes (a login offering contacts while the user answers
// subscriptions) never overwrite each other. update reports whether to
// store the result.
func (g *Gateway) updateRosterItem(user, contact jid.JID, update func(it *store.RosterItem, fresh bool) bool) {
	g.rosterMu.Lock()
	defer g.rosterMu.Unlock()
	u := user.Bare().String()
	it, err := g.db.GetRosterItem(u, g.cfg.Name, contact.String())
	fresh := errors.Is(err, store.ErrNotFound)
	switch {
	case fresh:
		it = store.RosterItem{User: u, Transport: g.cfg.Name, Contact: contact.String(), Subscription: "none"}
	case err != nil:
		g.log.Error("reading roster item", "err", err)
		return
	}
	if !update(&it, fresh) {
		return
	}
	if err := g.db.PutRosterItem(it); err != nil {
		g.log.Error("storing roster item", "err", err)
	}
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// setSubscription records a subscription change of a roster item.
func (g *Gateway) setSubscription(user, contact jid.JID, next func(sub string) string) {
	g.updateRosterItem(user, contact, func(it *store.RosterItem, fresh bool) bool {
		n := next(it.Subscription)
		changed := n != it.Subscription
		it.Subscription = n
		return changed || fresh
	})
}

// Subscription algebra, from the user's side: "to" means the user sees
// the contact's presence, "from" means the contact sees the user's.
func addTo(s string) string {
	switch s {
	case "from", "both":
		return "both"
	}
	return "to"
}

func addFrom(s string) string {
	switch s {
	case "to", "both":
		return "both"
	}
	return "from"
}

func removeTo(s string) string {
	switch s {
	case "both", "from":
		return "from"
	}
	return "none"
}

func removeFrom(s string) string {
	switch s {
	case "both", "to":
		return "to"
	}
	return "none"
}

// handlePresence handles presence addressed to the gateway or a contact.
func (g *Gateway) handlePresence(ctx context.Context, p *xmpp.Presence) {
	if p.To.Local() == "" {
		g.handleGatewayPresence(ctx, p)
		return
	}
	if p.Type == xmpp.PresenceError {
		return
	}
	contact := p.To.Bare()
	if _, err := g.contacts.userFor(contact.Local()); err != nil {
		if p.Type == xmpp.PresenceSubscribe || p.Type == xmpp.PresenceProbe {
			g.bounce(ctx, p, xmpp.NewStanzaError(xmpp.CondItemNotFound, "No such contact on this gateway"))
		}
		return
	}
	user := p.From.Bare()
	switch p.Type {
	case xmpp.PresenceSubscribe:
		// The user adds the contact: approve and show its presence.
		g.setSubscription(user, contact, addTo)
		g.sendEphemeral(ctx, &xmpp.Presence{Header: xmpp.Header{From: contact, To: user, Type: xmpp.PresenceSubscribed}})
		g.sendContactPresence(ctx, contact, user)
	case xmpp.PresenceSubscribed:
		g.setSubscription(user, contact, addFrom)
	case xmpp.PresenceUnsubscribe:
		g.setSubscription(user, contact, removeTo)
		g.sendEphemeral(ctx, &xmpp.Presence{Header: xmpp.Header{From: contact, To: user, Type: xmpp.PresenceUnsubscribed}})
	case xmpp.PresenceUnsubscribed:
		g.setSubscription(user, contact, removeFrom)
	case xmpp.PresenceProbe:
		g.sendContactPresence(ctx, contact, p.From)
	}
}

// handleGatewayPresence implements XEP-0100 presence: subscribing to the
// gateway logs in, unsubscribing logs out, and the user's own presence is
// passed on to the network.
func (g *Gateway) handleGatewayPresence(ctx context.Context, p *xmpp.Presence) {
	user := p.From.Bare()
	switch p.Type {
	case xmpp.PresenceSubscribe:
		if !g.cfg.Access.Allowed(user) {
			g.sendEphemeral(ctx, &xmpp.Presence{Header: xmpp.Header{From: g.domain, To: user, Type: xmpp.PresenceUnsubscribed}})
			return
		}
		g.sendEphemeral(ctx, &xmpp.Presence{Header: xmpp.Header{From: g.domain, To: user, Type: xmpp.PresenceSubscribed}})
		g.enableAccounts(ctx, user, true)
		g.announceGateway(ctx, user)
	case xmpp.PresenceUnsubscribe:
		g.sendEphemeral(ctx, &xmpp.Presence{Header: xmpp.Header{From: g.domain, To: user, Type: xmpp.PresenceUnsubscribed}})
		g.enableAccounts(ctx, user, false)
	case xmpp.PresenceProbe:
		g.announceGateway(ctx, p.From)
	case xmpp.PresenceAvailable, xmpp.PresenceUnavailable:
		g.userPresenceChanged(ctx, p)
	}
}

// enableAccounts logs all of a user's accounts in or out (XEP-0100 §4.4),
// remembering the choice across restarts.
func (g *Gateway) enableAccounts(ctx context.Context, user jid.JID, on bool) {
	accts, err := g.db.UserAccounts(g.cfg.Name, user.String())
	if err != nil {
		g.log.Error("listing accounts", "user", user, "err", err)
		return
	}
	for _, a := range accts {
		running := g.accountByKey(a.AccountKey) != nil
		if a.Disabled == !on && running == on {
			continue
		}
		a.Disabled = !on
		if err := g.db.PutAccount(a); err != nil {
			g.log.Error("storing account", "user", user, "err", err)
			continue
		}
		if on {
			if err := g.startAccount(ctx, a); err != nil {
				g.log.Error("starting account", "user", user, "err", err)
			}
		} else {
			g.stopAccount(a.AccountKey)
		}
	}
	if !on {
		g.announceGateway(ctx, user)
	}
}

// userPresenceChanged passes the user's availability to the network, for
// sessions that can set presence.
func (g *Gateway) userPresenceChanged(ctx context.Context, p *xmpp.Presence) {
	pr := Presence{Status: p.Status}
	switch {
	case p.Type == xmpp.PresenceUnavailable:
		pr.Show = ShowOffline
	case p.Show == "away":
		pr.Show = ShowAway
	case p.Show == "xa":
		pr.Show = ShowXA
	case p.Show == "dnd":
		pr.Show = ShowDND
	case p.Show == "chat":
		pr.Show = ShowChat
	default:
		pr.Show = ShowAvailable
	}
	user := p.From.Bare()
	g.mu.Lock()
	prev, seen := g.userPresence[user]
	g.userPresence[user] = pr
	g.mu.Unlock()
	if seen && prev.Show == pr.Show && prev.Status == pr.Status {
		return
	}
	for _, a := range g.userAccounts(user) {
		sess, state, _ := a.snapshot()
		ps, ok := sess.(PresenceSetter)
		if state != LoggedIn || !ok {
			continue
		}
		g.wg.Go(func() {
			sctx, cancel := context.WithTimeout(g.runCtx, 30*time.Second)
			defer cancel()
			if err := ps.SetPresence(sctx, pr); err != nil {
				a.log.Warn("setting presence on the network", "err", err)
			}
		})
	}
	_ = ctx
}

// describeAccount is the one-line description of an account for status
// texts.
func describeAccount(a *account) string {
	_, state, reason := a.snapshot()
	name := a.data.Name
	if name == "" {
		name = string(a.data.ID)
	}
	switch state {
	case LoggedIn:
		return fmt.Sprintf("%s: connected", name)
	case Connecting:
		if reason != "" {
			return fmt.Sprintf("%s: connecting (last error: %s)", name, reason)
		}
		return fmt.Sprintf("%s: connecting", name)
	}
	return fmt.Sprintf("%s: logged out (%s); register again to reconnect", name, reason)
}
