package bridge

import (
	"context"
	"log/slog"
	"math"
	"sync"
	"sync/atomic"
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
//
// A new message is told apart without reading the store (a read
// transaction per message was a tenth of the relay's cost): the store
// keeps the latest network time it ever recorded (store.SeenUpTo, read at
// start), and this run's records stay in memory (recent) up to a bound. A
// message of a later time than both that and every record dropped from
// memory cannot have a record anywhere but in memory, so memory answers
// exactly; any other message is looked up in the store. This needs the
// network to give every delivery of a message the same time (its own
// timestamp, Capabilities.StableTimes); without it, and for a message
// without a time, every lookup reads the store.
type dedupe struct {
	db      *store.DB
	metrics *Metrics
	log     *slog.Logger
	wake    chan struct{}

	mu       sync.Mutex
	inflight map[store.SeenKey]*delivering
	unsaved  map[store.SeenKey]int64 // delivered, not recorded in the store yet: network time (Unix ns, 0 unknown)
	// confirming holds what was delivered and waits for the host server's
	// confirmation (confirmations): it counts as delivered, and is
	// recorded in the store only once confirmed.
	confirming map[store.SeenKey]bool
	// recent holds this run's records, the last recentSeenMax of them.
	recent recentSeen
	// storedUpTo is the latest network time recorded in the store before
	// this run (Unix ns); math.MaxInt64 when not known, which sends every
	// lookup to the store.
	storedUpTo int64
	// stableTimes is the transport's Capabilities.StableTimes.
	stableTimes bool
	// storeLookups counts the lookups that read the store (for tests).
	storeLookups atomic.Int64
}

// recentSeenMax bounds the records of this run kept in memory (about 100
// bytes each). At 1,000 messages a second it covers the last 8 seconds,
// more than the networks take to send an unacknowledged event again; an
// older message is looked up in the store, exactly as before.
const recentSeenMax = 8192

// recentSeen is a bounded set of records with their network times; the
// oldest added goes first. evictedUpTo is the latest network time of the
// records it dropped: a message of a later time that it does not hold was
// not recorded in this run.
type recentSeen struct {
	at          map[store.SeenKey]int64
	order       []store.SeenKey // ring of the keys in at, oldest at next once full
	next        int
	evictedUpTo int64
}

// add holds k, recorded with network time at, dropping the oldest record
// when full.
func (r *recentSeen) add(k store.SeenKey, at int64) {
	if r.at == nil {
		r.at = make(map[store.SeenKey]int64)
	}
	if old, ok := r.at[k]; ok {
		r.at[k] = max(old, at)
		return
	}
	if len(r.order) < recentSeenMax {
		r.order = append(r.order, k)
	} else {
		gone := r.order[r.next]
		r.evictedUpTo = max(r.evictedUpTo, r.at[gone])
		delete(r.at, gone)
		r.order[r.next] = k
		r.next = (r.next + 1) % recentSeenMax
	}
	r.at[k] = at
}

// seenBatchDelay is how long the writer collects records before writing
// them in one transaction. Each transaction writes two buckets and syncs
// the disk twice; at 20 ms the records of a chat at 1,000 messages a
// second cost about a tenth of its relay's CPU (docs/performance.md).
// What a crash loses of them is a window of duplicates, not of losses
// (docs/reliability.md), well inside the fault suite's bound.
const seenBatchDelay = 100 * time.Millisecond

// delivering is one delivery in progress; others of the same message wait
// for its outcome.
type delivering struct {
	done      chan struct{}
	delivered bool // set before done is closed
}

func newDedupe(db *store.DB, m *Metrics, log *slog.Logger, stableTimes bool) *dedupe {
	d := &dedupe{
		db: db, metrics: m, log: log, wake: make(chan struct{}, 1), stableTimes: stableTimes,
		inflight: map[store.SeenKey]*delivering{}, unsaved: map[store.SeenKey]int64{},
		confirming: map[store.SeenKey]bool{}, storedUpTo: math.MaxInt64,
	}
	if db == nil { // a gateway assembled without a store (tests of other parts)
		return d
	}
	switch upTo, err := db.SeenUpTo(); {
	case err != nil:
		log.Error("reading the latest delivered event's time; every message is looked up in the store", "err", err)
	case upTo.IsZero():
		d.storedUpTo = 0
	default:
		d.storedUpTo = upTo.UnixNano()
	}
	return d
}

// netTime is t in Unix nanoseconds, 0 for the zero time or a time that
// cannot be relied on (unknown).
func (d *dedupe) netTime(t time.Time) int64 {
	if !d.stableTimes || t.IsZero() || t.UnixNano() < 0 {
		return 0
	}
	return t.UnixNano()
}

// recorded reports whether the message k names, of network time at (Unix
// ns, 0 unknown), has a record of its delivery in this run or the store.
// Records not written yet are the caller's to check.
func (d *dedupe) recorded(k store.SeenKey, at int64) (bool, error) {
	d.mu.Lock()
	_, held := d.recent.at[k]
	exact := at > 0 && at > d.storedUpTo && at > d.recent.evictedUpTo
	d.mu.Unlock()
	if held {
		return true, nil
	}
	if exact {
		return false, nil
	}
	d.storeLookups.Add(1)
	return d.db.Seen(k)
}

// once runs deliver for the message k names, of network time sent (zero
// when unknown), unless it was delivered already, now or in an earlier
// run, and waits if another session is delivering it at this moment.
// deliver must return only once its stanza can no longer be lost. An
// error of deliver is returned and nothing is recorded, so a redelivery
// tries again.
func (d *dedupe) once(ctx context.Context, k store.SeenKey, sent time.Time, deliver func() error) error {
	at := d.netTime(sent)
	var mine *delivering
	for mine == nil {
		d.mu.Lock()
		_, unsaved := d.unsaved[k]
		other, known := d.inflight[k], unsaved || d.confirming[k]
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
	seen, err := d.recorded(k, at)
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
				d.record(k, at)
			}
		})
		return nil
	}
	d.record(k, at)
	return nil
}

// record counts the message k names, of network time at, as delivered
// and has run write it.
func (d *dedupe) record(k store.SeenKey, at int64) {
	d.mu.Lock()
	d.unsaved[k] = at
	d.recent.add(k, at)
	d.mu.Unlock()
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// mark records the message k names as delivered without delivering it (a
// message the user got another way: a room's history, an archive query),
// so that the user may name it and a late live copy is not shown again.
// sent is its network time (zero when unknown). It never waits: a message
// being delivered at this moment is left to that delivery.
func (d *dedupe) mark(k store.SeenKey, sent time.Time) {
	d.mu.Lock()
	_, unsaved := d.unsaved[k]
	if d.inflight[k] != nil || unsaved || d.confirming[k] {
		d.mu.Unlock()
		return
	}
	at := d.netTime(sent)
	d.unsaved[k] = at
	d.recent.add(k, at)
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
	_, unsaved := d.unsaved[k]
	known := unsaved || d.confirming[k]
	d.mu.Unlock()
	if known {
		return true
	}
	seen, err := d.recorded(k, 0)
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
	var latest int64
	for k, at := range d.unsaved {
		keys = append(keys, k)
		latest = max(latest, at)
	}
	d.mu.Unlock()
	if len(keys) == 0 {
		return
	}
	var upTo time.Time
	if latest > 0 {
		upTo = time.Unix(0, latest)
	}
	if err := d.db.MarkSeen(upTo, keys...); err != nil {
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
