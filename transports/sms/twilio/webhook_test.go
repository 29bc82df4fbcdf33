package twilio

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/xgate-im/xgate/transports/sms/provider"
	"github.com/xgate-im/xgate/transports/sms/provider/providertest"
)

// The provider is mounted at /hook on a local server but Twilio calls it
// through a reverse proxy at https://gw.example.org/sms/tw: signatures
// are made over the public URL.
const publicURL = "https://gw.example.org/sms/tw"

func proxied(t *testing.T) (*httptest.Server, *providertest.Sink) {
	t.Helper()
	p, err := New(Config{AccountSID: "AC0123456789abcdef0123456789abcdef", AuthToken: "token123", PublicURL: publicURL}, nil)
	if err != nil {
		t.Fatal(err)
	}
	rec := providertest.NewSink()
	mux := http.NewServeMux()
	mux.Handle("/hook/", http.StripPrefix("/hook", p.Webhook(rec)))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv, rec
}

func post(t *testing.T, srv *httptest.Server, path string, form url.Values, signature string) int {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, srv.URL+"/hook"+path, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if signature != "" {
		req.Header.Set("X-Twilio-Signature", signature)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestWebhookSignatures(t *testing.T) {
	inbound := url.Values{"MessageSid": {"SM1"}, "From": {"+15551230000"}, "To": {"+15559870000"}, "Body": {"hi"}, "NumMedia": {"0"}}
	status := url.Values{"MessageSid": {"SM2"}, "MessageStatus": {"delivered"}}
	tampered := url.Values{"MessageSid": {"SM1"}, "From": {"+15551230000"}, "To": {"+15559870000"}, "Body": {"send money"}, "NumMedia": {"0"}}
	tests := []struct {
		name   string
		path   string
		form   url.Values
		sig    string
		status int
	}{
		{"inbound signed for the public URL", "/inbound", inbound, Signature("token123", publicURL+"/inbound", inbound), 200},
		{"status signed for the public URL", "/status", status, Signature("token123", publicURL+"/status", status), 204},
		{"query is part of the signed URL", "/inbound?a=1", inbound, Signature("token123", publicURL+"/inbound?a=1", inbound), 200},
		{"signed with the default port", "/inbound", inbound, Signature("token123", "https://gw.example.org:443/sms/tw/inbound", inbound), 200},
		{"signed with another port", "/inbound", inbound, Signature("token123", "https://gw.example.org:8443/sms/tw/inbound", inbound), 403},
		{"missing signature", "/inbound", inbound, "", 403},
		{"signed with another token", "/inbound", inbound, Signature("other", publicURL+"/inbound", inbound), 403},
		{"signed for the local URL", "/inbound", inbound, "", 403}, // filled below
		{"body changed after signing", "/inbound", tampered, Signature("token123", publicURL+"/inbound", inbound), 403},
		{"signed for another path", "/status", status, Signature("token123", publicURL+"/inbound", status), 403},
		{"garbage signature", "/inbound", inbound, "!!!", 403},
		{"signed but malformed", "/inbound", url.Values{"Body": {"x"}}, Signature("token123", publicURL+"/inbound", url.Values{"Body": {"x"}}), 400},
		{"signed but unknown status", "/status", url.Values{"MessageSid": {"SM3"}, "MessageStatus": {"lost"}},
			Signature("token123", publicURL+"/status", url.Values{"MessageSid": {"SM3"}, "MessageStatus": {"lost"}}), 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, rec := proxied(t)
			sig := tt.sig
			if tt.name == "signed for the local URL" {
				sig = Signature("token123", srv.URL+"/hook/inbound", tt.form)
			}
			if got := post(t, srv, tt.path, tt.form, sig); got != tt.status {
				t.Fatalf("status %d, want %d", got, tt.status)
			}
			stored := rec.Held()
			if (tt.status < 300) != (stored == 1) {
				t.Fatalf("answered %d but %d messages reached the sink", tt.status, stored)
			}
		})
	}
}

func TestWebhookBodyLimit(t *testing.T) {
	srv, rec := proxied(t)
	big := url.Values{"MessageSid": {"SM1"}, "From": {"+15551230000"}, "To": {"+15559870000"}, "Body": {strings.Repeat("x", maxWebhookBody)}}
	if got := post(t, srv, "/inbound", big, Signature("token123", publicURL+"/inbound", big)); got != http.StatusBadRequest {
		t.Fatalf("status %d, want 400", got)
	}
	if rec.Held() != 0 {
		t.Fatal("oversized webhook reached the sink")
	}
}

func TestParseInbound(t *testing.T) {
	tests := []struct {
		name  string
		form  url.Values
		ok    bool
		media int
	}{
		{"text", url.Values{"MessageSid": {"SM1"}, "From": {"+15551230000"}, "To": {"+15559870000"}, "Body": {"hi"}}, true, 0},
		{"short code sender", url.Values{"MessageSid": {"SM1"}, "From": {"12345"}, "To": {"+15559870000"}}, true, 0},
		{"mms", url.Values{"MessageSid": {"MM1"}, "From": {"+15551230000"}, "To": {"+15559870000"}, "NumMedia": {"2"},
			"MediaUrl0": {"https://api.twilio.com/a"}, "MediaContentType0": {"image/png"}, "MediaUrl1": {"https://api.twilio.com/b"}}, true, 2},
		{"missing media url", url.Values{"MessageSid": {"MM1"}, "From": {"+15551230000"}, "To": {"+15559870000"}, "NumMedia": {"1"}}, false, 0},
		{"javascript media url", url.Values{"MessageSid": {"MM1"}, "From": {"+15551230000"}, "To": {"+15559870000"}, "NumMedia": {"1"}, "MediaUrl0": {"javascript:alert(1)"}}, false, 0},
		{"too many media", url.Values{"MessageSid": {"MM1"}, "From": {"+15551230000"}, "To": {"+15559870000"}, "NumMedia": {"11"}}, false, 0},
		{"negative media", url.Values{"MessageSid": {"MM1"}, "From": {"+15551230000"}, "To": {"+15559870000"}, "NumMedia": {"-1"}}, false, 0},
		{"alphanumeric sender", url.Values{"MessageSid": {"SM1"}, "From": {"ACME"}, "To": {"+15559870000"}}, false, 0},
		{"no sid", url.Values{"From": {"+15551230000"}, "To": {"+15559870000"}}, false, 0},
	}
	for _, tt := range tests {
		m, err := parseInbound(tt.form)
		if (err == nil) != tt.ok || len(m.Media) != tt.media {
			t.Errorf("%s: parseInbound = %+v, %v", tt.name, m, err)
		}
	}
}

func TestParseStatus(t *testing.T) {
	tests := []struct {
		form   url.Values
		status provider.Status
		is     error
	}{
		{url.Values{"MessageSid": {"SM1"}, "MessageStatus": {"sent"}}, provider.StatusSent, nil},
		{url.Values{"MessageSid": {"SM1"}, "SmsStatus": {"delivered"}}, provider.StatusDelivered, nil},
		{url.Values{"MessageSid": {"SM1"}, "MessageStatus": {"undelivered"}, "ErrorCode": {"30007"}}, provider.StatusUndelivered, provider.ErrBlocked},
		{url.Values{"MessageSid": {"SM1"}, "MessageStatus": {"failed"}, "ErrorCode": {"21610"}}, provider.StatusFailed, provider.ErrOptedOut},
		{url.Values{"MessageSid": {"SM1"}, "MessageStatus": {"failed"}, "ErrorCode": {"30006"}}, provider.StatusFailed, provider.ErrInvalidNumber},
		{url.Values{"MessageSid": {"SM1"}, "MessageStatus": {"undelivered"}, "ErrorCode": {"30003"}}, provider.StatusUndelivered, provider.ErrPermanent},
	}
	for _, tt := range tests {
		d, err := parseStatus(tt.form)
		if err != nil || d.Status != tt.status {
			t.Errorf("parseStatus(%v) = %+v, %v", tt.form, d, err)
			continue
		}
		if tt.is == nil && d.Err != nil || tt.is != nil && !errorsIs(d.Err, tt.is) {
			t.Errorf("parseStatus(%v) error %v, want %v", tt.form, d.Err, tt.is)
		}
	}
}

func errorsIs(e *provider.Error, target error) bool { return e != nil && e.Is(target) }

func FuzzWebhookForms(f *testing.F) {
	f.Add("MessageSid=SM1&From=%2B15551230000&To=%2B15559870000&Body=hi&NumMedia=1&MediaUrl0=https%3A%2F%2Fa%2Fb")
	f.Add("MessageSid=SM1&MessageStatus=undelivered&ErrorCode=30007")
	f.Add("NumMedia=99999999999999999999")
	f.Fuzz(func(t *testing.T, body string) {
		form, err := url.ParseQuery(body)
		if err != nil {
			return
		}
		if m, err := parseInbound(form); err == nil {
			if m.ID == "" || m.From == "" || m.To == "" || len(m.Media) > maxMedia {
				t.Fatalf("parseInbound accepted %+v", m)
			}
		}
		if d, err := parseStatus(form); err == nil {
			if d.ID == "" || d.Status == provider.StatusUnknown || d.Status.Failed() != (d.Err != nil) {
				t.Fatalf("parseStatus accepted %+v", d)
			}
		}
	})
}

func TestTogglePort(t *testing.T) {
	for in, want := range map[string]string{
		"https://gw.example.org/a?b=1":  "https://gw.example.org:443/a?b=1",
		"https://gw.example.org:443/a":  "https://gw.example.org/a",
		"http://gw.example.org/a":       "http://gw.example.org:80/a",
		"https://gw.example.org:8443/a": "https://gw.example.org:8443/a",
		"https://[2001:db8::1]:443/a":   "https://[2001:db8::1]/a",
	} {
		if got := togglePort(in); got != want {
			t.Errorf("togglePort(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	good := Config{AccountSID: "AC0123456789abcdef0123456789abcdef", AuthToken: "t", PublicURL: "https://gw.example.org/tw"}
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	for name, mutate := range map[string]func(*Config){
		"short sid":      func(c *Config) { c.AccountSID = "AC123" },
		"not an account": func(c *Config) { c.AccountSID = "SK0123456789abcdef0123456789abcdef" },
		"no token":       func(c *Config) { c.AuthToken = "" },
		"bad service":    func(c *Config) { c.MessagingServiceSID = "MG123" },
		"base with path": func(c *Config) { c.BaseURL = "https://api.example.org/2010-04-01" },
		"base not http":  func(c *Config) { c.BaseURL = "ftp://api.example.org" },
		"no public url":  func(c *Config) { c.PublicURL = "" },
		"public query":   func(c *Config) { c.PublicURL = "https://gw.example.org/tw?x=1" },
	} {
		c := good
		mutate(&c)
		if err := c.Validate(); !errors.Is(err, ErrConfig) {
			t.Errorf("%s: Validate = %v", name, err)
		}
	}
}

// The exact request Send makes.
func TestSendWire(t *testing.T) {
	type captured struct {
		method, path, ctype, accept, user, pass, body string
	}
	got := make(chan captured, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b := new(strings.Builder)
		_, _ = io.Copy(b, r.Body)
		user, pass, _ := r.BasicAuth()
		got <- captured{r.Method, r.URL.Path, r.Header.Get("Content-Type"), r.Header.Get("Accept"), user, pass, b.String()}
		w.WriteHeader(http.StatusCreated)
		_, _ = w.Write([]byte(`{"sid":"MM0123456789abcdef0123456789abcdef","status":"queued","num_segments":"1"}`))
	}))
	defer srv.Close()
	p, err := New(Config{AccountSID: "AC0123456789abcdef0123456789abcdef", AuthToken: "tok", BaseURL: srv.URL + "/", PublicURL: "https://gw.example.org/tw/"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	sent, err := p.Send(t.Context(), provider.Outbound{From: "+15559870000", To: "+15551230000", Body: "hi & bye", Media: []string{"https://f.example.org/a.jpg", "https://f.example.org/b.png"}})
	if err != nil || sent.ID != "MM0123456789abcdef0123456789abcdef" || sent.Segments != 1 {
		t.Fatalf("Send = %+v, %v", sent, err)
	}
	want := captured{
		method: "POST", path: "/2010-04-01/Accounts/AC0123456789abcdef0123456789abcdef/Messages.json",
		ctype: "application/x-www-form-urlencoded", accept: "application/json",
		user: "AC0123456789abcdef0123456789abcdef", pass: "tok",
		body: "Body=hi+%26+bye&From=%2B15559870000&MediaUrl=https%3A%2F%2Ff.example.org%2Fa.jpg&MediaUrl=https%3A%2F%2Ff.example.org%2Fb.png" +
			"&StatusCallback=https%3A%2F%2Fgw.example.org%2Ftw%2Fstatus&To=%2B15551230000",
	}
	if c := <-got; c != want {
		t.Fatalf("request\n%+v\nwant\n%+v", c, want)
	}
}
