package community

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/xgate-im/xgate/bridge"
	"github.com/xgate-im/xgate/store"
	"github.com/xgate-im/xgate/xmpp"
)

// xmppSide names the room among the members of a group.
const xmppSide = "xmpp"

// Kinds of posts.
const (
	kindMessage = "message"
	kindEdit    = "edit"
	kindRetract = "retract"
	kindReact   = "react"
)

// post is one entry of a group's queue: something that happened in one
// member (From), still to be delivered to the members in To, in order.
type post struct {
	Kind string `json:"kind"`
	From string `json:"from"`
	// G is the group-wide ID of the message (made from the member and the
	// message's ID there); every member's ID of it is stored under it.
	G      string `json:"g"`
	Sender string `json:"sender,omitempty"` // a network's user ID, or an occupant's nick
	Name   string `json:"name,omitempty"`
	Avatar string `json:"avatar,omitempty"`
	Text   string `json:"text,omitempty"`
	// ReplyTo is the group-wide ID of the message this one answers (a
	// reply in the room, a Discord reply, a Slack thread).
	ReplyTo string `json:"reply_to,omitempty"`
	// Emojis is, for a reaction, the sender's whole set on message G.
	Emojis []string `json:"emojis,omitempty"`
	To     []string `json:"to"`
}

// Stats counts what a hub did and what it had to report. Read it with
// Hub.Stats.
type Stats struct {
	// Delivered counts posts delivered to one member (a message, a
	// correction or a retraction).
	Delivered uint64
	// Dropped counts posts given up for one member (see the reports).
	Dropped uint64
	// Rejoins counts the times the listener found itself out of the room
	// and joined again.
	Rejoins uint64
	// Barred counts puppets kicked or banned from the room.
	Barred uint64
	// Gone counts the room or a channel found gone.
	Gone uint64
	// Queued is the number of posts waiting in the group's queue.
	Queued int
}

// Hub runs one bridge group. Create it with New and start it with Run; it
// takes the room's stanzas through a Mux (Mux.Add).
type Hub struct {
	cfg   Config
	db    *store.DB
	log   *slog.Logger
	queue string
	nets  map[string]*Network
	room  *room
	// avatars finds the XMPP occupants' pictures; nil without an uploader.
	avatars *avatars

	wake chan struct{} // a post was queued

	mu    sync.Mutex
	chans map[string]bridge.Session // open channels, by network name
	lost  map[string]bool           // channels found gone

	// posting is held by the worker while it posts into a network and
	// records the ID the message got there: an event naming a message the
	// group does not know yet waits for it (postedID).
	posting map[string]*sync.Mutex

	reactMu sync.Mutex // serializes the updates of the reactions kept per message
	quotes  quotes     // recent messages, for the room's reply fallbacks

	inMu   sync.Mutex
	inQ    []xmpp.Stanza
	inWake chan struct{}

	delivered, dropped, rejoins, barred, gone atomic.Uint64
	// changed is closed and replaced whenever Stats may have changed.
	changedMu sync.Mutex
	changed   chan struct{}
}

// New returns the hub of a bridge group. It does no I/O.
func New(cfg Config, db *store.DB, log *slog.Logger) (*Hub, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	h := &Hub{
		cfg: cfg, db: db, log: log.With("bridge_group", cfg.Name, "room", cfg.Room.String()),
		queue: "community|" + cfg.Name + "|", nets: map[string]*Network{},
		wake: make(chan struct{}, 1), inWake: make(chan struct{}, 1),
		chans: map[string]bridge.Session{}, lost: map[string]bool{},
		changed: make(chan struct{}), posting: map[string]*sync.Mutex{},
	}
	for i := range cfg.Networks {
		n := &cfg.Networks[i]
		h.nets[n.Name] = n
		h.posting[n.Name] = &sync.Mutex{}
		n.Bridger.WillBridge(n.Channel)
	}
	h.room = newRoom(h)
	if cfg.Uploader != nil {
		h.avatars = newAvatars(cfg.Uploader, h.room.listener.comp, h.room.listener.jid, cfg.Room, h.log)
	}
	return h, nil
}

// Name returns the group's name.
func (h *Hub) Name() string { return h.cfg.Name }

// Stats returns the hub's counters.
func (h *Hub) Stats() Stats {
	st := Stats{
		Delivered: h.delivered.Load(), Dropped: h.dropped.Load(), Rejoins: h.rejoins.Load(),
		Barred: h.barred.Load(), Gone: h.gone.Load(),
	}
	if n, err := h.db.OutboxCount(h.queue); err == nil {
		st.Queued = n
	}
	return st
}

// notify wakes WaitStats.
func (h *Hub) notify() {
	h.changedMu.Lock()
	close(h.changed)
	h.changed = make(chan struct{})
	h.changedMu.Unlock()
}

// WaitStats waits until cond holds for the hub's Stats, or ctx is done.
func (h *Hub) WaitStats(ctx context.Context, cond func(Stats) bool) error {
	for {
		h.changedMu.Lock()
		ch := h.changed
		h.changedMu.Unlock()
		if cond(h.Stats()) {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("community: waiting for stats (now %+v): %w", h.Stats(), ctx.Err())
		}
	}
}

// Run opens the group's channels, joins the room and delivers posts until
// ctx is done. Posts not yet delivered stay in the store for the next run.
func (h *Hub) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	for _, n := range h.cfg.Networks {
		wg.Go(func() { h.openChannel(ctx, n) })
	}
	wg.Go(func() { h.readStanzas(ctx) })
	wg.Go(func() { h.room.listen(ctx) })
	wg.Go(func() { h.room.sweep(ctx) })
	wg.Go(func() { h.work(ctx) })
	<-ctx.Done()
	wg.Wait()
	h.mu.Lock()
	chans := h.chans
	h.chans = map[string]bridge.Session{}
	h.mu.Unlock()
	for name, s := range chans {
		if err := s.Close(); err != nil {
			h.log.Warn("closing the channel", "network", name, "err", err)
		}
	}
	return nil
}

// openChannel starts a network's channel, retrying temporary failures.
func (h *Hub) openChannel(ctx context.Context, n Network) {
	delay := h.cfg.RetryBase
	for {
		s, err := n.Bridger.BridgeChannel(ctx, n.Channel, &netSink{h: h, net: n.Name, channel: n.Channel})
		if err == nil {
			h.mu.Lock()
			h.chans[n.Name] = s
			h.mu.Unlock()
			h.log.Info("channel bridged", "network", n.Name, "channel", string(n.Channel))
			h.kick()
			return
		}
		if ctx.Err() != nil {
			return
		}
		if permanent(err) {
			h.channelGone(n.Name, err)
			return
		}
		h.log.Warn("opening the channel; will retry", "network", n.Name, "channel", string(n.Channel), "err", err, "in", delay)
		if !waitFor(ctx, delay) {
			return
		}
		delay = min(delay*2, maxRetry)
	}
}

// channelGone reports a channel that cannot be used any more.
func (h *Hub) channelGone(name string, err error) {
	h.mu.Lock()
	already := h.lost[name]
	h.lost[name] = true
	h.mu.Unlock()
	if !already {
		h.gone.Add(1)
		h.notify()
		h.log.Error("the channel is gone or unreachable: its posts are dropped until the configuration changes", "network", name, "err", err)
	}
	h.kick()
}

// channel returns the open channel of a network.
func (h *Hub) channel(name string) (bridge.Session, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.lost[name] {
		return nil, fmt.Errorf("community: channel of %s: %w", name, bridge.ErrNotFound)
	}
	s, ok := h.chans[name]
	if !ok {
		return nil, fmt.Errorf("community: channel of %s not open yet: %w", name, bridge.ErrTemporary)
	}
	return s, nil
}

// scope is the message-ref scope of a member of the group.
func (h *Hub) scope(member string) string { return h.queue + member }

// linkID stores a member's ID of a group-wide message.
func (h *Hub) linkID(member, g, id string) error {
	return h.db.PutMessageRefs(store.MessageRef{Scope: h.scope(member), XMPPID: g, RemoteID: id})
}

// groupID returns the group-wide ID of a member's message, "" if unknown.
func (h *Hub) groupID(member, id string) (string, error) {
	if id == "" {
		return "", nil
	}
	g, err := h.db.XMPPMessageID(h.scope(member), id)
	if errors.Is(err, store.ErrNotFound) {
		return "", nil
	}
	return g, err
}

// postedID returns the group-wide ID of a message of a network that an
// event names (a reaction, a reply): like groupID, but a message the
// group is posting there right now (whose ID is not recorded yet) is
// waited for.
func (h *Hub) postedID(network, id string) (string, error) {
	g, err := h.groupID(network, id)
	if err != nil || g != "" || id == "" {
		return g, err
	}
	if posting, ok := h.posting[network]; ok {
		posting.Lock()
		posting.Unlock() //nolint:staticcheck // a barrier: the post in progress is recorded
	}
	return h.groupID(network, id)
}

// memberID returns a member's ID of a group-wide message, "" if it has none.
func (h *Hub) memberID(member, g string) (string, error) {
	id, err := h.db.RemoteMessageID(h.scope(member), g)
	if errors.Is(err, store.ErrNotFound) {
		return "", nil
	}
	return id, err
}

// enqueue stores a post for every member but its origin, and the refs
// that go with it, and wakes the worker. It returns once both are
// durable; they are written concurrently, so that the store's batcher
// commits them together.
func (h *Hub) enqueue(p post, refs ...store.MessageRef) error {
	p.To = p.To[:0]
	if p.From != xmppSide {
		p.To = append(p.To, xmppSide)
	}
	for _, n := range h.cfg.Networks {
		if n.Name != p.From {
			p.To = append(p.To, n.Name)
		}
	}
	if len(p.To) == 0 {
		return nil
	}
	if p.Kind == kindMessage {
		h.quotes.put(p.G, quote{name: p.Name, text: p.Text})
	}
	b, err := json.Marshal(p)
	if err != nil {
		return fmt.Errorf("community: encoding a post: %w", err)
	}
	var refErr error
	var wg sync.WaitGroup
	if len(refs) > 0 {
		wg.Go(func() { refErr = h.db.PutMessageRefs(refs...) })
	}
	_, err = h.db.Enqueue(h.queue, b)
	wg.Wait()
	if err != nil {
		return fmt.Errorf("community: queueing a post: %w", err)
	}
	if refErr != nil {
		return fmt.Errorf("community: recording a message's IDs: %w", refErr)
	}
	h.notify()
	h.kick()
	return nil
}

func (h *Hub) kick() {
	select {
	case h.wake <- struct{}{}:
	default:
	}
}

// maxInFlight bounds the messages written to the room whose reflection
// is still awaited.
const maxInFlight = 32

// flying is a post of the queue written to the room and not settled yet.
type flying struct {
	it   store.OutboxItem
	p    post
	sent *sent // nil: nothing to wait for
}

// work delivers the queue's posts in order until ctx is done. A message
// for the room alone is written without waiting for the room's answer to
// the messages before it (up to maxInFlight); the answers are then
// awaited in order, the host server's confirmation once for all of them,
// and their refs stored and the posts removed in one commit. Everything
// else, and a post that failed, goes one at a time (handle).
func (h *Hub) work(ctx context.Context) {
	var flight []*flying
	retry := false
	defer func() {
		if len(flight) > 0 {
			// Settle what the room has answered already, so that it is
			// not written again at the next start; a short grace only,
			// as the connection may be closing too.
			sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), min(h.cfg.AnswerTimeout, 2*time.Second))
			h.settle(sctx, flight)
			cancel()
		}
	}()
	for ctx.Err() == nil {
		items, err := h.db.OutboxPeek(h.queue, len(flight)+1)
		if err != nil {
			h.log.Error("reading the queue", "err", err)
			if !waitFor(ctx, maxRetry) {
				return
			}
			continue
		}
		if len(items) <= len(flight) {
			if len(flight) > 0 {
				retry = h.settle(ctx, flight) || retry
				flight = nil
				continue
			}
			select {
			case <-ctx.Done():
				return
			case <-h.wake:
			}
			continue
		}
		it := items[len(flight)]
		if !retry {
			if f := h.start(ctx, it, flight); f != nil {
				flight = append(flight, f)
				if len(flight) >= maxInFlight {
					retry = h.settle(ctx, flight) || retry
					flight = nil
				}
				continue
			}
		}
		if len(flight) > 0 {
			retry = h.settle(ctx, flight) || retry
			flight = nil
			continue
		}
		retry = false
		if !h.handle(ctx, it) {
			return
		}
	}
}

// start writes a message for the room alone to the room, without
// waiting; nil means the post is not for the pipeline (handle it).
func (h *Hub) start(ctx context.Context, it store.OutboxItem, flight []*flying) *flying {
	var p post
	if it.Attempts > 0 || json.Unmarshal(it.Payload, &p) != nil || p.Kind != kindMessage || len(p.To) != 1 || p.To[0] != xmppSide {
		return nil
	}
	for _, f := range flight {
		if f.p.G == p.ReplyTo {
			return nil // its reply needs the room's ID of the message
		}
	}
	s, err := h.room.send(ctx, &p)
	if err != nil {
		return nil // handle tries again, and reports
	}
	return &flying{it: it, p: p, sent: s}
}

// settle waits for the room's answers to the messages in flight, in
// order, and records the delivered ones; it reports whether one failed
// for a reason worth retrying (the next post then goes alone).
func (h *Hub) settle(ctx context.Context, flight []*flying) (failed bool) {
	refs := make([][]store.MessageRef, len(flight))
	errs := make([]error, len(flight))
	comps := map[Component]bool{}
	for i, f := range flight {
		if f.sent == nil {
			continue
		}
		refs[i], errs[i] = h.room.confirm(ctx, f.sent)
		if errs[i] == nil {
			comps[f.sent.o.comp] = true
		}
	}
	if ctx.Err() != nil {
		return true
	}
	for c := range comps {
		h.room.flush(ctx, c)
	}
	var wg sync.WaitGroup
	for i, f := range flight {
		err := errs[i]
		switch {
		case err == nil:
			wg.Go(func() { // concurrent: one commit for all
				if err := h.db.OutboxDone(h.queue, f.it.Seq, refs[i]...); err != nil {
					h.log.Error("recording a delivered post", "err", err)
				}
				if f.sent != nil {
					h.room.settled(f.sent)
				}
				h.delivered.Add(1)
			})
		case permanent(err):
			h.dropped.Add(1)
			h.log.Error("a post could not be delivered and is dropped for this member", "to", xmppSide, "kind", f.p.Kind, "from", f.p.From, "sender", f.p.Sender, "err", err)
			if err := h.db.OutboxAck(h.queue, f.it.Seq); err != nil {
				h.log.Error("removing a dropped post", "err", err)
			}
		default:
			h.log.Warn("delivering a post; will retry", "to", xmppSide, "kind", f.p.Kind, "err", err)
			failed = true
		}
	}
	wg.Wait()
	h.notify()
	return failed
}

// handle delivers one queued post to each member still in its To. It
// returns false when ctx ended first.
func (h *Hub) handle(ctx context.Context, it store.OutboxItem) bool {
	var p post
	if err := json.Unmarshal(it.Payload, &p); err != nil {
		h.log.Error("dropping an unreadable post", "seq", it.Seq, "err", err)
		_ = h.db.OutboxAck(h.queue, it.Seq)
		return true
	}
	delay := h.cfg.RetryBase
	for len(p.To) > 0 {
		dest := p.To[0]
		err := h.deliver(ctx, dest, &p)
		if ctx.Err() != nil {
			return false
		}
		switch {
		case err == nil:
			h.delivered.Add(1)
			h.notify()
		case permanent(err):
			h.dropped.Add(1)
			h.notify()
			h.log.Error("a post could not be delivered and is dropped for this member", "to", dest, "kind", p.Kind, "from", p.From, "sender", p.Sender, "err", err)
		default:
			h.log.Warn("delivering a post; will retry", "to", dest, "kind", p.Kind, "err", err, "in", delay)
			it.Attempts++
			it.LastError = err.Error()
			if !waitFor(ctx, delay) {
				return false
			}
			delay = min(delay*2, maxRetry)
			continue
		}
		delay = h.cfg.RetryBase
		p.To = p.To[1:]
		if len(p.To) > 0 {
			it.Payload, _ = json.Marshal(p)
			if err := h.db.OutboxUpdate(it); err != nil {
				h.log.Error("recording a post's progress", "err", err)
			}
		}
	}
	if err := h.db.OutboxAck(h.queue, it.Seq); err != nil {
		h.log.Error("removing a delivered post", "err", err)
	}
	h.notify()
	return true
}

// deliver delivers a post to one member.
func (h *Hub) deliver(ctx context.Context, dest string, p *post) error {
	if dest == xmppSide {
		return h.room.deliver(ctx, p)
	}
	n, ok := h.nets[dest]
	if !ok {
		return fmt.Errorf("community: no member %q in the group: %w", dest, bridge.ErrNotFound)
	}
	s, err := h.channel(dest)
	if err != nil {
		return err
	}
	chat := bridge.ChatRef{Kind: bridge.Group, ID: n.Channel}
	msg := bridge.OutgoingMessage{Text: p.Text, SenderName: p.Name, SenderAvatarURL: p.Avatar}
	if p.Kind == kindMessage && p.From == xmppSide && msg.SenderAvatarURL == "" {
		msg.SenderAvatarURL = h.avatars.url(ctx, p.Sender)
	}
	prev, err := h.memberID(dest, p.G)
	if err != nil {
		return err
	}
	switch p.Kind {
	case kindMessage:
		if prev != "" {
			return nil // delivered before (the post came again)
		}
		relay, ok := s.(bridge.Relay)
		if !ok {
			return fmt.Errorf("community: %s cannot post under other names: %w", dest, bridge.ErrUnsupported)
		}
		if err := h.replyOn(dest, p.ReplyTo, &msg); err != nil {
			return err
		}
		posting := h.posting[dest]
		posting.Lock()
		defer posting.Unlock()
		id, err := relay.SendAs(ctx, chat, msg)
		if err != nil {
			return h.fromNetwork(dest, err)
		}
		if msg.Thread != "" {
			if err := h.linkID(rootScope+dest, p.G, string(msg.Thread)); err != nil {
				return err
			}
		}
		return h.linkID(dest, p.G, string(id))
	case kindReact:
		rc, ok := s.(bridge.Reactor)
		if prev == "" || !ok {
			return nil // never delivered there, or no reactions there
		}
		return rc.React(ctx, chat, bridge.MessageID(prev), h.reactionsFor(dest, p.G))
	case kindEdit:
		ed, ok := s.(bridge.Editor)
		if prev == "" || !ok {
			return nil // never delivered there, or no edits: nothing to correct
		}
		return ed.Edit(ctx, chat, bridge.MessageID(prev), msg)
	case kindRetract:
		rt, ok := s.(bridge.Retractor)
		if prev == "" || !ok {
			return nil
		}
		return rt.Retract(ctx, chat, bridge.MessageID(prev))
	}
	return fmt.Errorf("community: post of kind %q: %w", p.Kind, bridge.ErrInvalidInput)
}

// fromNetwork reports a channel that is gone (or that the bot may no
// longer post in) when a new message finds it so.
func (h *Hub) fromNetwork(name string, err error) error {
	if errors.Is(err, bridge.ErrNotFound) || errors.Is(err, bridge.ErrForbidden) {
		h.channelGone(name, err)
	}
	return err
}

// permanent reports whether retrying cannot help.
func permanent(err error) bool {
	for _, e := range []error{ErrRoomGone, ErrBarred, ErrConfig, bridge.ErrNotFound, bridge.ErrForbidden, bridge.ErrUnsupported, bridge.ErrInvalidInput, bridge.ErrAuth} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// waitFor waits d or until ctx is done; it reports whether ctx is still on.
func waitFor(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// netSink receives a channel's events from its transport.
type netSink struct {
	h       *Hub
	net     string
	channel bridge.ChatID
}

// Emit implements bridge.Sink: it turns a message, correction or
// retraction into a post and returns once the post is in the store.
func (s *netSink) Emit(ctx context.Context, ev bridge.Event) error {
	h := s.h
	var p post
	switch ev := ev.(type) {
	case bridge.MessageEvent:
		if ev.Chat.ID != s.channel || ev.FromSelf {
			return nil
		}
		g := s.net + ":" + string(ev.ID)
		p = post{Kind: kindMessage, From: s.net, G: g, Sender: string(ev.Sender), Name: ev.SenderName, Avatar: ev.SenderAvatarURL, Text: withAttachments(ev.Text, ev.Attachments)}
		refs, err := s.replyOf(&p, ev)
		if err != nil {
			return err
		}
		if p.Sender == "" { // another integration's post, without a member
			p.Sender = "unknown"
		}
		if p.Name == "" {
			p.Name = p.Sender
		}
		// Its corrections and deletion come from the same person, whom
		// a network may not name with them (Discord's deletions); kept
		// as long as the message's IDs.
		refs = append(refs, store.MessageRef{Scope: h.scope(s.net), XMPPID: g, RemoteID: string(ev.ID)},
			store.MessageRef{Scope: h.scope(authorScope), XMPPID: g, RemoteID: p.Sender})
		return h.enqueue(p, refs...)
	case bridge.EditEvent:
		if ev.Chat.ID != s.channel {
			return nil
		}
		g, err := s.origin(ev.ID)
		if err != nil || g == "" {
			return err
		}
		p = post{Kind: kindEdit, From: s.net, G: g, Sender: string(ev.Sender), Text: ev.Text}
	case bridge.RetractionEvent:
		if ev.Chat.ID != s.channel {
			return nil
		}
		g, err := s.origin(ev.ID)
		if err != nil || g == "" {
			return err
		}
		p = post{Kind: kindRetract, From: s.net, G: g, Sender: string(ev.Sender)}
	case bridge.ReactionEvent:
		if ev.Chat.ID != s.channel || ev.FromSelf {
			return nil // the bot's reactions are the group's own
		}
		g, err := h.postedID(s.net, string(ev.ID))
		if err != nil || g == "" {
			return err // a message the group never saw
		}
		return h.react(post{Kind: kindReact, From: s.net, G: g, Sender: string(ev.Sender), Name: ev.SenderName, Emojis: ev.Emojis})
	default:
		return nil // typing, contacts...: not bridged
	}
	return h.enqueue(p)
}

// authorScope is the pseudo-member under which the author of each
// message from a network is kept (no instance name has a colon).
const authorScope = "author:"

// origin returns the group-wide ID of a message of the channel that was
// written there, "" for one the group posted there (its correction or
// deletion is the group's own echo, or a moderator's, which the other
// members cannot follow) or one the group never saw.
func (s *netSink) origin(id bridge.MessageID) (string, error) {
	g, err := s.h.groupID(s.net, string(id))
	if err != nil || !strings.HasPrefix(g, s.net+":") {
		return "", err
	}
	return g, nil
}

// withAttachments adds the links of a message's files to its text.
func withAttachments(text string, atts []bridge.Attachment) string {
	if len(atts) == 0 {
		return text
	}
	lines := []string{}
	if text != "" {
		lines = append(lines, text)
	}
	for _, a := range atts {
		lines = append(lines, a.URL)
	}
	return strings.Join(lines, "\n")
}
