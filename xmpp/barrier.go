package xmpp

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Delivery barriers.
//
// XEP-0114 has no acknowledgements: a stanza written to the socket may still
// be lost if the host server crashes before it processed it (the kernel
// accepts the bytes, the process dies). To close that gap the component
// keeps every stanza it wrote as "unconfirmed" and, at most every
// barrierInterval, writes a ping addressed to its own domain. The server
// routes stanzas in order, so when that ping comes back every stanza
// written before it has been processed and is forgotten. If the connection
// ends in any way other than a clean close this side asked for, the
// unconfirmed stanzas are written again, first, on the next connection: a
// crash of the server can cause a rare duplicate, never a loss.
//
// A returned barrier proves the server routed what came before it, not that
// it delivered it: ejabberd hands a stanza to the recipient's session (an
// Erlang process of its own) and answers the barrier while the session may
// still hold it, so a kill at that moment loses it. Confirmed stanzas are
// therefore kept for ReplayConfirmed more and written again, in front of
// the unconfirmed ones, when the connection ends uncleanly within that time.
//
// The same pings prove the connection alive: a barrier is written right
// after the handshake (behind any replayed stanzas), after every write that
// leaves stanzas unconfirmed, whenever the unconfirmed cap is reached, and
// as a probe when nothing was confirmed for KeepAlive. The keepalive judges
// liveness only by their answers (see keepAlive), never by other reads.
//
// Each stanza taken from the send queue gets a sequence number; confirmed
// is the highest number a returned barrier covered. Flush waits for a
// target number, shared by every caller that asked before the writer
// looked, so concurrent callers cost one barrier.

// barrierInterval bounds how often a barrier ping is written while stanzas
// wait for confirmation; it trades a few pings per second for a smaller
// window of stanzas to re-send after a crash. Flush and probes do not wait
// for it.
const barrierInterval = 20 * time.Millisecond

// maxUnconfirmed bounds the stanzas kept for confirmation. When reached,
// the writer writes a barrier and takes nothing new until one returns,
// which is backpressure on a server that stopped routing.
const maxUnconfirmed = 8192

// DefaultReplayConfirmed is how long confirmed stanzas stay replayable
// when ComponentConfig.ReplayConfirmed is zero: several times what a host
// server's session takes to deliver what its router handed it, and short
// enough that a kill duplicates a fraction of a second of traffic at most.
const DefaultReplayConfirmed = 50 * time.Millisecond

// confirmedRun is stanzas one barrier confirmed, kept for replay until
// ReplayConfirmed after at.
type confirmedRun struct {
	at      time.Time
	stanzas []sentStanza
}

// barrierPrefix starts the ids of barrier pings.
const barrierPrefix = "xgate-barrier-"

// sentStanza is a stanza taken from the send queue, with its sequence
// number.
type sentStanza struct {
	seq uint64
	b   []byte
	// again marks a stanza written again after a barrier had confirmed
	// it: it is not written again a second time for that reason (dense
	// crashes would otherwise replay the same traffic over and over).
	again bool
}

// flushGroup is the Flush (or FlushLazy) callers that share one target.
type flushGroup struct {
	target uint64        // set by the writer
	done   chan struct{} // closed when decided
	err    error         // nil: confirmed
	lazy   bool          // FlushLazy: waits for the barriers written anyway
}

// barrierMode says how urgently nextBarrier should write a barrier.
type barrierMode int

const (
	barrierIfDue  barrierMode = iota // stanzas wait and barrierInterval passed
	barrierNow                       // stanzas wait (Flush, replay)
	barrierAlways                    // a probe even when nothing waits
	barrierNone                      // never (the stream is ending)
)

// written records stanzas handed to the socket buffer. They count as
// unconfirmed from now on, so that a failed write replays them.
func (c *Component) written(batch []sentStanza) {
	if len(batch) == 0 {
		return
	}
	c.mu.Lock()
	c.unconfirmed = append(c.unconfirmed, batch...)
	c.mu.Unlock()
}

// take numbers a stanza taken from the send queue. Writer only.
func (c *Component) take(b []byte) sentStanza {
	c.mu.Lock()
	c.taken++
	s := sentStanza{seq: c.taken, b: b}
	c.mu.Unlock()
	return s
}

// nextBarrier returns the ping to write now, or nil and how long to wait
// before asking again (0: nothing to wait for). At most one barrier is in
// flight; when it returns the writer asks again.
func (c *Component) nextBarrier(now time.Time, mode barrierMode) ([]byte, time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.barrierID != "" || len(c.unconfirmed) == 0 && mode != barrierAlways {
		return nil, 0
	}
	if mode == barrierIfDue {
		if wait := c.barrierSent.Add(barrierInterval).Sub(now); wait > 0 {
			return nil, wait
		}
	}
	c.barrierSeq++
	c.barrierID = fmt.Sprintf("%s%d", barrierPrefix, c.barrierSeq)
	c.barrierCovers = len(c.unconfirmed)
	c.barrierSent = now
	d := c.domain.String()
	return []byte(`<iq type="get" from="` + d + `" to="` + d + `" id="` + c.barrierID + `"><ping xmlns="` + NSPing + `"/></iq>`), 0
}

// confirmBarrier handles a barrier ping routed back by the server. It
// reports whether iq was one.
func (c *Component) confirmBarrier(iq *IQ) bool {
	if iq.Type != IQGet || iq.From != c.domain || iq.To != c.domain || len(iq.ID) <= len(barrierPrefix) || iq.ID[:len(barrierPrefix)] != barrierPrefix {
		return false
	}
	c.mu.Lock()
	if iq.ID == c.barrierID {
		now := time.Now()
		if c.barrierCovers > 0 {
			c.confirmed = c.unconfirmed[c.barrierCovers-1].seq
			c.keepConfirmed(now, c.unconfirmed[:c.barrierCovers:c.barrierCovers])
		}
		rest := c.unconfirmed[c.barrierCovers:]
		c.unconfirmed = append(make([]sentStanza, 0, len(rest)), rest...)
		c.barrierID = ""
		c.barrierCovers = 0
		c.lastAnswer.Store(now.UnixNano())
		c.stats.lastConfirmed.Store(now.UnixNano())
		c.answered.Store(true)
		c.releaseFlushes(nil)
	}
	c.mu.Unlock()
	select {
	case c.barrierDone <- struct{}{}:
	default:
	}
	return true
}

// keepConfirmed adds stanzas a barrier just confirmed to those kept for
// replay and forgets those confirmed more than ReplayConfirmed ago, or
// beyond maxUnconfirmed in all. Called with c.mu held.
func (c *Component) keepConfirmed(now time.Time, run []sentStanza) {
	if c.cfg.ReplayConfirmed < 0 {
		return
	}
	c.recent = append(c.recent, confirmedRun{at: now, stanzas: run})
	c.recentLen += len(run)
	drop := 0
	for drop < len(c.recent)-1 && (now.Sub(c.recent[drop].at) > c.cfg.ReplayConfirmed || c.recentLen > maxUnconfirmed) {
		c.recentLen -= len(c.recent[drop].stanzas)
		drop++
	}
	if drop > 0 {
		clear(c.recent[:drop])
		c.recent = c.recent[drop:]
	}
}

// recentSince returns, oldest first, the stanzas confirmed at or after
// since that were not written again for that reason before, marked as
// written again. Called with c.mu held.
func (c *Component) recentSince(since time.Time) []sentStanza {
	var out []sentStanza
	for _, r := range c.recent {
		if r.at.Before(since) {
			continue
		}
		for _, s := range r.stanzas {
			if !s.again {
				s.again = true
				out = append(out, s)
			}
		}
	}
	return out
}

// releaseFlushes decides the flush groups whose target is confirmed and,
// with a non-nil err, fails all the others. Called with c.mu held.
func (c *Component) releaseFlushes(err error) {
	keep := c.flushWait[:0]
	for _, g := range c.flushWait {
		switch {
		case g.target <= c.confirmed:
			close(g.done)
		case err != nil && !(g.lazy && errors.Is(err, ErrUnconfirmed)):
			g.err = err
			close(g.done)
		default:
			keep = append(keep, g)
		}
	}
	clear(c.flushWait[len(keep):])
	c.flushWait = keep
	if err != nil {
		for _, next := range []**flushGroup{&c.flushNext, &c.lazyNext} {
			if g := *next; g != nil && !(g.lazy && errors.Is(err, ErrUnconfirmed)) {
				g.err = err
				close(g.done)
				*next = nil
			}
		}
	}
}

// assignFlushes gives the waiting Flush callers their target: every
// stanza taken so far plus every stanza in the queue now. Each stanza a
// caller handed over before calling Flush is among them. Writer only (no
// stanza is between the queue and its number).
func (c *Component) assignFlushes() { c.assign(&c.flushNext) }

// assignLazy is assignFlushes for the FlushLazy callers. Writer only.
func (c *Component) assignLazy() { c.assign(&c.lazyNext) }

func (c *Component) assign(next **flushGroup) {
	c.mu.Lock()
	defer c.mu.Unlock()
	g := *next
	if g == nil {
		return
	}
	*next = nil
	g.target = c.taken + uint64(len(c.out))
	c.flushWait = append(c.flushWait, g)
	c.releaseFlushes(nil)
}

// Flush returns nil once the host server has confirmed (by a barrier round
// trip) every stanza that Send, SendRaw or TrySendRaw accepted before the
// call. It fails with ErrNotConnected while the stream is down, with
// ErrUnconfirmed when the connection ends first (the stanzas are then
// written again on the next connection, so a later Flush can succeed),
// with ErrConnClosed once Run has returned, and with ctx's error. Callers
// waiting at the same time share one barrier.
func (c *Component) Flush(ctx context.Context) error {
	return c.flush(ctx, &c.flushNext, c.flushReq, false)
}

// FlushLazy is Flush without a barrier of its own: it waits for the
// barriers the writer writes anyway, at most barrierInterval after a write,
// so that callers who need not hurry (acknowledgements a network waits
// seconds for) share one barrier per interval instead of one per call.
// Unlike Flush it waits across reconnections: the stanzas a connection
// that ended did not confirm are written again on the next one, and are
// confirmed there. It fails with ErrConnClosed once Run has returned (or
// ends), and with ctx's error.
func (c *Component) FlushLazy(ctx context.Context) error {
	return c.flush(ctx, &c.lazyNext, c.lazyReq, true)
}

func (c *Component) flush(ctx context.Context, next **flushGroup, req chan struct{}, lazy bool) error {
	switch c.State() {
	case StateStopped:
		return ErrConnClosed
	case StateConnected:
	default:
		if !lazy {
			return ErrNotConnected
		}
	}
	c.mu.Lock()
	if c.State() == StateStopped {
		// Run's end releases the groups under c.mu after it set the
		// state: this one would wait for nobody.
		c.mu.Unlock()
		return ErrConnClosed
	}
	g := *next
	if g == nil {
		g = &flushGroup{done: make(chan struct{}), lazy: lazy}
		*next = g
	}
	c.mu.Unlock()
	select {
	case req <- struct{}{}:
	default:
	}
	select {
	case <-g.done:
		return g.err
	case <-ctx.Done():
		return fmt.Errorf("xmpp: flush: %w", ctx.Err())
	}
}

// flushWaiting reports whether a Flush caller (not FlushLazy) waits for a
// barrier.
func (c *Component) flushWaiting() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, g := range c.flushWait {
		if !g.lazy {
			return true
		}
	}
	return false
}

// unconfirmedLen returns how many stanzas wait for a barrier.
func (c *Component) unconfirmedLen() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.unconfirmed)
}

// barrierAge returns how long the barrier in flight has been, or 0.
func (c *Component) barrierAge(now time.Time) time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.barrierID == "" {
		return 0
	}
	return now.Sub(c.barrierSent)
}

// settle runs when a connection ended (at ended): after a clean close this
// side asked for, everything written was processed; otherwise the
// unconfirmed stanzas, preceded after an abrupt end by those confirmed
// within ReplayConfirmed before it, go back in front of the retry list in
// the order they were first written, and waiting Flush calls fail.
func (c *Component) settle(clean, abrupt bool, ended time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if clean {
		c.confirmed = c.taken
		c.releaseFlushes(ErrConnClosed)
	} else {
		var again []sentStanza
		if abrupt {
			again = c.recentSince(ended.Add(-c.cfg.ReplayConfirmed))
		}
		again = append(again, c.unconfirmed...)
		if len(again) > 0 {
			c.stats.replayed.Add(uint64(len(again)))
			c.retry = append(again, c.retry...)
		}
		c.releaseFlushes(ErrUnconfirmed)
	}
	clear(c.recent)
	c.recent, c.recentLen = c.recent[:0], 0
	c.unconfirmed = nil
	c.barrierID = ""
	c.barrierCovers = 0
}
