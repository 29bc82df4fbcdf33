package bridge

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/xgate-im/xgate/xmpp"
	"github.com/xgate-im/xgate/xmpp/jid"
)

// Joining and leaving rooms (XEP-0045 §7.2, §7.14).

// defaultHistory is how many past messages a join gets when the client
// asks for no particular amount.
const defaultHistory = 20

// maxHistory bounds what a client may ask for on join.
const maxHistory = 200

// joinTimeout bounds the network calls of one join.
const joinTimeout = 30 * time.Second

// handlePresence handles a presence to a room or an occupant: a join (an
// available presence carrying the XEP-0045 <x/>, or the first presence of
// a resource), a leave (unavailable), or a presence update of an
// occupant, which changes nothing remote.
func (r *rooms) handlePresence(ctx context.Context, p *xmpp.Presence) {
	switch p.Type {
	case xmpp.PresenceAvailable, xmpp.PresenceUnavailable:
	case xmpp.PresenceError:
		r.refused(ctx, p.From, p.To, p.Error)
		return
	default:
		return // subscriptions and probes mean nothing to a room
	}
	if p.Type == xmpp.PresenceUnavailable {
		r.leave(ctx, p)
		return
	}
	if !r.access.Allowed(p.From) {
		r.out.bounce(ctx, p, userError(ErrNotAllowed))
		return
	}
	if p.To.Resource() == "" {
		r.out.bounce(ctx, p, xmpp.NewStanzaError(xmpp.CondJIDMalformed, "Join with a nickname: room@domain/nick."))
		return
	}
	if v := r.existingView(p.From, p.To.Local()); v != nil && mucJoin(p) == nil {
		v.mu.Lock()
		joined, nick := v.joined[p.From], v.nick
		v.mu.Unlock()
		switch {
		case joined && p.To.Resource() != nick:
			r.out.bounce(ctx, p, xmpp.NewStanzaError(xmpp.CondNotAcceptable, "Nick changes are not supported here; leave the room and join it again."))
			return
		case joined:
			return // a presence update of an occupant
		}
	}
	select {
	case r.slots <- struct{}{}:
	default:
		r.out.bounce(ctx, p, xmpp.NewStanzaError(xmpp.CondResourceConstraint, "The gateway is busy; try again in a moment."))
		return
	}
	r.life.wg.Go(func() {
		defer func() { <-r.slots }()
		jctx, cancel := context.WithTimeout(r.life.ctx, joinTimeout)
		defer cancel()
		r.join(jctx, p)
	})
}

// historyRequest is what a client asks of the room's history on join
// (XEP-0045 §7.2.15): at most max messages, none older than since.
type historyRequest struct {
	max   int
	since time.Time
}

// parseHistory reads the <history/> of a join's <x/>, relative to now.
func parseHistory(x *xmpp.Element, now time.Time) historyRequest {
	h := historyRequest{max: defaultHistory}
	if x == nil {
		return h
	}
	el := x.Child(NSMUC, "history")
	if el == nil {
		return h
	}
	if v, err := strconv.Atoi(el.AttrValue("maxstanzas")); err == nil && v >= 0 {
		h.max = min(v, maxHistory)
	}
	if v, err := strconv.Atoi(el.AttrValue("maxchars")); err == nil && v == 0 {
		h.max = 0
	}
	if v, err := strconv.Atoi(el.AttrValue("seconds")); err == nil && v >= 0 {
		h.since = now.Add(-time.Duration(v) * time.Second)
	}
	if t, err := time.Parse(time.RFC3339, el.AttrValue("since")); err == nil && t.After(h.since) {
		h.since = t
	}
	return h
}

// joinError maps why a user cannot join a room to the presence error.
func joinError(err error) *xmpp.StanzaError {
	switch {
	case errors.Is(err, ErrNotFound):
		return xmpp.NewStanzaError(xmpp.CondItemNotFound, "There is no such room on this gateway.")
	case errors.Is(err, ErrNotRegistered):
		return xmpp.NewStanzaError(xmpp.CondRegistrationRequired, "Register with this gateway first.")
	case errors.Is(err, errNotInGroup):
		return xmpp.NewStanzaError(xmpp.CondRegistrationRequired, "None of your accounts is a member of this chat.")
	}
	return userError(err)
}

// join brings one resource into a room: the remote members' presences,
// its own presence last (110), the history it asked for, then the
// subject.
func (r *rooms) join(ctx context.Context, p *xmpp.Presence) {
	user, room, want := p.From, p.To.Bare(), p.To.Resource()
	chat, _, err := r.chatOf(room.Local())
	if errors.Is(err, ErrNotFound) {
		chat, err = r.discoverRoom(ctx, user, room.Local())
	}
	if err != nil {
		r.out.bounce(ctx, p, joinError(err))
		return
	}
	acc, g, err := r.groupAccount(ctx, user, chat.ID)
	entered := false
	if errors.Is(err, errNotInGroup) {
		acc, g, err = r.enterGroup(ctx, user, chat.ID)
		entered = err == nil
	}
	if err != nil {
		r.out.bounce(ctx, p, joinError(err))
		return
	}
	sess, _, _ := acc.snapshot()
	if sess == nil {
		r.out.bounce(ctx, p, xmpp.NewStanzaError(xmpp.CondRemoteServerTimeout, "Your account is not logged in; try again in a moment."))
		return
	}
	// A leave of this resource while the join talks to the network
	// cancels the join.
	v := r.view(user, room)
	v.order.Lock()
	defer v.order.Unlock()
	v.mu.Lock()
	leaves, first := v.leaves[user], len(v.joined) == 0
	v.mu.Unlock()
	if first && !entered {
		r.followSubgroup(ctx, acc, sess, g)
	}
	var members []GroupMember
	if gm, ok := sess.(GroupMembers); ok {
		if members, err = gm.Members(ctx, chat.ID); err != nil {
			r.log.Info("listing the members of a room", "room", room, "err", err)
			members = nil
		}
	}
	v.mu.Lock()
	if v.leaves[user] != leaves {
		v.mu.Unlock()
		return
	}
	v.acc, v.chat, v.name, v.subject = acc, chat, g.Name, g.Topic
	v.self = UserID(acc.key.Remote)
	for _, m := range members {
		if m.Self {
			v.self = m.User
		}
	}
	if len(v.joined) == 0 {
		v.nick = ""
	}
	if members != nil || len(v.joined) == 0 {
		v.setMembers(members)
	}
	nick := v.nick
	if nick == "" {
		nick = uniqueNick(want, strings.ToLower(user.Local()), func(n string) bool { _, taken := v.nicks[n]; return taken })
		v.nick = nick
	}
	occupants := make([]GroupMember, 0, len(v.members))
	for _, m := range v.members {
		occupants = append(occupants, m)
	}
	v.joined[user] = true
	subject := v.subject
	v.mu.Unlock()

	slices.SortFunc(occupants, func(a, b GroupMember) int { return strings.Compare(a.Nick, b.Nick) })
	for _, o := range r.remoteOccupants(room, user, occupants) {
		_ = r.out.send(ctx, occupantPresence(room, user, o, false))
	}
	statuses := []int{statusNonAnonymous, statusSelf}
	if nick != want {
		statuses = append(statuses, statusNickChanged)
	}
	self := occupant{Nick: nick, RealJID: user, Role: RoleMember, ID: occupantID(room, user.Bare().String())}
	_ = r.out.send(ctx, occupantPresence(room, user, self, false, statuses...))
	r.sendHistory(ctx, v, sess, user, parseHistory(mucJoin(p), time.Now()))
	_ = r.out.send(ctx, subjectMessage(room, user, r.out.newID(), subject))
}

// Joining groups on the network (GroupJoiner). A join of the room of a
// group that none of the user's accounts is in (a public Slack channel
// they left, or that only a colleague on this gateway is in) joins the
// group on the network, with the first account that can, rather than
// being refused. A join of the room of a group that lives in another of
// the account's groups (a Discord thread under its channel, listed to
// whoever reads the channel) makes the account a member of it, as
// opening a thread and following it does in the network's own client;
// that is done on the join of the user's first resource only, and a
// failure there (an archived thread) leaves the room readable as it was.
//
// Leaving the room never leaves the group (LeaveGroup is not called):
// clients leave rooms when they go offline, are closed or lose their
// connection, occupancy is not kept across restarts, and a group left by
// mistake may not be joinable again (a private channel needs an
// invitation); leaving is a step for the network's own client.

// enterGroup has the first of the user's accounts that can join a group
// (GroupJoiner) do so, and returns it with the group as its fresh group
// list shows it. An account that cannot see the group (another Slack
// workspace) is passed over; when none can, the error is the first other
// failure, else errNotInGroup.
func (r *rooms) enterGroup(ctx context.Context, user jid.JID, chat ChatID) (*account, GroupInfo, error) {
	failure := fmt.Errorf("bridge: %w", errNotInGroup)
	other := false
	for _, acc := range r.accounts.userAccounts(user) {
		sess, state, _ := acc.snapshot()
		gj, ok := sess.(GroupJoiner)
		if !ok || state != LoggedIn {
			continue
		}
		if err := gj.JoinGroup(ctx, chat); err != nil {
			acc.log.Info("joining a group for its room", "chat", chat, "err", err)
			if !other && !errors.Is(err, ErrNotFound) {
				failure, other = err, true
			}
			continue
		}
		gs, err := r.accountGroups(ctx, acc, true)
		if err != nil {
			continue
		}
		for _, g := range gs {
			if g.ID == chat {
				acc.log.Info("joined a group for its room", "chat", chat)
				return acc, g, nil
			}
		}
	}
	return nil, GroupInfo{}, failure
}

// followSubgroup makes an account a member of a group that lives in
// another of its groups (GroupJoiner), when its session can.
func (r *rooms) followSubgroup(ctx context.Context, acc *account, sess Session, g GroupInfo) {
	gj, ok := sess.(GroupJoiner)
	if !ok || g.Parent == "" {
		return
	}
	gs, err := r.accountGroups(ctx, acc, false)
	if err != nil || !slices.ContainsFunc(gs, func(p GroupInfo) bool { return p.ID == g.Parent }) {
		return
	}
	if err := gj.JoinGroup(ctx, g.ID); err != nil {
		acc.log.Info("following a group of a group for its room", "chat", g.ID, "err", err)
	}
}

// discoverRoom finds a group of the user's accounts that has no room JID
// yet and would get local: a user may join "#name" before any room list
// made the mapping.
func (r *rooms) discoverRoom(ctx context.Context, user jid.JID, local string) (ChatRef, error) {
	for _, acc := range r.accounts.userAccounts(user) {
		gs, err := r.accountGroups(ctx, acc, false)
		if err != nil {
			continue
		}
		for _, g := range gs {
			if roomLocalpart(g.jidName(), g.ID, r.domain.Domain()) != local {
				continue
			}
			if _, err := r.mapping().byChatID(string(g.ID)); err == nil {
				continue // mapped to another localpart already
			}
			room, err := r.roomFor(ChatRef{Kind: Group, ID: g.ID, Parent: g.Parent}, g.jidName())
			if err != nil {
				return ChatRef{}, err
			}
			if room.Local() == local {
				return ChatRef{Kind: Group, ID: g.ID, Parent: g.Parent}, nil
			}
		}
	}
	return ChatRef{}, fmt.Errorf("bridge: no room %q: %w", local, ErrNotFound)
}

// occupantWorkers is how many members remoteOccupants describes at once.
const occupantWorkers = 16

// remoteOccupants describes members as occupants, in their order. The
// first sight of a person stores their contact JID (a write of its own),
// so a large room is described by several workers at once, whose writes
// share commits (the store's group commit) rather than waiting for one
// each.
func (r *rooms) remoteOccupants(room, user jid.JID, ms []GroupMember) []occupant {
	out := make([]occupant, len(ms))
	if len(ms) <= occupantWorkers {
		for i, m := range ms {
			out[i] = r.remoteOccupant(room, user, m)
		}
		return out
	}
	next := make(chan int)
	var wg sync.WaitGroup
	for range occupantWorkers {
		wg.Go(func() {
			for i := range next {
				out[i] = r.remoteOccupant(room, user, ms[i])
			}
		})
	}
	for i := range ms {
		next <- i
	}
	close(next)
	wg.Wait()
	return out
}

// remoteOccupant describes a remote member as an occupant, as user sees
// them.
func (r *rooms) remoteOccupant(room, user jid.JID, m GroupMember) occupant {
	o := occupant{Nick: m.Nick, Role: m.Role, ID: occupantID(room, string(m.User)), Photo: r.accounts.photos.get(user, m.User)}
	if cj, err := r.contacts.jidFor(m.User); err == nil {
		o.RealJID = cj
	}
	if r.presenceOf != nil {
		if pr, ok := r.presenceOf(m.User); ok {
			o.Presence = &pr
		}
	}
	return o
}

// sendHistory sends a joining resource the past messages of the room it
// asked for, from the network's history, each with a XEP-0203 delay.
// Each is recorded as delivered, so that the user may react to it.
func (r *rooms) sendHistory(ctx context.Context, v *roomView, sess Session, to jid.JID, h historyRequest) {
	hf, ok := sess.(HistoryFetcher)
	if !ok || h.max == 0 {
		return
	}
	v.mu.Lock()
	chat, acc := v.chat, v.acc
	v.mu.Unlock()
	evs, err := hf.History(ctx, chat, "", h.max)
	if err != nil {
		r.log.Info("reading the history of a room", "room", v.room, "err", err)
		return
	}
	key := chatKey{Account: acc.key, Chat: chat}
	for _, ev := range evs {
		if !h.since.IsZero() && !ev.Time.IsZero() && !ev.Time.After(h.since) {
			continue
		}
		m := roomMessageStanza(r.roomChat(ctx, v, key, ev.Sender, ev.FromSelf, ev.SenderName), ev, true)
		m.To = to
		if err := r.out.send(ctx, m); err != nil {
			return
		}
		if ev.ID != "" {
			r.dedupe.mark(key.seenKey(r.name, ev.ID), ev.Time)
		}
	}
}

// leave takes a resource out of a room: its own unavailable presence
// (110) comes back. The account stays in the group on the network (see
// enterGroup).
func (r *rooms) leave(ctx context.Context, p *xmpp.Presence) {
	user, room := p.From, p.To.Bare()
	nick := p.To.Resource()
	v := r.existingView(user, room.Local())
	if v != nil {
		v.mu.Lock()
		if v.joined[user] {
			delete(v.joined, user)
			nick = v.nick
		}
		v.leaves[user]++
		v.mu.Unlock()
	}
	if nick == "" {
		return
	}
	self := occupant{Nick: nick, RealJID: user, Role: RoleMember, ID: occupantID(room, user.Bare().String())}
	_ = r.out.send(ctx, occupantPresence(room, user, self, true, statusSelf))
}

// refused handles an error that a user's server returned for a stanza of
// a room (a message or a presence): a resource that is gone (its client ended without leaving) is
// taken out of the room, as XEP-0045 §18.1 says of such ghosts, so that
// the room stops writing to it.
func (r *rooms) refused(ctx context.Context, from, to jid.JID, e *xmpp.StanzaError) {
	if e == nil {
		return
	}
	switch e.Condition {
	case xmpp.CondRecipientUnavailable, xmpp.CondServiceUnavailable, xmpp.CondItemNotFound,
		xmpp.CondRemoteServerNotFound, xmpp.CondRemoteServerTimeout, xmpp.CondGone, xmpp.CondJIDMalformed:
	default:
		return
	}
	v := r.existingView(from, to.Local())
	if v == nil {
		return
	}
	v.mu.Lock()
	gone := v.joined[from]
	if gone {
		delete(v.joined, from)
		v.leaves[from]++
	}
	v.mu.Unlock()
	if gone {
		r.log.Info("a resource that is gone was taken out of a room", "user", from, "room", to.Bare(), "condition", e.Condition)
	}
}
