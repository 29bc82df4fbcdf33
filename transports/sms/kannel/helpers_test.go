package kannel

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/xgate-im/xgate/transports/sms/provider"
)

const testSecret = "0123456789abcdef-secret"

// hookServer serves p's webhook under /hook like the bridge would.
func hookServer(t *testing.T, p *Provider, sink provider.Sink) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	mux.Handle("/hook/", http.StripPrefix("/hook", p.Webhook(sink)))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}
