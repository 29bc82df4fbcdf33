package store

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"

	"go.etcd.io/bbolt"
)

// OutboxItem is one entry of a durable FIFO queue: anything that could not
// be delivered yet. Payloads are stored in plain text (they may hold message
// bodies, never credentials).
type OutboxItem struct {
	Queue     string    // queue name chosen by the caller, e.g. one per chat
	Seq       uint64    // assigned by Enqueue, increasing per queue, never reused
	Payload   []byte    // opaque to the store
	Attempts  int       // delivery attempts so far
	NotBefore time.Time // earliest next attempt (zero = now)
	Enqueued  time.Time // set by Enqueue
	LastError string    // last delivery failure
}

// outboxRecord is the JSON value of an outbox item; queue and seq live in
// the key.
type outboxRecord struct {
	Payload   []byte    `json:"payload"`
	Attempts  int       `json:"attempts,omitempty"`
	NotBefore time.Time `json:"not_before,omitzero"`
	Enqueued  time.Time `json:"enqueued"`
	LastError string    `json:"last_error,omitempty"`
}

// decodeOutboxItem decodes an outbox record stored under key.
func decodeOutboxItem(key, value []byte) (OutboxItem, error) {
	q, seq, err := splitOutboxKey(key)
	if err != nil {
		return OutboxItem{}, err
	}
	var rec outboxRecord
	if err := json.Unmarshal(value, &rec); err != nil {
		return OutboxItem{}, fmt.Errorf("outbox item %q: %v: %w", key, err, ErrCorrupt)
	}
	return OutboxItem{
		Queue: q, Seq: seq, Payload: rec.Payload, Attempts: rec.Attempts,
		NotBefore: rec.NotBefore, Enqueued: rec.Enqueued, LastError: rec.LastError,
	}, nil
}

// outboxLen reads the item counter from the meta bucket.
func outboxLen(meta *bbolt.Bucket) (uint64, error) {
	v := meta.Get([]byte(metaOutboxLen))
	if v == nil {
		return 0, nil
	}
	if len(v) != 8 {
		return 0, fmt.Errorf("outbox counter of %d bytes: %w", len(v), ErrCorrupt)
	}
	return binary.BigEndian.Uint64(v), nil
}

// addOutboxLen adds delta to the item counter.
func addOutboxLen(meta *bbolt.Bucket, delta int) error {
	n, err := outboxLen(meta)
	if err != nil {
		return err
	}
	if delta < 0 && uint64(-delta) > n {
		return fmt.Errorf("outbox counter %d below zero: %w", n, ErrCorrupt)
	}
	return meta.Put([]byte(metaOutboxLen), u64(uint64(int64(n)+int64(delta))))
}

// outboxBuckets returns the meta, outbox and outbox_seq buckets.
func outboxBuckets(tx *bbolt.Tx) (meta, items, seqs *bbolt.Bucket, err error) {
	if meta, err = bucket(tx, bucketMeta); err != nil {
		return nil, nil, nil, err
	}
	if items, err = bucket(tx, bucketOutbox); err != nil {
		return nil, nil, nil, err
	}
	if seqs, err = bucket(tx, bucketOutboxSeq); err != nil {
		return nil, nil, nil, err
	}
	return meta, items, seqs, nil
}

// Enqueue appends payload to queue and returns its sequence number. It goes
// through the batcher: concurrent callers share a transaction, and the item
// is durable when Enqueue returns.
func (db *DB) Enqueue(queue string, payload []byte) (seq uint64, err error) {
	seqs, err := db.EnqueueAll(queue, payload)
	if err != nil {
		return 0, err
	}
	return seqs[0], nil
}

// EnqueueAll appends several payloads to a queue, in order, in one
// transaction (through the batcher, like Enqueue), and returns their
// sequence numbers. It is how a burst in one queue is stored without paying
// one commit per item.
func (db *DB) EnqueueAll(queue string, payloads ...[]byte) ([]uint64, error) {
	if err := checkID("queue", queue); err != nil {
		return nil, fmt.Errorf("store: enqueue: %w", err)
	}
	if len(payloads) == 0 {
		return nil, fmt.Errorf("store: enqueue to %q: no payload: %w", queue, ErrInvalid)
	}
	vals := make([][]byte, len(payloads))
	now := db.nowUTC()
	for i, p := range payloads {
		v, err := json.Marshal(outboxRecord{Payload: p, Enqueued: now})
		if err != nil {
			return nil, fmt.Errorf("store: enqueue: %w", err)
		}
		vals[i] = v
	}
	var out []uint64
	err := db.batch(func(tx *bbolt.Tx) error {
		meta, items, seqs, err := outboxBuckets(tx)
		if err != nil {
			return err
		}
		var last uint64
		if raw := seqs.Get([]byte(queue)); raw != nil {
			if len(raw) != 8 {
				return fmt.Errorf("sequence of queue %q: %w", queue, ErrCorrupt)
			}
			last = binary.BigEndian.Uint64(raw)
		}
		assigned := make([]uint64, 0, len(vals))
		for _, v := range vals {
			last++
			if err := items.Put(outboxKey(queue, last), v); err != nil {
				return err
			}
			assigned = append(assigned, last)
		}
		if err := seqs.Put([]byte(queue), u64(last)); err != nil {
			return err
		}
		if err := addOutboxLen(meta, len(vals)); err != nil {
			return err
		}
		d := &countDelta{}
		d.queue(queue, len(vals))
		db.onCommit(tx, d)
		out = assigned // the run that commits sets it last
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: enqueue to %q: %w", queue, err)
	}
	return out, nil
}

// OutboxPeek returns up to max items of queue, oldest first, without
// removing them; max <= 0 means all.
func (db *DB) OutboxPeek(queue string, max int) ([]OutboxItem, error) {
	return db.OutboxPeekAfter(queue, 0, max)
}

// OutboxPeekAfter is OutboxPeek for the items whose sequence number is
// above after: a queue's reader that has handed items on whose removal is
// not committed yet reads on past them.
func (db *DB) OutboxPeekAfter(queue string, after uint64, max int) ([]OutboxItem, error) {
	if err := checkID("queue", queue); err != nil {
		return nil, fmt.Errorf("store: outbox peek: %w", err)
	}
	var out []OutboxItem
	err := db.view(func(tx *bbolt.Tx) error {
		b, err := bucket(tx, bucketOutbox)
		if err != nil {
			return err
		}
		prefix := prefixKey(queue)
		c := b.Cursor()
		start := prefix
		if after > 0 {
			start = outboxKey(queue, after+1)
			if after == ^uint64(0) {
				return nil
			}
		}
		for k, v := c.Seek(start); k != nil && hasPrefix(k, prefix) && (max <= 0 || len(out) < max); k, v = c.Next() {
			it, err := decodeOutboxItem(k, v)
			if err != nil {
				return err
			}
			out = append(out, it)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: outbox peek %q: %w", queue, err)
	}
	return out, nil
}

// OutboxUpdate persists the Attempts, NotBefore and LastError of an item,
// and its Payload when that is not nil (a queue records the progress of an
// item it handles in several steps). It returns ErrNotFound if the item
// was acknowledged meanwhile.
func (db *DB) OutboxUpdate(it OutboxItem) error {
	if err := checkID("queue", it.Queue); err != nil {
		return fmt.Errorf("store: outbox update: %w", err)
	}
	k := outboxKey(it.Queue, it.Seq)
	err := db.update(func(tx *bbolt.Tx) error {
		b, err := bucket(tx, bucketOutbox)
		if err != nil {
			return err
		}
		old := b.Get(k)
		if old == nil {
			return ErrNotFound
		}
		var rec outboxRecord
		if err := json.Unmarshal(old, &rec); err != nil {
			return fmt.Errorf("outbox item %q: %v: %w", k, err, ErrCorrupt)
		}
		rec.Attempts, rec.NotBefore, rec.LastError = it.Attempts, it.NotBefore.UTC(), it.LastError
		if it.Payload != nil {
			rec.Payload = it.Payload
		}
		v, err := json.Marshal(rec)
		if err != nil {
			return err
		}
		return b.Put(k, v)
	})
	if err != nil {
		return fmt.Errorf("store: outbox update %q #%d: %w", it.Queue, it.Seq, err)
	}
	return nil
}

// OutboxAck removes items of queue; sequence numbers not present are
// ignored.
func (db *DB) OutboxAck(queue string, seqs ...uint64) error {
	if err := checkID("queue", queue); err != nil {
		return fmt.Errorf("store: outbox ack: %w", err)
	}
	if len(seqs) == 0 {
		return nil
	}
	err := db.update(func(tx *bbolt.Tx) error {
		meta, items, _, err := outboxBuckets(tx)
		if err != nil {
			return err
		}
		n := 0
		for _, s := range seqs {
			k := outboxKey(queue, s)
			if items.Get(k) == nil {
				continue
			}
			if err := items.Delete(k); err != nil {
				return err
			}
			n++
		}
		if n == 0 {
			return nil
		}
		d := &countDelta{}
		d.queue(queue, -n)
		db.onCommit(tx, d)
		return addOutboxLen(meta, -n)
	})
	if err != nil {
		return fmt.Errorf("store: outbox ack %q: %w", queue, err)
	}
	return nil
}

// OutboxDone removes a delivered item and records the message references
// its delivery produced, atomically and through the batcher: concurrent
// queue workers share one commit. A crash can thus never leave a sent
// message without its ID mapping, nor a mapping for a message still queued.
// A missing item is not an error (it was acknowledged already).
func (db *DB) OutboxDone(queue string, seq uint64, refs ...MessageRef) error {
	if err := checkID("queue", queue); err != nil {
		return fmt.Errorf("store: outbox done: %w", err)
	}
	refs, err := db.prepareRefs(refs)
	if err != nil {
		return fmt.Errorf("store: outbox done: %w", err)
	}
	err = db.batch(func(tx *bbolt.Tx) error {
		meta, items, _, err := outboxBuckets(tx)
		if err != nil {
			return err
		}
		d := &countDelta{}
		db.onCommit(tx, d)
		k := outboxKey(queue, seq)
		if items.Get(k) != nil {
			if err := items.Delete(k); err != nil {
				return err
			}
			if err := addOutboxLen(meta, -1); err != nil {
				return err
			}
			d.queue(queue, -1)
		}
		return putRefs(tx, refs, d)
	})
	if err != nil {
		return fmt.Errorf("store: outbox done %q: %w", queue, err)
	}
	return nil
}

// OutboxCompletion is one delivered item of a queue and the message
// references its delivery produced (see OutboxDone).
type OutboxCompletion struct {
	Seq  uint64
	Refs []MessageRef
}

// OutboxDoneAll is OutboxDone for several items of one queue, in one
// transaction (through the batcher, so shared with other queues' calls):
// a queue that sent a run of items records them with one commit.
func (db *DB) OutboxDoneAll(queue string, done ...OutboxCompletion) error {
	return db.OutboxDoneQueues(QueueCompletions{Queue: queue, Done: done})
}

// QueueCompletions are completions of one queue (OutboxDoneQueues).
type QueueCompletions struct {
	Queue string
	Done  []OutboxCompletion
}

// OutboxDoneQueues is OutboxDoneAll for several queues in one
// transaction. A bad queue name or reference fails the whole call before
// anything is written.
func (db *DB) OutboxDoneQueues(qs ...QueueCompletions) error {
	var refs []MessageRef
	n := 0
	for _, q := range qs {
		if err := checkID("queue", q.Queue); err != nil {
			return fmt.Errorf("store: outbox done: %w", err)
		}
		for _, d := range q.Done {
			refs = append(refs, d.Refs...)
		}
		n += len(q.Done)
	}
	if n == 0 {
		return nil
	}
	refs, err := db.prepareRefs(refs)
	if err != nil {
		return fmt.Errorf("store: outbox done: %w", err)
	}
	err = db.batch(func(tx *bbolt.Tx) error {
		meta, items, _, err := outboxBuckets(tx)
		if err != nil {
			return err
		}
		d := &countDelta{}
		db.onCommit(tx, d)
		for _, q := range qs {
			removed := 0
			for _, c := range q.Done {
				k := outboxKey(q.Queue, c.Seq)
				if items.Get(k) == nil {
					continue
				}
				if err := items.Delete(k); err != nil {
					return err
				}
				removed++
			}
			if removed > 0 {
				if err := addOutboxLen(meta, -removed); err != nil {
					return err
				}
				d.queue(q.Queue, -removed)
			}
		}
		return putRefs(tx, refs, d)
	})
	if err != nil {
		if len(qs) == 1 {
			return fmt.Errorf("store: outbox done %q: %w", qs[0].Queue, err)
		}
		return fmt.Errorf("store: outbox done (%d queues): %w", len(qs), err)
	}
	return nil
}

// OutboxQueues returns the names of the non-empty queues, sorted. It visits
// one key per queue, not every item.
func (db *DB) OutboxQueues() ([]string, error) {
	var out []string
	err := db.view(func(tx *bbolt.Tx) error {
		b, err := bucket(tx, bucketOutbox)
		if err != nil {
			return err
		}
		c := b.Cursor()
		for k, _ := c.First(); k != nil; {
			q, _, err := splitOutboxKey(k)
			if err != nil {
				return err
			}
			out = append(out, q)
			// Every key of q starts with q NUL, so q 0x01 is past all of them.
			k, _ = c.Seek(append([]byte(q), sep+1))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: outbox queues: %w", err)
	}
	return out, nil
}

// OutboxLen returns the number of items in all queues, from a counter kept
// in the same transactions as the items.
func (db *DB) OutboxLen() (int, error) {
	var n uint64
	err := db.view(func(tx *bbolt.Tx) error {
		meta, err := bucket(tx, bucketMeta)
		if err != nil {
			return err
		}
		n, err = outboxLen(meta)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("store: outbox length: %w", err)
	}
	return int(n), nil
}

// OutboxCount returns the number of items in the queues whose names start
// with prefix ("" counts everything). It reads the in-memory counts (see
// Stats): the cost depends on the number of non-empty queues at most, not
// on the number of items, and a prefix asked for before is answered at
// once.
func (db *DB) OutboxCount(prefix string) (int, error) {
	if err := db.ensureCounts(); err != nil {
		return 0, fmt.Errorf("store: outbox count: %w", err)
	}
	c := &db.counts
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.outboxCount(prefix), nil
}
