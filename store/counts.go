package store

import (
	"strings"
	"sync"

	"go.etcd.io/bbolt"
)

// maxCachedPrefixes bounds the OutboxCount prefixes whose totals are kept
// up to date; others are summed over the non-empty queues at each call.
const maxCachedPrefixes = 64

// counts are the record counts of Stats and OutboxCount, kept in memory so
// that health checks and metrics cost the same however big the store is.
// They are read from the file once (at the first call after Open), then
// every write transaction that changes a counted bucket registers its
// change with onCommit, and it is added when (and only if) the transaction
// commits. Each change carries its transaction ID, so one that committed
// before the initial read (and is thus already in it) is not added twice.
type counts struct {
	initMu sync.Mutex // serializes initial reads

	mu           sync.Mutex
	ready        bool
	initializing bool
	base         uint64         // the transaction the initial read saw
	pending      []pendingDelta // changes committed while initializing
	accounts     int
	contacts     int
	refs         int
	outbox       int
	queues       map[string]int // items per non-empty queue
	prefixes     map[string]int // items per OutboxCount prefix asked for
}

// countDelta is what one transaction changed.
type countDelta struct {
	accounts, contacts, refs int
	queues                   map[string]int // items added (negative: removed) per queue
}

// queue records n items added to (or, negative, removed from) queue q.
func (d *countDelta) queue(q string, n int) {
	if d.queues == nil {
		d.queues = map[string]int{}
	}
	d.queues[q] += n
}

type pendingDelta struct {
	txid uint64
	d    *countDelta
}

// onCommit adds d to the handle's counts if tx commits. d must not change
// after the transaction's function returns.
func (db *DB) onCommit(tx *bbolt.Tx, d *countDelta) {
	id := uint64(tx.ID())
	tx.OnCommit(func() { db.counts.apply(id, d) })
}

func (c *counts) apply(txid uint64, d *countDelta) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.ready:
		if txid > c.base {
			c.add(d)
		}
	case c.initializing:
		c.pending = append(c.pending, pendingDelta{txid, d})
	}
	// Neither: the initial read has not started and will see this commit.
}

// add applies d; c.mu is held.
func (c *counts) add(d *countDelta) {
	c.accounts += d.accounts
	c.contacts += d.contacts
	c.refs += d.refs
	for q, n := range d.queues {
		c.outbox += n
		if c.queues[q] += n; c.queues[q] <= 0 {
			delete(c.queues, q)
		}
		for p := range c.prefixes {
			if strings.HasPrefix(q, p) {
				c.prefixes[p] += n
			}
		}
	}
}

// ensure reads the counts from the file if that has not been done yet.
func (db *DB) ensureCounts() error {
	if db.closed.Load() {
		return ErrClosed
	}
	c := &db.counts
	c.mu.Lock()
	ready := c.ready
	c.mu.Unlock()
	if ready {
		return nil
	}
	c.initMu.Lock()
	defer c.initMu.Unlock()
	c.mu.Lock()
	if c.ready {
		c.mu.Unlock()
		return nil
	}
	c.initializing, c.pending = true, nil
	c.mu.Unlock()

	fresh := counts{queues: map[string]int{}, prefixes: map[string]int{}}
	err := db.view(func(tx *bbolt.Tx) error {
		fresh.base = uint64(tx.ID())
		for _, n := range []struct {
			bucket string
			n      *int
		}{
			{bucketAccounts, &fresh.accounts},
			{bucketContactsByRemote, &fresh.contacts},
			{bucketMsgByXMPP, &fresh.refs},
		} {
			b, err := bucket(tx, n.bucket)
			if err != nil {
				return err
			}
			*n.n = b.Stats().KeyN
		}
		b, err := bucket(tx, bucketOutbox)
		if err != nil {
			return err
		}
		return b.ForEach(func(k, _ []byte) error {
			q, _, err := splitOutboxKey(k)
			if err != nil {
				return err
			}
			fresh.queues[q]++
			fresh.outbox++
			return nil
		})
	})

	c.mu.Lock()
	defer c.mu.Unlock()
	pending := c.pending
	c.initializing, c.pending = false, nil
	if err != nil {
		return err
	}
	c.base, c.accounts, c.contacts, c.refs, c.outbox = fresh.base, fresh.accounts, fresh.contacts, fresh.refs, fresh.outbox
	c.queues, c.prefixes = fresh.queues, fresh.prefixes
	for _, p := range pending {
		if p.txid > c.base {
			c.add(p.d)
		}
	}
	c.ready = true
	return nil
}

// outboxCount returns the items in queues starting with prefix; c.mu is
// held and the counts are ready.
func (c *counts) outboxCount(prefix string) int {
	if prefix == "" {
		return c.outbox
	}
	if n, ok := c.prefixes[prefix]; ok {
		return n
	}
	n := 0
	for q, k := range c.queues {
		if strings.HasPrefix(q, prefix) {
			n += k
		}
	}
	if len(c.prefixes) < maxCachedPrefixes {
		c.prefixes[prefix] = n
	}
	return n
}
