package store

import (
	"errors"
	"sync"
	"time"

	"go.etcd.io/bbolt"
)

// The store batches writes itself rather than through bbolt's DB.Batch:
// bbolt runs a batch's transaction, commit included, on a timer goroutine,
// where a panic on a damaged file cannot be recovered and kills the
// process. Here every transaction runs under guard. The semantics are
// bbolt's: calls that arrive within the batch delay share one transaction;
// a call whose function fails is taken out and run again alone by its
// caller, so a function may run more than once.

// maxBatchCalls is the most calls one batch transaction takes.
const maxBatchCalls = 1000

// defaultBatchDelay is bbolt's default batch delay, used when
// Options.BatchDelay is zero.
const defaultBatchDelay = 10 * time.Millisecond

// errRunAlone tells a batch caller to run its function in a transaction of
// its own. Callers never see it.
var errRunAlone = errors.New("store: run the batched call alone")

// batchCall is one call waiting in a batch.
type batchCall struct {
	fn  func(*bbolt.Tx) error
	err chan error // buffered, receives exactly one value
}

// pendingBatch is a batch that has not started yet.
type pendingBatch struct {
	calls []batchCall
	timer *time.Timer
	start sync.Once
}

// batcher groups the write calls of a DB.
type batcher struct {
	delay time.Duration
	mu    sync.Mutex
	next  *pendingBatch // the batch new calls join; nil when none waits
}

// batch runs fn in a write transaction shared with concurrent callers. fn
// may run more than once (if another call in the batch fails), so it must
// only set its results, never accumulate them.
func (db *DB) batch(fn func(*bbolt.Tx) error) error {
	if db.readOnly {
		return ErrReadOnly
	}
	if err := db.DamageErr(); err != nil {
		return err
	}
	c := batchCall{fn: fn, err: make(chan error, 1)}
	b := &db.batcher
	b.mu.Lock()
	if b.next == nil || len(b.next.calls) >= maxBatchCalls {
		p := &pendingBatch{}
		p.timer = time.AfterFunc(b.delay, func() { db.runBatch(p) })
		b.next = p
	}
	p := b.next
	p.calls = append(p.calls, c)
	if len(p.calls) >= maxBatchCalls {
		go db.runBatch(p)
	}
	b.mu.Unlock()
	err := <-c.err
	if err == errRunAlone {
		return db.update(fn)
	}
	return err
}

// runBatch runs the calls of p in one transaction, once.
func (db *DB) runBatch(p *pendingBatch) {
	p.start.Do(func() {
		b := &db.batcher
		b.mu.Lock()
		p.timer.Stop()
		if b.next == p {
			b.next = nil
		}
		calls := p.calls
		b.mu.Unlock()
		for len(calls) > 0 {
			failed := -1
			err := db.guard(func() error {
				return db.bolt.Update(func(tx *bbolt.Tx) error {
					for i, c := range calls {
						if err := c.fn(tx); err != nil {
							failed = i
							return err
						}
					}
					return nil
				})
			})
			if failed >= 0 && !errors.Is(err, ErrDamaged) {
				calls[failed].err <- errRunAlone
				calls = append(calls[:failed:failed], calls[failed+1:]...)
				continue
			}
			err = mapBoltErr(err)
			for _, c := range calls {
				c.err <- err
			}
			return
		}
	})
}
