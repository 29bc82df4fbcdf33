package xmpp

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/xgate-im/xgate/xmpp/jid"
)

// Handler receives the stanzas addressed to a component.
//
// HandleStanza is called from one dispatch goroutine per component, in
// arrival order. While it runs, further stanzas wait in a bounded queue and
// then in the TCP connection: a slow handler slows the host server's
// delivery to this component instead of growing memory, and holds back the
// barrier answers that prove the connection alive. It must not wait for a
// Request response (responses are read by the reader, not the dispatcher,
// but a full queue stops the reader), and it should send its answers with
// TrySendRaw, which never blocks. LimitSenders bounds what one sender can
// make it do.
type Handler interface {
	HandleStanza(ctx context.Context, s Stanza)
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(ctx context.Context, s Stanza)

// HandleStanza implements Handler.
func (f HandlerFunc) HandleStanza(ctx context.Context, s Stanza) { f(ctx, s) }

// State is the state of a component's connection.
type State int32

// Connection states.
const (
	StateDisconnected State = iota
	StateConnecting
	StateConnected
	StateStopped
)

func (s State) String() string {
	switch s {
	case StateDisconnected:
		return "disconnected"
	case StateConnecting:
		return "connecting"
	case StateConnected:
		return "connected"
	case StateStopped:
		return "stopped"
	}
	return fmt.Sprintf("State(%d)", int32(s))
}

// ComponentConfig configures a Component. Zero durations take defaults.
type ComponentConfig struct {
	// Addr is the host:port of the host server's component listener.
	Addr string
	// Domain is the component's JID domain (e.g. "slack.example.org").
	Domain string
	// Secret is the shared component secret.
	Secret string
	// Limits bound what the server may send.
	Limits Limits
	// SendQueue is the capacity of the outgoing queue (default 1024).
	SendQueue int
	// InboxQueue is the capacity of the queue between reader and handler
	// (default 256).
	InboxQueue int
	// KeepAlive is how long the connection may go without an answered
	// barrier before a probe barrier (a ping to ourselves through the
	// server) is written (default 30s).
	KeepAlive time.Duration
	// PingTimeout is how long a barrier may go unanswered before the
	// connection is considered dead and replaced (default 15s). Only
	// answers to barriers count, not other traffic from the server.
	PingTimeout time.Duration
	// ReplayConfirmed is how long stanzas stay replayable after a barrier
	// confirmed them (default 50ms; negative: not at all). A host server
	// answers a barrier once it has routed what came before, which is not
	// always delivered: ejabberd hands a stanza to the recipient's session,
	// a process of its own, and a kill at that moment loses it. When a
	// connection ends uncleanly, what was confirmed within this long before
	// the end is written again with the unconfirmed stanzas: a duplicate
	// with the same id rather than a loss.
	ReplayConfirmed time.Duration
	// DialTimeout bounds dialing plus the handshake (default 10s).
	DialTimeout time.Duration
	// WriteTimeout bounds a single write to the socket (default 30s).
	WriteTimeout time.Duration
	// RequestTimeout is the default timeout of Request (default 30s).
	RequestTimeout time.Duration
	// MinBackoff and MaxBackoff bound the reconnect delay, which doubles
	// after each failed attempt and carries ±20% jitter (defaults 50ms, 1.5s:
	// a restarted host server sees the component back within 2 seconds).
	MinBackoff, MaxBackoff time.Duration
	// Dial replaces net.Dialer.DialContext, for tests.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// OnState, if set, is called on every state change, from the Run
	// goroutine. err is the reason for a disconnection, or nil.
	OnState func(s State, err error)
}

func (c ComponentConfig) withDefaults() ComponentConfig {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	if c.SendQueue <= 0 {
		c.SendQueue = 1024
	}
	if c.InboxQueue <= 0 {
		c.InboxQueue = 256
	}
	def(&c.KeepAlive, 30*time.Second)
	def(&c.PingTimeout, 15*time.Second)
	if c.ReplayConfirmed == 0 {
		c.ReplayConfirmed = DefaultReplayConfirmed
	}
	def(&c.DialTimeout, 10*time.Second)
	def(&c.WriteTimeout, 30*time.Second)
	def(&c.RequestTimeout, 30*time.Second)
	def(&c.MinBackoff, 50*time.Millisecond)
	def(&c.MaxBackoff, 1500*time.Millisecond)
	if c.Dial == nil {
		var d net.Dialer
		c.Dial = d.DialContext
	}
	c.Limits = c.Limits.withDefaults()
	return c
}

// Component is an XEP-0114 external component connection that reconnects
// on its own. Create it with NewComponent and start it with Run.
//
// Concurrency: Send, SendRaw, TrySendRaw, Flush, Request, State and Stats
// are safe for concurrent use.
// One goroutine reads the socket and one owns its writes; both belong to Run
// and are stopped and waited for before Run returns.
type Component struct {
	cfg     ComponentConfig
	domain  jid.JID
	handler Handler

	out      chan []byte   // encoded stanzas waiting for the writer
	inbox    chan Stanza   // received stanzas waiting for the handler
	stopped  chan struct{} // closed when Run stops writing
	probe    chan struct{} // the keepalive asks the writer for a barrier
	flushReq chan struct{} // a Flush caller waits in flushNext
	lazyReq  chan struct{} // a FlushLazy caller waits in lazyNext
	state    atomic.Int32
	// lastAnswer is when a barrier last came back (or the connection
	// started); answered says whether one came back on this connection.
	lastAnswer atomic.Int64
	answered   atomic.Bool

	mu      sync.Mutex
	pending map[string]pendingIQ // outstanding Requests by id
	retry   []sentStanza         // to write first on the next connection
	// Delivery barriers (barrier.go).
	unconfirmed   []sentStanza   // written, not yet known to be processed
	recent        []confirmedRun // confirmed within ReplayConfirmed, oldest first
	recentLen     int            // stanzas in recent
	taken         uint64         // sequence number of the last stanza taken from out
	confirmed     uint64         // highest sequence number a barrier confirmed
	flushNext     *flushGroup    // Flush callers waiting for a target
	lazyNext      *flushGroup    // FlushLazy callers waiting for a target
	flushWait     []*flushGroup
	barrierID     string // id of the barrier ping in flight
	barrierCovers int    // unconfirmed stanzas the barrier in flight covers
	barrierSeq    uint64
	barrierSent   time.Time
	barrierDone   chan struct{} // a barrier came back

	idSeq atomic.Uint64
	stats counters
	// skips are the filters of SkipStanzas (copied on write).
	skips atomic.Pointer[[]func(start *Element) bool]
}

// SkipStanzas adds a filter of the stanzas received: a stanza whose start
// tag (name and attributes, no children) makes f return true is dropped
// before its content is decoded, and never reaches the handler
// (Decoder.SetSkip). It is meant for traffic known to be useless in bulk,
// such as the copies of a room's messages sent to occupants that only
// speak. f is called on the reading goroutine for every stanza after the
// handshake, so it must be quick and must not block; it applies from the
// next stanza read. Safe for concurrent use.
func (c *Component) SkipStanzas(f func(start *Element) bool) {
	for {
		old := c.skips.Load()
		var fs []func(*Element) bool
		if old != nil {
			fs = append(fs, (*old)...)
		}
		fs = append(fs, f)
		if c.skips.CompareAndSwap(old, &fs) {
			return
		}
	}
}

// skipStanza reports whether a filter of SkipStanzas drops start.
func (c *Component) skipStanza(start *Element) bool {
	fs := c.skips.Load()
	if fs == nil {
		return false
	}
	for _, f := range *fs {
		if f(start) {
			c.stats.skipped.Add(1)
			return true
		}
	}
	return false
}

// NewComponent returns a Component. It does no I/O.
func NewComponent(cfg ComponentConfig, h Handler) (*Component, error) {
	cfg = cfg.withDefaults()
	d, err := jid.Parse(cfg.Domain)
	if err != nil || d.Local() != "" || d.Resource() != "" {
		return nil, fmt.Errorf("xmpp: component domain %q is not a bare domain: %w", cfg.Domain, errors.Join(err, jid.ErrMalformed))
	}
	if cfg.Addr == "" {
		return nil, errors.New("xmpp: component server address is empty")
	}
	return &Component{
		cfg:         cfg,
		domain:      d,
		handler:     h,
		out:         make(chan []byte, cfg.SendQueue),
		inbox:       make(chan Stanza, cfg.InboxQueue),
		barrierDone: make(chan struct{}, 1),
		probe:       make(chan struct{}, 1),
		flushReq:    make(chan struct{}, 1),
		lazyReq:     make(chan struct{}, 1),
		stopped:     make(chan struct{}),
		pending:     make(map[string]pendingIQ),
	}, nil
}

// Domain returns the component's domain JID.
func (c *Component) Domain() jid.JID { return c.domain }

// State returns the current connection state.
func (c *Component) State() State { return State(c.state.Load()) }

func (c *Component) setState(s State, err error) {
	if State(c.state.Swap(int32(s))) == s && err == nil {
		return
	}
	if c.cfg.OnState != nil {
		c.cfg.OnState(s, err)
	}
}

// Run connects and keeps the component connected until ctx is cancelled,
// then closes the stream gracefully and returns nil. It returns at once an
// error wrapping ErrNotAuthorized if the server refuses the secret, or
// ErrHostUnknown (and the *StreamError) if it does not serve the domain.
// Otherwise it reconnects with capped exponential backoff and jitter; the
// backoff starts over only after a connection on which a barrier came
// back. A see-other-host stream error is followed at once, up to
// maxRedirects times in a row; the next attempt after that goes back to
// Addr.
func (c *Component) Run(ctx context.Context) error {
	var dispatcher sync.WaitGroup
	dispatcher.Go(func() {
		// Stanzas already received are handled even during shutdown.
		hctx := context.WithoutCancel(ctx)
		for s := range c.inbox {
			c.handler.HandleStanza(hctx, s)
		}
	})
	defer func() {
		c.setState(StateStopped, nil)
		close(c.stopped)
		// A Flush that started after the last connection ended has no
		// writer left to serve it.
		c.mu.Lock()
		c.releaseFlushes(ErrConnClosed)
		c.mu.Unlock()
		close(c.inbox)
		dispatcher.Wait()
	}()
	backoff := c.cfg.MinBackoff
	addr, redirects := c.cfg.Addr, 0
	for {
		c.setState(StateConnecting, nil)
		stable, err := c.session(ctx, addr)
		if ctx.Err() != nil {
			return nil
		}
		if errors.Is(err, ErrNotAuthorized) || errors.Is(err, ErrHostUnknown) {
			return err
		}
		c.stats.reconnects.Add(1)
		c.setState(StateDisconnected, err)
		if stable {
			backoff, redirects = c.cfg.MinBackoff, 0
		}
		if other, ok := redirect(err, c.cfg.Addr); ok && redirects < maxRedirects {
			// see-other-host: go there at once; a redirect to a
			// redirect is followed up to maxRedirects times.
			addr = other
			redirects++
			continue
		}
		addr, redirects = c.cfg.Addr, 0
		jitter := 0.8 + 0.4*rand.Float64()
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(time.Duration(float64(backoff) * jitter)):
		}
		backoff = min(backoff*2, c.cfg.MaxBackoff)
	}
}

// maxRedirects bounds how many see-other-host redirects in a row Run
// follows before it backs off and starts again from the configured address.
const maxRedirects = 3

// redirect returns the address a see-other-host stream error in err
// points to, with the port of addr when it names none.
func redirect(err error, addr string) (string, bool) {
	var se *StreamError
	if !errors.As(err, &se) || !se.Remote || se.Condition != CondSeeOtherHost || se.Other == "" {
		return "", false
	}
	if _, _, err := net.SplitHostPort(se.Other); err == nil {
		return se.Other, true
	}
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", false
	}
	host := strings.TrimSuffix(strings.TrimPrefix(se.Other, "["), "]")
	return net.JoinHostPort(host, port), true
}

// Send queues a stanza for writing. It never writes from the caller's
// goroutine. It fails with ErrNotConnected while the stream is down (so the
// caller can keep the stanza durably instead), blocks while the queue is full
// (backpressure) until ctx is done, and fails with ErrConnClosed after Run
// returned. Stanzas queued while connected survive a reconnect.
func (c *Component) Send(ctx context.Context, s Stanza) error {
	return c.SendElement(ctx, s.Element())
}

// SendElement is Send for an already built element.
func (c *Component) SendElement(ctx context.Context, el *Element) error {
	b := encodeStanza(el)
	return c.SendRaw(ctx, b)
}

// SendRaw queues already encoded stanza bytes (as produced by Encode).
func (c *Component) SendRaw(ctx context.Context, b []byte) error {
	if err := c.sendable(); err != nil {
		return err
	}
	select {
	case c.out <- b:
		c.stats.queueHigh(len(c.out))
		return nil
	default:
		c.stats.queueFull.Add(1)
	}
	select {
	case c.out <- b:
		c.stats.queueHigh(len(c.out))
		return nil
	case <-c.stopped:
		return ErrConnClosed
	case <-ctx.Done():
		return fmt.Errorf("xmpp: send queue full: %w", ctx.Err())
	}
}

// TrySendRaw queues already encoded stanza bytes if the queue has room
// and fails with ErrQueueFull (counted in Stats.Dropped) otherwise; it
// never blocks. Use it for stanzas that are worthless later, such as
// answers to requests, from code that must not wait (a Handler). Like
// Send it fails with ErrNotConnected or ErrConnClosed when the stream is
// not up.
func (c *Component) TrySendRaw(b []byte) error {
	if err := c.sendable(); err != nil {
		return err
	}
	select {
	case c.out <- b:
		c.stats.queueHigh(len(c.out))
		return nil
	default:
		c.stats.queueFull.Add(1)
		c.stats.dropped.Add(1)
		return ErrQueueFull
	}
}

// sendable reports why nothing can be queued now, or nil.
func (c *Component) sendable() error {
	switch c.State() {
	case StateStopped:
		return ErrConnClosed
	case StateConnected:
		return nil
	}
	return ErrNotConnected
}

// Encode returns the wire form of a stanza for a component stream; SendRaw
// accepts it. Useful for storing stanzas durably.
func Encode(s Stanza) []byte { return encodeStanza(s.Element()) }

func encodeStanza(el *Element) []byte {
	var b = bufPool.Get()
	el.WriteXML(b, NSComponent)
	out := append([]byte(nil), b.Bytes()...)
	bufPool.Put(b)
	return out
}

// Unsent returns and removes the stanzas that were queued but not written
// when Run returned, so the caller can store them. Call it after Run.
func (c *Component) Unsent() [][]byte {
	c.mu.Lock()
	var out [][]byte
	for _, s := range c.retry {
		out = append(out, s.b)
	}
	c.retry = nil
	c.mu.Unlock()
	for {
		select {
		case b := <-c.out:
			out = append(out, b)
		default:
			return out
		}
	}
}

// NewID returns a unique stanza id.
func (c *Component) NewID() string {
	b := make([]byte, 0, 24)
	b = append(b, "xg"...)
	b = strconv.AppendUint(b, uint64(time.Now().UnixNano()&0xffffff), 16)
	b = append(b, '-')
	b = strconv.AppendUint(b, c.idSeq.Add(1), 10)
	return string(b)
}

// Request sends an iq get or set and waits for its response. The response
// is returned even when it is of type error; a timeout yields ErrTimeout. If
// iq.ID is empty a fresh id is set.
func (c *Component) Request(ctx context.Context, iq *IQ) (*IQ, error) {
	if iq.ID == "" {
		iq.ID = c.NewID()
	}
	if iq.From.IsZero() {
		iq.From = c.domain
	}
	ch := make(chan *IQ, 1)
	c.mu.Lock()
	c.pending[iq.ID] = pendingIQ{to: iq.To, ch: ch}
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		delete(c.pending, iq.ID)
		c.mu.Unlock()
	}()
	if err := c.Send(ctx, iq); err != nil {
		return nil, err
	}
	timer := time.NewTimer(c.cfg.RequestTimeout)
	defer timer.Stop()
	select {
	case r := <-ch:
		return r, nil
	case <-timer.C:
		return nil, fmt.Errorf("xmpp: iq %s to %s: %w", iq.ID, iq.To, ErrTimeout)
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-c.stopped:
		return nil, ErrConnClosed
	}
}

// pendingIQ is an outstanding Request.
type pendingIQ struct {
	to jid.JID
	ch chan *IQ
}

// answers reports whether from may answer a request sent to to: the same
// address, any resource of a bare address, or the server for a request with
// no address.
func answers(to, from jid.JID) bool {
	switch {
	case to.IsZero():
		return from.Local() == "" && from.Resource() == ""
	case to.IsBare():
		return from.Bare() == to
	}
	return from == to
}

// resolve hands a response to a waiting Request. It reports whether the iq
// was one. A response from an address the request was not sent to is not
// accepted, so a guessed id cannot forge an answer.
func (c *Component) resolve(iq *IQ) bool {
	c.mu.Lock()
	p, ok := c.pending[iq.ID]
	c.mu.Unlock()
	if !ok || !answers(p.to, iq.From) {
		return false
	}
	select {
	case p.ch <- iq:
	default:
	}
	return true
}
