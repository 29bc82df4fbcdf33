package xmpp

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"
)

// CondUnsupportedStanzaType is the stream error for an unknown top-level
// element (RFC 6120 §4.9.3.22).
const CondUnsupportedStanzaType Condition = "unsupported-stanza-type"

// closeGrace bounds how long a graceful close waits for queued stanzas to be
// written and for the server's closing tag.
const closeGrace = 2 * time.Second

// handshakeDigest is the XEP-0114 handshake value.
func handshakeDigest(streamID, secret string) string {
	sum := sha1.Sum([]byte(streamID + secret))
	return hex.EncodeToString(sum[:])
}

// session runs one connection from dial to close. stable reports whether
// the server answered at least one of its barriers, which is when Run
// trusts the connection enough to reset its backoff.
func (c *Component) session(ctx context.Context, addr string) (stable bool, err error) {
	conn, dec, err := c.connect(ctx, addr)
	if err != nil {
		return false, err
	}
	defer conn.Close()
	c.answered.Store(false)
	c.lastAnswer.Store(time.Now().UnixNano())
	c.setState(StateConnected, nil)

	sctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	fatal := make(chan []byte, 1)
	readerDone := make(chan struct{})

	var wg sync.WaitGroup
	var readErr, writeErr error
	var readEnded time.Time
	wg.Go(func() {
		defer close(readerDone)
		readErr = c.readLoop(sctx, dec, fatal)
		readEnded = time.Now()
		cancel(readErr)
	})
	wg.Go(func() {
		writeErr = c.writeLoop(ctx, conn, fatal, readerDone)
		if writeErr != nil {
			cancel(writeErr)
		}
		// Unblock the reader: on graceful close give the server a moment
		// to answer with its own closing tag.
		if writeErr == nil && ctx.Err() != nil {
			_ = conn.SetReadDeadline(time.Now().Add(closeGrace))
		} else {
			_ = conn.Close()
		}
	})
	wg.Go(func() { c.keepAlive(sctx, cancel, conn) })
	wg.Wait()
	stable = c.answered.Load()
	// Only a close this side asked for, answered by the server's own
	// closing tag, proves everything written was processed. A server that
	// closed its stream itself shut down in order; one that vanished may
	// have lost what it confirmed just before (the reader sees that first,
	// and the replay window is counted back from there). A stop this side
	// asked for is never taken for a vanished server, however the reader
	// ended (its context ends with the run's): what was confirmed would
	// otherwise be handed back as unsent and delivered again at the next
	// start.
	clean := ctx.Err() != nil && writeErr == nil && errors.Is(readErr, ErrStreamClosed)
	abrupt := ctx.Err() == nil && !errors.Is(readErr, ErrStreamClosed)
	c.settle(clean, abrupt, readEnded)
	if ctx.Err() != nil {
		return stable, nil
	}
	if writeErr != nil {
		return stable, writeErr
	}
	if cause := context.Cause(sctx); cause != nil && !errors.Is(cause, context.Canceled) {
		return stable, cause
	}
	return stable, readErr
}

// connect dials addr and performs the XEP-0114 handshake.
func (c *Component) connect(ctx context.Context, addr string) (net.Conn, *Decoder, error) {
	dctx, cancel := context.WithTimeout(ctx, c.cfg.DialTimeout)
	defer cancel()
	conn, err := c.cfg.Dial(dctx, "tcp", addr)
	if err != nil {
		return nil, nil, fmt.Errorf("xmpp: dial %s: %w", addr, err)
	}
	deadline, _ := dctx.Deadline()
	_ = conn.SetDeadline(deadline)
	stop := context.AfterFunc(dctx, func() { _ = conn.SetDeadline(time.Now()) })
	defer stop()
	fail := func(err error) (net.Conn, *Decoder, error) {
		conn.Close()
		return nil, nil, err
	}
	header := fmt.Sprintf("<?xml version='1.0'?><stream:stream xmlns='%s' xmlns:stream='%s' to='%s'>", NSComponent, NSStream, c.domain)
	if _, err := conn.Write([]byte(header)); err != nil {
		return fail(fmt.Errorf("xmpp: write stream header: %w", err))
	}
	dec := NewDecoder(quickAckReader(conn), c.cfg.Limits)
	h, err := dec.ReadHeader()
	if err != nil {
		return fail(c.handshakeError(addr, err))
	}
	if h.ID == "" {
		// A server that refuses the stream (host-unknown, see-other-host)
		// sends a header without id followed by a stream error.
		_, err := dec.Next()
		if err == nil {
			err = errors.New("xmpp: server stream header has no id")
		}
		return fail(c.handshakeError(addr, err))
	}
	if _, err := fmt.Fprintf(conn, "<handshake>%s</handshake>", handshakeDigest(h.ID, c.cfg.Secret)); err != nil {
		return fail(fmt.Errorf("xmpp: write handshake: %w", err))
	}
	el, err := dec.Next()
	if err != nil {
		return fail(c.handshakeError(addr, err))
	}
	if el.Name.Local != "handshake" {
		return fail(fmt.Errorf("xmpp: expected <handshake/>, got <%s/>", Truncate(el.Name.Local, maxRemoteText)))
	}
	_ = conn.SetDeadline(time.Time{})
	dec.SetSkip(c.skipStanza)
	return conn, dec, nil
}

// handshakeError classifies an error of the handshake: the conditions
// that retrying cannot cure wrap ErrNotAuthorized or ErrHostUnknown.
func (c *Component) handshakeError(addr string, err error) error {
	var se *StreamError
	if errors.As(err, &se) && se.Remote {
		switch se.Condition {
		case CondNotAuthorized:
			return fmt.Errorf("%w: %w", ErrNotAuthorized, se)
		case CondHostUnknown:
			return fmt.Errorf("%w (%s at %s): %w", ErrHostUnknown, c.domain, addr, se)
		}
	}
	return fmt.Errorf("xmpp: handshake with %s: %w", addr, err)
}

// readLoop reads elements until the stream ends, answers malformed stanzas
// and hands the rest to the dispatcher.
func (c *Component) readLoop(ctx context.Context, dec *Decoder, fatal chan<- []byte) error {
	for {
		el, err := dec.Next()
		var big *TooLargeError
		if errors.As(err, &big) {
			// Skipped; the stream goes on. Tell the sender.
			c.stats.errorsIn.Add(1)
			if big.Start != nil {
				if r := BounceElement(big.Start, NewStanzaError(CondPolicyViolation, fmt.Sprintf("stanza larger than %d bytes", big.Limit))); r != nil {
					_ = c.TrySendRaw(encodeStanza(r))
				}
			}
			continue
		}
		if err != nil {
			var se *StreamError
			if errors.As(err, &se) && !se.Remote {
				c.stats.errorsIn.Add(1)
				fatal <- se.Bytes()
			}
			return err
		}
		c.stats.countIn(el.Name.Local)
		s, err := Parse(el)
		var bad *MalformedError
		switch {
		case errors.As(err, &bad):
			c.stats.errorsIn.Add(1)
			if r := BounceElement(el, bad.Reply); r != nil {
				_ = c.TrySendRaw(encodeStanza(r))
			}
			continue
		case err != nil:
			se := &StreamError{Condition: CondUnsupportedStanzaType, Text: "<" + Truncate(el.Name.Local, maxRemoteText) + "/>"}
			c.stats.errorsIn.Add(1)
			fatal <- se.Bytes()
			return se
		}
		if iq, ok := s.(*IQ); ok && (c.confirmBarrier(iq) || c.isResponse(iq) && c.resolve(iq)) {
			continue
		}
		select {
		case c.inbox <- s:
		case <-ctx.Done():
			return context.Cause(ctx)
		}
	}
}

// isResponse reports whether iq may answer one of our requests: a result,
// an error, or our own self-ping routed back to us by the server.
func (c *Component) isResponse(iq *IQ) bool {
	return iq.Type == IQResult || iq.Type == IQError || (iq.Type == IQGet && iq.From == c.domain && iq.To == c.domain)
}

// keepAlive watches the answers to barriers: it asks the writer for a
// probe barrier when nothing was confirmed for KeepAlive, and ends the
// connection when a barrier stayed unanswered for PingTimeout or nothing
// was confirmed for KeepAlive+PingTimeout. Reads of other stanzas do not
// count: a server that floods us while our barriers wait behind the flood,
// or a writer that cannot write, is detected all the same.
func (c *Component) keepAlive(ctx context.Context, cancel context.CancelCauseFunc, conn net.Conn) {
	tick := min(c.cfg.KeepAlive, c.cfg.PingTimeout) / 4
	ticker := time.NewTicker(tick)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
		now := time.Now()
		quiet := now.Sub(time.Unix(0, c.lastAnswer.Load()))
		if age := c.barrierAge(now); age > c.cfg.PingTimeout || quiet > c.cfg.KeepAlive+c.cfg.PingTimeout {
			c.stats.pingTimeouts.Add(1)
			cancel(fmt.Errorf("xmpp: no answer to our pings for %v: %w", quiet.Round(time.Millisecond), ErrTimeout))
			_ = conn.Close()
			return
		}
		if quiet >= c.cfg.KeepAlive {
			select {
			case c.probe <- struct{}{}:
			default:
			}
		}
	}
}
