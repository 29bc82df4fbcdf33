package xmpp

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"time"
)

// writer owns the socket's writes for one connection.
type writer struct {
	c     *Component
	conn  net.Conn
	bw    *bufio.Writer
	batch []sentStanza // in bw, not yet recorded as unconfirmed
	timer *time.Timer  // the next barrier that waits for barrierInterval
}

// add buffers a stanza.
func (w *writer) add(s sentStanza) {
	w.bw.Write(s.b) // errors surface in Flush
	w.batch = append(w.batch, s)
}

// flush records the buffered stanzas as unconfirmed, appends a barrier if
// mode asks for one (in the same write, so a reply and the barrier behind
// it reach the server in one segment), and writes the buffer out.
func (w *writer) flush(mode barrierMode) error {
	c := w.c
	batch := w.batch
	c.written(batch)
	w.batch = w.batch[:0]
	if mode != barrierNone {
		ping, wait := c.nextBarrier(time.Now(), mode)
		if ping != nil {
			w.bw.Write(ping)
		} else if wait > 0 {
			w.timer.Reset(wait)
		}
	}
	if w.bw.Buffered() == 0 {
		return nil
	}
	_ = w.conn.SetWriteDeadline(time.Now().Add(c.cfg.WriteTimeout))
	if err := w.bw.Flush(); err != nil {
		return fmt.Errorf("xmpp: write: %w", err)
	}
	c.stats.countOut(batch)
	return nil
}

// writeLoop owns the socket's writes. It writes what was left over from a
// failed connection first, followed by a barrier, then the queue, batching
// what is ready into one write. Stanzas handed to the socket stay
// unconfirmed until a barrier returns; if the connection fails first they
// are written again on the next one (possibly twice, never lost).
func (c *Component) writeLoop(ctx context.Context, conn net.Conn, fatal <-chan []byte, readerDone <-chan struct{}) error {
	w := &writer{c: c, conn: conn, bw: bufio.NewWriterSize(conn, 32<<10), timer: time.NewTimer(time.Hour)}
	w.timer.Stop()
	defer w.timer.Stop()
	c.mu.Lock()
	leftover := c.retry
	c.retry = nil
	c.mu.Unlock()
	for _, s := range leftover {
		w.add(s)
		if w.bw.Buffered() >= 16<<10 {
			if err := w.flush(barrierIfDue); err != nil {
				return err
			}
		}
	}
	// A barrier right away: it confirms the replay and proves the new
	// stream alive (Run resets its backoff only then).
	if err := w.flush(barrierAlways); err != nil {
		return err
	}
	for {
		// Too much unconfirmed: take nothing new until a barrier returns.
		room := maxUnconfirmed - c.unconfirmedLen()
		in := c.out
		if room <= 0 {
			in = nil
		}
		select {
		case b := <-in:
			w.add(c.take(b))
			for len(w.batch) < room && w.bw.Buffered() < 16<<10 {
				select {
				case b := <-c.out:
					w.add(c.take(b))
					continue
				default:
				}
				break
			}
			if err := w.flush(barrierIfDue); err != nil {
				return err
			}
		case <-w.timer.C:
			if err := w.flush(barrierIfDue); err != nil {
				return err
			}
		case <-c.barrierDone:
			// Someone waits in Flush: do not make them wait for the
			// interval too.
			mode := barrierIfDue
			if c.flushWaiting() {
				mode = barrierNow
			}
			if err := w.flush(mode); err != nil {
				return err
			}
		case <-c.probe:
			if err := w.flush(barrierAlways); err != nil {
				return err
			}
		case <-c.flushReq:
			c.assignFlushes()
			if err := w.flush(barrierNow); err != nil {
				return err
			}
		case <-c.lazyReq:
			c.assignLazy()
			if err := w.flush(barrierIfDue); err != nil {
				return err
			}
		case se := <-fatal:
			return w.writeFatal(se)
		case <-readerDone:
			select {
			case se := <-fatal:
				return w.writeFatal(se)
			default:
				return nil
			}
		case <-ctx.Done():
			return w.closeStream()
		}
	}
}

// writeFatal writes a stream error and closes the stream.
func (w *writer) writeFatal(se []byte) error {
	w.bw.Write(se)
	w.bw.WriteString("</stream:stream>")
	_ = w.flush(barrierNone)
	return nil
}

// closeStream writes what is queued (within closeGrace) and the closing tag.
func (w *writer) closeStream() error {
	c := w.c
	deadline := time.After(closeGrace)
	for {
		select {
		case b := <-c.out:
			w.add(c.take(b))
			if w.bw.Buffered() >= 16<<10 {
				if err := w.flush(barrierIfDue); err != nil {
					return err
				}
			}
			continue
		case <-deadline:
		default:
		}
		break
	}
	w.bw.WriteString("</stream:stream>")
	return w.flush(barrierNone)
}
