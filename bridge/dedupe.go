package bridge

import (
	"context"
	"log/slog"
	"sync"

	"github.com/xgate-im/xgate/store"
)

// dedupe delivers each remote message once per XMPP conversation: a
// message that reaches two accounts of one user, or arrives again (a
// network redelivering what was not acknowledged before a crash), is
// delivered the first time only. What was delivered is recorded in the
// store once its stanza is stored or confirmed, so the record survives
// restarts; it is pruned with the message-ID map.
type dedupe struct {
	db      *store.DB
	metrics *Metrics
	log     *slog.Logger

	mu       sync.Mutex
	inflight map[store.SeenKey]*delivering
}

// delivering is one delivery in progress; others of the same message wait
// for its outcome.
type delivering struct {
	done      chan struct{}
	delivered bool // set before done is closed
}

func newDedupe(db *store.DB, m *Metrics, log *slog.Logger) *dedupe {
	return &dedupe{db: db, metrics: m, log: log, inflight: map[store.SeenKey]*delivering{}}
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
		other := d.inflight[k]
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
	if err := d.db.MarkSeen(k); err != nil {
		// Delivered all the same; a redelivery would be a duplicate.
		d.log.Error("recording a delivered event", "err", err)
	}
	return nil
}
