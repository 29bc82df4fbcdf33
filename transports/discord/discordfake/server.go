package discordfake

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Server is a fake Discord: the REST API and the Gateway on one 127.0.0.1
// listener. Create it with New and stop it with Close. All methods are safe
// for concurrent use.
type Server struct {
	srv  *httptest.Server
	base string // "http://127.0.0.1:PORT"
	opts options

	wg   sync.WaitGroup // gateway goroutines
	done chan struct{}  // closed by Close

	mu            sync.Mutex
	changed       chan struct{} // closed and replaced on every change
	closed        bool
	ids           snowflakes
	users         map[string]*user
	guilds        map[string]*guild
	guildOrder    []string
	channels      map[string]*channel
	channelOrder  []string
	tokens        map[string]*token
	webhooks      map[string]*webhook
	calls         map[string]int
	unknown       []string
	unknownFields map[string][]string
	faults        map[string][]fault
	globalFaults  []fault
	buckets       map[string]bucketCfg
	bucketState   map[string]*bucketState
	rateLimited   int
	// holds are the limits scripted 429s announced, until their
	// retry_after ends: per route and major parameter, and per token
	// (Authorization) for global ones. early counts the requests made
	// during one.
	holds      map[string]time.Time
	early      int
	invalid    int                          // 401, 403 and 429 answers
	readStates map[string]map[string]string // user -> channel -> message
	ackVersion int
	gw         gatewayState
}

// Option configures a Server.
type Option func(*options)

type options struct {
	now               func() time.Time
	heartbeatInterval time.Duration
	reconnectGrace    time.Duration
	strictBodies      bool
}

// WithClock sets the clock behind snowflakes and timestamps (time.Now by
// default). IDs stay unique and increasing whatever it returns.
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

// WithHeartbeatInterval sets the heartbeat_interval of HELLO (41.25s by
// default, as Discord). discordgo reconnects when no ACK came for five
// intervals, so tests of withheld ACKs use a short one.
func WithHeartbeatInterval(d time.Duration) Option {
	return func(o *options) { o.heartbeatInterval = d }
}

// WithReconnectGrace sets how long a socket told to reconnect (op 7) or to
// close stays open for the client to close it itself (2s by default).
func WithReconnectGrace(d time.Duration) Option { return func(o *options) { o.reconnectGrace = d } }

// WithStrictBodies makes message create, edit and webhook execute answer
// 400 Invalid Form Body (code 50035) for top-level JSON fields the API does
// not document, as some Discord-compatible servers do. Discord itself
// ignores them; either way they are recorded (see UnknownFields).
func WithStrictBodies() Option { return func(o *options) { o.strictBodies = true } }

// New starts a fake Discord on a fresh 127.0.0.1 port, with no users,
// guilds or tokens.
func New(opts ...Option) *Server {
	o := options{now: time.Now, heartbeatInterval: 41250 * time.Millisecond, reconnectGrace: 2 * time.Second}
	for _, opt := range opts {
		opt(&o)
	}
	s := &Server{
		opts: o, done: make(chan struct{}), changed: make(chan struct{}),
		ids:   snowflakes{now: o.now},
		users: map[string]*user{}, guilds: map[string]*guild{}, channels: map[string]*channel{},
		tokens: map[string]*token{}, webhooks: map[string]*webhook{}, calls: map[string]int{},
		unknownFields: map[string][]string{}, faults: map[string][]fault{},
		buckets: map[string]bucketCfg{}, bucketState: map[string]*bucketState{}, holds: map[string]time.Time{},
		readStates: map[string]map[string]string{},
	}
	s.gw.init()
	mux := http.NewServeMux()
	mux.HandleFunc("/api/", s.serveAPI)
	mux.HandleFunc("/gw/", s.serveGateway)
	mux.HandleFunc("/attachments/", s.serveAttachment)
	mux.HandleFunc("/avatars/", s.serveAvatar)
	s.srv = httptest.NewServer(mux)
	s.base = s.srv.URL
	return s
}

// URL returns the root URL of the fake, "http://127.0.0.1:PORT". Requests
// for https://discord.com/X are served here at URL()+"/X".
func (s *Server) URL() string { return s.base }

// APIURL returns the REST base URL for API version 9, with its trailing
// slash: "http://127.0.0.1:PORT/api/v9/".
func (s *Server) APIURL() string { return s.base + "/api/v9/" }

// GatewayURL returns the Gateway URL that GET /gateway answers,
// "ws://127.0.0.1:PORT/gw/".
func (s *Server) GatewayURL() string { return "ws" + strings.TrimPrefix(s.base, "http") + "/gw/" }

// Close closes all gateway sockets, stops the server's goroutines and waits
// for them. Waiting methods return ErrClosed.
func (s *Server) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	close(s.done)
	conns := s.gw.liveConns()
	s.notifyLocked()
	s.mu.Unlock()
	for _, c := range conns {
		c.drop()
	}
	s.wg.Wait()
	s.srv.Close()
}

// notifyLocked wakes everything waiting for a change.
func (s *Server) notifyLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// call is one REST request being answered.
type call struct {
	route  string            // the route's name, e.g. "POST /channels/{channel.id}/messages"
	params map[string]string // path parameters, unescaped
	query  url.Values
	body   []byte
	ctype  string
	tok    *token // nil for routes without auth
	me     *user
}

// handler answers a call with s.mu held: a status and a body to marshal
// (nil for 204).
type handler func(s *Server, c *call) (int, any)

// authKind tells who may call a route.
type authKind int

const (
	authAny  authKind = iota // bot or user token
	authUser                 // user tokens only (bots get 403, code 20001)
	authNone                 // no token (webhook token in the path)
)

type route struct {
	method, name string
	segs         []string // "{…}" segments are parameters
	fn           handler
	auth         authKind
}

// maxBody caps the size of a request body.
const maxBody = 25 << 20

func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request) {
	path := r.URL.EscapedPath()
	rest, ok := strings.CutPrefix(path, "/api/v9/")
	if !ok {
		rest, ok = strings.CutPrefix(path, "/api/v10/")
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		writeJSON(w, http.StatusRequestEntityTooLarge, wireError{Message: "413: Request Entity Too Large"})
		return
	}
	var rt *route
	var params map[string]string
	methodSeen := false
	if ok {
		rt, params, methodSeen = matchRoute(r.Method, strings.TrimSuffix(rest, "/"))
	}
	s.mu.Lock()
	if rt == nil {
		name := r.Method + " " + r.URL.Path
		s.calls[name]++
		if s.calls[name] == 1 {
			s.unknown = append(s.unknown, name)
		}
		s.notifyLocked()
		s.mu.Unlock()
		if methodSeen {
			writeJSON(w, http.StatusMethodNotAllowed, wireError{Message: "405: Method Not Allowed"})
			return
		}
		writeJSON(w, http.StatusNotFound, wireError{Message: "404: Not Found"})
		return
	}
	s.calls[rt.name]++
	c := &call{route: rt.name, params: params, query: r.URL.Query(), body: body, ctype: r.Header.Get("Content-Type")}
	status, resp, hdr := s.answerLocked(rt, c, r.Header.Get("Authorization"))
	if status == http.StatusUnauthorized || status == http.StatusForbidden || status == http.StatusTooManyRequests {
		s.invalid++
	}
	s.notifyLocked()
	s.mu.Unlock()
	for k, v := range hdr {
		w.Header()[k] = v
	}
	if resp == nil {
		w.WriteHeader(status)
		return
	}
	writeJSON(w, status, resp)
}

// answerLocked applies faults, rate limits and authentication, then runs the
// route's handler.
func (s *Server) answerLocked(rt *route, c *call, authz string) (int, any, http.Header) {
	hdr := http.Header{}
	if f, ok := s.heldLocked(rt.name, c, authz); ok {
		return f.answer(hdr, s.opts.now())
	}
	if f, ok := s.takeFaultLocked(rt.name); ok {
		s.holdLocked(f, rt.name, c, authz)
		return f.answer(hdr, s.opts.now())
	}
	if limited, st, body := s.bucketLocked(rt.name, c, hdr); limited {
		return st, body, hdr
	}
	if rt.auth != authNone {
		tok := s.authLocked(authz)
		if tok == nil {
			return http.StatusUnauthorized, wireError{Message: "401: Unauthorized"}, hdr
		}
		if rt.auth == authUser && tok.bot {
			return http.StatusForbidden, wireError{Message: "Bots cannot use this endpoint", Code: 20001}, hdr
		}
		c.tok, c.me = tok, s.users[tok.userID]
	}
	st, body := rt.fn(s, c)
	return st, body, hdr
}

// authLocked resolves an Authorization header: "Bot TOKEN" for bot tokens,
// the bare token for user tokens. Anything else, a revoked token, or a token
// of the wrong kind for its form gives nil.
func (s *Server) authLocked(authz string) *token {
	bot := false
	v := authz
	if rest, ok := strings.CutPrefix(authz, "Bot "); ok {
		bot, v = true, rest
	}
	t := s.tokens[strings.TrimSpace(v)]
	if t == nil || t.revoked || t.bot != bot {
		return nil
	}
	return t
}

// matchRoute finds the route for a method and an escaped path below the
// version prefix. methodSeen is true when the path is known but not for
// this method.
func matchRoute(method, path string) (rt *route, params map[string]string, methodSeen bool) {
	segs := strings.Split(path, "/")
	for i := range routes {
		r := &routes[i]
		p, ok := matchSegs(r.segs, segs)
		if !ok {
			continue
		}
		if r.method != method {
			methodSeen = true
			continue
		}
		return r, p, false
	}
	return nil, nil, methodSeen
}

func matchSegs(pattern, segs []string) (map[string]string, bool) {
	if len(pattern) != len(segs) {
		return nil, false
	}
	var params map[string]string
	for i, p := range pattern {
		if strings.HasPrefix(p, "{") {
			v, err := url.PathUnescape(segs[i])
			if err != nil || v == "" {
				return nil, false
			}
			if params == nil {
				params = map[string]string{}
			}
			params[strings.Trim(p, "{}")] = v
			continue
		}
		if p != segs[i] {
			return nil, false
		}
	}
	return params, true
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"message":"500: Internal Server Error","code":0}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(b)
}

// Discord's JSON error codes answered by the fake.
const (
	codeUnknownChannel   = 10003
	codeUnknownGuild     = 10004
	codeUnknownMember    = 10007
	codeUnknownMessage   = 10008
	codeUnknownWebhook   = 10015
	codeUnknownUser      = 10013
	codeUnknownEmoji     = 10014
	codeMissingAccess    = 50001
	codeEditOthers       = 50005
	codeEmptyMessage     = 50006
	codeCannotDM         = 50007
	codeMissingPerms     = 50013
	codeWrongChannelType = 50024
	codeInvalidRecipient = 50033
	codeInvalidForm      = 50035
	codeThreadExists     = 160004
	codeEntityTooLarge   = 40005
)

func apiErr(status, code int, msg string) (int, any) {
	return status, wireError{Message: msg, Code: code}
}

// formErr is a 400 Invalid Form Body naming one field.
func formErr(field, code, msg string) (int, any) {
	errs, _ := marshal(map[string]any{field: map[string]any{"_errors": []map[string]string{{"code": code, "message": msg}}}})
	return http.StatusBadRequest, wireError{Message: "Invalid Form Body", Code: codeInvalidForm, Errors: errs}
}
