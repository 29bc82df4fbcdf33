package xmpp

import (
	"container/list"
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/xgate-im/xgate/xmpp/jid"
)

// Rate is a token bucket: a sender may send Burst stanzas at once and
// PerSecond stanzas per second sustained.
type Rate struct {
	PerSecond float64
	Burst     int
}

// SenderLimits configures LimitSenders.
type SenderLimits struct {
	// Classify names the class of a sender, given the bare JID of the
	// stanza's from (the zero JID when it has none). Nil puts every
	// sender in class "".
	Classify func(from jid.JID) string
	// Rates holds the rate of each class. A class missing from Rates is
	// not limited.
	Rates map[string]Rate
	// Reply sends the resource-constraint answer to an excess iq get or
	// set or message with a body. It must not block: use Component.TrySendRaw. Nil drops those
	// too (they are then counted as dropped).
	Reply func(b []byte) error
	// MaxSenders bounds the senders tracked at once (default 10,000).
	// When full, the sender seen least recently is forgotten.
	MaxSenders int
	// Now returns the current time (default time.Now), for tests.
	Now func() time.Time
}

// SenderLimiterStats counts what a SenderLimiter held back.
type SenderLimiterStats struct {
	// Answered counts excess iq get/set and messages with a body answered
	// with resource-constraint.
	Answered uint64
	// Dropped counts other excess stanzas (and answers Reply refused).
	Dropped uint64
	// Senders is the number of senders tracked now.
	Senders int
}

// SenderLimiter is a Handler that passes each sender's stanzas to the
// next Handler within that sender's rate. Create it with LimitSenders.
// It is safe for concurrent use.
type SenderLimiter struct {
	next Handler
	cfg  SenderLimits

	mu      sync.Mutex
	senders map[jid.JID]*list.Element // of *senderBucket
	lru     list.List                 // front: most recently seen

	answered, dropped atomic.Uint64
}

// senderBucket is the token bucket of one sender.
type senderBucket struct {
	from   jid.JID
	tokens float64
	last   time.Time
	full   time.Time // when the bucket will be full again
}

var _ Handler = (*SenderLimiter)(nil)

// LimitSenders returns a Handler that limits each sender (by bare JID) to
// the rate of its class before handing stanzas to next. Excess iq get and
// set, and excess messages with a body, are answered with a
// resource-constraint error (type wait) through cfg.Reply, which must not
// block; other excess stanzas (presences, chat states) are dropped. All
// are counted (Stats). Memory is bounded by cfg.MaxSenders: a sender not
// seen for a while costs nothing once its bucket would be full again, and
// when the table is full the least recently seen sender is forgotten.
//
// A gateway wires it in front of its own handler, with Reply set to the
// component's TrySendRaw (the component exists only after NewComponent, so
// Reply is a closure reading it):
//
//	var comp *xmpp.Component
//	lim := xmpp.LimitSenders(handler, xmpp.SenderLimits{
//		Classify: func(from jid.JID) string {
//			if registered(from) {
//				return "user"
//			}
//			return "stranger"
//		},
//		Rates: map[string]xmpp.Rate{"user": {PerSecond: 50, Burst: 200}, "stranger": {PerSecond: 2, Burst: 10}},
//		Reply: func(b []byte) error { return comp.TrySendRaw(b) },
//	})
//	comp, err = xmpp.NewComponent(cfg, lim)
func LimitSenders(next Handler, cfg SenderLimits) *SenderLimiter {
	if cfg.MaxSenders <= 0 {
		cfg.MaxSenders = 10000
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &SenderLimiter{next: next, cfg: cfg, senders: make(map[jid.JID]*list.Element)}
}

// HandleStanza implements Handler.
func (l *SenderLimiter) HandleStanza(ctx context.Context, s Stanza) {
	from := s.Head().From.Bare()
	class := ""
	if l.cfg.Classify != nil {
		class = l.cfg.Classify(from)
	}
	rate, limited := l.cfg.Rates[class]
	if !limited || l.allow(from, rate) {
		l.next.HandleStanza(ctx, s)
		return
	}
	if reply := excessAnswer(s); reply != nil && l.cfg.Reply != nil {
		if l.cfg.Reply(Encode(reply)) == nil {
			l.answered.Add(1)
			return
		}
	}
	l.dropped.Add(1)
}

// excessAnswer is the resource-constraint error (type wait) that tells the
// sender a stanza over its share was not handled: for an iq get or set,
// which would otherwise wait for its answer, and for a message with a
// body, which would otherwise be lost without the sender knowing. Nil for
// the rest (presences, chat states, results, errors), which are dropped.
func excessAnswer(s Stanza) Stanza {
	e := NewStanzaError(CondResourceConstraint, "")
	switch s := s.(type) {
	case *IQ:
		if s.Type == IQGet || s.Type == IQSet {
			return s.ErrorReply(e)
		}
	case *Message:
		if s.Body != "" && s.Type != "error" {
			return Bounce(s, e)
		}
	}
	return nil
}

// allow takes a token from from's bucket if it has one.
func (l *SenderLimiter) allow(from jid.JID, r Rate) bool {
	now := l.cfg.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	var b *senderBucket
	if e, ok := l.senders[from]; ok {
		l.lru.MoveToFront(e)
		b = e.Value.(*senderBucket)
		b.tokens = min(float64(r.Burst), b.tokens+now.Sub(b.last).Seconds()*r.PerSecond)
		b.last = now
	} else {
		for len(l.senders) >= l.cfg.MaxSenders {
			old := l.lru.Back()
			delete(l.senders, old.Value.(*senderBucket).from)
			l.lru.Remove(old)
		}
		b = &senderBucket{from: from, tokens: float64(r.Burst), last: now}
		l.senders[from] = l.lru.PushFront(b)
	}
	ok := b.tokens >= 1
	if ok {
		b.tokens--
	}
	b.full = now.Add(100 * 365 * 24 * time.Hour) // never refills
	if r.PerSecond > 0 {
		b.full = now.Add(time.Duration((float64(r.Burst) - b.tokens) / r.PerSecond * float64(time.Second)))
	}
	l.forgetFull(now)
	return ok
}

// forgetFull drops, from the least recently seen end, senders whose
// bucket has refilled: forgetting them changes nothing. It looks at two
// at most, a little work per stanza. Called with l.mu held.
func (l *SenderLimiter) forgetFull(now time.Time) {
	for range 2 {
		old := l.lru.Back()
		if old == nil || now.Before(old.Value.(*senderBucket).full) {
			return
		}
		delete(l.senders, old.Value.(*senderBucket).from)
		l.lru.Remove(old)
	}
}

// Stats returns the limiter's counters.
func (l *SenderLimiter) Stats() SenderLimiterStats {
	l.mu.Lock()
	n := len(l.senders)
	l.mu.Unlock()
	return SenderLimiterStats{Answered: l.answered.Load(), Dropped: l.dropped.Load(), Senders: n}
}
