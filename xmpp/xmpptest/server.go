// Package xmpptest is an in-process stand-in for a host server's component
// listener: it accepts XEP-0114 connections on loopback, performs the
// server side of the handshake and lets a test read and write raw stanzas.
// It exists for fast unit tests of anything that talks to a component
// connection; integration tests use a real Prosody (package prosodytest).
//
// A Server and its Conns are safe for concurrent use: reads belong to the
// test goroutine that calls Next, writes are serialized by a mutex.
package xmpptest

import (
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/xgate-im/xgate/xmpp"
)

// Server listens for component connections on 127.0.0.1.
type Server struct {
	ln         net.Listener
	secret     string
	integerIDs atomic.Bool
	refuse     atomic.Bool
	noRoute    atomic.Bool
	hangUp     atomic.Bool
	redirect   atomic.Pointer[string]
	declared   atomic.Pointer[[]string]
	conns      chan *Conn
	seq        atomic.Int64
	mu         sync.Mutex
	all        []*Conn
}

// NewServer starts a listener that accepts the given secret. It is closed
// when the test ends.
func NewServer(t testing.TB, secret string) *Server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("xmpptest: listen: %v", err)
	}
	s := &Server{ln: ln, secret: secret, conns: make(chan *Conn, 16)}
	go s.accept()
	t.Cleanup(s.Close)
	return s
}

// SetIntegerIDs makes stream ids integers, as ejabberd does, instead of
// UUID-like strings as Prosody does.
func (s *Server) SetIntegerIDs(on bool) { s.integerIDs.Store(on) }

// RouteSelf says whether the server routes an iq a component addresses to
// itself (its pings) back to it, as a real server does: then Next never
// returns them. It is on by default.
func (s *Server) RouteSelf(on bool) { s.noRoute.Store(!on) }

// Refuse makes the server close new connections at once (a host server
// that is down), or accept them again.
func (s *Server) Refuse(on bool) { s.refuse.Store(on) }

// HangUp makes the server close each connection right after a successful
// handshake (a server that accepts the component and then drops it), or
// stop doing so.
func (s *Server) HangUp(on bool) { s.hangUp.Store(on) }

// Redirect makes the server answer new streams with a see-other-host
// stream error pointing to other (host:port), as a server does that moves
// its components elsewhere; "" stops it.
func (s *Server) Redirect(other string) {
	if other == "" {
		s.redirect.Store(nil)
		return
	}
	s.redirect.Store(&other)
}

// Declare makes the server serve only the given component domains, as a
// host server serves only the components its configuration declares: a
// stream to any other domain is answered with a host-unknown stream
// error. No domains (the default) serves every domain.
func (s *Server) Declare(domains ...string) {
	if len(domains) == 0 {
		s.declared.Store(nil)
		return
	}
	s.declared.Store(&domains)
}

// Streams returns how many streams components have opened so far (the
// headers read, refused ones included). Each attempt is counted before
// the component hears the server's answer.
func (s *Server) Streams() int { return int(s.seq.Load()) }

// Addr returns the host:port to dial.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Close stops listening and closes every connection.
func (s *Server) Close() {
	s.ln.Close()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.all {
		c.nc.Close()
	}
}

func (s *Server) accept() {
	for {
		nc, err := s.ln.Accept()
		if err != nil {
			return
		}
		if s.refuse.Load() {
			nc.Close()
			continue
		}
		go s.handshake(nc)
	}
}

func (s *Server) handshake(nc net.Conn) {
	c := &Conn{nc: nc, dec: xmpp.NewDecoder(nc, xmpp.Limits{}), srv: s}
	s.mu.Lock()
	s.all = append(s.all, c)
	s.mu.Unlock()
	_ = nc.SetDeadline(time.Now().Add(10 * time.Second))
	h, err := c.dec.ReadHeader()
	if err != nil {
		c.err = err
		nc.Close()
		s.conns <- c
		return
	}
	n := s.seq.Add(1)
	id := fmt.Sprintf("5f0c8a2e-%04x-4d1b-9c3e-%012x", n, n)
	if s.integerIDs.Load() {
		id = strconv.FormatInt(1000000+n, 10)
	}
	c.Domain = h.To
	c.StreamID = id
	if d := s.declared.Load(); d != nil && !slices.Contains(*d, h.To) {
		// Like a redirect: a header without id, then the error.
		fmt.Fprintf(nc, "<?xml version='1.0'?><stream:stream xmlns:stream='%s' xmlns='%s' from='%s'><stream:error><host-unknown xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error></stream:stream>", xmpp.NSStream, xmpp.NSComponent, h.To)
		nc.Close()
		c.err = errors.New("xmpptest: host unknown")
		s.conns <- c
		return
	}
	if other := s.redirect.Load(); other != nil {
		// RFC 6120 §4.9.3.19: a header (without id), then the error.
		fmt.Fprintf(nc, "<?xml version='1.0'?><stream:stream xmlns:stream='%s' xmlns='%s' from='%s'><stream:error><see-other-host xmlns='urn:ietf:params:xml:ns:xmpp-streams'>%s</see-other-host></stream:error></stream:stream>", xmpp.NSStream, xmpp.NSComponent, h.To, *other)
		nc.Close()
		c.err = errors.New("xmpptest: redirected")
		s.conns <- c
		return
	}
	fmt.Fprintf(nc, "<?xml version='1.0'?><stream:stream xmlns:stream='%s' xmlns='%s' id='%s' from='%s'>", xmpp.NSStream, xmpp.NSComponent, id, h.To)
	el, err := c.dec.Next()
	if err != nil {
		c.err = err
		nc.Close()
		s.conns <- c
		return
	}
	sum := sha1.Sum([]byte(id + s.secret))
	if el.Name.Local != "handshake" || el.Text() != hex.EncodeToString(sum[:]) {
		nc.Write([]byte("<stream:error><not-authorized xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error></stream:stream>"))
		nc.Close()
		c.err = errors.New("xmpptest: wrong secret")
		s.conns <- c
		return
	}
	c.Accepted = time.Now() // before the component can go on
	nc.Write([]byte("<handshake/>"))
	_ = nc.SetDeadline(time.Time{})
	if s.hangUp.Load() {
		nc.Close()
	}
	s.conns <- c
}

// Accept returns the next connection that completed the handshake. Failed
// handshakes are skipped.
func (s *Server) Accept(ctx context.Context) (*Conn, error) {
	for {
		select {
		case c := <-s.conns:
			if c.err != nil {
				continue
			}
			return c, nil
		case <-ctx.Done():
			return nil, fmt.Errorf("xmpptest: no component connected: %w", ctx.Err())
		}
	}
}

// AcceptAny returns the next connection attempt, including failed
// handshakes, whose error is returned alongside.
func (s *Server) AcceptAny(ctx context.Context) (*Conn, error) {
	select {
	case c := <-s.conns:
		return c, c.err
	case <-ctx.Done():
		return nil, fmt.Errorf("xmpptest: no component connected: %w", ctx.Err())
	}
}

// Conn is the server side of one component connection.
type Conn struct {
	// Domain is the domain the component asked for.
	Domain string
	// StreamID is the id this server gave the stream.
	StreamID string
	// Accepted is when the server accepted the handshake, taken before
	// it told the component: a later attempt cannot have started before.
	Accepted time.Time
	nc       net.Conn
	dec      *xmpp.Decoder
	srv      *Server
	err      error
	wmu      sync.Mutex

	// ahead is set by ReadAhead: a goroutine of the server then reads
	// everything the component sends into it.
	ahead *readAhead
}

// readAhead is what a Conn's own reader has read and Next not taken yet.
type readAhead struct {
	mu      sync.Mutex
	queue   []*xmpp.Element
	err     error         // set when the reader stopped
	arrived chan struct{} // closed and replaced when something arrives
}

// ReadAhead makes the server read everything the component sends from now
// on as it arrives, routing the component's own pings back at once (unless
// RouteSelf is off) and keeping the rest for Next. A real server reads and
// routes without waiting for anyone; use this when the component waits for
// its pings to come back (Component.Flush) while the test is busy
// elsewhere. Call it once, before Next, from the goroutine that calls Next.
func (c *Conn) ReadAhead() {
	ra := &readAhead{arrived: make(chan struct{})}
	c.ahead = ra
	go func() {
		for {
			el, err := c.readRouted()
			ra.mu.Lock()
			if err != nil {
				ra.err = err
			} else {
				ra.queue = append(ra.queue, el)
			}
			close(ra.arrived)
			ra.arrived = make(chan struct{})
			ra.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
}

// nextAhead takes the oldest element the reader kept, waiting for one.
func (c *Conn) nextAhead(ctx context.Context) (*xmpp.Element, error) {
	ra := c.ahead
	for {
		ra.mu.Lock()
		if len(ra.queue) > 0 {
			el := ra.queue[0]
			ra.queue = ra.queue[1:]
			ra.mu.Unlock()
			return el, nil
		}
		if ra.err != nil {
			err := ra.err
			ra.mu.Unlock()
			return nil, err
		}
		arrived := ra.arrived
		ra.mu.Unlock()
		select {
		case <-arrived:
		case <-ctx.Done():
			return nil, fmt.Errorf("xmpptest: read: %w", ctx.Err())
		}
	}
}

// readRouted reads the next element, routing the component's own pings
// back to it like a server unless RouteSelf is off.
func (c *Conn) readRouted() (*xmpp.Element, error) {
	for {
		el, err := c.dec.Next()
		if err == nil && !c.srv.noRoute.Load() && el.Name.Local == "iq" && el.AttrValue("to") == c.Domain && el.AttrValue("from") == c.Domain {
			var b bytes.Buffer
			el.WriteXML(&b, xmpp.NSComponent)
			if err := c.Send(b.String()); err != nil {
				return nil, err
			}
			continue
		}
		return el, err
	}
}

// Send writes raw XML to the component.
func (c *Conn) Send(raw string) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_, err := c.nc.Write([]byte(raw))
	return err
}

// SendStanza writes a stanza to the component.
func (c *Conn) SendStanza(s xmpp.Stanza) error {
	var b bytes.Buffer
	s.Element().WriteXML(&b, xmpp.NSComponent)
	return c.Send(b.String())
}

// Next reads the next element the component sent. Whitespace keepalives are
// skipped. The read is bounded by ctx; after a timeout the Conn is no longer
// usable.
func (c *Conn) Next(ctx context.Context) (*xmpp.Element, error) {
	if c.ahead != nil {
		return c.nextAhead(ctx)
	}
	_ = c.nc.SetReadDeadline(time.Time{})
	stop := context.AfterFunc(ctx, func() { _ = c.nc.SetReadDeadline(time.Now()) })
	defer stop()
	for {
		el, err := c.dec.Next()
		if err != nil && ctx.Err() != nil {
			return nil, fmt.Errorf("xmpptest: read: %w (%v)", ctx.Err(), err)
		}
		if err == nil && !c.srv.noRoute.Load() && el.Name.Local == "iq" && el.AttrValue("to") == c.Domain && el.AttrValue("from") == c.Domain {
			// Route the component's own ping back, like a server.
			var b bytes.Buffer
			el.WriteXML(&b, xmpp.NSComponent)
			if err := c.Send(b.String()); err != nil {
				return nil, err
			}
			continue
		}
		return el, err
	}
}

// NextStanza reads the next element and parses it as a stanza.
func (c *Conn) NextStanza(ctx context.Context) (xmpp.Stanza, error) {
	el, err := c.Next(ctx)
	if err != nil {
		return nil, err
	}
	return xmpp.Parse(el)
}

// Close drops the connection abruptly, as a crashed server would.
func (c *Conn) Close() error { return c.nc.Close() }

// CloseStream closes the stream politely.
func (c *Conn) CloseStream() error {
	err := c.Send("</stream:stream>")
	c.nc.Close()
	return err
}
