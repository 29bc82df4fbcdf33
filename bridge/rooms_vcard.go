package bridge

import (
	"context"

	"github.com/xgate-im/xgate/xmpp"
)

// occupantVCard answers a XEP-0054 vCard request to an occupant JID
// (XEP-0045 §17.4 lets clients ask occupants for theirs, which is how they
// show occupants' avatars) with the member's profile from the network
// (Profiler), or the name and picture of their messages, as for a
// contact's JID (accounts.personVCard). Only a user with a resource in the
// room may ask, and only of its occupants (their own nick included). Runs
// outside the dispatcher: Profile is network I/O.
func (r *rooms) occupantVCard(ctx context.Context, iq *xmpp.IQ) {
	if iq.Type != xmpp.IQGet {
		r.out.replyError(ctx, iq, xmpp.NewStanzaError(xmpp.CondNotAllowed, "Occupants' vCards are read-only."))
		return
	}
	v := r.existingView(iq.From, iq.To.Local())
	if v == nil {
		r.out.replyError(ctx, iq, xmpp.NewStanzaError(xmpp.CondNotAcceptable, "You are not in this room."))
		return
	}
	nick := iq.To.Resource()
	v.mu.Lock()
	in, acc := len(v.joined) > 0, v.acc
	uid, known := v.nicks[nick]
	self := nick == v.nick && v.nick != ""
	if self {
		uid, known = v.self, true
	}
	v.mu.Unlock()
	switch {
	case !in || acc == nil:
		r.out.replyError(ctx, iq, xmpp.NewStanzaError(xmpp.CondNotAcceptable, "You are not in this room."))
		return
	case !known:
		r.out.replyError(ctx, iq, xmpp.NewStanzaError(xmpp.CondItemNotFound, "There is no such occupant in this room."))
		return
	}
	card, shown, se := r.accounts.personVCard(ctx, acc, uid)
	if se != nil {
		r.out.replyError(ctx, iq, se)
		return
	}
	r.out.reply(ctx, iq, card)
	if !self { // the user's own picture is not shown in the room
		r.accounts.learnPhoto(ctx, acc, uid, shown)
	}
}

// photoChanged shows an occupant again, with the XEP-0153 hash of their
// picture, in every room of the account's user where they are one, once
// the user's vCard of them showed a picture that is news.
func (r *rooms) photoChanged(ctx context.Context, acc *account, uid UserID) {
	r.reshowOccupant(ctx, acc, uid, nil)
}
