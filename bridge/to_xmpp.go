package bridge

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/xgate-im/xgate/store"
	"github.com/xgate-im/xgate/xmpp"
	"github.com/xgate-im/xgate/xmpp/jid"
)

// stanzaWriter is what toXMPP needs of the component connection.
type stanzaWriter interface {
	SendRaw(ctx context.Context, b []byte) error
	// TrySendRaw queues b without waiting, or fails (xmpp.ErrQueueFull).
	TrySendRaw(b []byte) error
	// Flush returns once the host server confirmed everything sent before.
	Flush(ctx context.Context) error
	// FlushLazy is Flush sharing the barriers written anyway.
	FlushLazy(ctx context.Context) error
	State() xmpp.State
	NewID() string
}

// toXMPP sends stanzas to the host server in order. While the component is
// down, or while older stanzas still wait in the outbox, new stanzas go to
// the outbox too, so order is kept across outages and restarts.
//
// It is the only part that writes stanzas; every other part hands it what
// it has to say through send, sendEphemeral, bounce, reply and notify.
type toXMPP struct {
	db      *store.DB
	comp    stanzaWriter
	domain  jid.JID // the gateway's own JID, for notices
	metrics *Metrics
	log     *slog.Logger
	queue   string // the outbox queue of stanzas waiting for the host server
	wakeCh  chan struct{}

	// mu serializes live durable sends with the outbox flush; backlog and
	// checked change under it, and sendNoWait reads them without it.
	mu      sync.Mutex
	backlog atomic.Bool // the outbox may hold stanzas
	checked atomic.Bool // backlog was read from the store
}

func newToXMPP(name string, db *store.DB, comp stanzaWriter, domain jid.JID, m *Metrics, log *slog.Logger) *toXMPP {
	return &toXMPP{
		db: db, comp: comp, domain: domain, metrics: m, log: log,
		queue: "xmpp" + queueSep + name, wakeCh: make(chan struct{}, 1),
	}
}

// send delivers a stanza to the XMPP side now or durably later.
func (d *toXMPP) send(ctx context.Context, s xmpp.Stanza) error {
	_, err := d.deliver(ctx, s, true)
	return err
}

// sendConfirmed delivers a stanza and returns once it can no longer be
// lost: stored in the outbox, or written and confirmed by the host server
// (awaitConfirmed). A remote event is acknowledged to its network, and
// recorded as delivered, only after it. When ctx carries confirmations
// (an event whose Inbound is ConfirmLater), a written stanza's
// confirmation is noted there instead of waited for.
func (d *toXMPP) sendConfirmed(ctx context.Context, s xmpp.Stanza) error {
	live, err := d.deliver(ctx, s, true)
	if err != nil || !live {
		return err
	}
	if c := confirmationsOf(ctx); c != nil {
		c.need(d)
		return nil
	}
	return d.awaitConfirmed(ctx)
}

// confirmLater implements confirmer: it returns once the host server
// confirmed what was written so far, sharing the barriers the component
// writes anyway.
func (d *toXMPP) confirmLater(ctx context.Context) error {
	if err := d.comp.FlushLazy(ctx); err != nil {
		return fmt.Errorf("bridge: the host server did not confirm: %w", err)
	}
	return nil
}

// awaitConfirmed is the one place that waits for the host server to
// confirm what the component wrote: xmpp.Component.Flush returns once a
// delivery barrier confirmed everything sent before the call, and an error
// if the connection ended first. The stanzas are then written again on the
// next connection or saved as unsent at shutdown, and the caller does not
// acknowledge what it delivered, so the network sends it again: a rare
// duplicate, never a loss.
func (d *toXMPP) awaitConfirmed(ctx context.Context) error {
	if err := d.comp.Flush(ctx); err != nil {
		return fmt.Errorf("bridge: the host server did not confirm: %w", err)
	}
	return nil
}

// sendEphemeral delivers a stanza that is worthless later (typing, presence
// while disconnected): it is dropped, and counted, when it cannot be sent
// at once.
func (d *toXMPP) sendEphemeral(ctx context.Context, s xmpp.Stanza) {
	_, _ = d.deliver(ctx, s, false)
}

// reply answers an iq.
func (d *toXMPP) reply(ctx context.Context, iq *xmpp.IQ, payload *xmpp.Element) {
	d.sendEphemeral(ctx, iq.Result(payload))
}

// replyError answers an iq with an error.
func (d *toXMPP) replyError(ctx context.Context, iq *xmpp.IQ, e *xmpp.StanzaError) {
	d.sendEphemeral(ctx, iq.ErrorReply(e))
}

// bounce answers any stanza with an error (never an error with an error).
// It never waits (see sendNoWait): the dispatcher, which every user's
// stanzas go through, calls it, and a sender who makes the gateway answer
// errors (messages to unknown contacts, say) while the send queue is full
// must not hold up everyone else.
func (d *toXMPP) bounce(_ context.Context, s xmpp.Stanza, e *xmpp.StanzaError) {
	if b := xmpp.Bounce(s, e); b != nil {
		d.metrics.bounces.Add(1)
		d.sendNoWait(b)
	}
}

// sendNoWait delivers a stanza that must not be lost without ever waiting
// for room in the send queue or for d.mu (held while a durable stanza waits
// for room, or while the outbox is flushed): it is handed to the component
// if nothing waits in the outbox and the send queue has room, and stored in
// the outbox at once otherwise, for the flush (woken) to send. Such a
// stanza keeps no order with others: it may pass a durable stanza that
// waits for room, and a stored one may be passed by later live stanzas.
func (d *toXMPP) sendNoWait(s xmpp.Stanza) {
	b := xmpp.Encode(s)
	if d.checked.Load() && !d.backlog.Load() && d.comp.TrySendRaw(b) == nil {
		return
	}
	if _, err := d.db.Enqueue(d.queue, b); err != nil {
		d.metrics.dropped.Add(1)
		d.log.Error("storing an error answer", "err", err)
		return
	}
	d.metrics.queuedForXMPP.Add(1)
	// A flush that found the outbox empty just now may clear backlog
	// after this; the wake makes it look again.
	d.backlog.Store(true)
	d.wake()
}

// notify sends a chat message from the gateway JID to a user.
func (d *toXMPP) notify(ctx context.Context, user jid.JID, text string) {
	m := &xmpp.Message{
		Header: xmpp.Header{From: d.domain, To: user, ID: d.comp.NewID(), Type: xmpp.MessageChat},
		Body:   text,
	}
	if err := d.send(ctx, m); err != nil {
		d.log.Error("notifying user", "user", user, "err", err)
	}
}

// newID returns a fresh stanza id.
func (d *toXMPP) newID() string { return d.comp.NewID() }

// deliver sends s now or, if durable, stores it for later, and reports
// whether it was handed to the component (live) rather than stored. A
// non-durable stanza (typing, iq answers) that the component cannot take
// now (the host server is unreachable, or the send queue stays full) is
// dropped and counted. The error is non-nil only when a durable stanza
// could be neither sent nor stored.
func (d *toXMPP) deliver(ctx context.Context, s xmpp.Stanza, durable bool) (live bool, err error) {
	b := xmpp.Encode(s)
	// A durable stanza waits behind older stored ones, to keep their
	// order; an ephemeral one (an iq answer, typing, presence) has no
	// order to keep with them and goes now even while they are flushed,
	// without waiting for d.mu (held while a durable one waits for room).
	if !durable {
		// Never wait: an answer or a typing notification that cannot be
		// queued now is worth nothing later, and waiting would hold up
		// the dispatcher (and every other user) behind one sender.
		if err := d.comp.TrySendRaw(b); err != nil {
			d.metrics.dropped.Add(1)
			return false, nil
		}
		return true, nil
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.checked.Load() {
		items, err := d.db.OutboxPeek(d.queue, 1)
		if err == nil {
			d.backlog.Store(len(items) > 0)
			d.checked.Store(true)
		}
	}
	if !d.backlog.Load() {
		sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err := d.comp.SendRaw(sctx, b)
		cancel()
		if err == nil {
			return true, nil
		}
	}
	if _, err := d.db.Enqueue(d.queue, b); err != nil {
		d.metrics.dropped.Add(1)
		return false, fmt.Errorf("bridge: store undeliverable stanza: %w", err)
	}
	d.metrics.queuedForXMPP.Add(1)
	d.backlog.Store(true)
	return false, nil
}

// wake asks run to flush the outbox (the component just connected).
func (d *toXMPP) wake() {
	select {
	case d.wakeCh <- struct{}{}:
	default:
	}
}

// run flushes the outbox whenever the component connects, and retries
// periodically while a backlog remains.
func (d *toXMPP) run(ctx context.Context) {
	t := time.NewTicker(2 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-d.wakeCh:
		case <-t.C:
		}
		if d.comp.State() == xmpp.StateConnected {
			if err := d.flush(ctx); err != nil && ctx.Err() == nil {
				d.log.Warn("flushing queued stanzas", "err", err)
			}
		}
	}
}

// flush hands queued stanzas to the component in order, and removes each
// batch from the outbox once the host server confirmed it.
func (d *toXMPP) flush(ctx context.Context) error {
	for {
		d.mu.Lock()
		items, err := d.db.OutboxPeek(d.queue, 64)
		if err != nil {
			d.mu.Unlock()
			return err
		}
		d.checked.Store(true)
		if len(items) == 0 {
			d.backlog.Store(false)
			d.mu.Unlock()
			return nil
		}
		var sent []uint64
		for _, it := range items {
			sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			err = d.comp.SendRaw(sctx, it.Payload)
			cancel()
			if err != nil {
				break
			}
			sent = append(sent, it.Seq)
		}
		// Removed from the outbox only once the host server confirmed
		// them; if it could not, they stay and are sent again.
		if cerr := d.awaitConfirmed(ctx); cerr != nil {
			d.mu.Unlock()
			return errors.Join(err, cerr)
		}
		ackErr := d.db.OutboxAck(d.queue, sent...)
		d.metrics.flushedToXMPP.Add(uint64(len(sent)))
		d.log.Info("delivered stored stanzas", "count", len(sent), "left_in_batch", len(items)-len(sent))
		d.mu.Unlock()
		if err != nil || ackErr != nil {
			return errors.Join(err, ackErr)
		}
	}
}

// saveUnsent stores stanzas the component had queued but not written when
// it stopped, ahead of what already waits in the outbox (they are older).
func (d *toXMPP) saveUnsent(unsent [][]byte) error {
	if len(unsent) == 0 {
		return nil
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	waiting, err := d.db.OutboxPeek(d.queue, 1<<20)
	if err != nil {
		return err
	}
	for _, b := range unsent {
		if _, err := d.db.Enqueue(d.queue, b); err != nil {
			return err
		}
	}
	var seqs []uint64
	for _, w := range waiting {
		if _, err := d.db.Enqueue(d.queue, w.Payload); err != nil {
			return err
		}
		seqs = append(seqs, w.Seq)
	}
	d.backlog.Store(true)
	return d.db.OutboxAck(d.queue, seqs...)
}
