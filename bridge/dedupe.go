package bridge

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/xgate-im/xgate/store"
)

// dedupe delivers each remote message once per XMPP conversation: a
// message that reaches two accounts of one user, or arrives again (a
// network redelivering what was not acknowledged before a crash), is
// delivered the first time only. What was delivered is recorded in the
// store once its stanza is stored or confirmed, so the record survives
// restarts; it is pruned with the message-ID map.
//
// Records are written in the background, many in one transaction (run),
// and the last ones when the gateway stops (flush): a commit per message
// would cost every chat a disk sync per message. Until written, a record
// is kept in memory and counts as delivered. A crash can lose the records
// of the last moments; their events were acknowledged to the network
// already (Emit returned), so the network does not send them again, except
// one acknowledged too late, which is then delivered twice: a rare
// duplicate, never a loss.
type dedupe struct {
	db      *store.DB
	metrics *Metrics
	log     *slog.Logger
	wake    chan struct{}

	mu       sync.Mutex
	inflight map[store.SeenKey]*delivering
	unsaved  map[store.SeenKey]bool // delivered, not recorded in the store yet
	// confirming holds what was delivered and waits for the host server's
	// confirmation (confirmations): it counts as delivered, and is
	// recorded in the store only once confirmed.
	confirming map[store.SeenKey]bool
}

// seenBatchDelay is how long the writer collects records before writing
// them in one transaction.
const seenBatchDelay = 20 * time.Millisecond

// delivering is one delivery in progress; others of the same message wait
// for its outcome.
type delivering struct {
	done      chan struct{}
	delivered bool // set before done is closed
}

func newDedupe(db *store.DB, m *Metrics, log *slog.Logger) *dedupe {
	return &dedupe{
		db: db, metrics: m, log: log, wake: make(chan struct{}, 1),
		inflight: map[store.SeenKey]*delivering{}, unsaved: map[store.SeenKey]bool{},
		confirming: map[store.SeenKey]bool{},
	}
}

// once runs deliver for the message k names unless it was delivered
// already, now or in an earlier run, and waits if another session is
// delivering it at this moment. deliver must return only once its stanza
// can no longer be lost. An error of deliver is returned and nothing is
// recorded, so a redelivery tries again.
func (d *dedupe) once(ctx context.Context, k store.SeenKey, deliver func() error) error {
	var mine *delivering
	for mine == nil {
		d.mu.Lock()
		other, known := d.inflight[k], d.unsaved[k] || d.confirming[k]
		if known {
			d.mu.Unlock()
			d.metrics.countEvent("duplicate")
			return nil
		}
		if other == nil {
			mine = &delivering{done: make(chan struct{})}
			d.inflight[k] = mine
		}
		d.mu.Unlock()
		if other == nil {
			break
		}
		select {
		case <-other.done:
		case <-ctx.Done():
			return ctx.Err()
		}
		if other.delivered {
			d.metrics.countEvent("duplicate")
			return nil
		}
	}
	defer func() {
		d.mu.Lock()
		delete(d.inflight, k)
		d.mu.Unlock()
		close(mine.done)
	}()
	seen, err := d.db.Seen(k)
	if err != nil {
		// Better a rare duplicate than a loss: deliver.
		d.log.Error("reading delivered events", "err", err)
	}
	if seen {
		mine.delivered = true
		d.metrics.countEvent("duplicate")
		return nil
	}
	if err := deliver(); err != nil {
		return err
	}
	mine.delivered = true
	if c := confirmationsOf(ctx); c != nil && c.pending() {
		// Recorded once the host server confirmed it: a record written
		// before, then a crash, would have the network's next delivery
		// of a message that never arrived taken for a duplicate.
		d.mu.Lock()
		d.confirming[k] = true
		d.mu.Unlock()
		c.then(func(confirmed bool) {
			d.mu.Lock()
			delete(d.confirming, k)
			d.mu.Unlock()
			if confirmed {
				d.record(k)
			}
		})
		return nil
	}
	d.record(k)
	return nil
}

// record counts the message k names as delivered and has run write it.
func (d *dedupe) record(k store.SeenKey) {
	d.mu.Lock()
	d.unsaved[k] = true
	d.mu.Unlock()
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// mark records the message k names as delivered without delivering it (a
// message the user got another way: a room's history, an archive query),
// so that the user may name it and a late live copy is not shown again.
// It never waits: a message being delivered at this moment is left to
// that delivery.
func (d *dedupe) mark(k store.SeenKey) {
	d.mu.Lock()
	if d.inflight[k] != nil || d.unsaved[k] || d.confirming[k] {
		d.mu.Unlock()
		return
	}
	d.unsaved[k] = true
	d.mu.Unlock()
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// delivered reports whether the message k names was delivered (and its
// record not pruned yet).
func (d *dedupe) delivered(k store.SeenKey) bool {
	d.mu.Lock()
	known := d.unsaved[k] || d.confirming[k]
	d.mu.Unlock()
	if known {
		return true
	}
	seen, err := d.db.Seen(k)
	return err == nil && seen
}

// run writes the records of delivered messages until ctx is done.
func (d *dedupe) run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-d.wake:
		}
		t := time.NewTimer(seenBatchDelay)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		d.flush()
	}
}

// flush writes the records not written yet, in one transaction. The
// gateway calls it last when it stops.
func (d *dedupe) flush() {
	d.mu.Lock()
	keys := make([]store.SeenKey, 0, len(d.unsaved))
	for k := range d.unsaved {
		keys = append(keys, k)
	}
	d.mu.Unlock()
	if len(keys) == 0 {
		return
	}
	if err := d.db.MarkSeen(keys...); err != nil {
		// Kept in memory and tried again with the next ones.
		d.log.Error("recording delivered events", "err", err, "count", len(keys))
		return
	}
	d.mu.Lock()
	for _, k := range keys {
		delete(d.unsaved, k)
	}
	d.mu.Unlock()
}
