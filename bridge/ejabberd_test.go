package bridge_test

import (
	"testing"
	"time"

	"github.com/xgate-im/xgate/bridge"
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

var _ hostServer = (*ejabberdtest.Server)(nil)

// ejabberdHost is ejabberd, with ejabberdtest. It starts more slowly than
// Prosody, and more so on a loaded machine: the gateway gets more time.
var ejabberdHost = host{name: "ejabberd", patience: 15 * time.Second, start: func(t *testing.T) hostServer {
	return ejabberdtest.Start(t, ejabberdtest.Options{
		Components: []ejabberdtest.Component{{Domain: gwDomain, Secret: "s3cret"}},
		Users:      map[string]string{"alice": "pw", "bob": "pw"},
	})
}}

// startEjabberdLive runs a gateway against a new ejabberd; see
// startLiveOn.
func startEjabberdLive(t *testing.T, secret string) *live {
	return startLiveOn(t, ejabberdHost, secret)
}

func TestEjabberdWrongSecretFailsClearly(t *testing.T) {
	t.Parallel()
	testWrongSecret(t, ejabberdHost)
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
	testRestartUnderTraffic(t, ejabberdHost)
}
