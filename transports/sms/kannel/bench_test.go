package kannel

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/xgate-im/xgate/transports/sms/provider"
)

type discard struct{}

func (discard) Inbound(context.Context, provider.Inbound) error               { return nil }
func (discard) DeliveryReport(context.Context, provider.DeliveryReport) error { return nil }

// BenchmarkWebhookMO is the gateway's CPU per incoming text from Kannel's
// get-url: source and secret checks and parsing, without the network.
func BenchmarkWebhookMO(b *testing.B) {
	p, err := New(Config{SendSMSURL: "http://127.0.0.1:13013/cgi-bin/sendsms", Username: "u", Password: "p",
		PublicURL: "https://gw.example.org/k", Secret: testSecret}, nil)
	if err != nil {
		b.Fatal(err)
	}
	h := p.Webhook(discard{})
	target := "/mo?secret=" + testSecret + "&id=0b7f5a9e-7c1e-4d0e-9a57-1f0e5d7c9b11&from=%2B15551230000&to=%2B15559870000&ts=1700000000&coding=0&charset=UTF-8&text=hello+there"
	b.ReportAllocs()
	for b.Loop() {
		r := httptest.NewRequest(http.MethodGet, target, nil)
		r.RemoteAddr = "127.0.0.1:4000"
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != http.StatusOK {
			b.Fatalf("status %d", w.Code)
		}
	}
}
