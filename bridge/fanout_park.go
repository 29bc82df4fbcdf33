package bridge

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"slices"
	"time"

	"github.com/xgate-im/xgate/store"
)

// Parking: an event that must wait for an account still logging in (after
// a start, before every account is up) is stored and acknowledged at once,
// rather than held unacknowledged while the network sends it again every
// few seconds (Slack gives up after three tries: the event was lost when
// the login took longer). Behind it, its Order's next events are stored
// and acknowledged as they come, so that the network's redeliveries do not
// pile up; they are handled in order once the login ends. So are the
// events of an Order that lags (its oldest queued event waited longer than
// fanoutParkAfter: the backlog after a restart), before the network's
// acknowledgement timeout. Parked events live in one outbox queue per
// Fanout; a run that stops before handling them leaves them there, and
// Resume hands them on at the next start, in the order they came.

// parkStore is the part of the store that keeps parked events.
type parkStore interface {
	Enqueue(queue string, payload []byte) (uint64, error)
	EnqueueAll(queue string, payloads ...[]byte) ([]uint64, error)
	OutboxPeek(queue string, max int) ([]store.OutboxItem, error)
	OutboxPeekAfter(queue string, after uint64, max int) ([]store.OutboxItem, error)
	OutboxAck(queue string, seqs ...uint64) error
}

// parkedEvent is a parked event as stored.
type parkedEvent struct {
	ID      string `json:"id,omitempty"`
	Order   string `json:"order"`
	Payload []byte `json:"payload"`
	// Delivered lists the accounts that had the event when it was parked.
	Delivered []AccountID `json:"delivered,omitempty"`
	// Arrival is its fanoutJob.arrival.
	Arrival uint64 `json:"arrival"`
}

// fanoutParkWait bounds how long a parked event waits for the accounts it
// concerns that are logging in; then it is dropped for them, with a
// warning (Slack would have given up sending it again after about as
// long).
const fanoutParkWait = 2 * time.Minute

// fanoutParkAfter is how long an event may wait in its Order's queue
// before it and those behind it are parked (in one transaction): well
// within the acknowledgement timeouts of the networks (Slack's is 3 s).
const fanoutParkAfter = 500 * time.Millisecond

// parkIn has the Fanout park events in db, in the queue of the gateway
// named name.
func (f *Fanout) parkIn(db parkStore, name string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.park, f.parkQueue = db, "rx"+queueSep+name
}

// SetRestore gives the Fanout the transport's way to make an event again
// from its Inbound.Payload, for the parked events a run left (Resume).
// Without it, no event is parked.
func (f *Fanout) SetRestore(restore func(payload []byte) (Inbound, error)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.restore = restore
}

// parkableLocked reports whether in can be parked; under f.mu.
func (f *Fanout) parkableLocked(in Inbound) bool {
	return f.park != nil && f.restore != nil && in.Payload != nil
}

// store parks an event: once it returns nil, the event is durable and is
// acknowledged to the network.
func (f *Fanout) store(j fanoutJob, delivered []AccountID) (uint64, error) {
	payload, err := j.in.Payload()
	if err != nil {
		return 0, err
	}
	b, err := json.Marshal(parkedEvent{ID: j.in.ID, Order: j.in.Order, Payload: payload, Delivered: delivered, Arrival: j.arrival})
	if err != nil {
		return 0, err
	}
	f.mu.Lock()
	db, queue := f.park, f.parkQueue
	f.mu.Unlock()
	return db.Enqueue(queue, b)
}

// parkBacklogLocked parks the events of p's backlog that are not parked
// yet; under f.mu.
func (f *Fanout) parkBacklogLocked(p *fanoutPart) []func() {
	p.unparkedSince = time.Time{}
	acks := f.parkLocked(p.backlog)
	// The parked head of the overflow waits in the store from now on.
	n := 0
	for _, j := range p.overflow {
		if j.st.parked == 0 {
			break
		}
		p.spilled = append(p.spilled, spilledJob{st: j.st, id: j.in.ID, order: j.in.Order})
		p.take(j.st)
		n++
	}
	p.overflow = slices.Delete(p.overflow, 0, n)
	return acks
}

// parkLocked parks the jobs' events that are not parked yet, in order, in
// one store transaction, and returns their acknowledgements to run (after
// f.mu is released). An event that cannot be stored stays unparked, for
// the network to send again. Under f.mu: the events dispatched meanwhile
// wait, so that they are stored after these.
func (f *Fanout) parkLocked(jobs []fanoutJob) []func() {
	var todo []*fanoutEvent
	var payloads [][]byte
	for _, j := range jobs {
		if j.st.parked != 0 || !f.parkableLocked(j.in) {
			continue
		}
		payload, err := j.in.Payload()
		if err == nil {
			payload, err = json.Marshal(parkedEvent{ID: j.in.ID, Order: j.in.Order, Payload: payload, Arrival: j.arrival})
		}
		if err != nil {
			f.log.Warn("parking an event", "event", j.in.Describe, "err", err)
			continue
		}
		todo = append(todo, j.st)
		payloads = append(payloads, payload)
	}
	if len(todo) == 0 {
		return nil
	}
	seqs, err := f.park.EnqueueAll(f.parkQueue, payloads...)
	if err != nil {
		f.log.Warn("parking events", "count", len(todo), "err", err)
		return nil
	}
	f.log.Debug("events parked", "count", len(todo))
	var acks []func()
	for i, st := range todo {
		st.parked = seqs[i]
		acks = append(acks, st.acks...)
		st.acks = nil
	}
	return acks
}

// parked marks st stored as seq and acknowledges it: its acknowledgements
// so far run now, later ones at once (Dispatch).
func (f *Fanout) parked(st *fanoutEvent, seq uint64) {
	f.mu.Lock()
	st.parked = seq
	acks := st.acks
	st.acks = nil
	f.mu.Unlock()
	for _, ack := range acks {
		ack()
	}
}

// unpark removes a parked event from the store, once handled or given up.
// Removals are written in the background, several at a time: one lost in
// a crash only hands the event on again at the next start, where the
// bridge's dedupe recognizes it.
func (f *Fanout) unpark(seq uint64) {
	f.mu.Lock()
	f.unparks = append(f.unparks, seq)
	start := !f.unparking
	f.unparking = true
	f.mu.Unlock()
	if start {
		f.wg.Go(f.removeUnparked)
	}
}

// removeUnparked removes the handled parked events from the store until
// none is left.
func (f *Fanout) removeUnparked() {
	for {
		f.mu.Lock()
		seqs, db, queue := f.unparks, f.park, f.parkQueue
		f.unparks = nil
		if len(seqs) == 0 {
			f.unparking = false
			f.mu.Unlock()
			return
		}
		f.mu.Unlock()
		if err := db.OutboxAck(queue, seqs...); err != nil {
			f.log.Error("removing handled parked events", "count", len(seqs), "err", err)
		}
	}
}

// unspill takes the next spilled event of p and reads it back from the
// store, else the next of the overflow; ok is false when neither has one. A job with a nil st is one that
// could not be read again: it is dropped (logged), and its place counted
// as done.
func (f *Fanout) unspill(p *fanoutPart) (j fanoutJob, ok bool) {
	f.mu.Lock()
	if len(p.spilled) == 0 {
		if len(p.overflow) == 0 {
			f.mu.Unlock()
			return fanoutJob{}, false
		}
		j = p.overflow[0]
		p.overflow = slices.Delete(p.overflow, 0, 1)
		f.mu.Unlock()
		return j, true
	}
	sj := p.spilled[0]
	p.spilled = p.spilled[1:]
	db, queue, restore := f.park, f.parkQueue, f.restore
	f.mu.Unlock()
	seq := sj.st.parked
	items, err := db.OutboxPeekAfter(queue, seq-1, 1)
	if err == nil && (len(items) == 0 || items[0].Seq != seq) {
		err = errors.New("not in the store")
	}
	var in Inbound
	if err == nil {
		var pe parkedEvent
		in, err = restoreParked(items[0], &pe, restore)
		in.ID, in.Order = sj.id, sj.order
	}
	if err != nil {
		f.log.Error("dropping a parked event that cannot be read again", "err", err)
		f.mu.Lock()
		p.pending--
		if sj.id != "" {
			delete(f.states, sj.id)
			f.done.add(sj.id)
		}
		f.mu.Unlock()
		f.unpark(seq)
		return fanoutJob{}, true
	}
	return fanoutJob{st: sj.st, in: in}, true
}

// Resume hands on the events that an earlier run parked and did not
// handle, in the order they came, before the events the connection reads
// next (call it before the connection starts). They wait for their
// accounts' logins like any parked event.
func (f *Fanout) Resume(ctx context.Context) error {
	f.mu.Lock()
	db, queue, restore := f.park, f.parkQueue, f.restore
	f.mu.Unlock()
	if db == nil || restore == nil {
		return nil
	}
	items, err := db.OutboxPeek(queue, 0)
	if err != nil {
		return err
	}
	type resumedEvent struct {
		in  Inbound
		pe  parkedEvent
		seq uint64
	}
	var evs []resumedEvent
	var bad []uint64
	for _, it := range items {
		var pe parkedEvent
		in, err := restoreParked(it, &pe, restore)
		if err != nil {
			f.log.Error("dropping a parked event that cannot be read again", "err", err)
			bad = append(bad, it.Seq)
			continue
		}
		in.ID, in.Order = pe.ID, pe.Order
		evs = append(evs, resumedEvent{in, pe, it.Seq})
	}
	// In the order they came (parking stores a lagging queue after the
	// event ahead of it may have parked itself).
	slices.SortStableFunc(evs, func(a, b resumedEvent) int { return cmp.Compare(a.pe.Arrival, b.pe.Arrival) })
	f.mu.Lock()
	for _, e := range evs {
		f.arrival = max(f.arrival, e.pe.Arrival)
	}
	f.mu.Unlock()
	n := 0
	for _, e := range evs {
		st := f.resumed(e.in, e.seq, e.pe.Delivered)
		if st == nil {
			bad = append(bad, e.seq) // parked twice before a crash
			continue
		}
		f.enqueue(ctx, e.in, st)
		n++
	}
	if len(bad) > 0 {
		if err := db.OutboxAck(queue, bad...); err != nil {
			f.log.Error("removing unreadable parked events", "err", err)
		}
	}
	if n > 0 {
		f.log.Info("events parked by the last run handed on", "count", n)
	}
	return ctx.Err()
}

// restoreParked decodes a stored parked event.
func restoreParked(it store.OutboxItem, pe *parkedEvent, restore func([]byte) (Inbound, error)) (Inbound, error) {
	if err := json.Unmarshal(it.Payload, pe); err != nil {
		return Inbound{}, err
	}
	if pe.Payload == nil {
		return Inbound{}, errors.New("bridge: parked event without payload")
	}
	in, err := restore(pe.Payload)
	if err != nil {
		return Inbound{}, err
	}
	if in.Route == nil || in.Handle == nil {
		return Inbound{}, errors.New("bridge: restored event cannot be routed")
	}
	return in, nil
}

// resumed registers a parked event of an earlier run; nil when an event
// with its ID is already known.
func (f *Fanout) resumed(in Inbound, seq uint64, delivered []AccountID) *fanoutEvent {
	f.mu.Lock()
	defer f.mu.Unlock()
	if in.ID != "" && (f.states[in.ID] != nil || f.done.has(in.ID)) {
		return nil
	}
	st := &fanoutEvent{delivered: map[AccountID]bool{}, since: time.Now(), parked: seq, queued: true}
	for _, a := range delivered {
		st.delivered[a] = true
	}
	if in.ID != "" {
		f.states[in.ID] = st
		f.byAge = append(f.byAge, stateRef{in.ID, st})
	}
	return st
}
