package bridge

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/xgate-im/xgate/kit/attach"
	"github.com/xgate-im/xgate/xmpp"
)

func TestParseSlot(t *testing.T) {
	const ns = ` xmlns='urn:xmpp:http:upload:0'`
	for _, tc := range []struct {
		name    string
		xml     string
		put     string
		get     string
		headers http.Header
		wantErr string
	}{
		{name: "plain", xml: `<slot` + ns + `><put url='https://up.example.org/p/1/a.png'/><get url='https://up.example.org/g/1/a.png'/></slot>`,
			put: "https://up.example.org/p/1/a.png", get: "https://up.example.org/g/1/a.png", headers: http.Header{}},
		{name: "allowed headers kept, others dropped", xml: `<slot` + ns + `><put url='http://127.0.0.1:5280/u'>` +
			`<header name='Authorization'>Bearer abc</header><header name='cookie'>foo=bar</header><header name='Expires'>Tue, 1 Dec 2026 10:00:00 GMT</header>` +
			`<header name='X-Evil'>1</header><header name='Host'>evil.example</header><header name='Content-Length'>0</header></put><get url='http://127.0.0.1:5280/u'/></slot>`,
			put: "http://127.0.0.1:5280/u", get: "http://127.0.0.1:5280/u",
			headers: http.Header{"Authorization": {"Bearer abc"}, "Cookie": {"foo=bar"}, "Expires": {"Tue, 1 Dec 2026 10:00:00 GMT"}}},
		{name: "newlines stripped from values", xml: `<slot` + ns + `><put url='https://u/p'><header name='Authorization'>Bearer a&#13;&#10;X-Injected: 1</header></put><get url='https://u/g'/></slot>`,
			put: "https://u/p", get: "https://u/g", headers: http.Header{"Authorization": {"Bearer aX-Injected: 1"}}},
		{name: "empty header value dropped", xml: `<slot` + ns + `><put url='https://u/p'><header name='Cookie'> </header></put><get url='https://u/g'/></slot>`,
			put: "https://u/p", get: "https://u/g", headers: http.Header{}},
		{name: "not a slot", xml: `<query xmlns='jabber:iq:version'/>`, wantErr: "no <slot"},
		{name: "old namespace", xml: `<slot xmlns='urn:xmpp:http:upload'><put>https://u/p</put><get>https://u/g</get></slot>`, wantErr: "no <slot"},
		{name: "no get", xml: `<slot` + ns + `><put url='https://u/p'/></slot>`, wantErr: "lacks a put or get"},
		{name: "no put", xml: `<slot` + ns + `><get url='https://u/g'/></slot>`, wantErr: "lacks a put or get"},
		{name: "empty put URL", xml: `<slot` + ns + `><put url=''/><get url='https://u/g'/></slot>`, wantErr: "put URL: empty"},
		{name: "relative get URL", xml: `<slot` + ns + `><put url='https://u/p'/><get url='/g/1'/></slot>`, wantErr: "get URL"},
		{name: "file scheme", xml: `<slot` + ns + `><put url='file:///etc/passwd'/><get url='https://u/g'/></slot>`, wantErr: "not an absolute http(s) URL"},
		{name: "token in a refused URL not shown", xml: `<slot` + ns + `><put url='ftp://u/p?token=s3cret'/><get url='https://u/g'/></slot>`, wantErr: "ftp://u/p: not"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			el, err := xmpp.ParseElement(tc.xml)
			if err != nil {
				t.Fatal(err)
			}
			s, err := parseSlot(el)
			if tc.wantErr != "" {
				if !errors.Is(err, ErrUploadRefused) || !strings.Contains(err.Error(), tc.wantErr) || strings.Contains(err.Error(), "s3cret") {
					t.Fatalf("error %v, want ErrUploadRefused with %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if s.put != tc.put || s.get != tc.get || !equalHeaders(s.header, tc.headers) {
				t.Errorf("slot put %q get %q headers %v, want %q %q %v", s.put, s.get, s.header, tc.put, tc.get, tc.headers)
			}
		})
	}
}

func equalHeaders(a, b http.Header) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if strings.Join(v, ",") != strings.Join(b[k], ",") {
			return false
		}
	}
	return true
}

func TestSlotRefusal(t *testing.T) {
	for _, tc := range []struct {
		name    string
		xml     string // the <error/> element
		want    error
		maxSize int64
	}{
		{name: "file too large with limit", xml: `<error type='modify'><not-acceptable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/><text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'>File too large</text>` +
			`<file-too-large xmlns='urn:xmpp:http:upload:0'><max-file-size>10485760</max-file-size></file-too-large></error>`, want: attach.ErrTooLarge, maxSize: 10485760},
		{name: "file too large without limit", xml: `<error type='modify'><not-acceptable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/><file-too-large xmlns='urn:xmpp:http:upload:0'/></error>`, want: attach.ErrTooLarge},
		{name: "file too large with a bad limit", xml: `<error type='modify'><not-acceptable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/><file-too-large xmlns='urn:xmpp:http:upload:0'><max-file-size>-5</max-file-size></file-too-large></error>`, want: attach.ErrTooLarge},
		{name: "file type not allowed", xml: `<error type='modify'><not-acceptable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/><text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'>File type not allowed</text></error>`, want: ErrUploadRefused},
		{name: "not allowed", xml: `<error type='cancel'><not-allowed xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error>`, want: ErrUploadRefused},
		{name: "forbidden (Prosody's access list)", xml: `<error type='auth'><forbidden xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error>`, want: ErrUploadRefused},
		{name: "quota", xml: `<error type='wait'><resource-constraint xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/><retry xmlns='urn:xmpp:http:upload:0' stamp='2026-12-06T00:00:00Z'/></error>`, want: ErrUploadRefused},
		{name: "no such service", xml: `<error type='cancel'><service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error>`, want: ErrNoUploadService},
		{name: "not implemented", xml: `<error type='cancel'><feature-not-implemented xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error>`, want: ErrNoUploadService},
		{name: "unknown host", xml: `<error type='cancel'><remote-server-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error>`, want: ErrNoUploadService},
	} {
		t.Run(tc.name, func(t *testing.T) {
			el, err := xmpp.ParseElement(tc.xml)
			if err != nil {
				t.Fatal(err)
			}
			maxSize, err := slotRefusal(xmpp.ParseStanzaError(el))
			if !errors.Is(err, tc.want) || maxSize != tc.maxSize {
				t.Errorf("got %d, %v; want %d, %v", maxSize, err, tc.maxSize, tc.want)
			}
		})
	}
	if _, err := slotRefusal(nil); !errors.Is(err, ErrUploadRefused) {
		t.Errorf("no error element: %v", err)
	}
}

func TestUploadConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		cfg UploadConfig
		ok  bool
	}{
		{UploadConfig{}, true},
		{UploadConfig{Service: "none"}, true},
		{UploadConfig{Service: "upload.example.org", MaxSize: 1 << 20}, true},
		{UploadConfig{Service: "alice@example.org"}, false},
		{UploadConfig{Service: "upload.example.org/res"}, false},
		{UploadConfig{Service: "bad domain"}, false},
		{UploadConfig{MaxSize: -1}, false},
	} {
		if err := tc.cfg.Validate(); (err == nil) != tc.ok {
			t.Errorf("%+v: %v", tc.cfg, err)
		}
	}
}

// FuzzParseSlot: whatever the service answers, a slot that parses has two
// absolute http(s) URLs and only the allowed headers, without newlines.
func FuzzParseSlot(f *testing.F) {
	f.Add(`<slot xmlns='urn:xmpp:http:upload:0'><put url='https://u/p'><header name='Authorization'>B</header></put><get url='https://u/g'/></slot>`)
	f.Add(`<slot xmlns='urn:xmpp:http:upload:0'><put url='http://[::1]:80/p'><header name='X'>1</header><header>2</header></put><get url='http://h'/></slot>`)
	f.Add(`<slot xmlns='urn:xmpp:http:upload:0'><put/><get url='x'/></slot>`)
	f.Add(`<error type='modify'><not-acceptable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/><file-too-large xmlns='urn:xmpp:http:upload:0'><max-file-size>9</max-file-size></file-too-large></error>`)
	f.Fuzz(func(t *testing.T, s string) {
		el, err := xmpp.ParseElement(s)
		if err != nil {
			return
		}
		if el.Name.Local == "error" {
			if n, err := slotRefusal(xmpp.ParseStanzaError(el)); err == nil || n < 0 {
				t.Fatalf("refusal %d, %v", n, err)
			}
			return
		}
		slot, err := parseSlot(el)
		if err != nil {
			return
		}
		for _, u := range []string{slot.put, slot.get} {
			if _, err := slotURL(u); err != nil {
				t.Fatalf("slot URL %q: %v", u, err)
			}
		}
		for name, values := range slot.header {
			if name != "Authorization" && name != "Cookie" && name != "Expires" {
				t.Fatalf("header %q kept", name)
			}
			for _, v := range values {
				if v == "" || strings.ContainsAny(v, "\r\n") {
					t.Fatalf("header %s value %q", name, v)
				}
			}
		}
	})
}
