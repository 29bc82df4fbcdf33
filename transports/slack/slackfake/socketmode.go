package slackfake

import (
	"cmp"
	"encoding/json"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// socketState is the Socket Mode side of the server: tickets, live
// connections and envelopes. Guarded by Server.mu.
//
// An envelope is queued until a live, non-draining connection's writer takes
// it; it is then in flight on that connection until acked. If the ack does
// not come within the ack timeout, or the connection goes away first, it is
// queued again with retry_attempt+1 and retry_reason "timeout". Envelopes
// are never dropped; the queue is kept in creation order.
type socketState struct {
	ackTimeout time.Duration
	tickets    map[string]bool
	conns      []*sockConn // live, in connect order
	queue      []*envelope
	byID       map[string]*envelope // every unacked envelope
	inflight   map[string]*envelope // the unacked envelopes sent on a live connection
	acked      int
	sent       int // envelope frames written, retries included
	// Why envelopes were queued again: not acknowledged in time, or in
	// flight on a connection that went away.
	timedOut, connLost int
	seq                uint64
	contexts           map[string][]installation // event_context -> installations
	ctxOrder           []string                  // contexts' keys, oldest first
}

// maxContexts bounds how many event contexts apps.event.authorizations.list
// remembers; older ones answer invalid_event_context.
const maxContexts = 10000

func (st *socketState) rememberContextLocked(key string, auth []installation) {
	st.contexts[key] = auth
	st.ctxOrder = append(st.ctxOrder, key)
	if len(st.ctxOrder) > maxContexts {
		delete(st.contexts, st.ctxOrder[0])
		st.ctxOrder = slices.Delete(st.ctxOrder, 0, 1)
	}
}

type envelope struct {
	id       string
	seq      uint64
	payload  json.RawMessage
	attempt  int
	reason   string
	conn     *sockConn // nil while queued
	sentAt   time.Time
	deadline time.Time
}

func (st *socketState) init(ackTimeout time.Duration) {
	st.ackTimeout = ackTimeout
	st.tickets = map[string]bool{}
	st.byID = map[string]*envelope{}
	st.inflight = map[string]*envelope{}
	st.contexts = map[string][]installation{}
}

func (st *socketState) enqueueLocked(id string, payload json.RawMessage) {
	st.seq++
	e := &envelope{id: id, seq: st.seq, payload: payload}
	st.byID[id] = e
	st.queue = append(st.queue, e)
}

// requeueLocked puts an in-flight envelope back in the queue for a retry.
func (st *socketState) requeueLocked(e *envelope) {
	delete(st.inflight, e.id)
	e.conn = nil
	e.attempt++
	e.reason = "timeout"
	i, _ := slices.BinarySearchFunc(st.queue, e.seq, func(x *envelope, seq uint64) int {
		return cmp.Compare(x.seq, seq)
	})
	st.queue = slices.Insert(st.queue, i, e)
}

// takeLocked hands the oldest queued envelope to c and returns its frame.
func (st *socketState) takeLocked(c *sockConn, now time.Time) []byte {
	if len(st.queue) == 0 {
		return nil
	}
	e := st.queue[0]
	st.queue = st.queue[1:]
	st.inflight[e.id] = e
	e.conn = c
	e.sentAt = now
	e.deadline = now.Add(st.ackTimeout)
	st.sent++
	frame, _ := json.Marshal(struct {
		EnvelopeID             string          `json:"envelope_id"`
		Type                   string          `json:"type"`
		AcceptsResponsePayload bool            `json:"accepts_response_payload"`
		RetryAttempt           int             `json:"retry_attempt"`
		RetryReason            string          `json:"retry_reason"`
		Payload                json.RawMessage `json:"payload"`
	}{e.id, "events_api", false, e.attempt, e.reason, e.payload})
	return frame
}

func (st *socketState) ackLocked(id string) {
	e := st.byID[id]
	if e == nil {
		return // a late or repeated ack, or a made-up ID
	}
	delete(st.byID, id)
	delete(st.inflight, id)
	if e.conn == nil { // acked while queued for a retry
		st.queue = slices.DeleteFunc(st.queue, func(x *envelope) bool { return x == e })
	}
	st.acked++
}

// expireLocked requeues envelopes whose ack deadline passed and returns the
// earliest remaining deadline (zero if none) and whether any expired.
func (st *socketState) expireLocked(now time.Time) (next time.Time, expired bool) {
	for _, e := range st.inflightLocked() {
		if !e.deadline.After(now) {
			st.timedOut++
			st.requeueLocked(e)
			expired = true
		} else if next.IsZero() || e.deadline.Before(next) {
			next = e.deadline
		}
	}
	return next, expired
}

// inflightLocked returns the in-flight envelopes in creation order.
func (st *socketState) inflightLocked() []*envelope {
	out := slices.Collect(maps.Values(st.inflight))
	slices.SortFunc(out, func(a, b *envelope) int { return cmp.Compare(a.seq, b.seq) })
	return out
}

func (st *socketState) liveConns() []*sockConn { return slices.Clone(st.conns) }

// removeConnLocked forgets a connection and requeues what it had in flight.
func (st *socketState) removeConnLocked(c *sockConn) {
	st.conns = slices.DeleteFunc(st.conns, func(x *sockConn) bool { return x == c })
	for _, e := range st.inflightLocked() {
		if e.conn == c {
			st.connLost++
			st.requeueLocked(e)
		}
	}
}

// sockConn is one Socket Mode WebSocket. Its reader goroutine reads acks;
// its writer goroutine owns every data write (hello, envelopes, disconnect)
// and the pings.
type sockConn struct {
	s        *Server
	ws       *websocket.Conn
	live     bool          // guarded by s.mu
	draining bool          // guarded by s.mu: told to disconnect, takes nothing new
	ctl      []ctlFrame    // guarded by s.mu: frames to write before envelopes
	gone     chan struct{} // closed by drop
	dropOnce sync.Once
}

type ctlFrame struct {
	data       []byte
	disconnect bool
}

// apiConnectionsOpen answers apps.connections.open with a one-time URL.
func apiConnectionsOpen(s *Server, c *call) (any, string) {
	ticket := s.ids.uuid("ticket")
	s.sm.tickets[ticket] = true
	u := "ws" + strings.TrimPrefix(s.base, "http") + "/link/?ticket=" + ticket + "&app_id=" + s.appID
	return struct {
		URL string `json:"url"`
	}{u}, ""
}

func (s *Server) serveSocket(w http.ResponseWriter, r *http.Request) {
	ticket := r.URL.Query().Get("ticket")
	s.mu.Lock()
	ok := s.sm.tickets[ticket] && !s.closed
	delete(s.sm.tickets, ticket)
	s.mu.Unlock()
	if !ok {
		http.Error(w, "invalid or used ticket", http.StatusUnauthorized)
		return
	}
	up := websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}
	ws, err := up.Upgrade(w, r, nil)
	if err != nil {
		return // the upgrader has answered
	}
	c := &sockConn{s: s, ws: ws, gone: make(chan struct{})}
	ws.SetPingHandler(func(data string) error {
		err := ws.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(5*time.Second))
		if err == websocket.ErrCloseSent {
			return nil
		}
		return err
	})
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		ws.Close()
		return
	}
	c.live = true
	s.sm.conns = append(s.sm.conns, c)
	hello, _ := json.Marshal(wireHello{
		Type: "hello", NumConnections: len(s.sm.conns),
		DebugInfo:      wireDebugInfo{Host: s.debugHost(), BuildNumber: 1, ApproximateConnectionTime: 18060},
		ConnectionInfo: wireConnectionInfo{AppID: s.appID},
	})
	c.ctl = append(c.ctl, ctlFrame{data: hello})
	s.wg.Add(2)
	s.notifyLocked()
	s.mu.Unlock()
	go c.readLoop()
	go c.writeLoop()
}

func (c *sockConn) readLoop() {
	s := c.s
	defer s.wg.Done()
	defer c.drop()
	for {
		_, data, err := c.ws.ReadMessage()
		if err != nil {
			return
		}
		if id, ok := parseAck(data); ok {
			s.mu.Lock()
			s.sm.ackLocked(id)
			s.notifyLocked()
			s.mu.Unlock()
		}
	}
}

func (c *sockConn) writeLoop() {
	s := c.s
	defer s.wg.Done()
	ping := time.NewTicker(s.opts.pingInterval)
	defer ping.Stop()
	var grace <-chan time.Time
	for {
		s.mu.Lock()
		if !c.live {
			s.mu.Unlock()
			return
		}
		var f ctlFrame
		if len(c.ctl) > 0 {
			f, c.ctl = c.ctl[0], c.ctl[1:]
		} else if !c.draining {
			if f.data = s.sm.takeLocked(c, time.Now()); f.data != nil {
				s.notifyLocked()
			}
		}
		changed := s.changed
		s.mu.Unlock()
		if f.data != nil {
			c.ws.SetWriteDeadline(time.Now().Add(10 * time.Second))
			if err := c.ws.WriteMessage(websocket.TextMessage, f.data); err != nil {
				c.drop()
				return
			}
			if f.disconnect && grace == nil {
				grace = time.After(s.opts.disconnectGrace)
			}
			continue
		}
		select {
		case <-changed:
		case <-ping.C:
			if err := c.ws.WriteControl(websocket.PingMessage, []byte("ping"), time.Now().Add(5*time.Second)); err != nil {
				c.drop()
				return
			}
		case <-grace:
			c.drop()
			return
		case <-c.gone:
			return
		}
	}
}

// parseAck reads a client's frame: an acknowledgement names an envelope
// ({"envelope_id":"…","payload":…}); anything else is not one.
func parseAck(data []byte) (envelopeID string, ok bool) {
	var ack struct {
		EnvelopeID string `json:"envelope_id"`
	}
	if json.Unmarshal(data, &ack) != nil || ack.EnvelopeID == "" {
		return "", false
	}
	return ack.EnvelopeID, true
}

// The Socket Mode control messages, in Slack's field order.

type wireDebugInfo struct {
	Host                      string `json:"host"`
	BuildNumber               int    `json:"build_number,omitempty"`
	ApproximateConnectionTime int    `json:"approximate_connection_time,omitempty"`
}

type wireConnectionInfo struct {
	AppID string `json:"app_id"`
}

type wireHello struct {
	Type           string             `json:"type"`
	NumConnections int                `json:"num_connections"`
	DebugInfo      wireDebugInfo      `json:"debug_info"`
	ConnectionInfo wireConnectionInfo `json:"connection_info"`
}

type wireDisconnect struct {
	Type      string        `json:"type"`
	Reason    string        `json:"reason"`
	DebugInfo wireDebugInfo `json:"debug_info"`
}

func (s *Server) debugHost() string { return "applink-fake-" + strings.ToLower(s.appID) }

// drop closes the socket abruptly (no close frame) and requeues what was in
// flight on it. Safe to call more than once and from any goroutine.
func (c *sockConn) drop() {
	c.dropOnce.Do(func() {
		c.ws.Close()
		s := c.s
		s.mu.Lock()
		c.live = false
		s.sm.removeConnLocked(c)
		s.notifyLocked()
		s.mu.Unlock()
		close(c.gone)
	})
}

// runAckTimer requeues envelopes whose ack did not come in time.
func (s *Server) runAckTimer() {
	defer s.wg.Done()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		s.mu.Lock()
		next, expired := s.sm.expireLocked(time.Now())
		if expired {
			s.notifyLocked()
		}
		changed := s.changed
		s.mu.Unlock()
		wait := time.Hour
		if !next.IsZero() {
			wait = max(time.Until(next), 0)
		}
		timer.Reset(wait)
		select {
		case <-timer.C:
		case <-changed:
		case <-s.done:
			return
		}
	}
}
