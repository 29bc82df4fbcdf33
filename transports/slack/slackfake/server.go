package slackfake

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Server is a fake Slack: Web API over HTTP and Socket Mode over WebSocket
// on one 127.0.0.1 listener. Create it with New and stop it with Close. All
// methods are safe for concurrent use.
type Server struct {
	srv           *httptest.Server
	base          string // "http://127.0.0.1:PORT"
	opts          options
	appID         string
	appTokenValue string

	wg   sync.WaitGroup // socket goroutines and the ack timer
	done chan struct{}  // closed by Close

	mu         sync.Mutex
	instCache  map[string][]installation // installationsLocked, by team
	changed    chan struct{}             // closed and replaced on every change
	closed     bool
	ids        idGen
	clock      tsClock
	teams      map[string]*team
	teamOrder  []string
	users      map[string]*user
	bots       map[string]*bot
	convs      map[string]*conv
	tokens     map[string]*token
	tokenOrder []*token
	files      map[string]*file
	calls      map[string]int
	unknown    []string
	faults     map[string][]fault
	sm         socketState
	avatars    map[string][]byte // cache of generated PNGs
	zones      map[string]*time.Location
}

// Option configures a Server.
type Option func(*options)

type options struct {
	now             func() time.Time
	ackTimeout      time.Duration
	pingInterval    time.Duration
	disconnectGrace time.Duration
	appName         string
}

// WithClock sets the clock used for message timestamps and "created" fields
// (time.Now by default). Timestamps stay unique and increasing whatever it
// returns, so a frozen clock gives byte-for-byte reproducible runs.
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

// WithAckTimeout sets how long a Socket Mode envelope may stay unacknowledged
// before it is sent again (3s by default, like Slack). See SetAckTimeout.
func WithAckTimeout(d time.Duration) Option { return func(o *options) { o.ackTimeout = d } }

// WithPingInterval sets how often WebSocket pings are sent to Socket Mode
// clients (10s by default; slack-go reconnects after 30s without one).
func WithPingInterval(d time.Duration) Option { return func(o *options) { o.pingInterval = d } }

// WithDisconnectGrace sets how long a socket told to disconnect stays open
// for the client to close it itself (2s by default).
func WithDisconnectGrace(d time.Duration) Option {
	return func(o *options) { o.disconnectGrace = d }
}

// WithAppName sets the app's name, which is also its bot user's name
// ("xgate" by default).
func WithAppName(name string) Option { return func(o *options) { o.appName = name } }

// New starts a fake Slack on a fresh 127.0.0.1 port. It has one app (see
// AppID and AppToken) and no teams.
func New(opts ...Option) *Server {
	o := options{now: time.Now, ackTimeout: 3 * time.Second, pingInterval: 10 * time.Second,
		disconnectGrace: 2 * time.Second, appName: "xgate"}
	for _, opt := range opts {
		opt(&o)
	}
	s := &Server{
		opts: o, done: make(chan struct{}), changed: make(chan struct{}),
		clock: tsClock{now: o.now},
		teams: map[string]*team{}, users: map[string]*user{}, bots: map[string]*bot{},
		convs: map[string]*conv{}, tokens: map[string]*token{}, files: map[string]*file{},
		calls: map[string]int{}, faults: map[string][]fault{}, avatars: map[string][]byte{},
		zones: map[string]*time.Location{},
	}
	s.sm.init(o.ackTimeout)
	s.appID = s.ids.id("A")
	app := &token{value: s.ids.token("xapp", "1", s.appID), kind: kindApp}
	s.addTokenLocked(app)
	s.appTokenValue = app.value

	mux := http.NewServeMux()
	mux.HandleFunc("/api/", s.serveAPI)
	mux.HandleFunc("/link/", s.serveSocket)
	mux.HandleFunc("/upload/", s.serveUpload)
	mux.HandleFunc("/files-pri/", s.serveFile)
	mux.HandleFunc("/avatars/", s.serveAvatar)
	mux.HandleFunc("/signin", s.serveSignin)
	s.srv = httptest.NewServer(mux)
	s.base = s.srv.URL

	s.wg.Add(1)
	go s.runAckTimer()
	return s
}

// APIURL returns the Web API base URL, with its trailing slash, for
// slack.OptionAPIURL.
func (s *Server) APIURL() string { return s.base + "/api/" }

// URL returns the root URL of the fake, "http://127.0.0.1:PORT".
func (s *Server) URL() string { return s.base }

// Close closes all sockets, stops the server's goroutines and waits for them.
// Waiting methods return ErrClosed.
func (s *Server) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	close(s.done)
	conns := s.sm.liveConns()
	s.notifyLocked()
	s.mu.Unlock()
	for _, c := range conns {
		c.drop()
	}
	s.wg.Wait()
	s.srv.Close()
}

// notifyLocked wakes everything waiting for a change (WaitUntil, socket
// writers, the ack timer).
func (s *Server) notifyLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// call is one Web API request being answered.
type call struct {
	method string
	params url.Values
	tok    *token
}

func (c *call) str(k string) string { return strings.TrimSpace(c.params.Get(k)) }

func (c *call) flag(k string) bool {
	v := strings.ToLower(c.str(k))
	return v == "true" || v == "1"
}

// limit reads the "limit" parameter: def when absent or 0, capped at max.
func (c *call) limit(def, max int) (int, bool) {
	v := c.str("limit")
	if v == "" {
		return def, true
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, false
	}
	if n == 0 {
		return def, true
	}
	return min(n, max), true
}

// apiMethod is one Web API method: its handler and the token kinds it takes.
// A handler runs with s.mu held and returns a response object (marshalled
// after "ok":true) or a Slack error code.
type apiMethod struct {
	fn    func(*Server, *call) (any, string)
	kinds []tokenKind
}

var (
	anyToken = []tokenKind{kindBot, kindUser}
	appOnly  = []tokenKind{kindApp}
	userOnly = []tokenKind{kindUser}
)

func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimPrefix(r.URL.Path, "/api/")
	params, bearer, code := readParams(w, r)
	if code != "" {
		writeJSON(w, http.StatusOK, errJSON(code))
		return
	}
	s.mu.Lock()
	s.calls[name]++
	if f, ok := s.takeFaultLocked(name); ok {
		s.notifyLocked()
		s.mu.Unlock()
		f.write(w)
		return
	}
	m, known := methods[name]
	if !known {
		if s.calls[name] == 1 {
			s.unknown = append(s.unknown, name)
		}
		s.notifyLocked()
		s.mu.Unlock()
		writeJSON(w, http.StatusOK, errJSON("unknown_method"))
		return
	}
	tokStr := bearer
	if tokStr == "" && !isJSON(r) {
		tokStr = params.Get("token")
	}
	c := &call{method: name, params: params}
	var body []byte
	if tok, code := s.authLocked(tokStr, m.kinds); code != "" {
		body = errJSON(code)
	} else {
		c.tok = tok
		resp, code := m.fn(s, c)
		if code != "" {
			body = errJSON(code)
		} else {
			body = okJSON(resp)
		}
	}
	s.notifyLocked()
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, body)
}

// authLocked resolves a token and checks it may call a method.
func (s *Server) authLocked(tok string, kinds []tokenKind) (*token, string) {
	if tok == "" {
		return nil, "not_authed"
	}
	t := s.tokens[tok]
	if t == nil {
		return nil, "invalid_auth"
	}
	switch t.state {
	case TokenRevoked:
		return nil, "token_revoked"
	case TokenInvalid:
		return nil, "invalid_auth"
	case TokenInactive:
		return nil, "account_inactive"
	}
	if u := s.users[t.userID]; u != nil && u.deleted {
		return nil, "account_inactive"
	}
	for _, k := range kinds {
		if k == t.kind {
			return t, ""
		}
	}
	return nil, "not_allowed_token_type"
}

func isJSON(r *http.Request) bool {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return mt == "application/json"
}

// readParams collects a request's arguments from the query string and a
// form, multipart or JSON body, and the bearer token if any. JSON values
// that are not strings keep their JSON text (e.g. "blocks":[…]). A body that
// cannot be read gives the Slack error code for it.
func readParams(w http.ResponseWriter, r *http.Request) (url.Values, string, string) {
	bearer := ""
	if h := r.Header.Get("Authorization"); strings.HasPrefix(h, "Bearer ") {
		bearer = strings.TrimSpace(strings.TrimPrefix(h, "Bearer "))
	}
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch mt {
	case "application/json":
		vals := r.URL.Query()
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
		if err != nil {
			return nil, "", "invalid_json"
		}
		if len(bytes.TrimSpace(body)) == 0 {
			return vals, bearer, ""
		}
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(body, &obj); err != nil {
			var typeErr *json.UnmarshalTypeError
			if errors.As(err, &typeErr) {
				return nil, "", "json_not_object"
			}
			return nil, "", "invalid_json"
		}
		for k, raw := range obj {
			var str string
			if json.Unmarshal(raw, &str) == nil {
				vals.Set(k, str)
			} else {
				vals.Set(k, string(raw))
			}
		}
		return vals, bearer, ""
	case "multipart/form-data":
		r.Body = http.MaxBytesReader(w, r.Body, maxBody)
		if err := r.ParseMultipartForm(maxBody); err != nil {
			return nil, "", "invalid_form_data"
		}
	default:
		r.Body = http.MaxBytesReader(w, r.Body, maxBody)
		if err := r.ParseForm(); err != nil {
			return nil, "", "invalid_form_data"
		}
	}
	return r.Form, bearer, ""
}

// maxBody caps the size of a Web API request body.
const maxBody = 16 << 20

func okJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		return errJSON("internal_error")
	}
	if len(b) < 2 || b[0] != '{' || string(b) == "{}" {
		return []byte(`{"ok":true}`)
	}
	return append([]byte(`{"ok":true,`), b[1:]...)
}

func errJSON(code string) []byte {
	b, _ := json.Marshal(struct {
		OK    bool   `json:"ok"`
		Error string `json:"error"`
	}{false, code})
	return b
}

func writeJSON(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	w.Write(body)
}
