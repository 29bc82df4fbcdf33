package bridge_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/xgate-im/xgate/bridge"
	"github.com/xgate-im/xgate/bridge/bridgetest"
	"github.com/xgate-im/xgate/store"
	"github.com/xgate-im/xgate/xmpp"
	"github.com/xgate-im/xgate/xmpp/disco"
	"github.com/xgate-im/xgate/xmpp/form"
	"github.com/xgate-im/xgate/xmpp/jid"
	"github.com/xgate-im/xgate/xmpp/prosodytest"
)

const gwDomain = "fake.localhost"

// hostServer is a real host server under a live gateway.
// *prosodytest.Server and *ejabberdtest.Server both are one.
type hostServer interface {
	ComponentAddr() string
	C2SAddr() string
	Host() string
	Kill()
	Restart(t prosodytest.TB)
	LogTail(n int) string
}

var _ hostServer = (*prosodytest.Server)(nil)

// host is a kind of host server a live gateway runs against.
type host struct {
	// name names the server in messages.
	name string
	// patience bounds how long the gateway may take to connect, or to
	// give up on a refused secret.
	patience time.Duration
	// start starts a server for the test with the component gwDomain
	// (secret "s3cret") and the users alice and bob (password "pw").
	start func(t *testing.T) hostServer
}

// prosodyHost is Prosody, with prosodytest.
var prosodyHost = host{name: "Prosody", patience: 10 * time.Second, start: func(t *testing.T) hostServer {
	return prosodytest.Start(t, prosodytest.Options{
		Components: []prosodytest.Component{{Domain: gwDomain, Secret: "s3cret"}},
		Users:      map[string]string{"alice": "pw", "bob": "pw"},
	})
}}

// live is a gateway attached to a real host server.
type live struct {
	t      *testing.T
	h      host
	srv    hostServer
	tr     *bridgetest.Transport
	gw     *bridge.Gateway
	states chan xmpp.State
	done   chan error
}

// startLive runs a gateway against a new Prosody; see startLiveOn.
func startLive(t *testing.T, secret string) *live { return startLiveOn(t, prosodyHost, secret) }

// startLiveOn starts a server of kind h and runs a gateway that connects
// to it with secret. The gateway is stopped, and its store checked, when
// the test ends. prepare, if any, sets up the fake network before the
// gateway is made.
func startLiveOn(t *testing.T, h host, secret string, prepare ...func(*bridgetest.Transport)) *live {
	t.Helper()
	srv := h.start(t)
	l := &live{t: t, h: h, srv: srv, tr: bridgetest.New(), states: make(chan xmpp.State, 256), done: make(chan error, 1)}
	for _, p := range prepare {
		p(l.tr)
	}
	db, err := store.Open(filepath.Join(t.TempDir(), "xgate.db"), store.Options{Key: testKey(t)})
	if err != nil {
		t.Fatal(err)
	}
	gw, err := bridge.New(bridge.Config{
		Name: "fake",
		Component: xmpp.ComponentConfig{
			Addr: srv.ComponentAddr(), Domain: gwDomain, Secret: secret,
			OnState: func(s xmpp.State, _ error) {
				select {
				case l.states <- s:
				default:
				}
			},
		},
		Access:    bridge.Access{Allow: []string{"localhost"}, Admins: []string{"bob@localhost"}},
		Version:   "test",
		RetryBase: 10 * time.Millisecond,
	}, l.tr, db, logger(t))
	if err != nil {
		t.Fatal(err)
	}
	l.gw = gw
	ctx, cancel := context.WithCancel(context.Background())
	go func() { l.done <- gw.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-l.done:
		case <-time.After(10 * time.Second):
			t.Error("gateway did not stop")
		}
		if err := db.Verify(); err != nil {
			t.Errorf("store invariants: %v", err)
		}
		db.Close()
	})
	return l
}

// waitConnected waits until the component reports it is connected.
func (l *live) waitConnected() {
	l.t.Helper()
	timeout := time.After(l.h.patience)
	for {
		select {
		case s := <-l.states:
			if s == xmpp.StateConnected {
				return
			}
		case err := <-l.done:
			l.t.Fatalf("gateway stopped: %v", err)
		case <-timeout:
			l.t.Fatalf("component never connected; %s log:\n%s", l.h.name, l.srv.LogTail(20))
		}
	}
}

// client logs user in through the server's client port.
func (l *live) client(user string) *prosodytest.Client {
	ctx, cancel := context.WithTimeout(l.t.Context(), 10*time.Second)
	defer cancel()
	return prosodytest.Dial(ctx, l.t, l.srv.C2SAddr(), user, l.srv.Host(), "pw")
}

// register registers alice with the gateway by XEP-0077 through the
// server and waits for her network session.
func (l *live) register(ctx context.Context, c *prosodytest.Client) {
	l.t.Helper()
	res, err := c.Request(ctx, &xmpp.IQ{
		Header:  xmpp.Header{To: jid.MustParse(gwDomain), Type: xmpp.IQSet},
		Payload: xmpp.NewElement(bridge.NSRegister, "query").Append(registerForm("good-alice")),
	})
	if err != nil || res.Type != xmpp.IQResult {
		l.t.Fatalf("register: %v %v", res, err)
	}
	if err := l.tr.WaitLogin(ctx, "acct-alice"); err != nil {
		l.t.Fatal(err)
	}
}

func bounded(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 15*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// testWrongSecret runs a gateway with a wrong secret against h: Run must
// end with an error wrapping xmpp.ErrNotAuthorized.
func testWrongSecret(t *testing.T, h host) {
	l := startLiveOn(t, h, "not-the-secret")
	select {
	case err := <-l.done:
		if !errors.Is(err, xmpp.ErrNotAuthorized) {
			t.Fatalf("Run returned %v, want an error wrapping xmpp.ErrNotAuthorized", err)
		}
		l.done <- err // for the cleanup
	case <-time.After(h.patience):
		t.Fatal("gateway kept running with a refused secret")
	}
}

// testRestartUnderTraffic kills the server of kind h while the network
// keeps talking and restarts it: the component is back within 2 seconds
// of the server being ready, and every message from the kill on reaches
// the user, through the server's offline storage and live delivery, when
// she logs in again.
func testRestartUnderTraffic(t *testing.T, h host) {
	l := startLiveOn(t, h, "s3cret")
	l.waitConnected()
	ctx := bounded(t)
	c := l.client("alice")
	l.register(ctx, c)
	// emit plays a network that sends an event again until the gateway
	// accepts it: Emit fails when the server dies before it confirmed
	// the stanza, and the event must then not be acknowledged.
	emit := func(i int) {
		t.Helper()
		ev := bridge.MessageEvent{Chat: bridge.ChatRef{Peer: "carol"}, Sender: "carol", ID: bridge.MessageID(fmt.Sprint("m", i)), Text: fmt.Sprint("msg ", i)}
		for {
			err := l.tr.Emit(ctx, "acct-alice", ev)
			if err == nil {
				return
			}
			if ctx.Err() != nil {
				t.Fatal(err)
			}
		}
	}
	const before, during, after = 5, 30, 5
	for i := range before {
		emit(i)
	}
	l.srv.Kill()
	for i := before; i < before+during; i++ {
		emit(i)
	}
	l.srv.Restart(t)
	ready := time.Now()
	l.waitConnected()
	back := time.Since(ready)
	// The server's restart (ejabberd takes 6 to 14 s under load) is not
	// the gateway's time: what follows gets a budget of its own.
	ctx = bounded(t)
	t.Logf("component back %v after %s was ready", back, h.name)
	if back > 2*time.Second {
		t.Errorf("component took %v to come back, want ≤ 2s", back)
	}
	for i := before + during; i < before+during+after; i++ {
		emit(i)
	}
	// Alice logs in again and becomes available: the server hands her what
	// it stored while she had no session, live delivery the rest. Every
	// message from the kill on must arrive; the first ones may as well
	// (the first client sent no presence, so they went to storage too).
	c2 := l.client("alice")
	if err := c2.Send(&xmpp.Presence{}); err != nil {
		t.Fatal(err)
	}
	missing := map[string]bool{}
	for i := before; i < before+during+after; i++ {
		missing[fmt.Sprint("msg ", i)] = true
	}
	for len(missing) > 0 {
		s, err := c2.Expect(ctx, func(s xmpp.Stanza) bool { m, ok := s.(*xmpp.Message); return ok && m.Body != "" })
		if err != nil {
			t.Fatalf("%d messages never arrived (%v): %v", len(missing), err, missing)
		}
		delete(missing, s.(*xmpp.Message).Body)
	}
}

func TestProsodyWrongSecretFailsClearly(t *testing.T) { testWrongSecret(t, prosodyHost) }

func TestProsodyDiscoPingAndUnknownIQ(t *testing.T) {
	l := startLive(t, "s3cret")
	l.waitConnected()
	c := l.client("alice")
	ctx := bounded(t)
	gw := jid.MustParse(gwDomain)

	res, err := c.Request(ctx, &xmpp.IQ{Header: xmpp.Header{To: gw, Type: xmpp.IQGet}, Payload: xmpp.NewElement(disco.NSInfo, "query")})
	if err != nil {
		t.Fatal(err)
	}
	info, err := disco.ParseInfo(res.Payload)
	if err != nil || info.Identities[0].Category != "gateway" || !info.HasFeature(bridge.NSRegister) {
		t.Fatalf("disco#info %s (%v)", res.Element(), err)
	}
	res, err = c.Request(ctx, &xmpp.IQ{Header: xmpp.Header{To: gw, Type: xmpp.IQGet}, Payload: xmpp.NewElement(xmpp.NSPing, "ping")})
	if err != nil || res.Type != xmpp.IQResult {
		t.Fatalf("ping %v %v", res, err)
	}
	res, err = c.Request(ctx, &xmpp.IQ{Header: xmpp.Header{To: gw, Type: xmpp.IQGet}, Payload: xmpp.NewElement("urn:example:nothing", "query")})
	if err != nil || res.Error == nil || res.Error.Condition != xmpp.CondServiceUnavailable {
		t.Fatalf("unknown iq %v %v", res, err)
	}
	// Malformed traffic from a client does not take the gateway down.
	c.SendRaw(`<iq type='get' to='` + gwDomain + `' id='bad'><query xmlns='jabber:iq:version'/></iq>`)
	res, err = c.Request(ctx, &xmpp.IQ{Header: xmpp.Header{To: gw, Type: xmpp.IQGet}, Payload: xmpp.NewElement(bridge.NSVersion, "query")})
	if err != nil || res.Payload.ChildText("", "name") != "xgate" {
		t.Fatalf("version %v %v", res, err)
	}
}

func registerForm(token string) *xmpp.Element {
	f := &form.Form{Type: form.TypeSubmit}
	f.Set("FORM_TYPE", bridge.NSRegister)
	f.Set("token", token)
	return f.Element()
}

func TestProsodyRegistrationAndMessages(t *testing.T) {
	l := startLive(t, "s3cret")
	l.waitConnected()
	l.tr.SetContacts("acct-alice", bridge.Contact{ID: "carol", Name: "Carol"})
	c := l.client("alice")
	ctx := bounded(t)
	gw := jid.MustParse(gwDomain)
	c.Send(&xmpp.Presence{})

	// XEP-0077 through Prosody.
	res, err := c.Request(ctx, &xmpp.IQ{Header: xmpp.Header{To: gw, Type: xmpp.IQGet}, Payload: xmpp.NewElement(bridge.NSRegister, "query")})
	if err != nil || res.Payload.Child(form.NS, "x") == nil {
		t.Fatalf("register form %v %v", res, err)
	}
	l.register(ctx, c)
	// The gateway and the contact ask to be in the roster; accept both.
	carol := jid.MustParse("carol@" + gwDomain)
	for _, from := range []jid.JID{gw, carol} {
		if _, err := c.Expect(ctx, prosodytest.PresenceFrom(from, "subscribe")); err != nil {
			t.Fatal(err)
		}
		c.Approve(from)
		c.Subscribe(from)
	}
	items, err := c.Roster(ctx)
	if err != nil || len(items) != 2 {
		t.Fatalf("roster %+v %v", items, err)
	}

	// Messages both ways through Prosody.
	c.Send(&xmpp.Message{Header: xmpp.Header{To: carol, Type: xmpp.MessageChat, ID: "hello1"}, Body: "hello carol"})
	sent, err := l.tr.WaitSentKind(ctx, "message", 1)
	if err != nil || sent[0].Msg.Text != "hello carol" {
		t.Fatalf("%+v %v", sent, err)
	}
	if err := l.tr.Emit(ctx, "acct-alice", bridge.MessageEvent{Chat: bridge.ChatRef{Peer: "carol"}, Sender: "carol", ID: "c1", Text: "hi alice"}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Expect(ctx, prosodytest.MessageWithBody("hi alice")); err != nil {
		t.Fatal(err)
	}

	// Registration by ad-hoc command (a second account) through Prosody.
	res, err = c.Request(ctx, &xmpp.IQ{Header: xmpp.Header{To: gw, Type: xmpp.IQSet}, Payload: xmpp.NewElement(bridge.NSCommands, "command", "node", "register", "action", "execute")})
	if err != nil || res.Payload.AttrValue("status") != "executing" {
		t.Fatalf("execute %v %v", res, err)
	}
	sub := &form.Form{Type: form.TypeSubmit}
	sub.Set("token", "good-alice2")
	res, err = c.Request(ctx, &xmpp.IQ{Header: xmpp.Header{To: gw, Type: xmpp.IQSet}, Payload: xmpp.NewElement(bridge.NSCommands, "command", "node", "register", "sessionid", res.Payload.AttrValue("sessionid")).Append(sub.Element())})
	if err != nil || res.Payload.AttrValue("status") != "completed" || !strings.Contains(res.Payload.ChildText("", "note"), "Registered") {
		t.Fatalf("complete %v %v", res.Element(), err)
	}
	if err := l.tr.WaitLogin(ctx, "acct-alice2"); err != nil {
		t.Fatal(err)
	}
}

// Prosody is killed while the network keeps talking; it is restarted, the
// component is back within 2 seconds, and every message reaches the user.
func TestProsodyRestartUnderTraffic(t *testing.T) { testRestartUnderTraffic(t, prosodyHost) }
