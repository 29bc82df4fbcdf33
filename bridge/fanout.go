package bridge

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"
)

// Fanout is what a transport whose one connection serves every account (a
// Slack Socket Mode connection, a Discord bot, an SMS webhook) needs to
// hand that connection's events to the accounts' sessions:
//
//   - sessions indexed by account and by group (a workspace, a guild), so
//     finding the sessions an event concerns costs no scan of all of them;
//   - order: events with the same Order key (a conversation) are handled
//     one at a time, in arrival order; different keys in parallel;
//   - acknowledgement only after storage: an event's acknowledgements run
//     once every session it concerns handled it and their Sink returned
//     nil (delivered or durably stored); an event that fails is not
//     acknowledged, so the network sends it again;
//   - redeliveries: an event dispatched again while it is handled joins it
//     (all its acknowledgements run at the end); one dispatched again
//     after it was delivered is acknowledged at once (a window of the last
//     recentEvents event IDs); after a failure, the sessions that already
//     had it are skipped;
//   - hand-over: an event a closed session could not take goes to the
//     account's new session if it logged in again meanwhile;
//   - parking (fanout_park.go): an event that must wait for a login, or
//     behind a lagging conversation, is stored and acknowledged at once,
//     and handed on in order, at the next start if need be (Resume).
//
// A transport creates one with NewFanout, attaches each session in Login
// (before it returns: events may come at once) and detaches it in Close,
// and calls Dispatch for every event of the connection. Safe for
// concurrent use.
type Fanout struct {
	log   *slog.Logger
	group func(AccountID) string

	smu      sync.Mutex
	sessions map[AccountID]Session
	groups   map[string]map[AccountID]Session
	// expecting is the gateway's answer to Expecting; nil until a gateway
	// takes the Fanout (FanoutProvider).
	expecting func(AccountID) bool

	mu     sync.Mutex
	states map[string]*fanoutEvent // by event ID, until acknowledged
	// byAge lists the states in creation order (oldest first) for
	// pruneLocked; entries whose state is gone are skipped and compacted.
	byAge []stateRef
	done  recentIDs              // event IDs delivered and acknowledged
	parts map[string]*fanoutPart // by Order key, while they have work
	wg    sync.WaitGroup
	// waiting counts the Waits under way: Dispatch starts no work then
	// (a WaitGroup must not grow from zero while it is waited for).
	waiting int

	// Parking (fanout_park.go): where events are parked, and how the
	// transport makes one again; parking is off while either is unset.
	park      parkStore
	parkQueue string
	restore   func(payload []byte) (Inbound, error)
	arrival   uint64   // the last fanoutJob.arrival given
	unparks   []uint64 // parked events handled, to remove from the store
	unparking bool     // a goroutine removes them

	// Events waiting for the host server's confirmation (ConfirmLater),
	// settled in batches by one goroutine while confirming.
	cmu        sync.Mutex
	confirmQ   []confirmWait
	confirming bool
}

// Inbound is one event of a shared connection.
type Inbound struct {
	// ID is the network's ID of the event, the same when it is sent again.
	ID string
	// Order is the ordering key (a conversation; a workspace for events
	// about the workspace).
	Order string
	// Describe names the event in logs; it is only called for a log line.
	Describe fmt.Stringer
	// Route returns the accounts the event concerns, in the order they
	// get it. complete is false when more accounts may be concerned but
	// cannot take it yet (logging in): the event is then handled for those
	// listed and not acknowledged, so it comes again.
	Route func(ctx context.Context) (accounts []AccountID, complete bool, err error)
	// Handle has one account's session handle the event (convert it and
	// emit through its Sink). An error wrapping ErrSessionClosed hands it
	// to the account's new session; ErrNotFound, ErrForbidden,
	// ErrUnsupported and ErrInvalidInput count as handled (logged: sending
	// it again would not help); other errors are retried a few times, then
	// the event is left for the network to send again.
	Handle func(ctx context.Context, s Session) error
	// Payload returns the event as bytes from which the transport's
	// restore function (SetRestore) makes it again; it is called only to
	// park the event. With it, an event that must wait for an account
	// logging in is stored and acknowledged at once (parked) instead of
	// being left for the network to send again; nil means it cannot be
	// parked.
	Payload func() ([]byte, error)
	// ConfirmLater says that Handle does nothing that must wait for the
	// host server to confirm the stanzas it writes, besides the event's
	// acknowledgement (which the Fanout runs): the confirmation is then
	// awaited after Handle returned, off the conversation's worker, and
	// shared with other events' (one barrier per interval instead of one
	// round trip per event). A transport that records progress of its own
	// after Handle (a catch-up cursor) leaves it false.
	ConfirmLater bool
}

// fanoutEvent is an event being handled, or waiting to come again.
type fanoutEvent struct {
	acks      []func()
	delivered map[AccountID]bool
	queued    bool // a job for it is queued or running
	since     time.Time
	// parked is the event's place in the parking queue once it is stored
	// and acknowledged (0: not parked).
	parked uint64
}

// stateRef is an entry of Fanout.byAge.
type stateRef struct {
	id string
	st *fanoutEvent
}

type fanoutPart struct {
	jobs    chan fanoutJob
	pending int // jobs sent or about to be; under Fanout.mu
	// backlog lists the jobs queued and not yet taken by the worker, in
	// order, for parking them; unparkedSince is when the oldest of them
	// not parked yet was queued (zero: none).
	backlog       []fanoutJob
	unparkedSince time.Time
	// overflow lists, in order, the events that came while jobs was full
	// and are not spilled yet; spilled lists, in order, the parked events
	// that came before them: those wait in the store. The worker takes
	// jobs, then spilled, then overflow.
	overflow []fanoutJob
	spilled  []spilledJob
}

// spilledJob is an event waiting in the store for its Order's worker.
type spilledJob struct {
	st        *fanoutEvent
	id, order string
}

// lagging reports whether the oldest unparked job of the backlog has
// waited longer than fanoutParkAfter: the network will soon send it again.
// Under Fanout.mu.
func (p *fanoutPart) lagging(now time.Time) bool {
	return len(p.backlog) > 0 && !p.unparkedSince.IsZero() && now.Sub(p.unparkedSince) > fanoutParkAfter
}

// take removes a job from the backlog, once the worker took it or it was
// not queued; under Fanout.mu.
func (p *fanoutPart) take(st *fanoutEvent) {
	for i, j := range p.backlog {
		if j.st == st {
			p.backlog = slices.Delete(p.backlog, i, i+1)
			break
		}
	}
	switch {
	case len(p.backlog) == 0:
		p.unparkedSince = time.Time{}
	case !p.unparkedSince.IsZero() && p.unparkedSince.Before(p.backlog[0].queued):
		p.unparkedSince = p.backlog[0].queued // no older job is left
	}
}

type fanoutJob struct {
	st *fanoutEvent
	in Inbound
	// arrival orders the Fanout's events (parked events are handed on in
	// this order by Resume); queued is when it was queued.
	arrival uint64
	queued  time.Time
}

// Bounds of a Fanout's memory and patience.
const (
	fanoutQueue     = 256  // jobs waiting per Order key before Dispatch blocks
	fanoutMaxStates = 4096 // failed events remembered before the oldest are forgotten
	recentEvents    = 8192 // delivered event IDs recognized when they come again
	handleAttempts  = 4
	handleBackoff   = 100 * time.Millisecond
	fanoutLinger    = time.Second // an idle Order key's worker waits this long for more
)

// NewFanout returns an empty Fanout. group names the group of an account
// (a workspace) for Group; nil puts every account in group "". log may be
// nil.
func NewFanout(log *slog.Logger, group func(AccountID) string) *Fanout {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if group == nil {
		group = func(AccountID) string { return "" }
	}
	return &Fanout{
		log: log, group: group,
		sessions: map[AccountID]Session{}, groups: map[string]map[AccountID]Session{},
		states: map[string]*fanoutEvent{}, done: newRecentIDs(recentEvents), parts: map[string]*fanoutPart{},
	}
}

// Attach makes s the live session of acct, replacing an older one.
func (f *Fanout) Attach(acct AccountID, s Session) {
	g := f.group(acct)
	f.smu.Lock()
	defer f.smu.Unlock()
	f.sessions[acct] = s
	if f.groups[g] == nil {
		f.groups[g] = map[AccountID]Session{}
	}
	f.groups[g][acct] = s
}

// Detach forgets s, unless a newer session of acct replaced it. It
// reports whether s was the live session.
func (f *Fanout) Detach(acct AccountID, s Session) bool {
	g := f.group(acct)
	f.smu.Lock()
	defer f.smu.Unlock()
	if f.sessions[acct] != s {
		return false
	}
	delete(f.sessions, acct)
	delete(f.groups[g], acct)
	if len(f.groups[g]) == 0 {
		delete(f.groups, g)
	}
	return true
}

// Session returns the live session of an account.
func (f *Fanout) Session(acct AccountID) (Session, bool) {
	f.smu.Lock()
	defer f.smu.Unlock()
	s, ok := f.sessions[acct]
	return s, ok
}

// Group returns the accounts of a group that have a live session, sorted.
func (f *Fanout) Group(group string) []AccountID {
	f.smu.Lock()
	out := make([]AccountID, 0, len(f.groups[group]))
	for a := range f.groups[group] {
		out = append(out, a)
	}
	f.smu.Unlock()
	slices.SortFunc(out, func(a, b AccountID) int { return strings.Compare(string(a), string(b)) })
	return out
}

// GroupLive reports whether a group has an account with a live session,
// without listing them (Group copies and sorts the whole group).
func (f *Fanout) GroupLive(group string) bool {
	f.smu.Lock()
	defer f.smu.Unlock()
	return len(f.groups[group]) > 0
}

// Expecting reports whether an account that has no live session is
// registered with the gateway and logging in (or retrying to), so that an
// event for it should wait for it (Route: complete false) rather than skip
// it. known is false when no gateway answers (a transport tested on its
// own); the transport then decides by itself.
func (f *Fanout) Expecting(acct AccountID) (expected, known bool) {
	f.smu.Lock()
	fn := f.expecting
	f.smu.Unlock()
	if fn == nil {
		return false, false
	}
	return fn(acct), true
}

// Awaited reports whether acct has a live session (live) or, if not,
// whether the gateway expects one (Expecting). A login that ends between
// the two questions attaches its session before the gateway stops
// expecting it, so the session is looked for again after a "not
// expected": the account of a login that ends at that moment is live,
// never missed.
func (f *Fanout) Awaited(acct AccountID) (live, expected, known bool) {
	if _, ok := f.Session(acct); ok {
		return true, false, true
	}
	expected, known = f.Expecting(acct)
	if expected {
		return false, true, known
	}
	_, live = f.Session(acct)
	return live, false, known
}

// expect makes the gateway answer Expecting.
func (f *Fanout) expect(fn func(AccountID) bool) {
	f.smu.Lock()
	defer f.smu.Unlock()
	f.expecting = fn
}

// FanoutProvider is implemented by transports that use a Fanout: the
// gateway tells it which accounts are logging in (Fanout.Expecting).
type FanoutProvider interface {
	Fanout() *Fanout
}

// Dispatch starts handling an event; ack acknowledges it to the network
// and must not block. Dispatch blocks only when the events of in.Order
// are far behind, or until ctx ends; the work it starts stops with ctx
// (Wait waits for it).
func (f *Fanout) Dispatch(ctx context.Context, in Inbound, ack func()) {
	f.mu.Lock()
	if f.waiting > 0 {
		// Stopping: not acknowledged, so the network sends it again.
		f.mu.Unlock()
		return
	}
	if in.ID != "" && f.done.has(in.ID) {
		f.mu.Unlock()
		ack()
		return
	}
	st := f.states[in.ID]
	if st == nil || in.ID == "" {
		f.pruneLocked()
		st = &fanoutEvent{delivered: map[AccountID]bool{}, since: time.Now()}
		if in.ID != "" {
			f.states[in.ID] = st
			f.byAge = append(f.byAge, stateRef{in.ID, st})
		}
	}
	if st.parked != 0 {
		f.mu.Unlock()
		ack() // stored already
		return
	}
	st.acks = append(st.acks, ack)
	if st.queued {
		// Sent again while it waits in its Order: it is late.
		var acks []func()
		if p := f.parts[in.Order]; p != nil && p.lagging(time.Now()) {
			acks = f.parkBacklogLocked(p)
		}
		f.mu.Unlock()
		for _, a := range acks {
			a()
		}
		return
	}
	st.queued = true
	f.mu.Unlock()
	f.enqueue(ctx, in, st)
}

// Skip settles an event without handing it to a worker, when the
// transport can tell at once that no session needs it: the network's copy
// of a change the gateway itself just made (an echo), whose handling would
// emit nothing. It saves the work, the wake-up of a worker and the
// remembered state of an event that Dispatch costs.
//
// skip is called only when the event with this ID is neither being
// handled nor delivered already; it reports whether nobody needs the
// event (and may consume what told it so, such as an expected echo).
// Skip reports whether the event is settled: the caller then acknowledges
// it, and never dispatches it. An event delivered already is settled
// without calling skip, and one that is being handled is not: it is
// dispatched, and joins that handling. A settled event that comes again
// is acknowledged at once by Dispatch, as one delivered.
//
// The caller must not give the same event ID to Skip and Dispatch
// concurrently (the one reader of a connection gives its events in turn).
func (f *Fanout) Skip(id string, skip func() bool) bool {
	f.mu.Lock()
	switch {
	case f.waiting > 0:
		f.mu.Unlock()
		return false // stopping: Dispatch leaves it for the network too
	case id != "" && f.done.has(id):
		f.mu.Unlock()
		return true
	case id != "" && f.states[id] != nil:
		f.mu.Unlock()
		return false
	}
	f.mu.Unlock()
	if !skip() {
		return false
	}
	if id != "" {
		f.mu.Lock()
		f.done.add(id)
		f.mu.Unlock()
	}
	return true
}

// enqueue queues an event marked queued for the worker of its Order
// (starting one if none runs). While the Order waits for a login, the
// event is parked first (stored and acknowledged), rather than left for
// the network to send again meanwhile.
func (f *Fanout) enqueue(ctx context.Context, in Inbound, st *fanoutEvent) {
	now := time.Now()
	f.mu.Lock()
	p := f.parts[in.Order]
	if p == nil {
		p = &fanoutPart{jobs: make(chan fanoutJob, fanoutQueue)}
		f.parts[in.Order] = p
		f.wg.Go(func() { f.work(ctx, in.Order, p) })
	}
	f.arrival++
	job := fanoutJob{st: st, in: in, arrival: f.arrival, queued: now}
	p.pending++
	p.backlog = append(p.backlog, job)
	if p.unparkedSince.IsZero() {
		p.unparkedSince = now
	}
	// Past a full queue, an event that can be parked waits in overflow
	// (and, once parked, in the store alone: spilled) rather than block
	// the connection, which reads on: the events of other Orders, and
	// those the network would time out meanwhile. Events are parked in
	// batches: once the oldest unparked one waited fanoutParkAfter, or
	// when overflow is as long as a queue.
	past := f.parkableLocked(in) && (len(p.jobs) >= cap(p.jobs) || len(p.spilled) > 0 || len(p.overflow) > 0)
	if past {
		p.overflow = append(p.overflow, job)
	}
	var acks []func()
	if p.lagging(now) || len(p.overflow) >= fanoutQueue {
		acks = f.parkBacklogLocked(p)
	}
	f.mu.Unlock()
	for _, ack := range acks {
		ack()
	}
	if past {
		return
	}
	select {
	case p.jobs <- job:
	case <-ctx.Done():
		// Not queued: the network sends it again, and it must then be
		// taken as new (a parked one is handed on at the next start).
		f.mu.Lock()
		st.queued = false
		p.pending--
		p.take(st)
		f.mu.Unlock()
	}
}

// Wait waits for the work Dispatch started, after its context ended.
// Events dispatched meanwhile (a connection still reading while the
// transport stops) are left unacknowledged, for the network to send again.
func (f *Fanout) Wait() {
	f.mu.Lock()
	f.waiting++
	f.mu.Unlock()
	f.wg.Wait()
	f.mu.Lock()
	f.waiting--
	f.mu.Unlock()
}

// pruneLocked forgets the oldest events that failed and never came back,
// once there are fanoutMaxStates of them, and keeps byAge in step with
// states. It looks at the oldest entries only, so an event costs O(1)
// amortized however many failed events are remembered (it used to walk
// all of them for every event: 0.23 ms per event with 6,000 remembered).
func (f *Fanout) pruneLocked() {
	i := 0
	for ; i < len(f.byAge); i++ {
		r := f.byAge[i]
		if f.states[r.id] != r.st {
			continue // acknowledged, or replaced by a newer state
		}
		if len(f.states) < fanoutMaxStates || r.st.queued || time.Since(r.st.since) <= time.Hour {
			break
		}
		delete(f.states, r.id)
	}
	if i > 0 {
		clear(f.byAge[:i])
		f.byAge = f.byAge[i:]
	}
	// Acknowledged entries behind a live oldest one pile up: drop them
	// when they are the majority (each entry is dropped once).
	if len(f.byAge) > 2*len(f.states)+64 {
		live := f.byAge[:0]
		for _, r := range f.byAge {
			if f.states[r.id] == r.st {
				live = append(live, r)
			}
		}
		clear(f.byAge[len(live):])
		f.byAge = live
	}
}

// work runs the jobs of one Order key until it has had none for
// fanoutLinger. Lingering keeps a busy conversation's worker, and the
// stack it grew, from being started anew for each event (a new goroutine
// and its stack growth were ~5% of the CPU of a message at 1k msg/s).
func (f *Fanout) work(ctx context.Context, key string, p *fanoutPart) {
	idle := time.NewTimer(fanoutLinger)
	defer idle.Stop()
	for {
		var j fanoutJob
		select {
		case j = <-p.jobs:
		default:
			// No job queued: the spilled events come next, then the
			// overflow, else wait.
			var ok bool
			if j, ok = f.unspill(p); !ok {
				select {
				case j = <-p.jobs:
				case <-idle.C:
					f.mu.Lock()
					if p.pending == 0 {
						delete(f.parts, key)
						f.mu.Unlock()
						return
					}
					f.mu.Unlock()
					idle.Reset(fanoutLinger)
					continue
				case <-ctx.Done():
					f.abandon(key, p)
					return
				}
			}
		}
		if j.st == nil {
			continue // a spilled event dropped by unspill
		}
		f.mu.Lock()
		p.take(j.st)
		var acks []func()
		if p.lagging(time.Now()) {
			acks = f.parkBacklogLocked(p)
		}
		f.mu.Unlock()
		for _, ack := range acks {
			ack()
		}
		if ctx.Err() != nil {
			// Both were ready: the job is not handled with an ended
			// context, after an event that failed for it.
			f.mu.Lock()
			j.st.queued = false
			p.pending--
			f.mu.Unlock()
			f.abandon(key, p)
			return
		}
		f.process(ctx, p, j)
		f.mu.Lock()
		p.pending--
		f.mu.Unlock()
		idle.Reset(fanoutLinger)
	}
}

// abandon ends the work of an Order key whose context ended: its part is
// forgotten, so that a later Dispatch starts a new one, and the events
// still queued in it are marked unqueued, so that the network's next
// delivery of them is handled rather than taken for one already waiting.
func (f *Fanout) abandon(key string, p *fanoutPart) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.parts[key] == p {
		delete(f.parts, key)
	}
	for _, sj := range p.spilled {
		sj.st.queued = false // parked: handed on at the next start
		p.pending--
	}
	for _, j := range p.overflow {
		j.st.queued = false
		p.pending--
		p.take(j.st)
	}
	p.spilled, p.overflow = nil, nil
	for {
		select {
		case j := <-p.jobs:
			j.st.queued = false
			p.pending--
			p.take(j.st)
		default:
			return
		}
	}
}

// fanoutLoginWait bounds how long an event waits, holding up its Order,
// for accounts it concerns that are logging in; past it the event is left
// for the network to send again.
const fanoutLoginWait = 10 * time.Second

// process has every account concerned handle one event, then acknowledges
// it, or leaves it for the network to send again. An event that must wait
// for a login is parked when it can be (fanout_park.go).
func (f *Fanout) process(ctx context.Context, p *fanoutPart, j fanoutJob) {
	in := j.in
	// conf collects the host server confirmations of a ConfirmLater
	// event (see confirmations); hctx carries it to Handle.
	var conf *confirmations
	var confirming []AccountID // handled with conf
	hctx := ctx
	f.mu.Lock()
	if in.ConfirmLater && j.st.parked == 0 {
		conf = &confirmations{}
		hctx = withConfirmations(ctx, conf)
	}
	f.mu.Unlock()
	accts, complete, err := in.Route(ctx)
	deadline := time.Now().Add(fanoutLoginWait)
	pause := 20 * time.Millisecond
	holding := false // this event is parked and waits for a login
	for {
		var delivered []AccountID
		for _, a := range accts {
			if err != nil {
				break
			}
			f.mu.Lock()
			had := j.st.delivered[a]
			f.mu.Unlock()
			if !had {
				if err = f.handle(hctx, a, in); err != nil {
					break
				}
				f.mu.Lock()
				j.st.delivered[a] = true
				f.mu.Unlock()
				if conf != nil {
					confirming = append(confirming, a)
				}
			}
			delivered = append(delivered, a)
		}
		f.mu.Lock()
		seq, parkable := j.st.parked, f.parkableLocked(in)
		f.mu.Unlock()
		if seq != 0 && err != nil && ctx.Err() == nil {
			// Parked: the network will not send it again; retry it here,
			// within the parking's patience.
			f.log.Warn("parked event not delivered; trying again", "event", in.Describe, "err", err)
			err, complete = nil, false
		}
		if err != nil || complete || !time.Now().Before(deadline) {
			break
		}
		// What was delivered is confirmed before the event may be parked
		// (stored as delivered to those accounts, and acknowledged).
		if conf != nil && conf.pending() {
			if err = conf.settle(ctx); err != nil {
				f.unconfirmed(j, confirming)
				break
			}
			confirming = nil
		}
		// An account concerned is still logging in. The next events of
		// this Order must not overtake this one (they would reach the
		// user before it when the network sends it again): wait for the
		// login, within fanoutLoginWait (fanoutParkWait once parked), and
		// route it again.
		if seq == 0 && parkable {
			if s, perr := f.store(j, delivered); perr == nil {
				f.parked(j.st, s)
				seq = s
			} else {
				f.log.Warn("parking an event", "event", in.Describe, "err", perr)
			}
		}
		if seq != 0 {
			// The events behind it are parked too, as they come (in
			// batches, at each look at the login).
			f.mu.Lock()
			acks := f.parkBacklogLocked(p)
			if !holding {
				holding = true
				deadline = time.Now().Add(fanoutParkWait)
			}
			f.mu.Unlock()
			for _, ack := range acks {
				ack()
			}
		}
		select {
		case <-ctx.Done():
			err = ctx.Err()
		case <-time.After(pause):
		}
		if err != nil {
			break
		}
		pause = min(2*pause, 500*time.Millisecond)
		accts, complete, err = in.Route(ctx)
	}
	finished := err == nil && complete
	if conf != nil && conf.pending() {
		// Off the conversation's worker: the next event is handled while
		// the host server confirms this one.
		f.whenConfirmed(ctx, conf, func(cerr error) {
			if cerr != nil {
				f.unconfirmed(j, confirming)
				if ctx.Err() == nil {
					f.log.Warn("event not confirmed by the host server; the network will send it again", "event", in.Describe, "err", cerr)
				}
				return
			}
			f.finish(ctx, j, finished, complete, err)
		})
		return
	}
	f.finish(ctx, j, finished, complete, err)
}

// confirmWait is an event's handling waiting for its confirmations.
type confirmWait struct {
	conf *confirmations
	then func(error)
}

// whenConfirmed runs then with the outcome of conf's confirmations, on
// the Fanout's confirming goroutine: it settles the events that wait, all
// of those queued at once, with one wait for the host server, then looks
// for more (one goroutine and one wake-up per barrier, not per event).
func (f *Fanout) whenConfirmed(ctx context.Context, conf *confirmations, then func(error)) {
	f.cmu.Lock()
	f.confirmQ = append(f.confirmQ, confirmWait{conf, then})
	start := !f.confirming
	f.confirming = true
	f.cmu.Unlock()
	if !start {
		return
	}
	f.wg.Go(func() {
		for {
			f.cmu.Lock()
			batch := f.confirmQ
			f.confirmQ = nil
			if len(batch) == 0 {
				f.confirming = false
				f.cmu.Unlock()
				return
			}
			f.cmu.Unlock()
			cs := make([]*confirmations, len(batch))
			for i, w := range batch {
				cs[i] = w.conf
			}
			for i, err := range settleAll(ctx, cs) {
				batch[i].then(err)
			}
		}
	})
}

// unconfirmed undoes the delivery of an event to the accounts handled
// while the host server did not confirm it: the network sends it again
// (it is not acknowledged), and it must then be handled for them again
// rather than taken as delivered (their stanzas are written again on the
// component's next connection too: a duplicate then, never a loss).
func (f *Fanout) unconfirmed(j fanoutJob, accts []AccountID) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, a := range accts {
		delete(j.st.delivered, a)
	}
	j.st.queued = false
}

// finish ends the handling of an event: acknowledged and remembered as
// delivered when finished, left for the network to send again (or
// parked, for the next start) when not.
func (f *Fanout) finish(ctx context.Context, j fanoutJob, finished, complete bool, err error) {
	in := j.in
	f.mu.Lock()
	seq := j.st.parked
	if seq != 0 && !finished && ctx.Err() != nil {
		// Stopping: it stays parked for the next start (Resume).
		j.st.queued = false
		f.mu.Unlock()
		return
	}
	if seq == 0 && !finished {
		j.st.queued = false // handled again when the network sends it again
		f.mu.Unlock()
		if err != nil && ctx.Err() == nil {
			f.log.Warn("event not delivered; the network will send it again", "event", in.Describe, "err", err)
		}
		return
	}
	acks := j.st.acks
	if in.ID != "" {
		delete(f.states, in.ID)
		f.done.add(in.ID)
	}
	f.mu.Unlock()
	if seq != 0 {
		if !complete {
			f.log.Warn("parked event given up for accounts still not logged in", "event", in.Describe, "waited", fanoutParkWait)
		}
		f.unpark(seq)
	}
	for _, ack := range acks {
		ack()
	}
}

// handle has one account's session handle an event, retrying transient
// failures and handing it over to a new session.
func (f *Fanout) handle(ctx context.Context, acct AccountID, in Inbound) error {
	s, ok := f.Session(acct)
	if !ok {
		return nil // logged out meanwhile: nobody is left to tell
	}
	backoff := handleBackoff
	for attempt := 1; ; attempt++ {
		err := in.Handle(ctx, s)
		switch {
		case err == nil:
			return nil
		case errors.Is(err, ErrSessionClosed):
			next, ok := f.Session(acct)
			if !ok || next == s {
				return nil
			}
			s = next
			continue
		case ctx.Err() != nil:
			return err
		case errors.Is(err, ErrNotFound), errors.Is(err, ErrForbidden),
			errors.Is(err, ErrUnsupported), errors.Is(err, ErrInvalidInput):
			f.log.Info("event not passed on", "account", string(acct), "event", in.Describe, "err", err)
			return nil
		}
		if attempt == handleAttempts {
			return err
		}
		// A rate limit waits what the network asks (at most 30 s: then the
		// event is rather left for the network to send again) and does not
		// lengthen the backoff of real failures.
		wait := backoff
		var rl *RateLimitError
		if errors.As(err, &rl) {
			wait = min(max(rl.RetryAfter, 0), 30*time.Second)
		} else {
			backoff *= 4
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
	}
}

// recentIDs is a bounded set of strings, forgetting the oldest first.
type recentIDs struct {
	set  map[string]struct{}
	ring []string
	next int
}

func newRecentIDs(n int) recentIDs {
	return recentIDs{set: make(map[string]struct{}, n), ring: make([]string, n)}
}

func (r *recentIDs) has(k string) bool { _, ok := r.set[k]; return ok }

func (r *recentIDs) add(k string) {
	if r.has(k) {
		return
	}
	if old := r.ring[r.next]; old != "" {
		delete(r.set, old)
	}
	r.ring[r.next] = k
	r.next = (r.next + 1) % len(r.ring)
	r.set[k] = struct{}{}
}
