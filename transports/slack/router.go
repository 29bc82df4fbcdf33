package slack

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/xgate-im/xgate/bridge"
)

// The router takes the Events API envelopes of the one Socket Mode
// connection to the sessions they concern through the bridge's Fanout,
// which keeps the order per conversation, acknowledges an envelope only
// once every session concerned emitted its events and the Sink returned
// nil (delivered or durably stored by the bridge), recognizes envelopes
// Slack sends again, and hands an event over to an account's new session.
// Anything that fails is not acknowledged, so Slack sends it again.
//
// Order: events of one conversation (or, for workspace-wide events, of one
// workspace) are handled in arrival order; different conversations
// proceed in parallel.
//
// Duplicates: Slack redelivers an envelope that was not acknowledged in
// time (3 seconds), or that was in flight on a connection that went away,
// with the same event_id, which is the Fanout's event ID.
//
// Routing (this file's own part): each event names one installation of the
// app ("authorizations"); several accounts of this gateway may see it (a
// direct message between two users who both registered reaches both).
// Workspace-wide events (user changes, new members) go to every session
// of the workspace. Events of a conversation go to the sessions whose
// member is in it: known for direct messages the sessions have seen, else
// asked with apps.event.authorizations.list and remembered per
// conversation until its membership or the set of sessions of the
// workspace changes.
type router struct {
	t *Transport
	// ack hands envelopes to be acknowledged to the Socket Mode client
	// (socketMode.acknowledge), which never blocks; nil when there is
	// none (tests that hand envelopes over themselves).
	ack func(envelopeIDs []string)

	mu     sync.Mutex
	routes map[string]route // by conversation ID
	// bridged names the community session of each bridged channel.
	bridged map[string]bridge.AccountID
}

// route is a remembered answer of apps.event.authorizations.list.
type route struct {
	team    string
	members []string
}

func newRouter(t *Transport) *router {
	return &router{t: t, routes: map[string]route{}}
}

// dispatch starts handling an envelope. It blocks only when the events of
// its conversation are far behind.
func (r *router) dispatch(ctx context.Context, envelopeID string, in *inbound) {
	id := in.eventID
	if id == "" {
		id = "envelope:" + envelopeID
	}
	if r.echoCandidate(in) {
		// Only a message by a member with a session may be an echo: for
		// the others, one lookup and no more.
		if bs, live := r.t.fanout.Session(MakeAccountID(in.team, in.msg.User)); live {
			if s, ok := bs.(*Session); ok && r.t.fanout.Skip(id, func() bool { return r.takeSoleEcho(in, s) }) {
				r.acknowledge(envelopeID)
				return
			}
		}
	}
	ev := r.inbound(in)
	ev.ID = id
	r.t.fanout.Dispatch(ctx, ev, func() { r.acknowledge(envelopeID) })
}

// echoCandidate reports whether an event may be the copy Slack sends back
// of a message a session posted from XMPP: a new message by a member in a
// conversation. It only reads the event.
func (r *router) echoCandidate(in *inbound) bool {
	if in.typ != "message" || in.msg == nil || in.channel == "" || in.msg.User == "" || in.msg.TS == "" {
		return false
	}
	switch in.subtype {
	case "", "thread_broadcast", "me_message", "file_share":
		return true
	}
	return false
}

// takeSoleEcho settles, in the connection's reader, the copy Slack sends
// back of a message a session posted from XMPP, when that session is the
// only one the event concerns: it consumes the echo the session expects,
// and the event needs no worker, no route and no handling (13 to 14 of
// the allocations of a message sent to Slack; docs/performance.md, ninth
// round). It reports
// false, changing nothing, whenever that cannot be told at once without
// waiting or asking Slack: the conversation's members are not remembered,
// another member's session is live or logging in (as route sees it), a
// community room bridges the conversation, or the message is not known as
// a post of the session (takeEarlyEcho). The event then takes the usual
// way, where takeEcho waits for the post's answer. s is the live session
// of the message's author.
func (r *router) takeSoleEcho(in *inbound, s *Session) bool {
	author := in.msg.User
	r.mu.Lock()
	rt, cached := r.routes[in.channel]
	_, bridged := r.bridged[in.channel]
	r.mu.Unlock()
	if bridged {
		return false
	}
	if !cached {
		im, ok := r.t.imMembers(in.team, in.channel)
		if !ok {
			return false
		}
		rt = route{team: in.team, members: []string{im.user, im.peer}}
	}
	if rt.team != in.team || !slices.Contains(rt.members, author) {
		return false
	}
	for _, m := range rt.members {
		if m == author {
			continue
		}
		// As route sees them: a session, a login the gateway expects,
		// or, without a gateway, any login shortly after connecting.
		live, expected, known := r.t.fanout.Awaited(MakeAccountID(in.team, m))
		if live || expected || !known && r.t.awaitLogin(in.team, m) {
			return false
		}
	}
	return s.takeEarlyEcho(in.channel, in.msg.TS, in.msg.ThreadTS, in.msg.Text)
}

// inbound is the Fanout's view of an event.
func (r *router) inbound(in *inbound) bridge.Inbound {
	order := in.channel
	if order == "" {
		order = "team:" + in.team
	}
	return bridge.Inbound{
		ID: in.eventID, Order: order, Describe: in,
		Route: func(ctx context.Context) ([]bridge.AccountID, bool, error) {
			r.membershipChanged(in)
			accounts, complete, err := r.route(ctx, in)
			accounts, complete = r.withBridged(in, accounts, complete)
			return accounts, complete, err
		},
		Handle: func(ctx context.Context, bs bridge.Session) error {
			s := bs.(*Session)
			err := s.handle(ctx, in)
			if err != nil && !errors.Is(err, bridge.ErrSessionClosed) && ctx.Err() == nil && s.noteAuth(ctx, err) {
				return nil // the account is logged out: nothing more to do
			}
			return err
		},
		Payload: in.payload,
		// Nothing of a Slack event is recorded after it is handled but
		// its acknowledgement: the host server's confirmation is
		// awaited off the conversation's worker.
		ConfirmLater: true,
	}
}

// restore makes a parked event again from its payload (see
// bridge.Fanout.SetRestore).
func (r *router) restore(payload []byte) (bridge.Inbound, error) {
	in, err := parseEnvelope(payload)
	if err != nil {
		return bridge.Inbound{}, err
	}
	return r.inbound(in), nil
}

// wait waits for the Fanout's work, after the context given to dispatch
// ended.
func (r *router) wait() {
	r.t.fanout.Wait()
}

// acknowledge has envelopes acknowledged on the Socket Mode connection,
// in order, without waiting. Those not sent when the transport stops are
// sent again by Slack, and recognized.
func (r *router) acknowledge(envelopeIDs ...string) {
	if r.ack != nil {
		r.ack(envelopeIDs)
	}
}

// route returns the accounts with a live session an event concerns, in
// account order. complete is false when, shortly after the connection
// started, the event also concerns installations whose accounts have not
// logged in yet: they get it when Slack sends it again. A conversation
// whose members are known costs a lookup per member, not a look at every
// session.
func (r *router) route(ctx context.Context, in *inbound) (accounts []bridge.AccountID, complete bool, err error) {
	if in.channel == "" {
		return r.t.fanout.Group(in.team), true, nil
	}
	r.mu.Lock()
	rt, cached := r.routes[in.channel]
	r.mu.Unlock()
	grace := r.t.inGrace()
	if !cached {
		// A direct message some session knows: its two members, without
		// looking at every session of the workspace.
		if im, ok := r.t.imMembers(in.team, in.channel); ok {
			rt, cached = route{team: in.team, members: []string{im.user, im.peer}}, true
		}
		if !cached {
			if _, gateway := r.t.fanout.Expecting(""); !gateway && !grace && !r.t.fanout.GroupLive(in.team) {
				// Nobody of the workspace is logged in or about to be.
				// With a gateway, which knows who is logging in, its
				// members are looked up: an event handed on at a start
				// (parked by the last run) comes before the connection,
				// and so before the grace period.
				return nil, true, nil
			}
			if in.eventContext == "" {
				return r.t.fanout.Group(in.team), true, nil // no way to know better
			}
			auths, err := r.t.app.ListEventAuthorizationsContext(ctx, in.eventContext)
			if err != nil {
				return nil, false, classify("apps.event.authorizations.list", err)
			}
			rt = route{team: in.team}
			for _, a := range auths {
				if !a.IsBot && (a.TeamID == "" || a.TeamID == in.team) && !slices.Contains(rt.members, a.UserID) {
					rt.members = append(rt.members, a.UserID)
				}
			}
		}
		r.mu.Lock()
		r.routes[in.channel] = rt
		r.mu.Unlock()
	}
	complete = true
	for _, m := range rt.members {
		acct := MakeAccountID(in.team, m)
		if live, expected, known := r.t.fanout.Awaited(acct); live {
			accounts = append(accounts, acct)
		} else if known {
			// The gateway knows which accounts are registered and logging
			// in: wait for those only, and never for an installation
			// nobody registered.
			complete = complete && !expected
		} else if grace && r.t.awaitLogin(in.team, m) {
			complete = false
		}
	}
	slices.SortFunc(accounts, func(a, b bridge.AccountID) int { return strings.Compare(string(a), string(b)) })
	return accounts, complete, nil
}

// membershipChanged forgets the remembered route of a conversation whose
// members change.
func (r *router) membershipChanged(in *inbound) {
	switch in.typ {
	case "member_joined_channel", "member_left_channel", "channel_left", "group_left",
		"channel_deleted", "group_deleted", "channel_shared", "channel_unshared", "im_created":
		r.mu.Lock()
		delete(r.routes, in.channel)
		r.mu.Unlock()
	}
}

// sessionsChanged forgets the routes of a workspace when one of its
// accounts logs in or out: the installations seeing its conversations may
// have changed.
func (r *router) sessionsChanged(team string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	maps.DeleteFunc(r.routes, func(_ string, rt route) bool { return rt.team == team })
}
