package twilio

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/xgate-im/xgate/transports/sms/provider"
	"github.com/xgate-im/xgate/transports/sms/smsfake"
)

var (
	contractOnce sync.Once
	contract     *smsfake.Contract
	contractErr  error
)

// loadContract loads Twilio's official API description once.
func loadContract(t *testing.T) *smsfake.Contract {
	t.Helper()
	contractOnce.Do(func() {
		path, err := smsfake.FindSpec(".")
		if err != nil {
			contractErr = err
			return
		}
		contract, contractErr = smsfake.LoadContract(path)
	})
	if contractErr != nil {
		t.Fatal(contractErr)
	}
	return contract
}

// recorder is a provider.Sink keeping what it receives.
type recorder struct {
	mu      sync.Mutex
	fail    bool
	inbound chan provider.Inbound
	reports chan provider.DeliveryReport
}

func newRecorder() *recorder {
	return &recorder{inbound: make(chan provider.Inbound, 100), reports: make(chan provider.DeliveryReport, 100)}
}

func (r *recorder) setFail(v bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.fail = v
}

func (r *recorder) failing() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.fail
}

func (r *recorder) Inbound(_ context.Context, m provider.Inbound) error {
	if r.failing() {
		return errors.New("store down")
	}
	r.inbound <- m
	return nil
}

func (r *recorder) DeliveryReport(_ context.Context, d provider.DeliveryReport) error {
	if r.failing() {
		return errors.New("store down")
	}
	r.reports <- d
	return nil
}

func (r *recorder) nextReport(t *testing.T) provider.DeliveryReport {
	t.Helper()
	select {
	case d := <-r.reports:
		return d
	case <-time.After(10 * time.Second):
		t.Fatal("no delivery report")
	}
	return provider.DeliveryReport{}
}

func (r *recorder) nextInbound(t *testing.T) provider.Inbound {
	t.Helper()
	select {
	case m := <-r.inbound:
		return m
	case <-time.After(10 * time.Second):
		t.Fatal("no inbound message")
	}
	return provider.Inbound{}
}

// env is a Provider talking to a contract-checked fake, with its webhook
// mounted under /hook on a server the fake calls.
type env struct {
	fake *smsfake.Server
	p    *Provider
	rec  *recorder
	hook *httptest.Server
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{rec: newRecorder()}
	var handler http.Handler
	e.hook = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.StripPrefix("/hook", handler).ServeHTTP(w, r)
	}))
	t.Cleanup(e.hook.Close)
	fake, err := smsfake.Start(smsfake.Options{InboundURL: e.hook.URL + "/hook/inbound", Contract: loadContract(t)})
	if err != nil {
		t.Fatal(err)
	}
	e.fake = fake
	t.Cleanup(func() {
		fake.Close()
		for _, v := range fake.Violations() {
			t.Errorf("request violates Twilio's API description: %s", v)
		}
	})
	e.p, err = New(Config{AccountSID: fake.AccountSID(), AuthToken: fake.AuthToken(), BaseURL: fake.URL(), PublicURL: e.hook.URL + "/hook"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	handler = e.p.Webhook(e.rec)
	return e
}
