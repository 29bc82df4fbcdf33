package bridge

import (
	"sync"
	"sync/atomic"
)

// Metrics are a gateway's counters. They are exported in Prometheus text
// format by the admin HTTP endpoint; every field is safe for concurrent use.
type Metrics struct {
	// events counts remote events by kind ("message", "edit", ...,
	// "unknown").
	events sync.Map // string -> *atomic.Uint64

	bounces atomic.Uint64 // stanza errors sent back to XMPP senders
	dropped atomic.Uint64 // ephemeral stanzas the component could not take at once
	// droppedToNetwork counts typing and read markers not passed to the
	// network because too many such calls were already running.
	droppedToNetwork atomic.Uint64
	queuedForXMPP    atomic.Uint64 // stanzas stored because the host was down
	flushedToXMPP    atomic.Uint64 // stored stanzas delivered later
	sentRemote       atomic.Uint64 // messages delivered to the network
	sentUnstored     atomic.Uint64 // queued items settled from memory, never stored
	// completionCommits counts the commits of sent items' completions.
	completionCommits atomic.Uint64
	retriedRemote     atomic.Uint64 // delivery attempts that will be retried
	rateLimited       atomic.Uint64 // of which rate limits
	failedRemote      atomic.Uint64 // messages bounced after failing for good
	loginFailures     atomic.Uint64
	unknownStanzas    atomic.Uint64 // iqs answered service-unavailable
	registrations     atomic.Uint64
	unregistrations   atomic.Uint64
	// afterLoginPending counts the logins whose following work (the
	// contact list, the roster pushes) is queued or running: a gauge.
	afterLoginPending atomic.Int64
}

func newMetrics() *Metrics { return &Metrics{} }

func (m *Metrics) countEvent(kind string) {
	v, ok := m.events.Load(kind)
	if !ok {
		v, _ = m.events.LoadOrStore(kind, new(atomic.Uint64))
	}
	v.(*atomic.Uint64).Add(1)
}

// Snapshot is a copy of the counters.
type Snapshot struct {
	Events  map[string]uint64
	Bounces uint64
	Dropped uint64
	// DroppedToNetwork counts typing notifications and read markers not
	// passed to the network because too many were already in flight.
	DroppedToNetwork uint64
	QueuedForXMPP    uint64
	FlushedToXMPP    uint64
	SentRemote       uint64
	// SentUnstored counts the items towards the network (messages,
	// edits, reactions…) settled from memory without being stored in
	// their queue (held.go).
	SentUnstored uint64
	// CompletionCommits counts the commits that recorded items sent to
	// the network (their ID pairs, their removal from the queues), each
	// for one or more items of a chat (Config.CompletionPeriod).
	CompletionCommits uint64
	RetriedRemote     uint64
	RateLimited       uint64
	FailedRemote      uint64
	LoginFailures     uint64
	UnknownStanzas    uint64
	Registrations     uint64
	Unregistrations   uint64
	// AfterLoginPending is how many logged-in accounts still wait for, or
	// are in, the work that follows a login: their contact list fetched
	// from the network and offered to their roster. After a start with
	// many accounts it falls to zero as that paced work ends.
	AfterLoginPending int64
}

// Snapshot returns the current values.
func (m *Metrics) Snapshot() Snapshot {
	s := Snapshot{Events: map[string]uint64{}}
	m.events.Range(func(k, v any) bool {
		s.Events[k.(string)] = v.(*atomic.Uint64).Load()
		return true
	})
	s.Bounces = m.bounces.Load()
	s.Dropped = m.dropped.Load()
	s.DroppedToNetwork = m.droppedToNetwork.Load()
	s.QueuedForXMPP = m.queuedForXMPP.Load()
	s.FlushedToXMPP = m.flushedToXMPP.Load()
	s.SentRemote = m.sentRemote.Load()
	s.SentUnstored = m.sentUnstored.Load()
	s.CompletionCommits = m.completionCommits.Load()
	s.RetriedRemote = m.retriedRemote.Load()
	s.RateLimited = m.rateLimited.Load()
	s.FailedRemote = m.failedRemote.Load()
	s.LoginFailures = m.loginFailures.Load()
	s.UnknownStanzas = m.unknownStanzas.Load()
	s.Registrations = m.registrations.Load()
	s.Unregistrations = m.unregistrations.Load()
	s.AfterLoginPending = m.afterLoginPending.Load()
	return s
}
