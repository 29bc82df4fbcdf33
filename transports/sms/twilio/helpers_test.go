package twilio

import (
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/xgate-im/xgate/transports/sms/provider/providertest"
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

// env is a Provider talking to a contract-checked fake, with its webhook
// mounted under /hook on a server the fake calls.
type env struct {
	fake *smsfake.Server
	p    *Provider
	rec  *providertest.Sink
	hook *httptest.Server
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{rec: providertest.NewSink()}
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
