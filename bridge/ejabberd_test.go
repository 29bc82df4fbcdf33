package bridge_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/xgate-im/xgate/bridge"
	"github.com/xgate-im/xgate/bridge/bridgetest"
	"github.com/xgate-im/xgate/store"
	"github.com/xgate-im/xgate/xmpp"
	"github.com/xgate-im/xgate/xmpp/disco"
	"github.com/xgate-im/xgate/xmpp/ejabberdtest"
	"github.com/xgate-im/xgate/xmpp/form"
	"github.com/xgate-im/xgate/xmpp/jid"
	"github.com/xgate-im/xgate/xmpp/prosodytest"
)

// The same gateway as in prosody_test.go, attached to a real ejabberd
// instead: ejabberd differs in its stream ids (decimal numbers), the
// order and form of what it routes (subscriptions, offline messages) and
// its listeners, so both host servers are tested. Clients are
// prosodytest.Client, which speaks plain c2s to either.

// ejLive is a gateway attached to a real ejabberd.
type ejLive struct {
	t      *testing.T
	e      *ejabberdtest.Server
	tr     *bridgetest.Transport
	gw     *bridge.Gateway
	states chan xmpp.State
	done   chan error
}

// startEjabberdLive starts ejabberd with the component gwDomain (secret
// "s3cret") and the users alice and bob (password "pw"), and runs a
// gateway that connects to it with secret.
func startEjabberdLive(t *testing.T, secret string) *ejLive {
	t.Helper()
	e := ejabberdtest.Start(t, ejabberdtest.Options{
		Components: []ejabberdtest.Component{{Domain: gwDomain, Secret: "s3cret"}},
		Users:      map[string]string{"alice": "pw", "bob": "pw"},
	})
	l := &ejLive{t: t, e: e, tr: bridgetest.New(), states: make(chan xmpp.State, 256), done: make(chan error, 1)}
	db, err := store.Open(filepath.Join(t.TempDir(), "xgate.db"), store.Options{Key: testKey(t)})
	if err != nil {
		t.Fatal(err)
	}
	gw, err := bridge.New(bridge.Config{
		Name: "fake",
		Component: xmpp.ComponentConfig{
			Addr: e.ComponentAddr(), Domain: gwDomain, Secret: secret,
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
func (l *ejLive) waitConnected() {
	l.t.Helper()
	timeout := time.After(15 * time.Second)
	for {
		select {
		case s := <-l.states:
			if s == xmpp.StateConnected {
				return
			}
		case err := <-l.done:
			l.t.Fatalf("gateway stopped: %v", err)
		case <-timeout:
			l.t.Fatalf("component never connected; ejabberd log:\n%s", l.e.LogTail(20))
		}
	}
}

// client logs user in through ejabberd's client port.
func (l *ejLive) client(user string) *prosodytest.Client {
	ctx, cancel := context.WithTimeout(l.t.Context(), 10*time.Second)
	defer cancel()
	return prosodytest.Dial(ctx, l.t, l.e.C2SAddr(), user, l.e.Host(), "pw")
}

// register registers alice with the gateway by XEP-0077 through ejabberd
// and waits for her network session.
func (l *ejLive) register(ctx context.Context, c *prosodytest.Client) {
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

func TestEjabberdWrongSecretFailsClearly(t *testing.T) {
	t.Parallel()
	l := startEjabberdLive(t, "not-the-secret")
	select {
	case err := <-l.done:
		if !errors.Is(err, xmpp.ErrNotAuthorized) {
			t.Fatalf("Run returned %v, want an error wrapping xmpp.ErrNotAuthorized", err)
		}
		l.done <- err // for the cleanup
	case <-time.After(15 * time.Second):
		t.Fatal("gateway kept running with a refused secret")
	}
}

// TestEjabberdHandshakeAndDisco connects the component (XEP-0114 with
// ejabberd's decimal stream id) and queries it from a real client.
func TestEjabberdHandshakeAndDisco(t *testing.T) {
	t.Parallel()
	l := startEjabberdLive(t, "s3cret")
	l.waitConnected()
	c := l.client("alice")
	ctx := bounded(t)
	gw := jid.MustParse(gwDomain)

	res, err := c.Request(ctx, &xmpp.IQ{Header: xmpp.Header{To: gw, Type: xmpp.IQGet}, Payload: xmpp.NewElement(disco.NSInfo, "query")})
	if err != nil {
		t.Fatal(err)
	}
	if res.Type != xmpp.IQResult {
		t.Fatalf("disco#info answered %s", res.Element())
	}
	info, err := disco.ParseInfo(res.Payload)
	if err != nil || len(info.Identities) == 0 || info.Identities[0].Category != "gateway" || !info.HasFeature(bridge.NSRegister) {
		t.Fatalf("disco#info %s (%v): want a gateway identity and %s", res.Element(), err, bridge.NSRegister)
	}
	if res.From != gw {
		t.Errorf("disco#info answered from %q, want %q", res.From, gw)
	}
	res, err = c.Request(ctx, &xmpp.IQ{Header: xmpp.Header{To: gw, Type: xmpp.IQGet}, Payload: xmpp.NewElement(xmpp.NSPing, "ping")})
	if err != nil || res.Type != xmpp.IQResult {
		t.Fatalf("ping: %v %v", res, err)
	}
	res, err = c.Request(ctx, &xmpp.IQ{Header: xmpp.Header{To: gw, Type: xmpp.IQGet}, Payload: xmpp.NewElement(bridge.NSVersion, "query")})
	if err != nil || res.Payload == nil || res.Payload.ChildText("", "name") != "xgate" {
		t.Fatalf("version: %v %v", res, err)
	}
}

// TestEjabberdRegistrationAndMessages registers by XEP-0077 through
// ejabberd, accepts the gateway's and the contact's subscriptions, and
// sends a message each way.
func TestEjabberdRegistrationAndMessages(t *testing.T) {
	t.Parallel()
	l := startEjabberdLive(t, "s3cret")
	l.waitConnected()
	l.tr.SetContacts("acct-alice", bridge.Contact{ID: "carol", Name: "Carol"})
	c := l.client("alice")
	ctx := bounded(t)
	gw := jid.MustParse(gwDomain)
	if err := c.Send(&xmpp.Presence{}); err != nil {
		t.Fatal(err)
	}

	res, err := c.Request(ctx, &xmpp.IQ{Header: xmpp.Header{To: gw, Type: xmpp.IQGet}, Payload: xmpp.NewElement(bridge.NSRegister, "query")})
	if err != nil || res.Payload == nil || res.Payload.Child(form.NS, "x") == nil {
		t.Fatalf("registration form: %v %v", res, err)
	}
	l.register(ctx, c)

	// The gateway and the contact ask to be in the roster; accept both.
	carol := jid.MustParse("carol@" + gwDomain)
	for _, from := range []jid.JID{gw, carol} {
		if _, err := c.Expect(ctx, prosodytest.PresenceFrom(from, xmpp.PresenceSubscribe)); err != nil {
			t.Fatal(err)
		}
		if err := c.Approve(from); err != nil {
			t.Fatal(err)
		}
		if err := c.Subscribe(from); err != nil {
			t.Fatal(err)
		}
	}
	items, err := c.Roster(ctx)
	if err != nil || len(items) != 2 {
		t.Fatalf("roster %+v %v: want the gateway and carol", items, err)
	}

	// Client → contact → fake network.
	if err := c.Send(&xmpp.Message{Header: xmpp.Header{To: carol, Type: xmpp.MessageChat, ID: "hello1"}, Body: "hello carol"}); err != nil {
		t.Fatal(err)
	}
	sent, err := l.tr.WaitSentKind(ctx, "message", 1)
	if err != nil || sent[0].Msg.Text != "hello carol" || sent[0].Chat.Peer != "carol" {
		t.Fatalf("sent to the network: %+v %v", sent, err)
	}
	// Network → client.
	if err := l.tr.Emit(ctx, "acct-alice", bridge.MessageEvent{Chat: bridge.ChatRef{Peer: "carol"}, Sender: "carol", ID: "c1", Text: "hi alice"}); err != nil {
		t.Fatal(err)
	}
	got, err := c.Expect(ctx, prosodytest.MessageWithBody("hi alice"))
	if err != nil {
		t.Fatal(err)
	}
	if m := got.(*xmpp.Message); m.From.Bare() != carol {
		t.Errorf("message from %q, want %q", m.From, carol)
	}
}

// TestEjabberdRestart kills ejabberd while the network keeps talking and
// restarts it: the component is back within 2 seconds of ejabberd being
// ready, and every message from the outage reaches the user, through
// ejabberd's offline storage, when she logs in again.
func TestEjabberdRestart(t *testing.T) {
	t.Parallel()
	l := startEjabberdLive(t, "s3cret")
	l.waitConnected()
	ctx := bounded(t)
	c := l.client("alice")
	l.register(ctx, c)
	emit := func(i int) {
		t.Helper()
		ev := bridge.MessageEvent{Chat: bridge.ChatRef{Peer: "carol"}, Sender: "carol", ID: bridge.MessageID(fmt.Sprint("m", i)), Text: fmt.Sprint("msg ", i)}
		if err := l.tr.Emit(ctx, "acct-alice", ev); err != nil {
			t.Fatal(err)
		}
	}
	const before, during, after = 5, 30, 5
	for i := range before {
		emit(i)
	}
	l.e.Kill()
	for i := before; i < before+during; i++ {
		emit(i)
	}
	l.e.Restart(t)
	ready := time.Now()
	l.waitConnected()
	back := time.Since(ready)
	t.Logf("component back %v after ejabberd was ready", back)
	if back > 2*time.Second {
		t.Errorf("component took %v to come back, want ≤ 2s", back)
	}
	for i := before + during; i < before+during+after; i++ {
		emit(i)
	}
	// Alice logs in again and becomes available: ejabberd hands her what
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
