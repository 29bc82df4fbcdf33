package store

import (
	"errors"
	"runtime"
	"sync"
	"time"

	"go.etcd.io/bbolt"
)

// The store batches writes itself rather than through bbolt's DB.Batch:
// bbolt runs a batch's transaction, commit included, on a timer goroutine,
// where a panic on a damaged file cannot be recovered and kills the
// process. Here every transaction runs under guard.
//
// It is a group commit, not a timer: a call that finds no commit running
// starts one at once; calls that arrive while a commit runs (its fsyncs
// take about a millisecond) share the next transaction, which starts as
// soon as the running one ended. A lone writer (one chat's queue) thus
// never waits for company it will not get, and many writers still share
// one fsync among all that arrived during the previous one. As with
// bbolt's Batch, a call whose function fails is taken out and run again
// alone by its caller, so a function may run more than once.

// maxBatchCalls is the most calls one batch transaction takes.
const maxBatchCalls = 1000

// defaultBatchDelay is bbolt's default batch delay, kept as the value of
// Options.BatchDelay when it is zero.
const defaultBatchDelay = 10 * time.Millisecond

// errRunAlone tells a batch caller to run its function in a transaction of
// its own. Callers never see it.
var errRunAlone = errors.New("store: run the batched call alone")

// batchCall is one call waiting in a batch.
type batchCall struct {
	fn  func(*bbolt.Tx) error
	err chan error // buffered, receives exactly one value
}

// batcher groups the write calls of a DB.
type batcher struct {
	delay   time.Duration // Options.BatchDelay; calls no longer wait for it
	mu      sync.Mutex
	waiting []batchCall // calls for the next transaction, in arrival order
	running bool        // a committer goroutine is running transactions
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
	b.waiting = append(b.waiting, c)
	start := !b.running
	b.running = true
	b.mu.Unlock()
	if start {
		go db.commitLoop()
	}
	err := <-c.err
	if err == errRunAlone {
		return db.update(fn)
	}
	return err
}

// commitLoop runs the waiting calls, up to maxBatchCalls per transaction,
// until none waits.
func (db *DB) commitLoop() {
	b := &db.batcher
	// Writers woken together (the committers of several chats at the same
	// tick, see bridge's gatherCompletions) are runnable now, behind this
	// new goroutine: let them queue their calls first, so that they share
	// this commit rather than the next one.
	runtime.Gosched()
	for {
		b.mu.Lock()
		calls := b.waiting
		if len(calls) == 0 {
			b.running = false
			b.mu.Unlock()
			return
		}
		if len(calls) > maxBatchCalls {
			calls = calls[:maxBatchCalls:maxBatchCalls]
			b.waiting = b.waiting[maxBatchCalls:]
		} else {
			b.waiting = nil
		}
		b.mu.Unlock()
		db.runBatch(calls)
	}
}

// runBatch runs calls in one transaction; a call that fails is taken out
// and told to run alone.
func (db *DB) runBatch(calls []batchCall) {
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
		if err == nil {
			db.commits.Add(1)
		}
		err = mapBoltErr(err)
		for _, c := range calls {
			c.err <- err
		}
		return
	}
}
