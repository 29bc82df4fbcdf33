package prosodytest

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/xgate-im/xgate/xmpp"
	"github.com/xgate-im/xgate/xmpp/jid"
)

// Limits of the descriptions in error messages.
const (
	maxListed      = 20  // stanzas listed by Expect's error
	maxStanzaChars = 300 // characters shown of each
)

// read is the reader goroutine: it hands IQ responses to Request, queues
// every other stanza and acknowledges roster pushes. When the stream ends
// it closes the connection.
func (c *Client) read(dec *xmpp.Decoder) {
	var err error
	defer func() {
		// Answer the server's closing tag or stream error with ours, as
		// a real client does, so it need not wait for its close timeout.
		var se *xmpp.StreamError
		if !c.closing.Load() && (errors.Is(err, xmpp.ErrStreamClosed) || errors.As(err, &se) && se.Remote) {
			_ = c.write([]byte("</stream:stream>"))
		}
		_ = c.conn.Close()
		c.mu.Lock()
		c.readErr = err
		c.mu.Unlock()
		close(c.done)
	}()
	for {
		var el *xmpp.Element
		el, err = dec.Next()
		if err != nil {
			return
		}
		s, perr := xmpp.Parse(el)
		if perr != nil {
			c.mu.Lock()
			c.dropped = append(c.dropped, describe(el))
			c.mu.Unlock()
			continue
		}
		if iq, ok := s.(*xmpp.IQ); ok {
			if (iq.Type == xmpp.IQResult || iq.Type == xmpp.IQError) && c.resolve(iq) {
				continue
			}
			if c.isRosterPush(iq) {
				// RFC 6121 §2.1.6: the client acknowledges a push.
				_ = c.Send(iq.Result(nil))
			}
		}
		c.mu.Lock()
		c.queue = append(c.queue, s)
		close(c.arrived)
		c.arrived = make(chan struct{})
		c.mu.Unlock()
	}
}

// resolve hands a response to its waiting Request and reports whether
// there was one.
func (c *Client) resolve(iq *xmpp.IQ) bool {
	c.mu.Lock()
	ch, ok := c.pending[iq.ID]
	delete(c.pending, iq.ID)
	c.mu.Unlock()
	if ok {
		ch <- iq // buffered for one
	}
	return ok
}

// isRosterPush reports whether iq is a roster push from the user's own
// account (RFC 6121 §2.1.6).
func (c *Client) isRosterPush(iq *xmpp.IQ) bool {
	return iq.Type == xmpp.IQSet && iq.Payload != nil &&
		iq.Payload.Name.Space == nsRoster && iq.Payload.Name.Local == "query" &&
		(iq.From.IsZero() || iq.From == c.jid.Bare())
}

// closedErr is the error of an operation on a client whose reader is gone.
func (c *Client) closedErr() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.readErr != nil {
		return fmt.Errorf("%w: %w", ErrClosed, c.readErr)
	}
	return ErrClosed
}

// Request sends an iq get or set and returns its response, of type result
// or error: a type="error" response is returned with a nil error and its
// Error field set. An empty iq.ID is replaced by a fresh one. Responses are
// matched by id only.
func (c *Client) Request(ctx context.Context, iq *xmpp.IQ) (*xmpp.IQ, error) {
	if iq.ID == "" {
		iq.ID = c.NewID()
	}
	ch := make(chan *xmpp.IQ, 1)
	c.mu.Lock()
	c.pending[iq.ID] = ch
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		delete(c.pending, iq.ID)
		c.mu.Unlock()
	}()
	if err := c.Send(iq); err != nil {
		return nil, err
	}
	select {
	case r := <-ch:
		return r, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("prosodytest: iq %s to %q: %w", iq.ID, iq.To, ctx.Err())
	case <-c.done:
		// The response may have been the last thing read.
		select {
		case r := <-ch:
			return r, nil
		default:
		}
		return nil, fmt.Errorf("prosodytest: iq %s to %q: %w", iq.ID, iq.To, c.closedErr())
	}
}

// Next returns the oldest received stanza that no Request or Expect has
// consumed, waiting for one until ctx is done. Once the connection is gone
// and the queue is empty it returns an error wrapping ErrClosed.
func (c *Client) Next(ctx context.Context) (xmpp.Stanza, error) {
	return c.take(ctx, func(xmpp.Stanza) bool { return true }, "next stanza")
}

// Expect returns the oldest received stanza for which match is true,
// waiting for one until ctx is done. Stanzas that do not match stay queued,
// in order, for later calls of Next and Expect. On failure the error lists
// the stanzas that did not match. match runs with the queue locked: it must
// not call the Client's methods.
func (c *Client) Expect(ctx context.Context, match func(xmpp.Stanza) bool) (xmpp.Stanza, error) {
	return c.take(ctx, match, "expected stanza")
}

func (c *Client) take(ctx context.Context, match func(xmpp.Stanza) bool, what string) (xmpp.Stanza, error) {
	for {
		c.mu.Lock()
		for i, s := range c.queue {
			if match(s) {
				c.queue = append(c.queue[:i:i], c.queue[i+1:]...)
				c.mu.Unlock()
				return s, nil
			}
		}
		arrived := c.arrived
		c.mu.Unlock()
		select {
		case <-arrived:
			continue
		case <-ctx.Done():
			return nil, fmt.Errorf("prosodytest: %s for %s: %w%s", what, c.jid, ctx.Err(), c.unmatched())
		case <-c.done:
		}
		// The reader is gone; look at what it queued last, once.
		c.mu.Lock()
		for i, s := range c.queue {
			if match(s) {
				c.queue = append(c.queue[:i:i], c.queue[i+1:]...)
				c.mu.Unlock()
				return s, nil
			}
		}
		c.mu.Unlock()
		return nil, fmt.Errorf("prosodytest: %s for %s: %w%s", what, c.jid, c.closedErr(), c.unmatched())
	}
}

// unmatched describes the queue and the dropped elements for an error
// message.
func (c *Client) unmatched() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var b strings.Builder
	if len(c.queue) == 0 {
		b.WriteString("; no stanza is waiting")
	} else {
		fmt.Fprintf(&b, "; %d waiting stanza(s) did not match:", len(c.queue))
		for i, s := range c.queue {
			if i == maxListed {
				fmt.Fprintf(&b, "\n\t... and %d more", len(c.queue)-maxListed)
				break
			}
			b.WriteString("\n\t")
			b.WriteString(describe(s.Element()))
		}
	}
	if len(c.dropped) > 0 {
		fmt.Fprintf(&b, "\n%d element(s) were dropped as unparsable:", len(c.dropped))
		for i, d := range c.dropped {
			if i == maxListed {
				break
			}
			b.WriteString("\n\t")
			b.WriteString(d)
		}
	}
	return b.String()
}

// describe returns el's XML, shortened for an error message.
func describe(el *xmpp.Element) string {
	s := el.String()
	if len(s) > maxStanzaChars {
		s = s[:maxStanzaChars] + "..."
	}
	return s
}

// MessageWithBody returns a matcher for Expect: a message whose body is
// body.
func MessageWithBody(body string) func(xmpp.Stanza) bool {
	return func(s xmpp.Stanza) bool {
		m, ok := s.(*xmpp.Message)
		return ok && m.Body == body
	}
}

// PresenceFrom returns a matcher for Expect: a presence of type typ
// (xmpp.PresenceAvailable, xmpp.PresenceSubscribe, ...) from from, or from
// any of its resources when from is bare.
func PresenceFrom(from jid.JID, typ string) func(xmpp.Stanza) bool {
	return func(s xmpp.Stanza) bool {
		p, ok := s.(*xmpp.Presence)
		if !ok || p.Type != typ {
			return false
		}
		return p.From == from || (from.IsBare() && p.From.Bare() == from)
	}
}
