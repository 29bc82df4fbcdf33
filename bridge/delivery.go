package bridge

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/xgate-im/xgate/xmpp"
)

// delivery sends stanzas to the host server in order. While the component
// is down, or while older stanzas still wait in the outbox, new stanzas go
// to the outbox too, so order is kept across outages and restarts.
type delivery struct {
	g      *Gateway
	queue  string // the outbox queue of stanzas waiting for the host server
	wakeCh chan struct{}

	mu      sync.Mutex // serializes live sends with the outbox flush
	backlog bool       // the outbox may hold stanzas
	checked bool       // backlog was read from the store
}

func newDelivery(g *Gateway) *delivery {
	return &delivery{g: g, queue: "xmpp" + queueSep + g.cfg.Name, wakeCh: make(chan struct{}, 1)}
}

// deliver sends s now or, if durable, stores it for later. A non-durable
// stanza (typing, iq answers) that cannot be sent now is dropped and
// counted. The error is non-nil only when a durable stanza could be neither
// sent nor stored.
func (d *delivery) deliver(ctx context.Context, s xmpp.Stanza, durable bool) error {
	b := xmpp.Encode(s)
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.checked {
		items, err := d.g.db.OutboxPeek(d.queue, 1)
		if err == nil {
			d.backlog, d.checked = len(items) > 0, true
		}
	}
	if !d.backlog {
		sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err := d.g.comp.SendRaw(sctx, b)
		cancel()
		if err == nil {
			return nil
		}
		if !durable {
			d.g.metrics.dropped.Add(1)
			return nil
		}
	} else if !durable {
		d.g.metrics.dropped.Add(1)
		return nil
	}
	if _, err := d.g.db.Enqueue(d.queue, b); err != nil {
		d.g.metrics.dropped.Add(1)
		return fmt.Errorf("bridge: store undeliverable stanza: %w", err)
	}
	d.g.metrics.queuedForXMPP.Add(1)
	d.backlog = true
	return nil
}

// wake asks run to flush the outbox (the component just connected).
func (d *delivery) wake() {
	select {
	case d.wakeCh <- struct{}{}:
	default:
	}
}

// run flushes the outbox whenever the component connects, and retries
// periodically while a backlog remains.
func (d *delivery) run(ctx context.Context) {
	t := time.NewTicker(2 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-d.wakeCh:
		case <-t.C:
		}
		if d.g.comp.State() == xmpp.StateConnected {
			if err := d.flush(ctx); err != nil && ctx.Err() == nil {
				d.g.log.Warn("flushing queued stanzas", "err", err)
			}
		}
	}
}

// flush hands queued stanzas to the component in order.
func (d *delivery) flush(ctx context.Context) error {
	for {
		d.mu.Lock()
		items, err := d.g.db.OutboxPeek(d.queue, 64)
		if err != nil {
			d.mu.Unlock()
			return err
		}
		d.checked = true
		if len(items) == 0 {
			d.backlog = false
			d.mu.Unlock()
			return nil
		}
		var sent []uint64
		for _, it := range items {
			sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			err = d.g.comp.SendRaw(sctx, it.Payload)
			cancel()
			if err != nil {
				break
			}
			sent = append(sent, it.Seq)
		}
		ackErr := d.g.db.OutboxAck(d.queue, sent...)
		d.g.metrics.flushedToXMPP.Add(uint64(len(sent)))
		d.g.log.Info("delivered stored stanzas", "count", len(sent), "left_in_batch", len(items)-len(sent))
		d.mu.Unlock()
		if err != nil || ackErr != nil {
			return errors.Join(err, ackErr)
		}
	}
}

// saveUnsent stores stanzas the component had queued but not written when
// it stopped, ahead of what already waits in the outbox (they are older).
func (d *delivery) saveUnsent(unsent [][]byte) error {
	if len(unsent) == 0 {
		return nil
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	waiting, err := d.g.db.OutboxPeek(d.queue, 1<<20)
	if err != nil {
		return err
	}
	for _, b := range unsent {
		if _, err := d.g.db.Enqueue(d.queue, b); err != nil {
			return err
		}
	}
	var seqs []uint64
	for _, w := range waiting {
		if _, err := d.g.db.Enqueue(d.queue, w.Payload); err != nil {
			return err
		}
		seqs = append(seqs, w.Seq)
	}
	d.backlog = true
	return d.g.db.OutboxAck(d.queue, seqs...)
}
