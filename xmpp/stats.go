package xmpp

import (
	"bytes"
	"sync"
	"sync/atomic"
	"time"
)

// Stats is a snapshot of a component's counters, for metrics.
type Stats struct {
	State                                       State
	MessagesIn, PresencesIn, IQsIn, OtherIn     uint64
	MessagesOut, PresencesOut, IQsOut, OtherOut uint64
	// ErrorsIn counts malformed input: bounced stanzas and stream errors
	// this side raised.
	ErrorsIn     uint64
	Reconnects   uint64
	PingTimeouts uint64
	// Replayed counts stanzas written again after a connection ended
	// uncleanly: those the server had not confirmed, and those it confirmed
	// within ComponentConfig.ReplayConfirmed before the end.
	Replayed uint64
	// QueueLen and QueueCap describe the outgoing queue; QueueHigh is the
	// highest length seen.
	QueueLen, QueueCap, QueueHigh int
	InboxLen                      int
	// QueueFull counts the times a sender found the outgoing queue full
	// (Send and SendRaw then waited; TrySendRaw gave up).
	QueueFull uint64
	// Dropped counts stanzas TrySendRaw refused with ErrQueueFull.
	Dropped uint64
	// Skipped counts stanzas received and dropped unread by a filter of
	// SkipStanzas.
	Skipped uint64
	// Unconfirmed is the number of stanzas written but not yet confirmed
	// by a barrier (see Flush).
	Unconfirmed int
	// LastConfirmed is when the server last answered a barrier (zero if
	// never): the connection's proof of life.
	LastConfirmed time.Time
}

type counters struct {
	in, out      [4]atomic.Uint64 // message, presence, iq, other
	errorsIn     atomic.Uint64
	reconnects   atomic.Uint64
	pingTimeouts atomic.Uint64
	replayed     atomic.Uint64
	high         atomic.Int64
	queueFull    atomic.Uint64
	dropped      atomic.Uint64
	skipped      atomic.Uint64
	// lastConfirmed is when a barrier last came back, in Unix ns.
	lastConfirmed atomic.Int64
}

func kindIndex(local string) int {
	switch local {
	case "message":
		return 0
	case "presence":
		return 1
	case "iq":
		return 2
	}
	return 3
}

func (c *counters) countIn(local string) { c.in[kindIndex(local)].Add(1) }

func (c *counters) countOut(batch []sentStanza) {
	for _, s := range batch {
		b := s.b
		switch {
		case bytes.HasPrefix(b, []byte("<message")):
			c.out[0].Add(1)
		case bytes.HasPrefix(b, []byte("<presence")):
			c.out[1].Add(1)
		case bytes.HasPrefix(b, []byte("<iq")):
			c.out[2].Add(1)
		default:
			c.out[3].Add(1)
		}
	}
}

func (c *counters) queueHigh(n int) {
	for {
		h := c.high.Load()
		if int64(n) <= h || c.high.CompareAndSwap(h, int64(n)) {
			return
		}
	}
}

// Stats returns a snapshot of the component's counters.
func (c *Component) Stats() Stats {
	s := &c.stats
	st := Stats{
		State:        c.State(),
		MessagesIn:   s.in[0].Load(),
		PresencesIn:  s.in[1].Load(),
		IQsIn:        s.in[2].Load(),
		OtherIn:      s.in[3].Load(),
		MessagesOut:  s.out[0].Load(),
		PresencesOut: s.out[1].Load(),
		IQsOut:       s.out[2].Load(),
		OtherOut:     s.out[3].Load(),
		ErrorsIn:     s.errorsIn.Load(),
		Reconnects:   s.reconnects.Load(),
		PingTimeouts: s.pingTimeouts.Load(),
		Replayed:     s.replayed.Load(),
		QueueLen:     len(c.out),
		QueueCap:     cap(c.out),
		QueueHigh:    int(s.high.Load()),
		InboxLen:     len(c.inbox),
		QueueFull:    s.queueFull.Load(),
		Dropped:      s.dropped.Load(),
		Skipped:      s.skipped.Load(),
		Unconfirmed:  c.unconfirmedLen(),
	}
	if ns := s.lastConfirmed.Load(); ns != 0 {
		st.LastConfirmed = time.Unix(0, ns)
	}
	return st
}

// bufferPool recycles encoding buffers.
type bufferPool struct{ p sync.Pool }

func (p *bufferPool) Get() *bytes.Buffer {
	if b, ok := p.p.Get().(*bytes.Buffer); ok {
		b.Reset()
		return b
	}
	return new(bytes.Buffer)
}

func (p *bufferPool) Put(b *bytes.Buffer) {
	if b.Cap() <= 64<<10 {
		p.p.Put(b)
	}
}

var bufPool bufferPool
