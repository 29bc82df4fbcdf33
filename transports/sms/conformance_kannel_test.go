package sms

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/xgate-im/xgate/bridge"
	"github.com/xgate-im/xgate/bridge/bridgetest"
	"github.com/xgate-im/xgate/transports/sms/kannel/kanneltest"
)

// kannelHarness runs the bridge's conformance suite against a real Kannel
// (bearerbox + smsbox, the test playing its SMS centre), with an assigned
// number.
type kannelHarness struct{}

func (kannelHarness) Start(t *testing.T) (bridge.Transport, bridgetest.World) {
	w := newKannelWorld(t)
	return assignedOnly{w.tr}, w
}

func TestConformanceKannel(t *testing.T) { bridgetest.RunConformance(t, kannelHarness{}) }

// assignedOnly registers an assigned number as the gateway provisions it
// (Assignments), so that the suite's registration reaches the account an
// administrator gave the user: Kannel numbers are never registered with
// credentials.
type assignedOnly struct{ *Transport }

func (a assignedOnly) Register(_ context.Context, values map[string]string) (bridge.AccountData, error) {
	num, err := a.s.norm.Normalize(values["number"])
	if err != nil {
		return bridge.AccountData{}, fmt.Errorf("%w: %v", bridge.ErrInvalidInput, err)
	}
	if _, ok := a.assignment(num); !ok {
		return bridge.AccountData{}, fmt.Errorf("%w: %s is not assigned", bridge.ErrInvalidInput, num)
	}
	return a.assignedAccount(num), nil
}

// kannelWorld is a real Kannel between the transport and the test's SMS
// centre. Two loopback proxies watch the wire: one between smsbox and the
// transport's callbacks (what Kannel delivered and had acknowledged, and
// an interrupted connection), one between the transport and sendsms (what
// Kannel accepted, and credentials revoked at Kannel's door).
type kannelWorld struct {
	t   *testing.T
	k   *kanneltest.Kannel
	tr  *Transport
	hub *moProxy
	out *sendProxy
}

const kannelSecret = "kannel-callback-secret-0123"

func newKannelWorld(t *testing.T) *kannelWorld {
	t.Helper()
	srv, mux := listener(t)
	hub := &moProxy{target: srv.URL + "/sms/p/" + testToken, seen: map[string]string{}, pending: map[string]bool{},
		cancels: map[*http.Request]context.CancelFunc{}, changed: make(chan struct{})}
	mo := httptest.NewServer(hub)
	t.Cleanup(mo.Close)
	k := kanneltest.Start(t, kanneltest.Options{
		MOURL: mo.URL + "/mo?secret=" + kannelSecret + "&id=%I&from=%p&to=%P&ts=%T&coding=%c&charset=%C&text=%a",
	})
	out := &sendProxy{target: k.SendSMSURL(), texts: map[string]string{}}
	sendsms := httptest.NewServer(out)
	t.Cleanup(sendsms.Close)
	tr, err := New(Config{
		Provider: KindKannel, DefaultRegion: "US", PublicURL: srv.URL + "/sms", WebhookToken: testToken,
		KannelSendSMSURL: sendsms.URL + "/cgi-bin/sendsms", KannelUsername: kanneltest.Username,
		KannelPassword: kanneltest.Password, KannelSecret: kannelSecret, SendRate: 100, SendBurst: 100,
		Numbers: []NumberConfig{{Number: assignedNumber, User: "alice@example.org", Contacts: []string{peerNumber}}},
	}, testLog(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	tr.MountWebhooks(testMux{mux})
	serve(t, tr)
	return &kannelWorld{t: t, k: k, tr: tr, hub: hub, out: out}
}

func (w *kannelWorld) Credentials() map[string]string {
	return map[string]string{"number": assignedNumber}
}

func (w *kannelWorld) BadCredentials() map[string]string {
	return map[string]string{"number": "+12025550199"}
}

func (w *kannelWorld) Peer() bridge.UserID { return bridge.UserID(peerNumber) }

// PeerSays texts from the peer's phone through Kannel and returns the ID
// Kannel gave the text (its %I), as its callback carries it.
func (w *kannelWorld) PeerSays(t *testing.T, text string) bridge.MessageID {
	t.Helper()
	if err := w.k.SendMO(peerNumber, assignedNumber, text); err != nil {
		t.Fatal(err)
	}
	id, err := w.hub.waitText(bounded(t, 20*time.Second), text)
	if err != nil {
		t.Fatalf("Kannel never called back with %q: %v", text, err)
	}
	return bridge.MessageID(id)
}

func (w *kannelWorld) PeerEdits(*testing.T, bridge.MessageID, string) { w.t.Fatal("SMS has no edits") }
func (w *kannelWorld) PeerRetracts(*testing.T, bridge.MessageID)      { w.t.Fatal("SMS has no retractions") }
func (w *kannelWorld) PeerReacts(*testing.T, bridge.MessageID)        { w.t.Fatal("SMS has no reactions") }

func (w *kannelWorld) Message(_ *testing.T, id bridge.MessageID) (string, bool) {
	w.out.mu.Lock()
	defer w.out.mu.Unlock()
	text, ok := w.out.texts[string(id)]
	return text, ok
}

func (w *kannelWorld) Reactions(*testing.T, bridge.MessageID) int { return 0 }

func (w *kannelWorld) Texts(*testing.T) []string {
	w.out.mu.Lock()
	defer w.out.mu.Unlock()
	return append([]string(nil), w.out.order...)
}

func (w *kannelWorld) NoRateLimits() string {
	return "Kannel's sendsms never answers with a rate limit: the transport paces each number itself (send_rate)"
}

func (w *kannelWorld) RateLimit(t *testing.T) { t.Fatal("Kannel has no rate limits") }

func (w *kannelWorld) Unacknowledged(*testing.T) int { return w.hub.unacknowledged() }

func (w *kannelWorld) WaitAcknowledged(t *testing.T) {
	t.Helper()
	if err := w.hub.waitAcknowledged(bounded(t, 20*time.Second)); err != nil {
		t.Fatalf("%d callbacks never answered 2xx: %v", w.hub.unacknowledged(), err)
	}
}

// Interrupt breaks the callbacks in flight: Kannel gets a 503 and sends
// them again (http-request-retry).
func (w *kannelWorld) Interrupt(*testing.T) { w.hub.interrupt() }

// Revoke makes Kannel refuse the transport's sendsms credentials from now
// on: the proxy passes a password Kannel does not know, and Kannel answers
// as it does for a wrong password.
func (w *kannelWorld) Revoke(*testing.T) {
	w.out.mu.Lock()
	w.out.revoked = true
	w.out.mu.Unlock()
}

// moProxy passes smsbox's callbacks to the transport and keeps, by
// Kannel's message ID, what it saw and what is not answered 2xx yet.
type moProxy struct {
	target string

	mu      sync.Mutex
	seen    map[string]string // text by Kannel ID
	pending map[string]bool   // IDs not yet answered 2xx
	cancels map[*http.Request]context.CancelFunc
	changed chan struct{}
}

func (p *moProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	id, text := r.URL.Query().Get("id"), r.URL.Query().Get("text")
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	p.mu.Lock()
	p.seen[id] = text
	p.pending[id] = true
	p.cancels[r] = cancel
	p.notifyLocked()
	p.mu.Unlock()
	status := p.forward(ctx, r)
	p.mu.Lock()
	delete(p.cancels, r)
	if status/100 == 2 {
		delete(p.pending, id)
	}
	p.notifyLocked()
	p.mu.Unlock()
	w.WriteHeader(status)
}

// forward calls the transport's callback with smsbox's request; an
// interrupted call is answered 503.
func (p *moProxy) forward(ctx context.Context, r *http.Request) int {
	req, err := http.NewRequestWithContext(ctx, r.Method, p.target+r.URL.Path+"?"+r.URL.RawQuery, r.Body)
	if err != nil {
		return http.StatusBadGateway
	}
	req.Header = r.Header.Clone()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return http.StatusServiceUnavailable
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}

func (p *moProxy) notifyLocked() {
	close(p.changed)
	p.changed = make(chan struct{})
}

func (p *moProxy) interrupt() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.cancels {
		c()
	}
}

func (p *moProxy) unacknowledged() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.pending)
}

// waitFor waits until cond (called under p.mu) holds.
func (p *moProxy) waitFor(ctx context.Context, cond func() bool) error {
	for {
		p.mu.Lock()
		ok, ch := cond(), p.changed
		p.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-ch:
		}
	}
}

func (p *moProxy) waitText(ctx context.Context, text string) (string, error) {
	var id string
	err := p.waitFor(ctx, func() bool {
		for k, v := range p.seen {
			if v == text {
				id = k
				return true
			}
		}
		return false
	})
	return id, err
}

func (p *moProxy) waitAcknowledged(ctx context.Context) error {
	return p.waitFor(ctx, func() bool { return len(p.pending) == 0 })
}

// sendProxy passes the transport's sendsms requests to smsbox and keeps
// the texts smsbox accepted, by the ID their dlr-url carries.
type sendProxy struct {
	target string

	mu      sync.Mutex
	texts   map[string]string
	order   []string
	revoked bool
}

func (p *sendProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	req, err := http.NewRequestWithContext(r.Context(), r.Method, p.target, strings.NewReader(string(body)))
	if err != nil {
		w.WriteHeader(http.StatusBadGateway)
		return
	}
	req.Header = r.Header.Clone()
	p.mu.Lock()
	if p.revoked {
		req.Header.Set("X-Kannel-Password", "revoked-"+kanneltest.Password)
	}
	p.mu.Unlock()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		w.WriteHeader(http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 == 2 {
		id := ""
		if u, err := url.Parse(r.Header.Get("X-Kannel-DLR-Url")); err == nil {
			id = u.Query().Get("id")
		}
		p.mu.Lock()
		p.texts[id] = string(body)
		p.order = append(p.order, string(body))
		p.mu.Unlock()
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = w.Write(answer)
}
