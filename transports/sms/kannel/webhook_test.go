package kannel

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"testing"

	"github.com/xgate-im/xgate/transports/sms/provider"
	"github.com/xgate-im/xgate/transports/sms/provider/providertest"
)

func newTestProvider(t *testing.T, allowed ...netip.Prefix) *Provider {
	t.Helper()
	p, err := New(Config{
		SendSMSURL: "http://127.0.0.1:13013/cgi-bin/sendsms", Username: "u", Password: "p",
		PublicURL: "https://gw.example.org/sms/kannel", Secret: testSecret, AllowedSources: allowed,
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestWebhook(t *testing.T) {
	mo := "/mo?secret=" + testSecret + "&id=u1&from=%2B15551230000&to=%2B15559870000&ts=1700000000&coding=0&charset=UTF-8&text=hi"
	tests := []struct {
		name   string
		method string
		target string
		remote string
		body   string
		header map[string]string
		fail   bool
		status int
	}{
		{"get-url", "GET", mo, "127.0.0.1:5000", "", nil, false, 200},
		{"ipv6 loopback", "GET", mo, "[::1]:5000", "", nil, false, 200},
		{"post-url with headers", "POST", "/mo?secret=" + testSecret + "&id=u2", "127.0.0.1:5000", "hello",
			map[string]string{"X-Kannel-From": "+15551230000", "X-Kannel-To": "+15559870000", "Content-Type": "text/plain; charset=UTF-8"}, false, 200},
		{"dlr", "GET", "/dlr?secret=" + testSecret + "&id=k1&type=1&ts=1700000000", "127.0.0.1:5000", "", nil, false, 200},
		{"wrong secret", "GET", strings.Replace(mo, testSecret, "guess", 1), "127.0.0.1:5000", "", nil, false, 403},
		{"no secret", "GET", "/dlr?id=k1&type=1", "127.0.0.1:5000", "", nil, false, 403},
		{"foreign source", "GET", mo, "203.0.113.9:5000", "", nil, false, 403},
		{"missing id", "GET", strings.Replace(mo, "id=u1&", "", 1), "127.0.0.1:5000", "", nil, false, 400},
		{"unknown dlr type", "GET", "/dlr?secret=" + testSecret + "&id=k1&type=3", "127.0.0.1:5000", "", nil, false, 400},
		{"bad sender", "GET", strings.Replace(mo, "from=%2B15551230000", "from=ACME", 1), "127.0.0.1:5000", "", nil, false, 400},
		{"dlr by POST", "POST", "/dlr?secret=" + testSecret + "&id=k1&type=1", "127.0.0.1:5000", "", nil, false, 405},
		{"store down", "GET", mo, "127.0.0.1:5000", "", nil, true, 503},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := providertest.NewSink()
			rec.SetFail(tt.fail)
			h := newTestProvider(t).Webhook(rec)
			r := httptest.NewRequest(tt.method, tt.target, strings.NewReader(tt.body))
			r.RemoteAddr = tt.remote
			for k, v := range tt.header {
				r.Header.Set(k, v)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != tt.status {
				t.Fatalf("status %d (%s), want %d", w.Code, strings.TrimSpace(w.Body.String()), tt.status)
			}
			if stored := rec.Held(); (tt.status == 200) != (stored == 1) {
				t.Fatalf("answered %d but %d reached the sink", w.Code, stored)
			}
		})
	}
}

func TestAllowedSources(t *testing.T) {
	p := newTestProvider(t, netip.MustParsePrefix("10.1.0.0/16"), netip.MustParsePrefix("2001:db8::/32"))
	for addr, want := range map[string]bool{
		"10.1.2.3:1": true, "[2001:db8::1]:1": true, "[::ffff:10.1.2.3]:1": true,
		"127.0.0.1:1": false, "10.2.0.1:1": false, "garbage": false,
	} {
		if got := p.allowedSource(addr); got != want {
			t.Errorf("allowedSource(%q) = %v, want %v", addr, got, want)
		}
	}
}

func TestParseDLR(t *testing.T) {
	tests := []struct {
		typ    string
		status provider.Status
	}{
		{"1", provider.StatusDelivered},
		{"2", provider.StatusUndelivered},
		{"4", provider.StatusQueued},
		{"8", provider.StatusSent},
		{"16", provider.StatusFailed},
	}
	for _, tt := range tests {
		r := httptest.NewRequest("GET", "/dlr?id=k1&type="+tt.typ+"&answer="+url.QueryEscape("id:1 stat:UNDELIV err:001"), nil)
		d, err := parseDLR(r)
		if err != nil || d.Status != tt.status || d.ID != "k1" {
			t.Errorf("type %s: %+v, %v", tt.typ, d, err)
			continue
		}
		if d.Status.Failed() != (d.Err != nil) {
			t.Errorf("type %s: error %v", tt.typ, d.Err)
		}
		if d.Err != nil && d.Err.Message != "id:1 stat:UNDELIV err:001" {
			t.Errorf("type %s: message %q", tt.typ, d.Err.Message)
		}
	}
}

func TestDecodeText(t *testing.T) {
	tests := []struct {
		raw     string
		coding  string
		charset string
		want    string
		err     bool
	}{
		{"hello", "0", "UTF-8", "hello", false},
		{"h\xc3\xa9", "0", "UTF-8", "hé", false},
		{"\x04\x3f\xd8\x3d\xde\x00", "2", "UTF-16BE", "п😀", false},
		{"\x04\x3f\x00", "2", "UCS-2", "", true},
		{"caf\xe9", "0", "ISO-8859-1", "café", false},
		{"\x04\x3f", "2", "", "п", false},
	}
	for _, tt := range tests {
		got, err := decodeText([]byte(tt.raw), tt.coding, tt.charset)
		if (err != nil) != tt.err || got != tt.want {
			t.Errorf("decodeText(%q, %s, %s) = %q, %v", tt.raw, tt.coding, tt.charset, got, err)
		}
	}
}

func TestClassifyAnswer(t *testing.T) {
	tests := []struct {
		code int
		body string
		is   error
	}{
		{202, "0: Accepted for delivery", nil},
		{202, "3: Queued for later delivery", nil},
		{403, "Authorization failed for sendsms", provider.ErrUnauthorized},
		{403, "Number compiled in the black list", provider.ErrBlocked},
		{400, "Missing receiver number", provider.ErrInvalidNumber},
		{400, "Sender missing and no global set", provider.ErrPermanent},
		{503, "Sending failed.", provider.ErrTemporary},
	}
	for _, tt := range tests {
		err := classifyAnswer(tt.code, tt.body)
		if (tt.is == nil) != (err == nil) || (tt.is != nil && !errors.Is(err, tt.is)) {
			t.Errorf("classifyAnswer(%d, %q) = %v, want %v", tt.code, tt.body, err, tt.is)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	good := Config{SendSMSURL: "http://127.0.0.1:13013/cgi-bin/sendsms", Username: "u", Password: "p", PublicURL: "https://gw/x", Secret: testSecret}
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	for name, mutate := range map[string]func(*Config){
		"no url":        func(c *Config) { c.SendSMSURL = "" },
		"ftp url":       func(c *Config) { c.SendSMSURL = "ftp://x/y" },
		"no password":   func(c *Config) { c.Password = "" },
		"public query":  func(c *Config) { c.PublicURL = "https://gw/x?a=1" },
		"short secret":  func(c *Config) { c.Secret = "short" },
		"mask too big":  func(c *Config) { c.DLRMask = 32 },
		"too many part": func(c *Config) { c.MaxParts = 256 },
	} {
		c := good
		mutate(&c)
		if err := c.Validate(); !errors.Is(err, ErrConfig) {
			t.Errorf("%s: Validate = %v", name, err)
		}
	}
}

func FuzzCallbacks(f *testing.F) {
	f.Add("GET", "/mo?id=u1&from=%2B15551230000&to=12345&text=hi&coding=2&charset=UTF-16BE", "")
	f.Add("POST", "/mo?id=u1&from=0015551230000&to=%2B15559870000", "body")
	f.Add("GET", "/dlr?id=k1&type=16&answer=NACK", "")
	f.Fuzz(func(t *testing.T, method, target, body string) {
		if method != "GET" && method != "POST" {
			return
		}
		u, err := url.ParseRequestURI(target)
		if err != nil {
			return
		}
		r := &http.Request{Method: method, URL: u, Header: http.Header{}, Body: http.NoBody}
		if body != "" {
			r.Body = httptest.NewRequest(method, "/", strings.NewReader(body)).Body
		}
		if m, err := parseMO(r); err == nil && (m.ID == "" || m.From == "" || m.To == "") {
			t.Fatalf("parseMO accepted %+v", m)
		}
		if d, err := parseDLR(r); err == nil && (d.ID == "" || d.Status == provider.StatusUnknown || d.Status.Failed() != (d.Err != nil)) {
			t.Fatalf("parseDLR accepted %+v", d)
		}
	})
}

func TestSendRefusesWhatKannelWouldCut(t *testing.T) {
	p, err := New(Config{SendSMSURL: "http://127.0.0.1:1/cgi-bin/sendsms", Username: "u", Password: "p",
		PublicURL: "https://gw.example.org/k", Secret: testSecret, MaxParts: 2}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c := p.Capabilities(); c.MaxSegments != 2 || !c.Concatenates || c.MMS || !c.DeliveryReports {
		t.Fatalf("Capabilities = %+v", c)
	}
	tests := []struct {
		body string
		is   error
	}{
		{strings.Repeat("a", 307), provider.ErrPermanent}, // 3 parts
		{strings.Repeat("a", 306), provider.ErrTemporary}, // 2 parts: reaches the (closed) port
		{"", provider.ErrPermanent},
	}
	for _, tt := range tests {
		_, err := p.Send(t.Context(), provider.Outbound{From: "+15559870000", To: "+15551230000", Body: tt.body})
		if !errors.Is(err, tt.is) {
			t.Errorf("Send(%d chars) = %v, want %v", len(tt.body), err, tt.is)
		}
	}
}

func TestDLRURL(t *testing.T) {
	p := newTestProvider(t)
	tests := []struct {
		hint string
		want string
	}{
		{"", "https://gw.example.org/sms/kannel/dlr?id=k1&secret=" + testSecret + "&type=%d&ts=%T&answer=%A"},
		{"https://gw.example.org/other?tok=a%2Fb", "https://gw.example.org/other?tok=a%2Fb&id=k1&secret=" + testSecret + "&type=%d&ts=%T&answer=%A"},
	}
	for _, tt := range tests {
		if got := p.dlrURL(tt.hint, "k1"); got != tt.want {
			t.Errorf("dlrURL(%q) = %q, want %q", tt.hint, got, tt.want)
		}
	}
}

// The exact request Send makes, as smsbox receives it.
func TestSendWire(t *testing.T) {
	got := make(chan *http.Request, 1)
	bodies := make(chan string, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b := new(strings.Builder)
		_, _ = io.Copy(b, r.Body)
		got <- r
		bodies <- b.String()
		w.WriteHeader(http.StatusAccepted)
		_, _ = w.Write([]byte("0: Accepted for delivery"))
	}))
	defer srv.Close()
	p, err := New(Config{SendSMSURL: srv.URL + "/cgi-bin/sendsms", Username: "xgate", Password: "pw", SMSC: "smpp1",
		PublicURL: "https://gw.example.org/k", Secret: testSecret, DLRMask: 3}, nil)
	if err != nil {
		t.Fatal(err)
	}
	sent, err := p.Send(t.Context(), provider.Outbound{From: "+15559870000", To: "+15551230000", Body: "привет"})
	if err != nil || sent.Status != provider.StatusAccepted {
		t.Fatalf("Send = %+v, %v", sent, err)
	}
	r, body := <-got, <-bodies
	want := map[string]string{
		"Content-Type": "text/plain; charset=UTF-8", "X-Kannel-Username": "xgate", "X-Kannel-Password": "pw",
		"X-Kannel-From": "+15559870000", "X-Kannel-To": "+15551230000", "X-Kannel-Coding": "2",
		"X-Kannel-Smsc": "smpp1", "X-Kannel-Dlr-Mask": "3",
		"X-Kannel-Dlr-Url": "https://gw.example.org/k/dlr?id=" + string(sent.ID) + "&secret=" + testSecret + "&type=%d&ts=%T&answer=%A",
	}
	for k, v := range want {
		if r.Header.Get(k) != v {
			t.Errorf("%s = %q, want %q", k, r.Header.Get(k), v)
		}
	}
	if r.Method != http.MethodPost || r.URL.RawQuery != "" || body != "привет" {
		t.Errorf("%s %s body %q", r.Method, r.URL, body)
	}
}
