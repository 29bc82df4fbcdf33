package bridge

import (
	"context"
	"time"

	"github.com/xgate-im/xgate/store"
)

// Items held in memory before they are stored.
//
// While a chat's stored queue holds nothing its worker has not handled,
// the worker is direct: an item arriving in the intake is held by the
// saver and sent by the worker from memory, without the commit that
// would store it and the read that would take it back. Most items are
// settled that way (sent, or bounced) and never stored; the completion of
// a sent one records its ID pairs as usual, and its receipt follows that
// commit.
//
// An item is stored, with every item held after it, in arrival order and
// one transaction, when:
//   - it has been held for Config.HoldUnstored (its send is slow, or items come
//     faster than they go): a crash then loses nothing that arrived
//     longer ago than that, which is what a commit of its own would have
//     given, give or take;
//   - its send failed and is to be tried again, or the network took part
//     of it (persist): the queue's order and the retry state live in the
//     store;
//   - the worker stops or leaves direct mode (something in the store
//     needs it).
//
// The worker reads its queue from the store again after any of these.
// heldMu is held across the commit that stores held items, so that the
// worker, settling an item, knows whether it has a place in the queue to
// remove (settle).

// holdUnstored is the default of Config.HoldUnstored: the longest an item
// waits in memory before it is stored.
const holdUnstored = 20 * time.Millisecond

// heldItem is an item taken from a worker's intake and not stored yet.
type heldItem struct {
	payload []byte        // the encoded item, as stored
	ri      toNetworkItem // the item
	arrived time.Time
	// claimed is true while the worker attempts the item (under heldMu).
	claimed bool
	// seq is the item's place in the queue once stored, else 0 (under
	// heldMu).
	seq uint64
}

// save takes what arrives in a worker's intake, in order: it holds it for
// the worker while the worker is direct, and stores it otherwise (a burst
// in one transaction and, through the store's batcher, in the same commit
// as other chats'). It returns when the worker quits or the run ends; what
// it could not store stays held, for stop.
func (q *toNetwork) save(ctx context.Context, name string, w *queueWorker) {
	var hold *time.Timer
	var holdC <-chan time.Time
	defer func() {
		if hold != nil {
			hold.Stop()
		}
	}()
	for {
		select {
		case h := <-w.intake:
			batch := []*heldItem{h}
		more:
			for len(batch) < 1024 {
				select {
				case h := <-w.intake:
					batch = append(batch, h)
				default:
					break more
				}
			}
			w.heldMu.Lock()
			w.held = append(w.held, batch...)
			direct := w.direct
			if !direct {
				q.storeHeld(ctx, name, w)
			}
			w.heldMu.Unlock()
			if direct {
				notify(w.fresh)
				if holdC == nil {
					hold, holdC = q.armHold(w, hold)
				}
			}
		case <-holdC:
			w.heldMu.Lock()
			if len(w.held) > 0 && time.Since(w.held[0].arrived) >= q.hold {
				q.storeHeld(ctx, name, w)
			}
			w.heldMu.Unlock()
			hold, holdC = q.armHold(w, hold)
		case <-w.quit:
			return
		case <-ctx.Done():
			return
		}
	}
}

// armHold sets timer (made if nil) to fire when the oldest held item has
// been held for q.hold, and returns it with its channel; the channel
// is nil when nothing is held.
func (q *toNetwork) armHold(w *queueWorker, timer *time.Timer) (*time.Timer, <-chan time.Time) {
	w.heldMu.Lock()
	var d time.Duration
	held := len(w.held) > 0
	if held {
		d = q.hold - time.Since(w.held[0].arrived)
	}
	w.heldMu.Unlock()
	if !held {
		return timer, nil
	}
	if timer == nil {
		timer = time.NewTimer(max(d, 0))
	} else {
		timer.Reset(max(d, 0))
	}
	return timer, timer.C
}

// storeHeld stores every held item in one transaction, in order, and ends
// direct mode; w.heldMu is held. A store that refuses is tried again each
// second until the run ends; the items then stay held.
func (q *toNetwork) storeHeld(ctx context.Context, name string, w *queueWorker) error {
	w.direct = false
	if len(w.held) == 0 {
		return nil
	}
	payloads := make([][]byte, len(w.held))
	for i, h := range w.held {
		payloads[i] = h.payload
	}
	var seqs []uint64
	for {
		var err error
		if seqs, err = q.outbox.EnqueueAll(name, payloads...); err == nil {
			break
		}
		q.log.Error("storing queued messages", "err", err, "count", len(payloads))
		if !sleepCtx(ctx, time.Second) {
			return err
		}
	}
	for i, h := range w.held {
		h.seq = seqs[i]
	}
	w.held = nil
	q.mu.Lock()
	w.unstored -= len(payloads)
	w.saved++
	q.mu.Unlock()
	notify(w.wake)
	return nil
}

// ended is a context that has ended: storeHeld tries once with it.
var ended = func() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}()

// notify signals c without blocking (c has a buffer of one).
func notify(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// direct sends held items from memory while the stored queue holds
// nothing past after (read before savedBefore was taken). It returns the
// last stored item handled (an item stored while it was sent) and whether
// the worker goes on: false once the queue has stayed idle for lingerIdle
// (the worker is then out of q.active) or the run ended.
func (q *toNetwork) direct(ctx context.Context, name string, w *queueWorker, savedBefore, after uint64) (uint64, bool) {
	w.heldMu.Lock()
	q.mu.Lock()
	stale := w.saved != savedBefore // stored since the queue was read
	q.mu.Unlock()
	w.direct = !stale
	w.heldMu.Unlock()
	if stale {
		return after, true
	}
	var linger *time.Timer
	defer func() {
		if linger != nil {
			linger.Stop()
		}
	}()
	for {
		w.heldMu.Lock()
		if !w.direct {
			w.heldMu.Unlock()
			return after, true
		}
		if len(w.held) > 0 {
			h := w.held[0]
			h.claimed = true
			w.heldMu.Unlock()
			if linger != nil {
				linger.Stop()
				linger = nil
			}
			w.current = h
			it := store.OutboxItem{Queue: name, Payload: h.payload, Enqueued: h.arrived}
			handled := q.attempt(ctx, w, it, h.ri, nil)
			w.current = nil
			w.heldMu.Lock()
			h.claimed = false
			if handled && h.seq != 0 {
				after = h.seq
			}
			w.heldMu.Unlock()
			if ctx.Err() != nil {
				return after, false
			}
			continue
		}
		q.mu.Lock()
		busy := w.unstored != 0 // on its way through the intake
		q.mu.Unlock()
		w.heldMu.Unlock()
		var lingerC <-chan time.Time
		if !busy {
			if linger == nil {
				linger = time.NewTimer(lingerIdle)
			}
			lingerC = linger.C
		}
		select {
		case <-ctx.Done():
			return after, false
		case <-w.fresh:
		case <-w.wake:
			// The stored queue changed (a retry moved forward, a kick):
			// what is held goes behind what is stored.
			w.heldMu.Lock()
			err := q.storeHeld(ctx, name, w)
			w.heldMu.Unlock()
			return after, err == nil
		case <-lingerC:
			linger = nil
			w.awaitRecorded() // every completion committed before another worker may start
			w.heldMu.Lock()
			q.mu.Lock()
			idle := w.unstored == 0 && len(w.held) == 0
			if idle {
				w.direct = false
				delete(q.active, name)
			}
			q.mu.Unlock()
			w.heldMu.Unlock()
			if idle {
				return after, false
			}
		}
	}
}

// settle takes the item the worker attempts out of the held items once it
// is handled (sent or bounced), and sets its place in the queue in it: 0
// when it was never stored, so that there is nothing to remove.
func (q *toNetwork) settle(w *queueWorker, it *store.OutboxItem) {
	h := w.current
	if h == nil {
		return
	}
	w.heldMu.Lock()
	defer w.heldMu.Unlock()
	it.Seq = h.seq
	if h.seq != 0 {
		return // stored while it was sent: counted then
	}
	if len(w.held) > 0 && w.held[0] == h {
		w.held = w.held[1:]
	}
	q.mu.Lock()
	w.unstored--
	q.mu.Unlock()
	q.metrics.sentUnstored.Add(1)
}

// persist stores the item the worker attempts, if it is a held one not
// stored yet, with every item held after it, and sets its place in the
// queue in it. It is called before the item's state changes in the store:
// a retry, a part of it sent.
func (q *toNetwork) persist(w *queueWorker, it *store.OutboxItem) error {
	h := w.current
	if h == nil || it.Seq != 0 {
		return nil
	}
	w.heldMu.Lock()
	defer w.heldMu.Unlock()
	if h.seq == 0 {
		if err := q.storeHeld(q.life.ctx, it.Queue, w); err != nil {
			return err
		}
	}
	it.Seq = h.seq
	return nil
}

// stop ends a worker (idle, or at shutdown, after its saver returned):
// what is still held, in its intake, or being handed to it, is stored for
// the next start.
func (q *toNetwork) stop(name string, w *queueWorker) {
	q.mu.Lock()
	w.closed = true
	if q.active[name] == w {
		delete(q.active, name)
	}
	q.mu.Unlock()
	w.heldMu.Lock()
	defer w.heldMu.Unlock()
	// Every item not stored is held, in the intake, or about to be pushed
	// there by a sender that counted it.
	for {
		q.mu.Lock()
		done := w.unstored == len(w.held)
		q.mu.Unlock()
		if done {
			break
		}
		select {
		case h := <-w.intake:
			w.held = append(w.held, h)
		case <-time.After(10 * time.Millisecond):
			// A sender may give up (its context ended) and uncount its
			// item: look at the count again.
		}
	}
	if len(w.held) == 0 {
		return
	}
	// The run may be over: try once, whatever its context.
	if err := q.storeHeld(ended, name, w); err != nil {
		q.log.Error("messages lost at shutdown: the store refused them", "queue", name, "count", len(w.held), "err", err)
		return
	}
	if q.running() {
		// Stopped idle while the saver was retrying: the queue has work.
		q.kick(name)
	}
}
