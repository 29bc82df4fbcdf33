package kannel

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/xgate-im/xgate/transports/sms/kannel/kanneltest"
	"github.com/xgate-im/xgate/transports/sms/provider"
	"github.com/xgate-im/xgate/transports/sms/provider/providertest"
)

// startKannel starts a real Kannel whose sms-service calls a webhook
// server serving a Provider, and returns both.
func startKannel(t *testing.T, post bool) (*kanneltest.Kannel, *Provider, *providertest.Sink) {
	t.Helper()
	rec := providertest.NewSink()
	// The webhook server must exist before Kannel (its URL goes in
	// Kannel's config) and the Provider after it (it needs the sendsms
	// URL); the handler indirection bridges the two.
	var handler http.Handler
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.StripPrefix("/hook", handler).ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	mo := srv.URL + "/hook/mo?secret=" + testSecret + "&id=%I&from=%p&to=%P&ts=%T&coding=%c&charset=%C"
	if !post {
		mo += "&text=%a"
	}
	k := kanneltest.Start(t, kanneltest.Options{MOURL: mo, MOPost: post})
	p, err := New(Config{
		SendSMSURL: k.SendSMSURL(), Username: kanneltest.Username, Password: kanneltest.Password,
		PublicURL: srv.URL + "/hook", Secret: testSecret,
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	handler = p.Webhook(rec)
	return k, p, rec
}

func TestKannelToPhone(t *testing.T) {
	k, p, rec := startKannel(t, false)
	tests := []struct {
		name  string
		text  string
		parts int
		ucs2  bool
	}{
		{"ascii", "hello from xmpp", 1, false},
		{"gsm extension", "price: 5€ {ok} [x] ~y", 1, false},
		{"unicode", "привет 😀", 1, true},
		{"long gsm", strings.Repeat("0123456789", 20), 2, false},
		{"long unicode", strings.Repeat("ж", 100), 2, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sent, err := p.Send(t.Context(), provider.Outbound{From: "+15559870000", To: "+15551230000", Body: tt.text})
			if err != nil {
				t.Fatal(err)
			}
			if sent.ID == "" || sent.Status != provider.StatusAccepted {
				t.Fatalf("Send = %+v", sent)
			}
			var got []string
			for range tt.parts {
				m, err := k.NextMT(t.Context())
				if err != nil {
					t.Fatal(err)
				}
				if m.From != "+15559870000" || m.To != "+15551230000" {
					t.Errorf("MT from %q to %q", m.From, m.To)
				}
				if (tt.parts > 1) != (len(m.UDH) > 0) {
					t.Errorf("part has UDH %x, want concatenation %v", m.UDH, tt.parts > 1)
				}
				isUCS2 := m.Type == "ucs-2" || (tt.ucs2 && m.Type == "udh data")
				if isUCS2 != tt.ucs2 {
					t.Errorf("MT type %q, want UCS-2 %v", m.Type, tt.ucs2)
				}
				if tt.ucs2 {
					got = append(got, fromUCS2(m.Data))
				} else {
					got = append(got, string(m.Data))
				}
			}
			if strings.Join(got, "") != tt.text {
				t.Errorf("phone got %q, want %q", strings.Join(got, ""), tt.text)
			}
			// Kannel's fake SMSC acknowledges (8) and reports delivery
			// (1); a concatenated text's parts are reported together.
			rec.WaitReports(t, 20*time.Second, sent.ID, provider.StatusSent, provider.StatusDelivered)
		})
	}
}

func TestPhoneToKannel(t *testing.T) {
	for _, post := range []bool{false, true} {
		name := "get-url"
		if post {
			name = "post-url"
		}
		t.Run(name, func(t *testing.T) {
			k, _, rec := startKannel(t, post)
			for _, text := range []string{"hello gateway", "Grüße, привет 😀"} {
				if err := k.SendMO("+15551230000", "+15559870000", text); err != nil {
					t.Fatal(err)
				}
				m := rec.NextInbound(t, 20*time.Second)
				if m.Body != text || m.From != "+15551230000" || m.To != "+15559870000" || m.ID == "" || m.Received.IsZero() {
					t.Errorf("inbound %+v, want %q", m, text)
				}
			}
		})
	}
}

func TestKannelRefusesWrongPassword(t *testing.T) {
	k, _, _ := startKannel(t, false)
	p, err := New(Config{
		SendSMSURL: k.SendSMSURL(), Username: kanneltest.Username, Password: "wrong-password",
		PublicURL: "http://127.0.0.1:1/hook", Secret: testSecret,
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Send(t.Context(), provider.Outbound{From: "+15559870000", To: "+15551230000", Body: "x"})
	if !errors.Is(err, provider.ErrUnauthorized) {
		t.Fatalf("Send with a wrong password = %v, want ErrUnauthorized", err)
	}
	if strings.Contains(err.Error(), "wrong-password") {
		t.Fatalf("error leaks the password: %v", err)
	}
}

func fromUCS2(b []byte) string {
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = uint16(b[2*i])<<8 | uint16(b[2*i+1])
	}
	return string(utf16.Decode(u))
}

// While Kannel is down Send fails as temporary; after a restart both
// directions work again.
func TestKannelRestart(t *testing.T) {
	k, p, rec := startKannel(t, false)
	out := provider.Outbound{From: "+15559870000", To: "+15551230000", Body: "before"}
	if _, err := p.Send(t.Context(), out); err != nil {
		t.Fatal(err)
	}
	if _, err := k.NextMT(t.Context()); err != nil {
		t.Fatal(err)
	}
	k.Stop()
	out.Body = "while down"
	if _, err := p.Send(t.Context(), out); !errors.Is(err, provider.ErrTemporary) {
		t.Fatalf("Send while Kannel is down = %v, want temporary", err)
	}
	if err := k.Restart(t.Context()); err != nil {
		t.Fatal(err)
	}
	out.Body = "after"
	sent, err := p.Send(t.Context(), out)
	if err != nil {
		t.Fatal(err)
	}
	// Reports of the first message may still arrive; wait for this one's.
	for {
		m, err := k.NextMT(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if string(m.Data) == "after" {
			break
		}
	}
	rec.WaitReports(t, 20*time.Second, sent.ID, provider.StatusDelivered)
	if err := k.SendMO("+15551230000", "+15559870000", "back"); err != nil {
		t.Fatal(err)
	}
	if m := rec.NextInbound(t, 20*time.Second); m.Body != "back" {
		t.Fatalf("inbound %+v", m)
	}
}

// A long text from a phone arrives in concatenated parts; Kannel joins
// them and calls the get-url once with the whole text.
func TestPhoneToKannelLong(t *testing.T) {
	k, _, rec := startKannel(t, false)
	parts := []string{"The first half of a long text, ", "and its second half: Grüße."}
	if err := k.SendMOParts("+15551230000", "+15559870000", 7, parts); err != nil {
		t.Fatal(err)
	}
	m := rec.NextInbound(t, 20*time.Second)
	if m.Body != parts[0]+parts[1] || m.From != "+15551230000" {
		t.Fatalf("inbound %+v", m)
	}
}
