package sms

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/xgate-im/xgate/bridge"
	"github.com/xgate-im/xgate/transports/sms/smsfake"
	"github.com/xgate-im/xgate/transports/sms/twilio"
)

// testMux mounts a transport's webhooks under /sms/ as the bridge's
// Webhooks does under /NAME/.
type testMux struct{ mux *http.ServeMux }

func (m testMux) Handle(pattern string, h http.Handler) {
	method, path, ok := strings.Cut(pattern, " ")
	if !ok {
		method, path = "", pattern
	}
	full := "/sms/" + strings.TrimPrefix(path, "/")
	if method != "" {
		full = method + " " + full
	}
	m.mux.Handle(full, http.StripPrefix("/sms", h))
}

// serve mounts tr's webhooks on a loopback server, runs tr until the test
// ends and returns the server's URL.
func serve(t *testing.T, tr *Transport) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = tr.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
}

// listener returns a loopback server whose handler is set later, so that
// its URL can go into the transport's configuration.
func listener(t *testing.T) (*httptest.Server, *http.ServeMux) {
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv, mux
}

// benchListener is listener for benchmarks.
func benchListener(b *testing.B) (string, *http.ServeMux) {
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	b.Cleanup(srv.Close)
	return srv.URL, mux
}

// bounded returns a context ending with the test or after d.
func bounded(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), d)
	t.Cleanup(cancel)
	return ctx
}

func testLog(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(b)))
	return len(b), nil
}

// phoneSim plays a provider posting signed Twilio webhooks to the
// transport, and sends again what was not answered 2xx, as a provider
// retrying would.
type phoneSim struct {
	t     *testing.T
	token string
	mu    sync.Mutex
	inFly map[string]context.CancelFunc // by MessageSid
	wg    sync.WaitGroup
	cl    *http.Client
}

func newPhoneSim(t *testing.T, token string) *phoneSim {
	p := &phoneSim{t: t, token: token, inFly: map[string]context.CancelFunc{}, cl: &http.Client{}}
	t.Cleanup(func() {
		p.mu.Lock()
		for _, c := range p.inFly {
			c()
		}
		p.mu.Unlock()
		p.wg.Wait()
	})
	return p
}

func newSID(prefix string) string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// post signs and posts form to u once, returning the status.
func (p *phoneSim) post(ctx context.Context, u string, form url.Values) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, strings.NewReader(form.Encode()))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Twilio-Signature", twilio.Signature(p.token, u, form))
	resp, err := p.cl.Do(req)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

// deliver posts form to u in the background until it is answered 2xx or
// the test ends; Interrupt makes it start over.
func (p *phoneSim) deliver(u string, form url.Values) {
	sid := form.Get("MessageSid")
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			ctx, cancel := context.WithCancel(p.t.Context())
			p.mu.Lock()
			p.inFly[sid] = cancel
			p.mu.Unlock()
			st, _ := p.post(ctx, u, form)
			cancel()
			if st/100 == 2 {
				p.mu.Lock()
				delete(p.inFly, sid)
				p.mu.Unlock()
				return
			}
			select {
			case <-p.t.Context().Done():
				return
			case <-time.After(50 * time.Millisecond): // the provider's retry delay
			}
		}
	}()
}

func (p *phoneSim) pending() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.inFly)
}

// interrupt breaks the connections of the webhooks in flight.
func (p *phoneSim) interrupt() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.inFly {
		c()
	}
}

// fakeWorld is an SMS transport whose user registered their own account
// at smsfake.
type fakeWorld struct {
	t      *testing.T
	fake   *smsfake.Server
	tr     *Transport
	srv    *httptest.Server
	sim    *phoneSim
	number string // the user's number
	peer   string
}

func newFakeWorld(t *testing.T, opts smsfake.Options) *fakeWorld {
	t.Helper()
	srv, mux := listener(t)
	if spec, err := smsfake.FindSpec("."); err == nil && opts.Contract == nil {
		c, err := smsfake.LoadContract(spec)
		if err != nil {
			t.Fatal(err)
		}
		opts.Contract = c
	}
	fake, err := smsfake.Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		fake.Close()
		if v := fake.Violations(); len(v) > 0 {
			t.Errorf("requests departing from Twilio's API description: %q", v)
		}
	})
	tr, err := New(Config{
		DefaultRegion: "US", PublicURL: srv.URL + "/sms", UserCredentials: true, TwilioBaseURL: fake.URL(),
	}, testLog(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	tr.MountWebhooks(testMux{mux})
	serve(t, tr)
	return &fakeWorld{t: t, fake: fake, tr: tr, srv: srv, sim: newPhoneSim(t, fake.AuthToken()),
		number: "+12025550111", peer: "+12025550122"}
}

// hook returns the webhook path segment of the one registered account.
func (w *fakeWorld) hook() string {
	w.tr.hmu.Lock()
	defer w.tr.hmu.Unlock()
	for h := range w.tr.hooks {
		return h
	}
	w.t.Fatal("no account logged in")
	return ""
}

// inbound posts a text from the peer (or from) to the user's number.
func (w *fakeWorld) inbound(from, text string, extra url.Values) string {
	sid := newSID("SM")
	form := url.Values{"MessageSid": {sid}, "AccountSid": {w.fake.AccountSID()}, "From": {from}, "To": {w.number},
		"Body": {text}, "NumMedia": {"0"}}
	for k, v := range extra {
		form[k] = v
	}
	w.sim.deliver(w.srv.URL+"/sms/a/"+w.hook()+"/inbound", form)
	return sid
}

func (w *fakeWorld) Credentials() map[string]string {
	return map[string]string{"number": "(202) 555-0111", "account_sid": w.fake.AccountSID(), "auth_token": w.fake.AuthToken(), "contacts": w.peer}
}

func (w *fakeWorld) BadCredentials() map[string]string {
	// Well formed: the provider itself refuses them at registration.
	return map[string]string{"number": "+12025550111", "account_sid": w.fake.AccountSID(), "auth_token": "not-the-auth-token-0123"}
}

func (w *fakeWorld) Peer() bridge.UserID { return bridge.UserID(w.peer) }

func (w *fakeWorld) PeerSays(_ *testing.T, text string) bridge.MessageID {
	return bridge.MessageID(w.inbound(w.peer, text, nil))
}

func (w *fakeWorld) PeerEdits(*testing.T, bridge.MessageID, string) { w.t.Fatal("SMS has no edits") }
func (w *fakeWorld) PeerRetracts(*testing.T, bridge.MessageID)      { w.t.Fatal("SMS has no retractions") }
func (w *fakeWorld) PeerReacts(*testing.T, bridge.MessageID)        { w.t.Fatal("SMS has no reactions") }

func (w *fakeWorld) Message(_ *testing.T, id bridge.MessageID) (string, bool) {
	for _, m := range w.fake.Messages() {
		if m.SID == string(id) {
			return m.Body, true
		}
	}
	return "", false
}

func (w *fakeWorld) Reactions(*testing.T, bridge.MessageID) int { return 0 }

func (w *fakeWorld) Texts(*testing.T) []string {
	var out []string
	for _, m := range w.fake.Messages() {
		if m.To == w.peer {
			out = append(out, m.Body)
		}
	}
	return out
}

func (w *fakeWorld) RateLimit(*testing.T) { w.fake.FailNext(smsfake.RateLimited) }

func (w *fakeWorld) Unacknowledged(*testing.T) int { return w.sim.pending() }

func (w *fakeWorld) WaitAcknowledged(t *testing.T) {
	t.Helper()
	ctx := bounded(t, 10*time.Second)
	for w.sim.pending() > 0 {
		select {
		case <-ctx.Done():
			t.Fatalf("%d webhooks never answered 2xx", w.sim.pending())
		case <-time.After(10 * time.Millisecond): // polling the simulated provider's state
		}
	}
}

func (w *fakeWorld) Interrupt(*testing.T) { w.sim.interrupt() }

func (w *fakeWorld) Revoke(*testing.T) {
	w.fake.FailNext(smsfake.Fault{Status: 401, Code: 20003, Message: "Authenticate"})
}
