package discord

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"

	"github.com/bwmarrin/discordgo"
	"github.com/gorilla/websocket"

	"github.com/xgate-im/xgate/bridge"
	"github.com/xgate-im/xgate/kit/ratelimit"
)

// conn is one Gateway connection and its REST client: the instance's bot,
// or one personal account. Its run goroutine owns the connection's life:
// it opens it, reopens it after a drop (discordgo resumes the session),
// and stops for good on a close code that says the credentials or the
// intents are refused, which discordgo itself would retry forever.
//
// Events reach handle on discordgo's reader goroutine, one at a time and
// in order (SyncEvents); handle passes them to the transport's Fanout
// without waiting for them to be delivered. An event is "pending" from
// its dispatch until every session it concerns has emitted it: Discord
// never sends an event twice, so run dispatches a pending event again
// after redeliverAfter (the Fanout recognizes and joins a repeat), which
// is what a network with acknowledgements would do.
type conn struct {
	t   *Transport
	log *slog.Logger
	dg  *discordgo.Session
	bot bool
	// account is the personal account of a user connection.
	account bridge.AccountID
	limit   *ratelimit.Bucket // Discord's global limit of this token

	// onEvent turns a raw dispatch into Fanout events; set before run.
	onEvent func(ctx context.Context, c *conn, e *discordgo.Event)
	// onFatal is told once when the connection stops for good because
	// Discord refused the token (ErrAuth) or the intents.
	onFatal func(err error)

	down  chan struct{} // a disconnect happened (buffered 1)
	ready chan struct{} // closed once the first READY was handled

	mu        sync.Mutex
	ctx       context.Context // the run's context, for dispatches
	self      string          // our user ID, from READY
	closeCode int             // the last close code Discord sent
	pending   map[string]pendingEvent
	counter   uint64        // numbers events that have no ID of their own
	changed   chan struct{} // closed when pending changes, then replaced
	readyOnce sync.Once
	// holdUntil is the end of the global rate limit Discord last
	// announced for this token (limitWatch): no request before it.
	holdUntil time.Time
	// topics are the channel topics this connection saw, to tell a topic
	// change from another change of a channel.
	topics map[string]string
}

// pendingEvent is an event dispatched and not yet delivered everywhere.
type pendingEvent struct {
	in bridge.Inbound
	at time.Time
}

// Bounds of a connection.
const (
	globalRate      = 50 // requests per second per token (Discord's global limit)
	maxPending      = 10000
	reopenMin       = 250 * time.Millisecond
	reopenMax       = 2 * time.Minute
	stableAfter     = 30 * time.Second // a connection up this long resets the backoff
	closeAuthFailed = 4004
	closeDisallowed = 4014
)

// newConn prepares a connection; it does no I/O. token is the bot token
// (without "Bot ") or a user token.
func newConn(t *Transport, token string, bot bool, log *slog.Logger) *conn {
	auth := token
	if bot {
		auth = "Bot " + token
	}
	dg, _ := discordgo.New(auth) // only fails on a login with e-mail and password
	dg.Dialer = &websocket.Dialer{Proxy: http.ProxyFromEnvironment, HandshakeTimeout: 30 * time.Second}
	dg.UserAgent = "xgate (https://github.com/xgate-im/xgate)"
	dg.SyncEvents = true
	dg.ShouldReconnectOnError = false // run reopens, and stops on 4004/4014
	dg.ShouldRetryOnRateLimit = false // the bridge's queue waits, in order
	dg.StateEnabled = false
	dg.LogLevel = -1
	dg.MaxRestRetries = 1
	if bot {
		dg.Identify.Intents = discordgo.Intent(t.set.intents)
	}
	c := &conn{
		t: t, log: log, dg: dg, bot: bot,
		limit:   ratelimit.NewBucket(ratelimit.Rate{PerSecond: globalRate, Burst: globalRate}),
		down:    make(chan struct{}, 1),
		ready:   make(chan struct{}),
		pending: map[string]pendingEvent{},
		changed: make(chan struct{}),
		topics:  map[string]string{},
	}
	hc := *t.hc
	hc.Transport = limitWatch{base: t.hc.Transport, c: c}
	dg.Client = &hc
	dg.AddHandler(func(_ *discordgo.Session, _ *discordgo.Disconnect) {
		select {
		case c.down <- struct{}{}:
		default:
		}
	})
	dg.AddHandler(func(_ *discordgo.Session, e *discordgo.Event) {
		c.mu.Lock()
		ctx := c.ctx
		c.mu.Unlock()
		if ctx == nil || ctx.Err() != nil {
			return
		}
		c.log.Debug("dispatch", "type", e.Type)
		if e.Type == "READY" {
			c.noteReady(e)
		}
		if c.onEvent != nil {
			c.onEvent(ctx, c, e)
		}
		if e.Type == "READY" { // after its catch-up: Login returns then
			c.readyOnce.Do(func() { close(c.ready) })
		}
	})
	return c
}

// noteReady records our user ID from a READY payload.
func (c *conn) noteReady(e *discordgo.Event) {
	var r struct {
		User struct {
			ID string `json:"id"`
		} `json:"user"`
	}
	if discordgo.Unmarshal(e.RawData, &r) == nil && r.User.ID != "" {
		c.mu.Lock()
		c.self = r.User.ID
		c.mu.Unlock()
	}
}

// selfID returns our user ID ("" before the first READY).
func (c *conn) selfID() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.self
}

// run opens the connection and keeps it open until ctx ends, or until
// Discord refuses the token (an error wrapping bridge.ErrAuth) or the
// intents (ErrPrivilegedIntent). It dispatches pending events again every
// redeliver.
func (c *conn) run(ctx context.Context, redeliver time.Duration) error {
	c.mu.Lock()
	c.ctx = ctx
	c.mu.Unlock()
	defer c.dg.Close()
	wait := reopenMin
	tick := time.NewTicker(redeliver)
	defer tick.Stop()
	for {
		err := c.open(ctx)
		switch {
		case ctx.Err() != nil:
			return nil
		case errors.Is(err, bridge.ErrAuth), errors.Is(err, ErrPrivilegedIntent):
			return err
		case err != nil:
			c.log.Warn("discord gateway connection failed; retrying", "err", err, "in", wait)
			if !sleep(ctx, jitter(wait)) {
				return nil
			}
			wait = min(wait*2, reopenMax)
			continue
		}
		opened := time.Now()
		// Connected: wait for a drop, redelivering meanwhile.
	connected:
		for {
			select {
			case <-ctx.Done():
				return nil
			case <-c.down:
				break connected
			case now := <-tick.C:
				c.redeliver(ctx, now, redeliver)
			}
		}
		if err := c.closedFor(); err != nil {
			return err
		}
		// discordgo does not tell why a live connection closed: 4004
		// (token revoked) is recognized by asking REST who we are.
		if err := c.request(ctx, "users/@me", "GET", discordgo.EndpointUser("@me"), discordgo.EndpointUsers, nil, nil); errors.Is(err, bridge.ErrAuth) {
			return err
		}
		if time.Since(opened) > stableAfter {
			wait = reopenMin
		} else if !sleep(ctx, jitter(wait)) { // it keeps closing: back off
			return nil
		} else {
			wait = min(wait*2, reopenMax)
		}
		c.log.Info("discord gateway connection dropped; resuming")
	}
}

// open opens the Gateway connection once, and classifies a refusal.
func (c *conn) open(ctx context.Context) error {
	if c.t.beforeOpen != nil {
		c.t.beforeOpen()
	}
	done := make(chan error, 1)
	go func() { done <- c.dg.Open() }()
	var err error
	select {
	case err = <-done:
	case <-ctx.Done():
		<-done
		return ctx.Err()
	}
	if err == nil || errors.Is(err, discordgo.ErrWSAlreadyOpen) {
		select { // a disconnect of the previous socket is old news
		case <-c.down:
		default:
		}
		return nil
	}
	var ce *websocket.CloseError
	if errors.As(err, &ce) {
		c.mu.Lock()
		c.closeCode = ce.Code
		c.mu.Unlock()
		if err := c.closedFor(); err != nil {
			return err
		}
	}
	return classify("gateway", err)
}

// closedFor returns the permanent error a close code means, if any.
func (c *conn) closedFor() error {
	c.mu.Lock()
	code := c.closeCode
	c.mu.Unlock()
	switch code {
	case closeAuthFailed:
		return fmt.Errorf("discord: the gateway refused the token (close code 4004): %w", bridge.ErrAuth)
	case closeDisallowed:
		return fmt.Errorf("discord: the gateway refused the intents (close code 4014): %w", ErrPrivilegedIntent)
	}
	return nil
}

// dispatch hands an event to the Fanout and keeps it pending until every
// session it concerns emitted it. The order key is the connection's own
// (two personal accounts share the DM between them), and the Fanout's work
// lives as long as the transport, not the connection: work bound to a
// session that ends would leave its channel's queue without a worker.
// Dispatch blocks while the channel's queue is full (backpressure on the
// connection's reader).
//
// A live event of the bot's connection is handled by a session only once
// the session caught up the event's chat (catchup.go).
func (c *conn) dispatch(ctx context.Context, in bridge.Inbound) {
	if c.bot && in.Handle != nil {
		in.Handle = caughtUpFirst(in.Order, in.ID, in.Handle)
	}
	c.dispatchNow(ctx, in)
}

// dispatchNow dispatches an event as it is: catch-up's own events.
func (c *conn) dispatchNow(_ context.Context, in bridge.Inbound) {
	// Connections see the same guild events: IDs and orders are theirs.
	in.Order = c.name() + "|" + in.Order
	ctx := c.t.lifetime()
	if in.ID == "" {
		c.t.fanout.Dispatch(ctx, in, func() {})
		return
	}
	in.ID = c.name() + "|" + in.ID
	c.mu.Lock()
	if len(c.pending) < maxPending {
		c.pending[in.ID] = pendingEvent{in: in, at: time.Now()}
		c.changedLocked()
	}
	c.mu.Unlock()
	c.t.fanout.Dispatch(ctx, in, func() { c.delivered(in.ID) })
}

// name tells the connection apart in order keys.
func (c *conn) name() string {
	if c.bot {
		return kindBot
	}
	return string(c.account)
}

// delivered forgets a pending event.
func (c *conn) delivered(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.pending[id]; !ok {
		return
	}
	delete(c.pending, id)
	c.changedLocked()
}

// changedLocked wakes the waiters of waitPending.
func (c *conn) changedLocked() {
	close(c.changed)
	c.changed = make(chan struct{})
}

// waitPending waits until ok accepts the number of pending events.
func (c *conn) waitPending(ctx context.Context, ok func(n int) bool) error {
	for {
		c.mu.Lock()
		n, changed := len(c.pending), c.changed
		c.mu.Unlock()
		if ok(n) {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// waitDelivered waits until no event is pending.
func (c *conn) waitDelivered(ctx context.Context) error {
	return c.waitPending(ctx, func(n int) bool { return n == 0 })
}

// redeliver dispatches again the events pending for longer than after.
func (c *conn) redeliver(ctx context.Context, now time.Time, after time.Duration) {
	var again []bridge.Inbound
	c.mu.Lock()
	for id, p := range c.pending {
		if now.Sub(p.at) >= after {
			again = append(again, p.in)
			p.at = now
			c.pending[id] = p
		}
	}
	c.mu.Unlock()
	ctx = c.t.lifetime()
	for _, in := range again {
		c.t.fanout.Dispatch(ctx, in, func() { c.delivered(in.ID) })
	}
}

// nextSeq numbers an event that Discord gives no ID of its own.
func (c *conn) nextSeq() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.counter++
	return c.counter
}

// unacknowledged returns how many events are pending.
func (c *conn) unacknowledged() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.pending)
}

// request makes a REST call within Discord's global limit. body is
// marshalled as JSON (nil: none); out, when not nil, receives the answer.
func (c *conn) request(ctx context.Context, op, method, url, bucket string, body, out any) error {
	if err := c.waitHold(ctx); err != nil {
		return err
	}
	if err := c.limit.Wait(ctx); err != nil {
		return err
	}
	resp, err := c.dg.RequestWithBucketID(method, url, body, bucket, discordgo.WithContext(ctx))
	if err != nil {
		return classify(op, err)
	}
	if out != nil && len(resp) > 0 {
		if err := discordgo.Unmarshal(resp, out); err != nil {
			return fmt.Errorf("discord: %s: %w: %w", op, bridge.ErrTemporary, err)
		}
	}
	return nil
}

// sleep waits d or until ctx ends; it reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// jitter spreads d by ±20%.
func jitter(d time.Duration) time.Duration {
	return d + time.Duration((rand.Float64()*0.4-0.2)*float64(d))
}
