package twilio

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/xgate-im/xgate/transports/sms/provider"
	"github.com/xgate-im/xgate/transports/sms/smsfake"
)

type discard struct{}

func (discard) Inbound(context.Context, provider.Inbound) error               { return nil }
func (discard) DeliveryReport(context.Context, provider.DeliveryReport) error { return nil }

// BenchmarkWebhookInbound is the gateway's CPU per incoming text: form
// parsing, signature verification and parsing, without the network.
func BenchmarkWebhookInbound(b *testing.B) {
	p, err := New(Config{AccountSID: smsfake.DefaultAccountSID, AuthToken: "token123", PublicURL: publicURL}, nil)
	if err != nil {
		b.Fatal(err)
	}
	h := http.StripPrefix("/hook", p.Webhook(discard{}))
	form := url.Values{"MessageSid": {"SM1"}, "From": {"+15551230000"}, "To": {"+15559870000"}, "Body": {"hello there, see you at 5"}, "NumMedia": {"0"}}
	body := form.Encode()
	sig := Signature("token123", publicURL+"/inbound", form)
	b.ReportAllocs()
	for b.Loop() {
		r := httptest.NewRequest(http.MethodPost, "/hook/inbound", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.Header.Set("X-Twilio-Signature", sig)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != http.StatusOK {
			b.Fatalf("status %d", w.Code)
		}
	}
}

// BenchmarkSendRoundTrip is one Send to the fake over loopback: client and
// fake together (both in this process), not the client alone.
func BenchmarkSendRoundTrip(b *testing.B) {
	fake, err := smsfake.Start(smsfake.Options{Statuses: []string{}})
	if err != nil {
		b.Fatal(err)
	}
	defer fake.Close()
	p, err := New(Config{AccountSID: fake.AccountSID(), AuthToken: fake.AuthToken(), BaseURL: fake.URL(), PublicURL: publicURL}, nil)
	if err != nil {
		b.Fatal(err)
	}
	out := provider.Outbound{From: "+15559870000", To: "+15551230000", Body: "hello there, see you at 5"}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.Send(b.Context(), out); err != nil {
			b.Fatal(err)
		}
	}
}
