package sms

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/xgate-im/xgate/bridge"
	"github.com/xgate-im/xgate/store"
	"github.com/xgate-im/xgate/transports/sms/kannel/kanneltest"
	"github.com/xgate-im/xgate/transports/sms/smsfake"
	"github.com/xgate-im/xgate/xmpp"
	"github.com/xgate-im/xgate/xmpp/jid"
	"github.com/xgate-im/xgate/xmpp/prosodytest"
)

const gwDomain = "sms.localhost"

// e2e is a gateway with the SMS transport on a real Prosody, its webhooks
// on a loopback listener, and alice@localhost owning assignedNumber.
type e2e struct {
	t     *testing.T
	p     *prosodytest.Server
	alice *prosodytest.Client
}

// webhookServer serves a bridge.Webhooks on loopback; its URL goes into
// the transport's configuration before the gateway mounts anything.
func webhookServer(t *testing.T) (*bridge.Webhooks, string) {
	hooks := bridge.NewWebhooks()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hooks.ServeHTTP(w, r) }))
	t.Cleanup(srv.Close)
	return hooks, srv.URL + "/sms"
}

func startE2E(t *testing.T, hooks *bridge.Webhooks, cfg Config) *e2e {
	t.Helper()
	p := startProsody(t)
	startGateway(t, p, filepath.Join(t.TempDir(), "xgate.db"), hooks, cfg)
	dctx, dcancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer dcancel()
	alice := prosodytest.Dial(dctx, t, p.C2SAddr(), "alice", "localhost", "pw")
	alice.Send(&xmpp.Presence{})
	return &e2e{t: t, p: p, alice: alice}
}

// startProsody starts a Prosody with the gateway's component and the
// users alice and admin (the gateway's administrator).
func startProsody(t *testing.T) *prosodytest.Server {
	return prosodytest.Start(t, prosodytest.Options{
		Components: []prosodytest.Component{{Domain: gwDomain, Secret: "s3cret"}},
		Users:      map[string]string{"alice": "pw", "admin": "pw"},
	})
}

// startGateway runs a gateway with the SMS transport of cfg on the store
// at dbPath until the returned stop is called (or the test ends), and
// returns once its component is connected.
func startGateway(t *testing.T, p *prosodytest.Server, dbPath string, hooks *bridge.Webhooks, cfg Config) (*Transport, func()) {
	t.Helper()
	key, err := store.ParseKey([]byte(strings.Repeat("5a", 32)))
	if err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(dbPath, store.Options{Key: key})
	if err != nil {
		t.Fatal(err)
	}
	tr, err := New(cfg, testLog(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, as := range tr.Assignments() {
		if err := bridge.Provision(db, "sms", jid.MustParse(as.User), as.Account); err != nil {
			t.Fatal(err)
		}
	}
	states := make(chan xmpp.State, 64)
	gw, err := bridge.New(bridge.Config{
		Name: "sms",
		Component: xmpp.ComponentConfig{Addr: p.ComponentAddr(), Domain: gwDomain, Secret: "s3cret",
			OnState: func(s xmpp.State, _ error) {
				select {
				case states <- s:
				default:
				}
			}},
		Access:    bridge.Access{Allow: []string{"localhost"}, Admins: []string{"admin@localhost"}},
		RetryBase: 10 * time.Millisecond,
		Webhooks:  hooks,
	}, tr, db, testLog(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- gw.Run(ctx) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("gateway: %v", err)
				}
			case <-time.After(15 * time.Second):
				t.Error("gateway did not stop")
			}
			db.Close()
		})
	}
	t.Cleanup(stop)
	timeout := time.After(15 * time.Second)
	for connected := false; !connected; {
		select {
		case s := <-states:
			connected = s == xmpp.StateConnected
		case err := <-done:
			t.Fatalf("gateway stopped: %v", err)
		case <-timeout:
			t.Fatal("component never connected")
		}
	}
	return tr, stop
}

// resolve asks the gateway (XEP-0100) for the JID of a typed number.
func (e *e2e) resolve(ctx context.Context, typed string) (*xmpp.IQ, error) {
	q := xmpp.NewElement(bridge.NSGatewayIQ, "query").Append(xmpp.TextElement("", "prompt", typed))
	return e.alice.Request(ctx, &xmpp.IQ{Header: xmpp.Header{To: jid.MustParse(gwDomain), Type: xmpp.IQSet}, Payload: q})
}

// send sends a chat message asking for a receipt.
func (e *e2e) send(to jid.JID, id, body string) {
	e.alice.Send(&xmpp.Message{Header: xmpp.Header{To: to, Type: xmpp.MessageChat, ID: id}, Body: body,
		Extra: []*xmpp.Element{xmpp.NewElement(bridge.NSReceipts, "request")}})
}

func (e *e2e) expectBody(ctx context.Context, from jid.JID, body string) {
	e.t.Helper()
	if _, err := e.alice.Expect(ctx, func(s xmpp.Stanza) bool {
		m, ok := s.(*xmpp.Message)
		return ok && m.From.Bare() == from && m.Body == body
	}); err != nil {
		e.t.Fatalf("no message %q from %s: %v", body, from, err)
	}
}

func (e *e2e) expectReceipt(ctx context.Context, id string) {
	e.t.Helper()
	if _, err := e.alice.Expect(ctx, func(s xmpp.Stanza) bool {
		m, ok := s.(*xmpp.Message)
		if !ok {
			return false
		}
		for _, x := range m.Extra {
			if x.Name.Space == bridge.NSReceipts && x.Name.Local == "received" && x.AttrValue("id") == id {
				return true
			}
		}
		return false
	}); err != nil {
		e.t.Fatalf("no receipt for %s: %v", id, err)
	}
}

func TestEndToEndSMSFake(t *testing.T) {
	hooks, public := webhookServer(t)
	fake, err := smsfake.Start(smsfake.Options{InboundURL: public + "/p/" + testToken + "/inbound"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fake.Close() })
	e := startE2E(t, hooks, Config{
		Provider: KindTwilio, DefaultRegion: "US", PublicURL: public, WebhookToken: testToken,
		TwilioBaseURL: fake.URL(), TwilioAccountSID: fake.AccountSID(), TwilioAuthToken: fake.AuthToken(),
		Numbers: []NumberConfig{{Number: assignedNumber, User: "alice@localhost"}},
	})
	ctx := bounded(t, 60*time.Second)

	// XEP-0100: a typed number becomes the contact's JID; an impossible one
	// is refused with the reason.
	res, err := e.resolve(ctx, "(202) 555-0122")
	if err != nil || res.Payload.ChildText("", "jid") != peerNumber+"@"+gwDomain {
		t.Fatalf("resolve: %v %v", res, err)
	}
	if res, err := e.resolve(ctx, "911"); err != nil || res.Type != xmpp.IQError || res.Error == nil ||
		res.Error.Condition != xmpp.CondNotAcceptable || !strings.Contains(res.Error.Text, "emergency") {
		t.Errorf("resolve 911: %+v %v", res, err)
	}
	peer := jid.MustParse(peerNumber + "@" + gwDomain)

	// XMPP → SMS, with a receipt.
	e.send(peer, "m1", "hello from xmpp ☺")
	msgs, err := fake.WaitMessages(ctx, 1)
	if err != nil || msgs[0].Body != "hello from xmpp ☺" || msgs[0].From != assignedNumber || msgs[0].To != peerNumber {
		t.Fatalf("on the network: %+v %v", msgs, err)
	}
	e.expectReceipt(ctx, "m1")

	// SMS → XMPP.
	if _, _, err := fake.SendInbound(ctx, smsfake.Inbound{From: peerNumber, To: assignedNumber, Body: "hi from a phone"}); err != nil {
		t.Fatal(err)
	}
	e.expectBody(ctx, peer, "hi from a phone")

	// A number's JID never resolved nor seen is not known to the gateway.
	e.send(jid.MustParse("+12025550155@"+gwDomain), "m3", "hello?")
	if _, err := e.alice.Expect(ctx, func(s xmpp.Stanza) bool {
		m, ok := s.(*xmpp.Message)
		return ok && m.ID == "m3" && m.Type == xmpp.MessageError && m.Error != nil && m.Error.Condition == xmpp.CondItemNotFound
	}); err != nil {
		t.Fatalf("no item-not-found for an unknown contact: %v", err)
	}

	// A recipient who texted STOP: the message bounces with the reason.
	fake.FailTo("+12025550144", smsfake.OptedOut)
	res, err = e.resolve(ctx, "+1 202 555 0144")
	if err != nil {
		t.Fatal(err)
	}
	stopped := jid.MustParse(res.Payload.ChildText("", "jid"))
	e.send(stopped, "m2", "are you there?")
	if _, err := e.alice.Expect(ctx, func(s xmpp.Stanza) bool {
		m, ok := s.(*xmpp.Message)
		return ok && m.ID == "m2" && m.Type == xmpp.MessageError && m.Error != nil && strings.Contains(m.Error.Text, "21610")
	}); err != nil {
		t.Fatalf("no bounce with the provider's reason: %v", err)
	}

	// A text the provider accepted and then could not deliver: the
	// delivery report becomes an error on the message, addressed to the
	// client that sent it (Prosody drops message errors to a bare JID).
	fake.FailDelivery("+12025550166", 30007)
	res, err = e.resolve(ctx, "+1 202 555 0166")
	if err != nil {
		t.Fatal(err)
	}
	filtered := jid.MustParse(res.Payload.ChildText("", "jid"))
	e.send(filtered, "m4", "filtered?")
	if _, err := e.alice.Expect(ctx, func(s xmpp.Stanza) bool {
		m, ok := s.(*xmpp.Message)
		return ok && m.ID == "m4" && m.Type == xmpp.MessageError && m.From == filtered && m.Error != nil && strings.Contains(m.Error.Text, "30007")
	}); err != nil {
		t.Fatalf("no late failure on the message: %v", err)
	}
}

func TestEndToEndKannel(t *testing.T) {
	hooks, public := webhookServer(t)
	const secret = "kannel-callback-secret-0123"
	k := kanneltest.Start(t, kanneltest.Options{
		MOURL: public + "/p/" + testToken + "/mo?secret=" + secret + "&id=%I&from=%p&to=%P&ts=%T&coding=%c&charset=%C&text=%a",
	})
	e := startE2E(t, hooks, Config{
		Provider: KindKannel, DefaultRegion: "US", PublicURL: public, WebhookToken: testToken,
		KannelSendSMSURL: k.SendSMSURL(), KannelUsername: kanneltest.Username, KannelPassword: kanneltest.Password,
		KannelSecret: secret,
		Numbers:      []NumberConfig{{Number: assignedNumber, User: "alice@localhost", Contacts: []string{peerNumber}}},
	})
	ctx := bounded(t, 60*time.Second)
	peer := jid.MustParse(peerNumber + "@" + gwDomain)
	if res, err := e.resolve(ctx, peerNumber); err != nil || res.Payload.ChildText("", "jid") != peer.String() {
		t.Fatalf("resolve: %v %v", res, err)
	}

	// A long Unicode text goes out in concatenated UCS-2 parts.
	long := strings.Repeat("Grüße aus Köln, ☕ ", 8) // 144 characters, UCS-2: 3 parts
	e.send(peer, "k1", long)
	var got []byte
	for range 3 {
		m, err := k.NextMT(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if m.To != peerNumber && m.To != strings.TrimPrefix(peerNumber, "+") {
			t.Errorf("sent to %q", m.To)
		}
		got = append(got, m.Data...)
	}
	if s := utf16BE(got); s != long {
		t.Errorf("phone got %q", s)
	}
	// The receipt comes from Kannel's delivery reports (every part
	// delivered), not when Kannel accepted the text.
	e.expectReceipt(ctx, "k1")

	// Kannel carries no MMS: a XEP-0066 link stays in the text.
	e.alice.Send(&xmpp.Message{Header: xmpp.Header{To: peer, Type: xmpp.MessageChat, ID: "k2"}, Body: "a picture",
		Extra: []*xmpp.Element{xmpp.NewElement(bridge.NSOOB, "x").Append(xmpp.TextElement("", "url", "https://up.example.org/p.jpg"))}})
	m, err := k.NextMT(ctx)
	if err != nil || string(m.Data) != "a picture https://up.example.org/p.jpg" {
		t.Errorf("phone got %q (%v)", m.Data, err)
	}

	// A text from a phone.
	if err := k.SendMO(peerNumber, assignedNumber, "hello gateway"); err != nil {
		t.Fatal(err)
	}
	e.expectBody(ctx, peer, "hello gateway")
}

// utf16BE decodes big-endian UTF-16.
func utf16BE(b []byte) string {
	var rs []rune
	for i := 0; i+1 < len(b); i += 2 {
		u := rune(b[i])<<8 | rune(b[i+1])
		if u >= 0xD800 && u < 0xDC00 && i+3 < len(b) {
			l := rune(b[i+2])<<8 | rune(b[i+3])
			rs = append(rs, 0x10000+(u-0xD800)<<10+(l-0xDC00))
			i += 2
			continue
		}
		rs = append(rs, u)
	}
	return string(rs)
}

// TestEndToEndKannelRestart: texts sent while Kannel is down wait in the
// gateway's durable queue and all reach the phone, in order, once it is
// back.
func TestEndToEndKannelRestart(t *testing.T) {
	hooks, public := webhookServer(t)
	const secret = "kannel-callback-secret-0123"
	k := kanneltest.Start(t, kanneltest.Options{
		MOURL: public + "/p/" + testToken + "/mo?secret=" + secret + "&id=%I&from=%p&to=%P&ts=%T&coding=%c&charset=%C&text=%a",
	})
	e := startE2E(t, hooks, Config{
		Provider: KindKannel, DefaultRegion: "US", PublicURL: public, WebhookToken: testToken,
		KannelSendSMSURL: k.SendSMSURL(), KannelUsername: kanneltest.Username, KannelPassword: kanneltest.Password,
		KannelSecret: secret, SendRate: 100, SendBurst: 100,
		Numbers: []NumberConfig{{Number: assignedNumber, User: "alice@localhost", Contacts: []string{peerNumber}}},
	})
	ctx := bounded(t, 60*time.Second)
	peer := jid.MustParse(peerNumber + "@" + gwDomain)
	if _, err := e.resolve(ctx, peerNumber); err != nil {
		t.Fatal(err)
	}
	e.send(peer, "before", "before")
	if m, err := k.NextMT(ctx); err != nil || string(m.Data) != "before" {
		t.Fatalf("%q %v", m.Data, err)
	}
	// Its delivery report came back: the gateway had Kannel's answer.
	// (Stopped before that answer, Kannel leaves the send undecided and
	// the gateway sends the text again after the restart: at least once.)
	e.expectReceipt(ctx, "before")
	k.Stop()
	const n = 5
	for i := range n {
		e.send(peer, fmt.Sprintf("r%d", i), fmt.Sprintf("during %d", i))
	}
	if err := k.Restart(ctx); err != nil {
		logs, _ := filepath.Glob(filepath.Join(k.Dir(), "*.log"))
		for _, l := range logs {
			b, _ := os.ReadFile(l)
			t.Logf("%s:\n%s", l, b[max(0, len(b)-3000):])
		}
		t.Fatal(err)
	}
	for i := range n {
		m, err := k.NextMT(ctx)
		if err != nil {
			t.Fatalf("text %d never reached the phone: %v", i, err)
		}
		if want := fmt.Sprintf("during %d", i); string(m.Data) != want {
			t.Errorf("phone got %q, want %q", m.Data, want)
		}
	}
	for i := range n {
		e.expectReceipt(ctx, fmt.Sprintf("r%d", i))
	}
}
