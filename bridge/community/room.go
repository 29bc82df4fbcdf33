package community

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/xgate-im/xgate/bridge"
	"github.com/xgate-im/xgate/xmpp"
	"github.com/xgate-im/xgate/xmpp/jid"
)

// Namespaces of the room side.
const (
	nsMUC      = "http://jabber.org/protocol/muc"
	nsMUCUser  = "http://jabber.org/protocol/muc#user"
	nsCorrect  = "urn:xmpp:message-correct:0"
	nsRetract  = "urn:xmpp:message-retract:1"
	nsFallback = "urn:xmpp:fallback:0"
)

// Occupant states.
const (
	stOut = iota
	stJoining
	stIn
	stBarred
)

// occupant is one of the hub's occupants of the room: a puppet (a remote
// person) or the listener.
type occupant struct {
	jid      jid.JID   // our full JID
	comp     Component // the component it speaks through
	network  string    // "" for the listener
	base     string    // the nick it wants (the person's display name)
	listener bool

	// Under room.mu:
	nick     string
	state    int
	done     chan struct{} // closed when a join ends, either way
	answer   chan error    // the room's answer to the join in progress
	lastUsed time.Time     // last message sent, for the idle sweeper
	busy     int           // deliveries in progress
}

// room is the XMPP side of a hub: its occupants of the room.
type room struct {
	h   *Hub
	jid jid.JID

	mu       sync.Mutex
	byJID    map[jid.JID]*occupant // every occupant we made, by full JID
	byNick   map[string]*occupant  // those in the room (or joining), by nick
	puppets  map[string]*occupant  // by member and sender
	listener *occupant
	waits    map[string]chan error // messages awaiting their reflection, by ID
	sids     map[string]string     // the stanza-ids of their reflections, by ID
	groups   map[string]string     // their group-wide IDs, by ID
	gone     error                 // the room is gone for good
	lastIn   time.Time             // when the listener was last known in the room
	ids      int64
}

func newRoom(h *Hub) *room {
	r := &room{
		h: h, jid: h.cfg.Room,
		byJID: map[jid.JID]*occupant{}, byNick: map[string]*occupant{},
		puppets: map[string]*occupant{}, waits: map[string]chan error{}, sids: map[string]string{}, groups: map[string]string{},
	}
	first := h.cfg.Networks[0]
	lj, err := first.Component.Domain().WithResource("bridge-" + h.cfg.Name)
	if err != nil {
		lj = first.Component.Domain()
	}
	r.listener = &occupant{jid: lj, comp: first.Component, base: h.cfg.ListenerNick, listener: true}
	r.byJID[lj] = r.listener
	return r
}

// puppet returns the occupant of a person of a network, making it.
func (r *room) puppet(network, sender, name string) (*occupant, error) {
	n, ok := r.h.nets[network]
	if !ok {
		return nil, fmt.Errorf("community: no network %q in the group: %w", network, bridge.ErrInvalidInput)
	}
	key := network + "|" + sender
	r.mu.Lock()
	defer r.mu.Unlock()
	if o, ok := r.puppets[key]; ok {
		if name != "" && o.base != name && o.state == stOut {
			o.base = name
		}
		return o, nil
	}
	local := jid.Escape(n.Localpart(bridge.UserID(sender)))
	if local == "" {
		local = jid.Escape(sender)
	}
	bare, err := n.Component.Domain().WithLocal(local)
	if err != nil {
		return nil, fmt.Errorf("community: JID of %s: %v: %w", sender, err, bridge.ErrInvalidInput)
	}
	full, err := bare.WithResource("bridge-" + r.h.cfg.Name)
	if err != nil {
		return nil, fmt.Errorf("community: JID of %s: %v: %w", sender, err, bridge.ErrInvalidInput)
	}
	if name == "" {
		name = sender
	}
	o := &occupant{jid: full, comp: n.Component, network: network, base: name}
	r.puppets[key] = o
	r.byJID[full] = o
	return o, nil
}

// nickFor is the nick tried at the attempt-th join of an occupant: its
// name, then with its network's name, then with a number.
func nickFor(o *occupant, attempt int) string {
	switch {
	case attempt == 0:
		return o.base
	case o.listener:
		return o.base + " " + strconv.Itoa(attempt+1)
	case attempt == 1:
		return o.base + " (" + o.network + ")"
	}
	return o.base + " (" + o.network + " " + strconv.Itoa(attempt) + ")"
}

// maxNickTries bounds the nicks tried for one join.
const maxNickTries = 8

// join makes o an occupant of the room if it is not one, or waits for
// the join in progress.
func (r *room) join(ctx context.Context, o *occupant) error {
	r.mu.Lock()
	for o.state == stJoining {
		done := o.done
		r.mu.Unlock()
		select {
		case <-done:
		case <-ctx.Done():
			return ctx.Err()
		}
		r.mu.Lock()
	}
	switch {
	case r.gone != nil:
		r.mu.Unlock()
		return r.gone
	case o.state == stIn:
		r.mu.Unlock()
		return nil
	case o.state == stBarred:
		r.mu.Unlock()
		return fmt.Errorf("community: %s: %w", o.base, ErrBarred)
	}
	o.state, o.done = stJoining, make(chan struct{})
	since := r.lastIn
	r.mu.Unlock()

	err := r.tryJoin(ctx, o, since)

	r.mu.Lock()
	switch {
	case err == nil:
		o.state = stIn
	case errors.Is(err, ErrBarred):
		o.state = stBarred
	default:
		o.state = stOut
		if r.byNick[o.nick] == o {
			delete(r.byNick, o.nick)
		}
	}
	close(o.done)
	nick := o.nick
	r.mu.Unlock()
	if err == nil {
		r.h.log.Debug("joined the room", "nick", nick, "jid", o.jid.String())
	}
	return err
}

// tryJoin sends o's join presence, under another nick after each clash.
func (r *room) tryJoin(ctx context.Context, o *occupant, since time.Time) error {
	for attempt := 0; attempt < maxNickTries; attempt++ {
		nick := nickFor(o, attempt)
		to, err := r.jid.WithResource(nick)
		if err != nil {
			continue // a name the room cannot take as it is
		}
		answer := make(chan error, 1)
		r.mu.Lock()
		if other, ok := r.byNick[nick]; ok && other != o {
			r.mu.Unlock()
			continue // one of ours has it
		}
		if r.byNick[o.nick] == o {
			delete(r.byNick, o.nick)
		}
		o.nick, o.answer = nick, answer
		r.byNick[nick] = o
		r.mu.Unlock()

		x := xmpp.NewElement(nsMUC, "x")
		hist := xmpp.NewElement("", "history", "maxchars", "0")
		if o.listener && !since.IsZero() {
			hist = xmpp.NewElement("", "history", "since", since.UTC().Add(-time.Second).Format(time.RFC3339))
		}
		x.Append(hist)
		p := &xmpp.Presence{Header: xmpp.Header{From: o.jid, To: to}, Extra: []*xmpp.Element{x}}
		if err := o.comp.Send(ctx, p); err != nil {
			return fmt.Errorf("community: joining as %q: %w", nick, err)
		}
		err = r.await(ctx, answer)
		if errors.Is(err, errConflict) {
			r.mu.Lock()
			if r.byNick[nick] == o {
				delete(r.byNick, nick)
			}
			r.mu.Unlock()
			continue
		}
		return err
	}
	return fmt.Errorf("community: no free nick for %q after %d tries: %w", o.base, maxNickTries, bridge.ErrInvalidInput)
}

// errConflict: the nick is taken.
var errConflict = errors.New("community: nick taken")

// await waits for the room's answer.
func (r *room) await(ctx context.Context, answer chan error) error {
	t := time.NewTimer(r.h.cfg.AnswerTimeout)
	defer t.Stop()
	select {
	case err := <-answer:
		return err
	case <-t.C:
		return errTimeout
	case <-ctx.Done():
		return ctx.Err()
	}
}

// deliver posts p in the room from its sender's puppet and returns once
// the room reflected it.
func (r *room) deliver(ctx context.Context, p *post) error {
	prev, err := r.h.memberID(xmppSide, p.G)
	if err != nil {
		return err
	}
	if p.Kind == kindMessage && prev != "" {
		return nil // delivered before
	}
	if p.Kind != kindMessage && prev == "" {
		return nil // the message never reached the room
	}
	if p.Kind == kindEdit || p.Kind == kindRetract {
		if author, err := r.h.memberID(authorScope, p.G); err == nil && author != "" {
			p.Sender = author // the puppet that posted it
		}
	}
	if p.Sender == "" {
		return fmt.Errorf("community: a post without an author: %w", bridge.ErrInvalidInput)
	}
	// The person's name is kept for their corrections and deletions,
	// which networks send without it, after a restart.
	name, nameKey := p.Name, "name|"+p.From+"|"+p.Sender
	kept, err := r.h.db.KVGet(r.h.queue, nameKey)
	switch {
	case name == "" && err == nil:
		name = string(kept)
	case name != "" && string(kept) != name:
		if err := r.h.db.KVPut(r.h.queue, nameKey, []byte(name)); err != nil {
			return err
		}
	}
	o, err := r.puppet(p.From, p.Sender, name)
	if err != nil {
		return err
	}
	r.mu.Lock()
	o.busy++
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		o.busy--
		o.lastUsed = time.Now()
		r.mu.Unlock()
	}()
	if err := r.join(ctx, o); err != nil {
		return err
	}
	id := r.newID()
	m := &xmpp.Message{Header: xmpp.Header{From: o.jid, To: r.jid, ID: id, Type: xmpp.MessageGroupchat}, Body: p.Text}
	switch p.Kind {
	case kindMessage:
		if p.ReplyTo != "" {
			body, els, err := r.replyElements(p.ReplyTo, p.Text)
			if err != nil {
				return err
			}
			m.Body, m.Extra = body, append(m.Extra, els...)
		}
	case kindReact:
		target, err := r.h.memberID(targetScope, p.G)
		if err != nil || target == "" {
			return err // the room cannot name the message
		}
		m.Body = ""
		m.Extra = append(m.Extra, reactionsElement(target, p.Emojis), xmpp.NewElement(nsHints, "store"))
	case kindEdit:
		m.Extra = append(m.Extra, xmpp.NewElement(nsCorrect, "replace", "id", prev))
	case kindRetract:
		m.Body = "(retracted a message)"
		m.Extra = append(m.Extra,
			xmpp.NewElement(nsRetract, "retract", "id", prev),
			xmpp.NewElement(nsFallback, "fallback", "for", nsRetract),
			xmpp.NewElement("urn:xmpp:hints", "store"))
	}
	if p.Kind == kindMessage {
		if err := r.h.linkRoomIDs(p.G, id); err != nil {
			return err
		}
	}
	sid, err := r.sendAwait(ctx, o, m, p.G)
	if err != nil {
		return err
	}
	// The room has it. Wait until the component saw the host server
	// confirm it too (a delivery barrier), so that a connection lost now
	// does not write it again on the next one; what follows in the queue
	// then implies that it is settled.
	if f, ok := o.comp.(interface{ Flush(context.Context) error }); ok {
		if err := f.Flush(ctx); err != nil {
			r.h.log.Debug("confirming a message to the room", "err", err)
		}
	}
	if p.Kind == kindMessage {
		// The message's own ID first: memberID finds it.
		if err := r.h.linkID(xmppSide, p.G, id); err != nil {
			return err
		}
		r.mu.Lock()
		nick := o.nick
		r.mu.Unlock()
		r.h.quotes.setNick(p.G, nick)
		return r.h.linkTarget(p.G, id, sid)
	}
	return nil
}

// newID returns a message ID of ours.
func (r *room) newID() string {
	r.mu.Lock()
	r.ids++
	n := r.ids
	r.mu.Unlock()
	return fmt.Sprintf("xgc-%x-%d", time.Now().UnixNano(), n)
}

// sendAwait sends a message from o and waits for its reflection; it
// returns the stanza-id the room gave it, if any.
func (r *room) sendAwait(ctx context.Context, o *occupant, m *xmpp.Message, g string) (string, error) {
	ch := make(chan error, 1)
	r.mu.Lock()
	r.waits[m.ID] = ch
	r.sids[m.ID] = "" // the reflection records g's stanza-id (inbound.go)
	r.groups[m.ID] = g
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		delete(r.waits, m.ID)
		delete(r.sids, m.ID)
		delete(r.groups, m.ID)
		r.mu.Unlock()
	}()
	if err := o.comp.Send(ctx, m); err != nil {
		r.setOut(o)
		return "", fmt.Errorf("community: sending to the room: %w", err)
	}
	err := r.await(ctx, ch)
	if err != nil && !errors.Is(err, ErrBarred) {
		r.setOut(o) // join again before the next try
	}
	r.mu.Lock()
	sid := r.sids[m.ID]
	r.mu.Unlock()
	return sid, err
}

// setOut marks an occupant as not in the room.
func (r *room) setOut(o *occupant) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if o.state == stIn {
		o.state = stOut
		if r.byNick[o.nick] == o {
			delete(r.byNick, o.nick)
		}
	}
}

// lost marks every occupant as out of the room: the listener found the
// room does not know it any more (the MUC service or the host server
// restarted).
func (r *room) lost() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, o := range r.byJID {
		if o.state == stIn {
			o.state = stOut
		}
	}
	for nick, o := range r.byNick {
		if o.state != stJoining {
			delete(r.byNick, nick)
		}
	}
}
