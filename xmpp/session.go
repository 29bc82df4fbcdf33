package xmpp

import (
	"bufio"
	"context"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
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

// session runs one connection from dial to close. connected reports whether
// the handshake succeeded.
func (c *Component) session(ctx context.Context) (connected bool, err error) {
	conn, dec, err := c.connect(ctx)
	if err != nil {
		return false, err
	}
	defer conn.Close()
	c.setState(StateConnected, nil)

	sctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	fatal := make(chan []byte, 1)
	readerDone := make(chan struct{})
	var lastRead atomic.Int64
	lastRead.Store(time.Now().UnixNano())

	var wg sync.WaitGroup
	var readErr, writeErr error
	wg.Go(func() {
		defer close(readerDone)
		readErr = c.readLoop(sctx, dec, fatal, &lastRead)
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
	wg.Go(func() { c.keepAlive(sctx, conn, &lastRead) })
	wg.Wait()
	// Only a close this side asked for, answered by the server's own
	// closing tag, proves everything written was processed.
	c.settle(ctx.Err() != nil && writeErr == nil && errors.Is(readErr, ErrStreamClosed))
	if ctx.Err() != nil {
		return true, nil
	}
	if writeErr != nil {
		return true, writeErr
	}
	if cause := context.Cause(sctx); cause != nil && !errors.Is(cause, context.Canceled) {
		return true, cause
	}
	return true, readErr
}

// connect dials and performs the XEP-0114 handshake.
func (c *Component) connect(ctx context.Context) (net.Conn, *Decoder, error) {
	dctx, cancel := context.WithTimeout(ctx, c.cfg.DialTimeout)
	defer cancel()
	conn, err := c.cfg.Dial(dctx, "tcp", c.cfg.Addr)
	if err != nil {
		return nil, nil, fmt.Errorf("xmpp: dial %s: %w", c.cfg.Addr, err)
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
	dec := NewDecoder(conn, c.cfg.Limits)
	h, err := dec.ReadHeader()
	if err != nil {
		return fail(handshakeError(err))
	}
	if h.ID == "" {
		return fail(errors.New("xmpp: server stream header has no id"))
	}
	if _, err := fmt.Fprintf(conn, "<handshake>%s</handshake>", handshakeDigest(h.ID, c.cfg.Secret)); err != nil {
		return fail(fmt.Errorf("xmpp: write handshake: %w", err))
	}
	el, err := dec.Next()
	if err != nil {
		return fail(handshakeError(err))
	}
	if el.Name.Local != "handshake" {
		return fail(fmt.Errorf("xmpp: expected <handshake/>, got <%s/>", el.Name.Local))
	}
	_ = conn.SetDeadline(time.Time{})
	return conn, dec, nil
}

func handshakeError(err error) error {
	var se *StreamError
	if errors.As(err, &se) && se.Remote && se.Condition == CondNotAuthorized {
		return fmt.Errorf("%w: %v", ErrNotAuthorized, se)
	}
	return fmt.Errorf("xmpp: handshake: %w", err)
}

// readLoop reads elements until the stream ends, answers malformed stanzas
// and hands the rest to the dispatcher.
func (c *Component) readLoop(ctx context.Context, dec *Decoder, fatal chan<- []byte, lastRead *atomic.Int64) error {
	for {
		el, err := dec.Next()
		if err != nil {
			var se *StreamError
			if errors.As(err, &se) && !se.Remote {
				c.stats.errorsIn.Add(1)
				fatal <- se.Bytes()
			}
			return err
		}
		lastRead.Store(time.Now().UnixNano())
		c.stats.countIn(el.Name.Local)
		s, err := Parse(el)
		var bad *MalformedError
		switch {
		case errors.As(err, &bad):
			c.stats.errorsIn.Add(1)
			if r := BounceElement(el, bad.Reply); r != nil {
				c.enqueue(ctx, encodeStanza(r))
			}
			continue
		case err != nil:
			se := &StreamError{Condition: CondUnsupportedStanzaType, Text: "<" + el.Name.Local + "/>"}
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

// enqueue queues bytes from inside the component, giving up when the
// session ends.
func (c *Component) enqueue(ctx context.Context, b []byte) {
	select {
	case c.out <- b:
	case <-ctx.Done():
	}
}

// writeLoop owns the socket's writes. It writes what was left over from a
// failed connection first, then the queue, batching what is ready into one
// flush. On a failed write the unflushed stanzas are kept for the next
// connection (they may be written twice, never lost).
func (c *Component) writeLoop(ctx context.Context, conn net.Conn, fatal <-chan []byte, readerDone <-chan struct{}) error {
	bw := bufio.NewWriterSize(conn, 32<<10)
	var batch [][]byte
	flush := func() error {
		_ = conn.SetWriteDeadline(time.Now().Add(c.cfg.WriteTimeout))
		if err := bw.Flush(); err != nil {
			c.mu.Lock()
			c.retry = append(c.retry, batch...)
			c.mu.Unlock()
			return fmt.Errorf("xmpp: write: %w", err)
		}
		c.stats.countOut(batch)
		c.written(batch)
		batch = batch[:0]
		return nil
	}
	write := func(b []byte) {
		bw.Write(b) // errors surface in Flush
		batch = append(batch, b)
	}
	c.mu.Lock()
	leftover := c.retry
	c.retry = nil
	c.mu.Unlock()
	for _, b := range leftover {
		write(b)
	}
	if err := flush(); err != nil {
		return err
	}
	ticker := time.NewTicker(c.cfg.KeepAlive)
	defer ticker.Stop()
	lastWrite := time.Now()
	barrierTimer := time.NewTimer(time.Hour)
	barrierTimer.Stop()
	defer barrierTimer.Stop()
	// barrier writes a barrier ping if one is due, or arms the timer.
	barrier := func() error {
		ping, wait := c.nextBarrier(time.Now())
		if ping != nil {
			bw.Write(ping)
			return flush()
		}
		if wait > 0 {
			barrierTimer.Reset(wait)
		}
		return nil
	}
	for {
		// Too much unconfirmed: take nothing new until a barrier returns.
		in := c.out
		if c.unconfirmedLen() >= maxUnconfirmed {
			in = nil
		}
		select {
		case b := <-in:
			write(b)
			for more := true; more && bw.Buffered() < 16<<10; {
				select {
				case b := <-c.out:
					write(b)
				default:
					more = false
				}
			}
			if err := flush(); err != nil {
				return err
			}
			if err := barrier(); err != nil {
				return err
			}
			lastWrite = time.Now()
		case <-barrierTimer.C:
			if err := barrier(); err != nil {
				return err
			}
		case <-c.barrierDone:
			if err := barrier(); err != nil {
				return err
			}
		case <-ticker.C:
			if time.Since(lastWrite) >= c.cfg.KeepAlive/2 {
				bw.WriteByte(' ')
				if err := flush(); err != nil {
					return err
				}
				lastWrite = time.Now()
			}
		case se := <-fatal:
			return c.writeFatal(bw, se, flush)
		case <-readerDone:
			select {
			case se := <-fatal:
				return c.writeFatal(bw, se, flush)
			default:
				return nil
			}
		case <-ctx.Done():
			return c.closeStream(bw, write, flush)
		}
	}
}

// writeFatal writes a stream error and closes the stream.
func (c *Component) writeFatal(bw *bufio.Writer, se []byte, flush func() error) error {
	bw.Write(se)
	bw.WriteString("</stream:stream>")
	_ = flush()
	return nil
}

// closeStream writes what is queued (within closeGrace) and the closing tag.
func (c *Component) closeStream(bw *bufio.Writer, write func([]byte), flush func() error) error {
	deadline := time.After(closeGrace)
	for {
		select {
		case b := <-c.out:
			write(b)
			if bw.Buffered() >= 16<<10 {
				if err := flush(); err != nil {
					return err
				}
			}
			continue
		case <-deadline:
		default:
		}
		break
	}
	bw.WriteString("</stream:stream>")
	return flush()
}

// keepAlive sends a ping through the server to ourselves whenever nothing
// was read for KeepAlive, and closes the connection when it goes
// unanswered: that detects a dead peer that TCP has not noticed.
func (c *Component) keepAlive(ctx context.Context, conn net.Conn, lastRead *atomic.Int64) {
	ticker := time.NewTicker(c.cfg.KeepAlive / 2)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
		if time.Since(time.Unix(0, lastRead.Load())) < c.cfg.KeepAlive {
			continue
		}
		pctx, cancel := context.WithTimeout(ctx, c.cfg.PingTimeout)
		_, err := c.Request(pctx, &IQ{Header: Header{From: c.domain, To: c.domain, Type: IQGet}, Payload: NewElement(NSPing, "ping")})
		cancel()
		if err != nil && ctx.Err() == nil {
			c.stats.pingTimeouts.Add(1)
			_ = conn.Close()
			return
		}
	}
}
