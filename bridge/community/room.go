package community

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/xgate-im/xgate/bridge"
	"github.com/xgate-im/xgate/store"
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
	puppetTo map[string]*occupant  // the puppets by full JID as a string, for skip
	byNick   map[string]*occupant  // those in the room (or joining), by nick
	puppets  map[string]*occupant  // by member and sender
	listener *occupant
	waits    map[string]chan error // messages awaiting their reflection, by ID
	waitBy   map[string]*occupant  // the occupants that sent them, by ID
	sids     map[string]string     // the stanza-ids of their reflections, by ID
	groups   map[string]string     // their group-wide IDs, by ID
	aliases  map[string]string     // group-wide IDs of messages sent, by id and stanza-id, until stored
	gone     error                 // the room is gone for good
	lastIn   time.Time             // when the listener was last known in the room
	ids      int64
}

func newRoom(h *Hub) *room {
	r := &room{
		h: h, jid: h.cfg.Room,
		byJID: map[jid.JID]*occupant{}, byNick: map[string]*occupant{}, puppetTo: map[string]*occupant{}, waitBy: map[string]*occupant{},
		puppets: map[string]*occupant{}, waits: map[string]chan error{}, sids: map[string]string{}, groups: map[string]string{}, aliases: map[string]string{},
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
	r.puppetTo[full.String()] = o
	return o, nil
}

// skip is the components' filter of the room's stanzas (installed by
// Mux.Add): it drops, unread, the room's messages to the puppets, except
// the reflections of the messages they sent. The room sends every message
// to every occupant; the listener's copy is the one read (onMessage), and
// a puppet's copy matters only when it confirms a message that puppet
// sent, which carries the ID being awaited (the room gives every copy the
// sender's ID, so the recipient must be the sender too). Presence, errors, IQs and private
// messages to the puppets are not dropped. A JID written other than as
// this side writes it (another case, say) is not recognized: the stanza is
// then decoded and handled as before.
func (r *room) skip(start *xmpp.Element) bool {
	if start.Name.Local != "message" || start.Name.Space != xmpp.NSComponent || start.AttrValue("type") != xmpp.MessageGroupchat {
		return false
	}
	from, room := start.AttrValue("from"), r.jid.String()
	if len(from) <= len(room) || from[len(room)] != '/' || from[:len(room)] != room {
		return false
	}
	to, id := start.AttrValue("to"), start.AttrValue("id")
	r.mu.Lock()
	defer r.mu.Unlock()
	o := r.puppetTo[to]
	return o != nil && r.waitBy[id] != o
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
// the room reflected it and the host server confirmed it.
func (r *room) deliver(ctx context.Context, p *post) error {
	sent, err := r.send(ctx, p)
	if err != nil || sent == nil {
		return err
	}
	refs, err := r.confirm(ctx, sent)
	if err != nil {
		return err
	}
	// The room has it. Wait until the component saw the host server
	// confirm it too (a delivery barrier), so that a connection lost now
	// does not write it again on the next one; what follows in the queue
	// then implies that it is settled.
	r.flush(ctx, sent.o.comp)
	err = r.h.db.PutMessageRefs(refs...)
	r.settled(sent)
	return err
}

// flush waits until the host server confirmed what comp sent.
func (r *room) flush(ctx context.Context, comp Component) {
	if f, ok := comp.(interface{ Flush(context.Context) error }); ok {
		if err := f.Flush(ctx); err != nil {
			r.h.log.Debug("confirming messages to the room", "err", err)
		}
	}
}

// sent is a post written to the room whose reflection is awaited.
type sent struct {
	o      *occupant
	p      *post
	id     string // our message ID
	answer chan error
}

// send writes p to the room from its sender's puppet (joining it first)
// without waiting for the room's answer; a nil sent means there is
// nothing to wait for (delivered before, or nothing to do). Posts sent
// one after the other reach the room in that order.
func (r *room) send(ctx context.Context, p *post) (*sent, error) {
	prev, err := r.h.memberID(xmppSide, p.G)
	if err != nil {
		return nil, err
	}
	if p.Kind == kindMessage && prev != "" {
		return nil, nil // delivered before
	}
	if p.Kind != kindMessage && prev == "" {
		return nil, nil // the message never reached the room
	}
	if p.Kind == kindEdit || p.Kind == kindRetract {
		if author, err := r.h.memberID(authorScope, p.G); err == nil && author != "" {
			p.Sender = author // the puppet that posted it
		}
	}
	if p.Sender == "" {
		return nil, fmt.Errorf("community: a post without an author: %w", bridge.ErrInvalidInput)
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
			return nil, err
		}
	}
	o, err := r.puppet(p.From, p.Sender, name)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	o.busy++
	r.mu.Unlock()
	done := false
	defer func() {
		if !done {
			r.release(o)
		}
	}()
	if err := r.join(ctx, o); err != nil {
		return nil, err
	}
	id := r.newID()
	m := &xmpp.Message{Header: xmpp.Header{From: o.jid, To: r.jid, ID: id, Type: xmpp.MessageGroupchat}, Body: p.Text}
	switch p.Kind {
	case kindMessage:
		if p.ReplyTo != "" {
			body, els, err := r.replyElements(p.ReplyTo, p.Text)
			if err != nil {
				return nil, err
			}
			m.Body, m.Extra = body, append(m.Extra, els...)
		}
	case kindReact:
		target, err := r.h.memberID(targetScope, p.G)
		if err != nil || target == "" {
			return nil, err // the room cannot name the message
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
			xmpp.NewElement(nsHints, "store"))
	}
	answer := make(chan error, 1)
	r.mu.Lock()
	r.waits[id] = answer
	r.waitBy[id] = o
	if p.Kind == kindMessage {
		// Occupants may react or reply to it as soon as they see it,
		// before it is recorded: it is known by its ID meanwhile.
		r.groups[id] = p.G
		r.aliases[id] = p.G
	}
	r.mu.Unlock()
	if err := o.comp.Send(ctx, m); err != nil {
		r.setOut(o)
		r.forget(id)
		return nil, fmt.Errorf("community: sending to the room: %w", err)
	}
	done = true
	return &sent{o: o, p: p, id: id, answer: answer}, nil
}

// confirm waits for the room's reflection of a sent post and returns the
// message refs to store for it.
func (r *room) confirm(ctx context.Context, s *sent) ([]store.MessageRef, error) {
	err := r.await(ctx, s.answer)
	r.mu.Lock()
	sid := r.sids[s.id]
	nick := s.o.nick
	delete(r.waits, s.id)
	delete(r.waitBy, s.id)
	delete(r.sids, s.id)
	delete(r.groups, s.id)
	r.mu.Unlock()
	if err != nil {
		if !errors.Is(err, ErrBarred) {
			r.setOut(s.o) // join again before the next try
		}
		r.settled(s)
		return nil, err
	}
	if s.p.Kind != kindMessage {
		return nil, nil
	}
	r.h.quotes.setNick(s.p.G, nick)
	// The message's own ID first: memberID finds it.
	refs := []store.MessageRef{{Scope: r.h.scope(xmppSide), XMPPID: s.p.G, RemoteID: s.id}}
	return append(refs, r.h.roomRefs(s.p.G, s.id, sid)...), nil
}

// settled forgets a sent post once its refs are stored (or it failed).
func (r *room) settled(s *sent) {
	r.mu.Lock()
	for id, g := range r.aliases {
		if g == s.p.G && s.p.Kind == kindMessage {
			delete(r.aliases, id)
		}
	}
	r.mu.Unlock()
	r.release(s.o)
}

// release ends a delivery by o, for the idle sweeper.
func (r *room) release(o *occupant) {
	r.mu.Lock()
	o.busy--
	o.lastUsed = time.Now()
	r.mu.Unlock()
}

// forget drops the wait for a message that was not sent.
func (r *room) forget(id string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if g, ok := r.aliases[id]; ok && r.groups[id] == g {
		delete(r.aliases, id)
	}
	delete(r.waits, id)
	delete(r.waitBy, id)
	delete(r.sids, id)
	delete(r.groups, id)
}

// newID returns a message ID of ours.
func (r *room) newID() string {
	r.mu.Lock()
	r.ids++
	n := r.ids
	r.mu.Unlock()
	return fmt.Sprintf("xgc-%x-%d", time.Now().UnixNano(), n)
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
