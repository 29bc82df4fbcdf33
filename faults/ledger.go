package faults

import (
	"fmt"
	"sync"
)

// Ledger accounts for messages numbered 0, 1, 2, ... sent one way through
// the gateway, in that order. It is safe for concurrent use.
type Ledger struct {
	mu        sync.Mutex
	sent      int          // messages 0..sent-1 were sent
	bounced   map[int]bool // the sender got an error for these
	delivered map[int]int  // how often each message arrived
	highest   int          // the highest message delivered so far, -1 if none
	reordered int
	unknown   int // deliveries of numbers never sent
}

// NewLedger returns an empty ledger.
func NewLedger() *Ledger {
	return &Ledger{bounced: map[int]bool{}, delivered: map[int]int{}, highest: -1}
}

// Sent records that message n was sent; messages must be sent in order.
func (l *Ledger) Sent(n int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if n != l.sent {
		panic(fmt.Sprintf("faults: message %d sent after %d", n, l.sent-1))
	}
	l.sent++
}

// Bounced records that the sender was told message n was not delivered.
func (l *Ledger) Bounced(n int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.bounced[n] = true
}

// Delivered records one arrival of message n. A first arrival of n after a
// higher-numbered message counts as reordered, unless n was bounced (a
// bounced message is not expected at all).
func (l *Ledger) Delivered(n int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if n < 0 || n >= l.sent {
		l.unknown++
		return
	}
	l.delivered[n]++
	if l.delivered[n] > 1 {
		return
	}
	if n < l.highest {
		l.reordered++
	}
	l.highest = max(l.highest, n)
}

// Count returns how many distinct messages arrived and how many were
// bounced: a test waits until they add up to what was sent.
func (l *Ledger) Count() (delivered, bounced int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.delivered), len(l.bounced)
}

// Lost returns the numbers of the messages that neither arrived nor were
// bounced, in order.
func (l *Ledger) Lost() []int {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []int
	for n := range l.sent {
		if l.delivered[n] == 0 && !l.bounced[n] {
			out = append(out, n)
		}
	}
	return out
}

// Duplicated returns the numbers of the messages that arrived more than
// once, in order.
func (l *Ledger) Duplicated() []int {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []int
	for n := range l.sent {
		if l.delivered[n] > 1 {
			out = append(out, n)
		}
	}
	return out
}

// Tally is a ledger's summary.
type Tally struct {
	Sent      int
	Delivered int // distinct messages that arrived
	Bounced   int // messages whose sender got an error
	// Lost messages neither arrived nor were bounced: a silent loss.
	Lost int
	// Duplicated counts the extra arrivals beyond the first.
	Duplicated int
	// Reordered counts messages that first arrived after a later one.
	Reordered int
	// BouncedButDelivered messages arrived although their sender was
	// told they failed.
	BouncedButDelivered int
	// Unknown counts arrivals of numbers that were never sent.
	Unknown int
}

// Tally sums up the ledger.
func (l *Ledger) Tally() Tally {
	l.mu.Lock()
	defer l.mu.Unlock()
	t := Tally{Sent: l.sent, Delivered: len(l.delivered), Bounced: len(l.bounced), Reordered: l.reordered, Unknown: l.unknown}
	for n := range l.sent {
		c, b := l.delivered[n], l.bounced[n]
		switch {
		case c == 0 && !b:
			t.Lost++
		case c > 0 && b:
			t.BouncedButDelivered++
		}
		if c > 1 {
			t.Duplicated += c - 1
		}
	}
	return t
}

// String is one line for logs and reports.
func (t Tally) String() string {
	return fmt.Sprintf("sent %d, delivered %d, bounced %d, lost %d, duplicated %d, reordered %d, bounced-but-delivered %d, unknown %d",
		t.Sent, t.Delivered, t.Bounced, t.Lost, t.Duplicated, t.Reordered, t.BouncedButDelivered, t.Unknown)
}
