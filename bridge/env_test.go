package bridge_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/xgate-im/xgate/bridge"
	"github.com/xgate-im/xgate/bridge/bridgetest"
	"github.com/xgate-im/xgate/store"
	"github.com/xgate-im/xgate/xmpp"
	"github.com/xgate-im/xgate/xmpp/xmpptest"
)

const (
	domain = "fake.example.org"
	alice  = "alice@example.org"
)

// env is a gateway under test: a real Gateway with a real store, attached to
// an in-process host server, bridging the in-memory fake network.
type env struct {
	t      *testing.T
	srv    *xmpptest.Server
	conn   *xmpptest.Conn
	db     *store.DB
	dbPath string
	key    *store.Key
	tr     *bridgetest.Transport
	// net, when set, is the transport the gateway runs instead of tr (tr
	// wrapped with more interfaces).
	net    bridge.Transport
	gw     *bridge.Gateway
	cancel context.CancelFunc
	done   chan error
	// backlog keeps stanzas that an expect skipped, for later expects.
	backlog []xmpp.Stanza
}

func testKey(t *testing.T) *store.Key {
	k, err := store.ParseKey([]byte(strings.Repeat("ab", 32)))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func newEnv(t *testing.T, mods ...func(*bridge.Config)) *env {
	t.Helper()
	return newEnvWith(t, bridgetest.New(), mods...)
}

// newEnvWith is newEnv with a prepared fake network.
func newEnvWith(t *testing.T, tr *bridgetest.Transport, mods ...func(*bridge.Config)) *env {
	t.Helper()
	e := &env{t: t, srv: xmpptest.NewServer(t, "secret"), tr: tr, key: testKey(t)}
	e.dbPath = filepath.Join(t.TempDir(), "xgate.db")
	e.openDB()
	e.start(mods...)
	return e
}

func (e *env) openDB() {
	db, err := store.Open(e.dbPath, store.Options{Key: e.key, NoSync: true, BatchDelay: time.Millisecond})
	if err != nil {
		e.t.Fatal(err)
	}
	e.db = db
}

func logger(t *testing.T) *slog.Logger {
	if os.Getenv("XGATE_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// start runs a gateway on the current store and waits for its component to
// connect.
func (e *env) start(mods ...func(*bridge.Config)) {
	t := e.t
	cfg := bridge.Config{
		Name: "fake",
		Component: xmpp.ComponentConfig{
			Addr: e.srv.Addr(), Domain: domain, Secret: "secret",
			MinBackoff: 5 * time.Millisecond, MaxBackoff: 50 * time.Millisecond,
		},
		Access:    bridge.Access{Allow: []string{"example.org"}, Admins: []string{"admin@example.org"}},
		Version:   "test",
		RetryBase: 10 * time.Millisecond,
	}
	for _, m := range mods {
		m(&cfg)
	}
	var tr bridge.Transport = e.tr
	if e.net != nil {
		tr = e.net
	}
	gw, err := bridge.New(cfg, tr, e.db, logger(t))
	if err != nil {
		t.Fatal(err)
	}
	e.gw = gw
	ctx, cancel := context.WithCancel(context.Background())
	e.cancel = cancel
	e.done = make(chan error, 1)
	go func() { e.done <- gw.Run(ctx) }()
	t.Cleanup(e.stop)
	actx, acancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer acancel()
	conn, err := e.srv.Accept(actx)
	if err != nil {
		t.Fatal(err)
	}
	conn.ReadAhead()
	e.conn = conn
}

// stop shuts the gateway down and closes the store (idempotent).
func (e *env) stop() {
	if e.cancel == nil {
		return
	}
	e.cancel()
	e.cancel = nil
	conn := e.conn // a restart replaces e.conn while this one closes
	go func() {
		// Answer the closing handshake like a server does.
		for {
			if _, err := conn.Next(context.Background()); err != nil {
				conn.CloseStream()
				return
			}
		}
	}()
	select {
	case err := <-e.done:
		if err != nil {
			e.t.Errorf("gateway Run: %v", err)
		}
	case <-time.After(10 * time.Second):
		e.t.Error("gateway did not stop")
	}
	if err := e.db.Verify(); err != nil {
		e.t.Errorf("store invariants: %v", err)
	}
	e.db.Close()
}

// restart stops the gateway and starts a new one on the same store.
func (e *env) restart(mods ...func(*bridge.Config)) {
	e.stop()
	e.openDB()
	e.start(mods...)
}

func (e *env) ctx() context.Context {
	ctx, cancel := context.WithTimeout(e.t.Context(), 10*time.Second)
	e.t.Cleanup(cancel)
	return ctx
}

// send delivers raw XML to the gateway as the host server would.
func (e *env) send(format string, args ...any) {
	e.t.Helper()
	if err := e.conn.Send(fmt.Sprintf(format, args...)); err != nil {
		e.t.Fatal(err)
	}
}

// expect returns the first stanza the gateway sent that matches, looking
// at earlier skipped stanzas first and then reading more. Stanzas that don't
// match are kept for later expects and listed if nothing matches.
func (e *env) expect(match func(xmpp.Stanza) bool) xmpp.Stanza {
	e.t.Helper()
	for i, s := range e.backlog {
		if match(s) {
			e.backlog = append(e.backlog[:i], e.backlog[i+1:]...)
			return s
		}
	}
	ctx := e.ctx()
	var skipped []string
	for _, s := range e.backlog {
		skipped = append(skipped, s.Element().String())
	}
	for {
		el, err := e.conn.Next(ctx)
		if err != nil {
			e.t.Fatalf("no matching stanza (%v); skipped:\n%s", err, strings.Join(skipped, "\n"))
		}
		s, err := xmpp.Parse(el)
		if err != nil {
			skipped = append(skipped, el.String())
			continue
		}
		if match(s) {
			return s
		}
		e.backlog = append(e.backlog, s)
		skipped = append(skipped, el.String())
	}
}

func (e *env) expectIQ(id string) *xmpp.IQ {
	e.t.Helper()
	return e.expect(func(s xmpp.Stanza) bool {
		iq, ok := s.(*xmpp.IQ)
		return ok && iq.ID == id
	}).(*xmpp.IQ)
}

func (e *env) expectMessage(match func(*xmpp.Message) bool) *xmpp.Message {
	e.t.Helper()
	return e.expect(func(s xmpp.Stanza) bool {
		m, ok := s.(*xmpp.Message)
		return ok && match(m)
	}).(*xmpp.Message)
}

func (e *env) expectPresence(match func(*xmpp.Presence) bool) *xmpp.Presence {
	e.t.Helper()
	return e.expect(func(s xmpp.Stanza) bool {
		p, ok := s.(*xmpp.Presence)
		return ok && match(p)
	}).(*xmpp.Presence)
}

// register registers user with a token through XEP-0077 and waits for the
// session.
func (e *env) register(user, token string) {
	e.t.Helper()
	id := "reg-" + token
	e.send(`<iq type='set' id='%s' from='%s/res' to='%s'><query xmlns='jabber:iq:register'><x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE'><value>jabber:iq:register</value></field><field var='token'><value>%s</value></field></x></query></iq>`, id, user, domain, token)
	iq := e.expectIQ(id)
	if iq.Type != xmpp.IQResult {
		e.t.Fatalf("registration failed: %v", iq.Error)
	}
	if strings.HasPrefix(token, "good-") {
		name := strings.TrimPrefix(token, "good-")
		if err := e.tr.WaitLogin(e.ctx(), bridge.AccountID("acct-"+name)); err != nil {
			e.t.Fatal(err)
		}
		// The gateway announces the login once it counts the account as
		// logged in.
		e.expectPresence(func(p *xmpp.Presence) bool {
			return p.From.String() == domain && strings.Contains(p.Status, name+" on Fakenet: connected")
		})
	}
}

// errCond returns the error condition of a stanza, or "".
func errCond(s xmpp.Stanza) xmpp.Condition {
	switch s := s.(type) {
	case *xmpp.IQ:
		if s.Error != nil {
			return s.Error.Condition
		}
	case *xmpp.Message:
		if s.Error != nil {
			return s.Error.Condition
		}
	case *xmpp.Presence:
		if s.Error != nil {
			return s.Error.Condition
		}
	}
	return ""
}
