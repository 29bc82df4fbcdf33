package discordfake

import (
	"bytes"
	"compress/zlib"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// gatewayState is the Gateway side of the server: live sockets and
// sessions. Guarded by Server.mu.
//
// A session is created by IDENTIFY and lives until it is invalidated (op 9
// with d:false, a revoked token, Close). Every dispatch it should see is
// appended to its log with the next sequence number, whether a socket is
// attached or not; a socket's writer sends the log from where it stands.
// RESUME attaches a new socket to the session at the client's sequence
// number, so what was dispatched while it was away is sent, in order,
// before RESUMED.
type gatewayState struct {
	conns        []*gwConn // live, in connect order
	sessions     map[string]*session
	sessionOrder []string
	withholdACK  bool
	identifies   []Identify
	nextSession  int
}

func (g *gatewayState) init() { g.sessions = map[string]*session{} }

func (g *gatewayState) liveConns() []*gwConn { return slices.Clone(g.conns) }

// maxReplay bounds how many already-sent dispatches a session keeps for
// RESUME; a client further behind gets op 9.
const maxReplay = 10000

type session struct {
	id         string
	userID     string
	tok        *token
	bot        bool
	intents    Intent
	compress   bool
	base       int       // sequence number of log[0] minus one
	log        []gwFrame // dispatches not yet trimmed
	conn       *gwConn   // nil while detached
	invalid    bool
	resumes    int
	dispatched []Dispatch // everything dispatched, for inspection
}

// seq returns the last sequence number used.
func (ss *session) seq() int { return ss.base + len(ss.log) }

type gwFrame struct {
	data   []byte
	binary bool // zlib-compressed, as Discord sends large payloads to clients that asked for compress
}

// gwConn is one Gateway WebSocket. Its reader goroutine handles the
// client's opcodes; its writer goroutine owns every write.
type gwConn struct {
	s        *Server
	ws       *websocket.Conn
	live     bool      // guarded by s.mu
	sess     *session  // guarded by s.mu: attached session, nil before IDENTIFY/RESUME
	sent     int       // guarded by s.mu: last sequence number written
	ctl      []ctlItem // guarded by s.mu: frames to write before dispatches
	closing  bool      // guarded by s.mu: takes no more dispatches
	gone     chan struct{}
	dropOnce sync.Once
}

type ctlItem struct {
	frame     gwFrame
	closeCode int  // a close frame with this code (and frame.data as reason)
	grace     bool // drop the socket a grace period after writing
}

// The opcodes.
const (
	opDispatch       = 0
	opHeartbeat      = 1
	opIdentify       = 2
	opPresenceUpdate = 3
	opVoiceState     = 4
	opResume         = 6
	opReconnect      = 7
	opRequestMembers = 8
	opInvalidSession = 9
	opHello          = 10
	opHeartbeatACK   = 11
)

func (s *Server) serveGateway(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if v := q.Get("v"); v != "" && v != "9" && v != "10" {
		http.Error(w, "unsupported gateway version", http.StatusBadRequest)
		return
	}
	if e := q.Get("encoding"); e != "" && e != "json" {
		http.Error(w, "unsupported encoding (the fake speaks json)", http.StatusBadRequest)
		return
	}
	if q.Get("compress") != "" {
		http.Error(w, "transport compression is not supported by the fake", http.StatusBadRequest)
		return
	}
	up := websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}
	ws, err := up.Upgrade(w, r, nil)
	if err != nil {
		return // the upgrader has answered
	}
	ws.SetReadLimit(1 << 20)
	c := &gwConn{s: s, ws: ws, gone: make(chan struct{})}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		ws.Close()
		return
	}
	c.live = true
	s.gw.conns = append(s.gw.conns, c)
	hello, _ := marshal(map[string]any{"op": opHello, "s": nil, "t": nil,
		"d": map[string]any{"heartbeat_interval": s.opts.heartbeatInterval.Milliseconds(), "_trace": []string{"[\"discordfake\"]"}}})
	c.ctl = append(c.ctl, ctlItem{frame: gwFrame{data: hello}})
	s.wg.Add(2)
	s.notifyLocked()
	s.mu.Unlock()
	go c.readLoop()
	go c.writeLoop()
}

// inbound is a frame from the client.
type inbound struct {
	Op int             `json:"op"`
	D  json.RawMessage `json:"d"`
}

func (c *gwConn) readLoop() {
	s := c.s
	defer s.wg.Done()
	defer c.drop()
	for {
		_, data, err := c.ws.ReadMessage()
		if err != nil {
			return
		}
		var in inbound
		if json.Unmarshal(data, &in) != nil {
			c.closeWith(4002, "Error while decoding payload.")
			continue
		}
		s.mu.Lock()
		s.handleOpLocked(c, in)
		s.notifyLocked()
		s.mu.Unlock()
	}
}

func (s *Server) handleOpLocked(c *gwConn, in inbound) {
	if c.closing {
		return
	}
	switch in.Op {
	case opHeartbeat:
		if !s.gw.withholdACK {
			c.ctl = append(c.ctl, ctlItem{frame: gwFrame{data: []byte(`{"op":11,"s":null,"t":null,"d":null}`)}})
		}
	case opIdentify:
		s.identifyLocked(c, in.D)
	case opResume:
		s.resumeLocked(c, in.D)
	case opPresenceUpdate:
		if c.sess == nil {
			c.closeWithLocked(4003, "Not authenticated.")
			return
		}
		s.presenceFromGatewayLocked(c.sess.userID, in.D)
	case opRequestMembers:
		if c.sess == nil {
			c.closeWithLocked(4003, "Not authenticated.")
			return
		}
		s.requestMembersLocked(c.sess, in.D)
	case opVoiceState:
		if c.sess == nil {
			c.closeWithLocked(4003, "Not authenticated.")
		}
	default:
		c.closeWithLocked(4001, "Unknown opcode.")
	}
}

// Identify is what a client sent in IDENTIFY (op 2), for inspection. The
// token is not kept.
type Identify struct {
	UserID     string // "" when the token was refused
	Intents    Intent
	Compress   bool
	Properties map[string]string
	Presence   json.RawMessage
}

func (s *Server) identifyLocked(c *gwConn, d json.RawMessage) {
	if c.sess != nil {
		c.closeWithLocked(4005, "Already authenticated.")
		return
	}
	var id struct {
		Token      string            `json:"token"`
		Intents    *Intent           `json:"intents"`
		Compress   bool              `json:"compress"`
		Properties map[string]string `json:"properties"`
		Presence   json.RawMessage   `json:"presence"`
	}
	if json.Unmarshal(d, &id) != nil {
		c.closeWithLocked(4002, "Error while decoding payload.")
		return
	}
	rec := Identify{Compress: id.Compress, Properties: id.Properties, Presence: id.Presence}
	if id.Intents != nil {
		rec.Intents = *id.Intents
	}
	tok := s.tokens[strings.TrimPrefix(id.Token, "Bot ")]
	if tok == nil || tok.revoked {
		s.gw.identifies = append(s.gw.identifies, rec)
		c.closeWithLocked(4004, "Authentication failed.")
		return
	}
	rec.UserID = tok.userID
	s.gw.identifies = append(s.gw.identifies, rec)
	if tok.bot && id.Intents == nil {
		c.closeWithLocked(4013, "Invalid intent(s).") // intents are required since API v8
		return
	}
	if rec.Intents&^allIntents != 0 {
		c.closeWithLocked(4013, "Invalid intent(s).")
		return
	}
	if tok.bot && rec.Intents&PrivilegedIntents&^tok.privileged != 0 {
		c.closeWithLocked(4014, "Disallowed intent(s).")
		return
	}
	s.gw.nextSession++
	ss := &session{id: sessionID(s.gw.nextSession), userID: tok.userID, tok: tok, bot: tok.bot,
		intents: rec.Intents, compress: id.Compress, conn: c}
	s.gw.sessions[ss.id] = ss
	s.gw.sessionOrder = append(s.gw.sessionOrder, ss.id)
	c.sess, c.sent = ss, 0
	s.appendLocked(ss, "READY", s.readyLocked(ss), true)
	for _, g := range s.guildsOf(ss.userID) {
		if !ss.bot || ss.intents&IntentGuilds != 0 {
			s.appendLocked(ss, "GUILD_CREATE", s.guildCreateJSON(g, ss.userID, ss.intents, ss.bot), true)
		}
	}
}

// sessionID makes a 32-hex-digit session ID as Discord's.
func sessionID(n int) string {
	const hex = "0123456789abcdef"
	b := []byte("d15c0f4ce5e5510000000000000000")
	for i := len(b) - 1; n > 0 && i >= 0; i-- {
		b[i] = hex[n%16]
		n /= 16
	}
	return "00" + string(b)
}

func (s *Server) readyLocked(ss *session) any {
	u := s.users[ss.userID]
	type unavailable struct {
		ID          string `json:"id"`
		Unavailable bool   `json:"unavailable"`
	}
	guilds := []unavailable{}
	for _, g := range s.guildsOf(ss.userID) {
		guilds = append(guilds, unavailable{g.id, true})
	}
	ready := map[string]any{
		"v": 9, "user": s.userJSON(u), "guilds": guilds, "session_id": ss.id, "session_type": "normal",
		"resume_gateway_url": strings.TrimSuffix(s.GatewayURL(), "/"), "private_channels": []wireChannel{},
		"user_settings": map[string]any{}, "relationships": []wireRelationship{}, "presences": []wirePresence{},
		"_trace": []string{"[\"discordfake\"]"},
	}
	if ss.bot {
		ready["application"] = map[string]any{"id": u.id, "flags": 0}
		return ready
	}
	var private []wireChannel
	for _, id := range s.channelOrder {
		if ch := s.channels[id]; ch.kind.isPrivate() && slices.Contains(ch.recipients, u.id) {
			private = append(private, s.channelJSON(ch, u.id))
		}
	}
	if private != nil {
		ready["private_channels"] = private
	}
	var rels []wireRelationship
	var pres []wirePresence
	for _, f := range u.friends {
		fu := s.users[f]
		rels = append(rels, wireRelationship{ID: f, Type: 1, User: s.userJSON(fu)})
		pres = append(pres, s.presenceJSON(fu, ""))
	}
	if rels != nil {
		ready["relationships"], ready["presences"] = rels, pres
	}
	return ready
}

func (s *Server) resumeLocked(c *gwConn, d json.RawMessage) {
	if c.sess != nil {
		c.closeWithLocked(4005, "Already authenticated.")
		return
	}
	var r struct {
		Token     string `json:"token"`
		SessionID string `json:"session_id"`
		Seq       int    `json:"seq"`
	}
	if json.Unmarshal(d, &r) != nil {
		c.closeWithLocked(4002, "Error while decoding payload.")
		return
	}
	ss := s.gw.sessions[r.SessionID]
	tok := s.tokens[strings.TrimPrefix(r.Token, "Bot ")]
	if ss == nil || ss.invalid || tok == nil || tok != ss.tok || tok.revoked || r.Seq < ss.base {
		c.ctl = append(c.ctl, ctlItem{frame: gwFrame{data: []byte(`{"op":9,"s":null,"t":null,"d":false}`)}})
		return
	}
	if r.Seq > ss.seq() {
		c.closeWithLocked(4007, "Invalid seq.")
		return
	}
	if old := ss.conn; old != nil && old != c {
		old.sess = nil
		old.closeWithLocked(4000, "Session resumed elsewhere.")
	}
	ss.conn, ss.resumes = c, ss.resumes+1
	c.sess, c.sent = ss, r.Seq
	s.appendLocked(ss, "RESUMED", map[string]any{"_trace": []string{"[\"discordfake\"]"}}, false)
}

// appendLocked adds a dispatch to a session's log with the next sequence
// number; the attached socket's writer sends it.
func (s *Server) appendLocked(ss *session, typ string, payload any, big bool) {
	d, err := marshal(payload)
	if err != nil {
		panic("discordfake: marshal " + typ + ": " + err.Error())
	}
	seq := ss.seq() + 1
	frame, _ := marshal(struct {
		Op int             `json:"op"`
		S  int             `json:"s"`
		T  string          `json:"t"`
		D  json.RawMessage `json:"d"`
	}{opDispatch, seq, typ, d})
	f := gwFrame{data: frame}
	if big && ss.compress {
		var buf bytes.Buffer
		zw := zlib.NewWriter(&buf)
		zw.Write(frame)
		zw.Close()
		f = gwFrame{data: buf.Bytes(), binary: true}
	}
	ss.log = append(ss.log, f)
	ss.dispatched = append(ss.dispatched, Dispatch{Seq: seq, Type: typ, Data: d})
	if len(ss.dispatched) > maxReplay {
		ss.dispatched = slices.Delete(ss.dispatched, 0, len(ss.dispatched)-maxReplay)
	}
	// Keep at most maxReplay dispatches that the attached socket has sent.
	sent := ss.base
	if ss.conn != nil {
		sent = ss.conn.sent
	}
	if drop := sent - ss.base - maxReplay; drop > 0 {
		ss.log = slices.Delete(ss.log, 0, drop)
		ss.base += drop
	}
}

// Dispatch is one dispatch (op 0) a session was sent or will be sent.
type Dispatch struct {
	Seq  int
	Type string
	Data json.RawMessage
}

func (c *gwConn) writeLoop() {
	s := c.s
	defer s.wg.Done()
	var grace <-chan time.Time
	for {
		s.mu.Lock()
		if !c.live {
			s.mu.Unlock()
			return
		}
		var it ctlItem
		have := false
		if len(c.ctl) > 0 {
			it, c.ctl, have = c.ctl[0], c.ctl[1:], true
		} else if ss := c.sess; ss != nil && !c.closing && c.sent < ss.seq() {
			if c.sent < ss.base { // cannot happen: the log keeps what was not sent
				c.sent = ss.base
			}
			it, have = ctlItem{frame: ss.log[c.sent-ss.base]}, true
			c.sent++
			s.notifyLocked()
		}
		changed := s.changed
		s.mu.Unlock()
		if have {
			c.ws.SetWriteDeadline(time.Now().Add(10 * time.Second))
			var err error
			switch {
			case it.closeCode != 0:
				err = c.ws.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(it.closeCode, string(it.frame.data)))
			case it.frame.binary:
				err = c.ws.WriteMessage(websocket.BinaryMessage, it.frame.data)
			default:
				err = c.ws.WriteMessage(websocket.TextMessage, it.frame.data)
			}
			if err != nil {
				c.drop()
				return
			}
			if it.grace && grace == nil {
				grace = time.After(s.opts.reconnectGrace)
			}
			continue
		}
		select {
		case <-changed:
		case <-grace:
			c.drop()
			return
		case <-c.gone:
			return
		}
	}
}

// closeWith sends a close frame with a Discord close code; the socket is
// dropped after the grace period if the client does not close it.
func (c *gwConn) closeWith(code int, reason string) {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	c.closeWithLocked(code, reason)
	c.s.notifyLocked()
}

func (c *gwConn) closeWithLocked(code int, reason string) {
	if c.closing {
		return
	}
	c.closing = true
	c.ctl = append(c.ctl, ctlItem{frame: gwFrame{data: []byte(reason)}, closeCode: code, grace: true})
}

// drop closes the socket abruptly and detaches its session, which stays
// resumable. Safe to call more than once and from any goroutine.
func (c *gwConn) drop() {
	c.dropOnce.Do(func() {
		c.ws.Close()
		s := c.s
		s.mu.Lock()
		c.live = false
		s.gw.conns = slices.DeleteFunc(s.gw.conns, func(x *gwConn) bool { return x == c })
		if c.sess != nil && c.sess.conn == c {
			c.sess.conn = nil
		}
		s.notifyLocked()
		s.mu.Unlock()
		close(c.gone)
	})
}
