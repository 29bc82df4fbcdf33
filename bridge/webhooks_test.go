package bridge_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/xgate-im/xgate/bridge"
	"github.com/xgate-im/xgate/bridge/bridgetest"
	"github.com/xgate-im/xgate/xmpp"
)

// hookNet is the fake network receiving its events over HTTP.
type hookNet struct{ *bridgetest.Transport }

func (hookNet) MountWebhooks(m bridge.WebhookMux) {
	m.Handle("POST /inbound", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		io.WriteString(w, "got "+r.URL.Path+" "+string(b))
	}))
}

func TestWebhooksMountUnderTheInstanceName(t *testing.T) {
	cfg := bridge.Config{Name: "sms-eu", Component: xmpp.ComponentConfig{Addr: "127.0.0.1:1", Domain: "sms.example.org", Secret: "s"}}
	if _, err := bridge.New(cfg, hookNet{bridgetest.New()}, nil, nil); err == nil || !strings.Contains(err.Error(), "[webhooks] listen") {
		t.Fatalf("New without webhooks: %v", err)
	}
	hooks := bridge.NewWebhooks()
	cfg.Webhooks = hooks
	if _, err := bridge.New(cfg, hookNet{bridgetest.New()}, nil, nil); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(hooks)
	defer srv.Close()
	tests := []struct {
		method, path string
		status       int
		body         string
	}{
		{"POST", "/sms-eu/inbound", 200, "got /inbound hello"},
		{"GET", "/sms-eu/inbound", 405, ""},
		{"POST", "/other/inbound", 404, ""},
	}
	for _, tt := range tests {
		req, _ := http.NewRequestWithContext(t.Context(), tt.method, srv.URL+tt.path, strings.NewReader("hello"))
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != tt.status || tt.body != "" && string(b) != tt.body {
			t.Errorf("%s %s: %d %q, want %d %q", tt.method, tt.path, res.StatusCode, b, tt.status, tt.body)
		}
	}
	if m := hooks.Mounted(); len(m) != 1 || m[0] != "sms-eu" {
		t.Errorf("Mounted = %v", m)
	}
	// A gateway without webhooks needs none.
	if _, err := bridge.New(bridge.Config{Name: "fake", Component: cfg.Component}, bridgetest.New(), nil, nil); err != nil {
		t.Fatal(err)
	}
}
