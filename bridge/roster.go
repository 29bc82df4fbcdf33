package bridge

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
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

// roster keeps the users' rosters and presence: the gateway JID's
// presence (the login state), the contacts offered to each user and their
// subscriptions, the contacts' presence, and the user's own presence
// passed on to the network (XEP-0100 presence included).
type roster struct {
	name     string // the gateway instance
	info     Info
	access   *Access
	domain   jid.JID
	db       *store.DB
	contacts *contactMap
	accounts *accounts
	out      *toXMPP
	life     *lifetime
	log      *slog.Logger

	// rosterMu serializes read-modify-write of roster items, striped by
	// user: one user's changes never overwrite each other, and users do
	// not wait for each other's commits.
	rosterMu [rosterStripes]sync.Mutex

	mu sync.Mutex
	// presence caches the last known presence of each contact.
	presence map[UserID]Presence
	// userPresence is the last presence each user sent the gateway.
	userPresence map[jid.JID]Presence
}

// gatewayPresence is the presence of the gateway JID for a user: it shows
// the user's login state on this network.
func (ro *roster) gatewayPresence(user jid.JID) *xmpp.Presence {
	p := &xmpp.Presence{Header: xmpp.Header{From: ro.domain, To: user.Bare()}}
	accs := ro.accounts.userAccounts(user)
	if len(accs) == 0 {
		p.Type = xmpp.PresenceUnavailable
		p.Status = offlineStatus(ro.db, ro.name, ro.domain, user)
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
	p.Extra = append(p.Extra, disco.CapsElement(capsNode, gatewayDisco(ro.info)))
	return p
}

// announceGateway sends the gateway's presence to a user.
func (ro *roster) announceGateway(ctx context.Context, user jid.JID) {
	ro.out.sendEphemeral(ctx, ro.gatewayPresence(user))
}

// announceAll sends every user the gateway's presence and their contacts'
// presence, after the component (re)connected.
func (ro *roster) announceAll() {
	ctx := ro.life.ctx
	if ctx == nil {
		return
	}
	ro.life.wg.Go(func() {
		for _, u := range ro.accounts.users() {
			ro.announceGateway(ctx, u)
			items, err := ro.db.Roster(u.String(), ro.name)
			if err != nil {
				continue
			}
			for _, it := range items {
				if it.Subscription != "to" && it.Subscription != "both" {
					continue
				}
				if c, err := jid.Parse(it.Contact); err == nil {
					ro.sendContactPresence(ctx, c, u)
				}
			}
		}
	})
}

// contactPresence converts the cached presence of a contact.
func (ro *roster) contactPresence(contact jid.JID, to jid.JID) *xmpp.Presence {
	p := &xmpp.Presence{Header: xmpp.Header{From: contact, To: to}}
	uid, err := ro.contacts.userFor(contact.Local())
	if err != nil {
		p.Type = xmpp.PresenceUnavailable
		return p
	}
	ro.mu.Lock()
	pr, known := ro.presence[uid]
	ro.mu.Unlock()
	if !known {
		if ro.info.Capabilities.Presence {
			p.Type = xmpp.PresenceUnavailable
		}
	} else {
		applyPresence(p, pr)
	}
	if p.Type == xmpp.PresenceAvailable {
		p.Extra = append(p.Extra, disco.CapsElement(capsNode, contactDisco(ro.info)))
	}
	if x := ro.accounts.photos.get(to, uid).element(); x != nil {
		p.Extra = append(p.Extra, x)
	}
	return p
}

// photoChanged sends a user the presence of a contact in their roster
// whose picture became known or changed, with its XEP-0153 hash.
func (ro *roster) photoChanged(ctx context.Context, acc *account, uid UserID) {
	cj, err := ro.contacts.jidFor(uid)
	if err != nil {
		return
	}
	it, err := ro.db.GetRosterItem(acc.user.String(), ro.name, cj.String())
	if err != nil || it.Subscription != "to" && it.Subscription != "both" {
		return
	}
	ro.sendContactPresence(ctx, cj, acc.user)
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

func (ro *roster) sendContactPresence(ctx context.Context, contact, to jid.JID) {
	ro.out.sendEphemeral(ctx, ro.contactPresence(contact, to))
}

// presenceOf returns the last known presence of a remote person.
func (ro *roster) presenceOf(uid UserID) (Presence, bool) {
	ro.mu.Lock()
	defer ro.mu.Unlock()
	pr, ok := ro.presence[uid]
	return pr, ok
}

// contactPresenceChanged caches a contact's presence and shows it to the
// user of the account it came through.
func (ro *roster) contactPresenceChanged(ctx context.Context, acc *account, uid UserID, pr Presence) error {
	ro.mu.Lock()
	ro.presence[uid] = pr
	ro.mu.Unlock()
	cj, err := ro.contacts.jidFor(uid)
	if err != nil {
		return err
	}
	ro.out.sendEphemeral(ctx, ro.contactPresence(cj, acc.user))
	return nil
}

// syncContacts offers the account's contacts to the user's roster.
func (ro *roster) syncContacts(ctx context.Context, acc *account, sess Session) {
	ro.askGatewayOnce(ctx, acc.user)
	cs, err := sess.Contacts(ctx)
	if err != nil {
		acc.log.Warn("listing contacts", "err", err)
		return
	}
	var asked []rosterSuggestion
	for _, c := range cs {
		if ctx.Err() != nil {
			return
		}
		if cj, ok := ro.offer(ctx, acc, c); ok && len(c.Groups) > 0 {
			asked = append(asked, rosterSuggestion{cj, c})
		}
	}
	ro.suggestGroups(ctx, acc.user, asked)
}

// offerContact makes sure a contact is in the user's roster: it asks the
// user to accept a subscription from the contact JID (with its nickname)
// unless the user already did, or was asked recently.
func (ro *roster) offerContact(ctx context.Context, acc *account, c Contact) {
	if cj, ok := ro.offer(ctx, acc, c); ok && len(c.Groups) > 0 {
		ro.suggestGroups(ctx, acc.user, []rosterSuggestion{{cj, c}})
	}
}

// offer is offerContact without the group suggestion: it reports whether
// it asked the user, and the contact's JID.
func (ro *roster) offer(ctx context.Context, acc *account, c Contact) (jid.JID, bool) {
	if c.Deactivated {
		// Not offered; one already in the roster shows why it went quiet.
		cj, err := ro.contacts.jidFor(c.ID)
		if err != nil {
			return jid.JID{}, false
		}
		if _, err := ro.db.GetRosterItem(acc.user.String(), ro.name, cj.String()); err == nil {
			ro.mu.Lock()
			ro.presence[c.ID] = Presence{Show: ShowOffline, Status: "Account deactivated"}
			ro.mu.Unlock()
			ro.out.sendEphemeral(ctx, &xmpp.Presence{Header: xmpp.Header{From: cj, To: acc.user, Type: xmpp.PresenceUnavailable}, Status: "Account deactivated"})
		}
		return jid.JID{}, false
	}
	cj, err := ro.contacts.jidFor(c.ID)
	if err != nil {
		acc.log.Error("mapping contact", "contact", c.ID, "err", err)
		return jid.JID{}, false
	}
	ro.accounts.noteRoute(acc, c.ID)
	if ro.accounts.photos.contactURL(acc.user, c.ID, c.AvatarURL) {
		ro.accounts.refreshPhoto(acc, c.ID)
	}
	ask := false
	ro.updateRosterItem(acc.user, cj, func(it *store.RosterItem, fresh bool) bool {
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
		return cj, false
	}
	p := &xmpp.Presence{Header: xmpp.Header{From: cj, To: acc.user, Type: xmpp.PresenceSubscribe}}
	if c.Name != "" {
		p.Extra = append(p.Extra, xmpp.TextElement(NSNick, "nick", c.Name))
	}
	if err := ro.out.send(ctx, p); err != nil {
		acc.log.Error("offering contact", "contact", cj, "err", err)
		return cj, false
	}
	return cj, true
}

// rosterStripes is the number of roster locks.
const rosterStripes = 64

// stripe picks the roster lock of a user (FNV-1a).
func stripe(user string) int {
	h := uint32(2166136261)
	for i := 0; i < len(user); i++ {
		h = (h ^ uint32(user[i])) * 16777619
	}
	return int(h % rosterStripes)
}

// updateRosterItem changes a stored roster item under the roster lock, so
// that concurrent changes (a login offering contacts while the user answers
// subscriptions) never overwrite each other. update reports whether to
// store the result.
func (ro *roster) updateRosterItem(user, contact jid.JID, update func(it *store.RosterItem, fresh bool) bool) {
	u := user.Bare().String()
	mu := &ro.rosterMu[stripe(u)]
	mu.Lock()
	defer mu.Unlock()
	it, err := ro.db.GetRosterItem(u, ro.name, contact.String())
	fresh := errors.Is(err, store.ErrNotFound)
	switch {
	case fresh:
		it = store.RosterItem{User: u, Transport: ro.name, Contact: contact.String(), Subscription: "none"}
	case err != nil:
		ro.log.Error("reading roster item", "err", err)
		return
	}
	if !update(&it, fresh) {
		return
	}
	if err := ro.db.PutRosterItem(it); err != nil {
		ro.log.Error("storing roster item", "err", err)
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
func (ro *roster) setSubscription(user, contact jid.JID, next func(sub string) string) {
	ro.updateRosterItem(user, contact, func(it *store.RosterItem, fresh bool) bool {
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
func (ro *roster) handlePresence(ctx context.Context, p *xmpp.Presence) {
	if p.To.Local() == "" {
		ro.handleGatewayPresence(ctx, p)
		return
	}
	if p.Type == xmpp.PresenceError {
		return
	}
	contact := p.To.Bare()
	if _, err := ro.contacts.userFor(contact.Local()); err != nil {
		if p.Type == xmpp.PresenceSubscribe || p.Type == xmpp.PresenceProbe {
			ro.out.bounce(ctx, p, xmpp.NewStanzaError(xmpp.CondItemNotFound, "No such contact on this gateway"))
		}
		return
	}
	user := p.From.Bare()
	switch p.Type {
	case xmpp.PresenceSubscribe:
		// The user adds the contact: approve and show its presence.
		ro.setSubscription(user, contact, addTo)
		ro.out.sendEphemeral(ctx, &xmpp.Presence{Header: xmpp.Header{From: contact, To: user, Type: xmpp.PresenceSubscribed}})
		ro.sendContactPresence(ctx, contact, user)
	case xmpp.PresenceSubscribed:
		ro.setSubscription(user, contact, addFrom)
	case xmpp.PresenceUnsubscribe:
		ro.setSubscription(user, contact, removeTo)
		ro.out.sendEphemeral(ctx, &xmpp.Presence{Header: xmpp.Header{From: contact, To: user, Type: xmpp.PresenceUnsubscribed}})
	case xmpp.PresenceUnsubscribed:
		ro.setSubscription(user, contact, removeFrom)
	case xmpp.PresenceProbe:
		ro.sendContactPresence(ctx, contact, p.From)
	}
}

// handleGatewayPresence implements XEP-0100 presence: subscribing to the
// gateway logs in, unsubscribing logs out, and the user's own presence is
// passed on to the network.
func (ro *roster) handleGatewayPresence(ctx context.Context, p *xmpp.Presence) {
	user := p.From.Bare()
	switch p.Type {
	case xmpp.PresenceSubscribe:
		if !ro.access.Allowed(user) {
			ro.out.sendEphemeral(ctx, &xmpp.Presence{Header: xmpp.Header{From: ro.domain, To: user, Type: xmpp.PresenceUnsubscribed}})
			return
		}
		ro.out.sendEphemeral(ctx, &xmpp.Presence{Header: xmpp.Header{From: ro.domain, To: user, Type: xmpp.PresenceSubscribed}})
		ro.enableAccounts(ctx, user, true)
		ro.announceGateway(ctx, user)
	case xmpp.PresenceUnsubscribe:
		ro.out.sendEphemeral(ctx, &xmpp.Presence{Header: xmpp.Header{From: ro.domain, To: user, Type: xmpp.PresenceUnsubscribed}})
		ro.enableAccounts(ctx, user, false)
	case xmpp.PresenceProbe:
		ro.announceGateway(ctx, p.From)
	case xmpp.PresenceAvailable, xmpp.PresenceUnavailable:
		ro.userPresenceChanged(ctx, p)
	}
}

// enableAccounts logs all of a user's accounts in or out (XEP-0100 §4.4),
// remembering the choice across restarts.
func (ro *roster) enableAccounts(ctx context.Context, user jid.JID, on bool) {
	accts, err := ro.db.UserAccounts(ro.name, user.String())
	if err != nil {
		ro.log.Error("listing accounts", "user", user, "err", err)
		return
	}
	for _, a := range accts {
		running := ro.accounts.byKey(a.AccountKey) != nil
		if a.Disabled == !on && running == on {
			continue
		}
		a.Disabled = !on
		if err := ro.db.PutAccount(a); err != nil {
			ro.log.Error("storing account", "user", user, "err", err)
			continue
		}
		if on {
			if err := ro.accounts.start(ctx, a); err != nil {
				ro.log.Error("starting account", "user", user, "err", err)
			}
		} else {
			ro.accounts.stop(a.AccountKey)
		}
	}
	if !on {
		ro.announceGateway(ctx, user)
	}
}

// userPresenceChanged passes the user's availability to the network, for
// sessions that can set presence.
func (ro *roster) userPresenceChanged(ctx context.Context, p *xmpp.Presence) {
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
	ro.mu.Lock()
	prev, seen := ro.userPresence[user]
	ro.userPresence[user] = pr
	ro.mu.Unlock()
	if seen && prev.Show == pr.Show && prev.Status == pr.Status {
		return
	}
	for _, a := range ro.accounts.userAccounts(user) {
		sess, state, _ := a.snapshot()
		if state == LoggedIn {
			ro.setPresence(a, sess, pr)
		}
	}
	_ = ctx
}

// pushUserPresence gives an account that just logged in the presence its
// user last sent, which no session could take while it was logging in.
func (ro *roster) pushUserPresence(a *account, sess Session) {
	ro.mu.Lock()
	pr, seen := ro.userPresence[a.user]
	ro.mu.Unlock()
	if seen {
		ro.setPresence(a, sess, pr)
	}
}

// setPresence publishes pr on the network through a session that can.
func (ro *roster) setPresence(a *account, sess Session, pr Presence) {
	ps, ok := sess.(PresenceSetter)
	if !ok || !ro.info.Capabilities.SetPresence {
		return
	}
	ro.life.wg.Go(func() {
		sctx, cancel := context.WithTimeout(ro.life.ctx, 30*time.Second)
		defer cancel()
		if err := ps.SetPresence(sctx, pr); err != nil {
			a.log.Warn("setting presence on the network", "err", err)
		}
	})
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
