package xmpp

import (
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

// barrierInterval bounds how often a barrier ping is written while stanzas
// wait for confirmation; it trades a few pings per second for a smaller
// window of stanzas to re-send after a crash.
const barrierInterval = 20 * time.Millisecond

// maxUnconfirmed bounds the stanzas kept for confirmation. When reached,
// the writer waits for the next barrier before writing more, which is
// backpressure on a server that stopped routing.
const maxUnconfirmed = 8192

// barrierPrefix starts the ids of barrier pings.
const barrierPrefix = "xgate-barrier-"

// written records stanzas that reached the socket and returns whether a
// barrier should be written now.
func (c *Component) written(batch [][]byte) {
	if len(batch) == 0 {
		return
	}
	c.mu.Lock()
	c.unconfirmed = append(c.unconfirmed, batch...)
	c.mu.Unlock()
}

// nextBarrier returns the ping to write if stanzas wait for confirmation,
// no barrier is in flight, and the last one was long enough ago; otherwise
// nil and how long to wait before asking again (0: nothing to do).
func (c *Component) nextBarrier(now time.Time) ([]byte, time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.unconfirmed) == 0 || c.barrierID != "" {
		return nil, 0
	}
	if wait := c.barrierSent.Add(barrierInterval).Sub(now); wait > 0 {
		return nil, wait
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
		rest := c.unconfirmed[c.barrierCovers:]
		c.unconfirmed = append(make([][]byte, 0, len(rest)), rest...)
		c.barrierID = ""
		c.barrierCovers = 0
	}
	c.mu.Unlock()
	select {
	case c.barrierDone <- struct{}{}:
	default:
	}
	return true
}

// unconfirmedLen returns how many stanzas wait for a barrier.
func (c *Component) unconfirmedLen() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.unconfirmed)
}

// settle runs when a connection ended: after a clean close this side asked
// for, everything written was processed; otherwise the unconfirmed stanzas
// go back in front of the retry list.
func (c *Component) settle(clean bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !clean && len(c.unconfirmed) > 0 {
		c.stats.replayed.Add(uint64(len(c.unconfirmed)))
		c.retry = append(c.unconfirmed, c.retry...)
	}
	c.unconfirmed = nil
	c.barrierID = ""
	c.barrierCovers = 0
}
