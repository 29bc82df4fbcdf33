package smsfake

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
)

var (
	specOnce sync.Once
	spec     *Contract
	specErr  error
)

func testContract(t *testing.T) *Contract {
	t.Helper()
	specOnce.Do(func() {
		var path string
		if path, specErr = FindSpec("."); specErr == nil {
			spec, specErr = LoadContract(path)
		}
	})
	if specErr != nil {
		t.Fatal(specErr)
	}
	return spec
}

const messagesPath = "/2010-04-01/Accounts/" + DefaultAccountSID + "/Messages.json"

func TestContract(t *testing.T) {
	c := testContract(t)
	form := "application/x-www-form-urlencoded"
	tests := []struct {
		name   string
		method string
		path   string
		ctype  string
		body   string
		auth   bool
		want   string // substring of a violation; "" for none
	}{
		{"valid", "POST", messagesPath, form, "To=%2B15551230000&From=%2B15559870000&Body=hi&StatusCallback=https%3A%2F%2Fgw.example.org%2Fs", true, ""},
		{"valid media", "POST", messagesPath, form, "To=%2B1&MediaUrl=https%3A%2F%2Fa%2Fb&MediaUrl=https%3A%2F%2Fa%2Fc", true, ""},
		{"valid fetch", "GET", "/2010-04-01/Accounts/" + DefaultAccountSID + "/Messages/SM0123456789abcdef0123456789abcdef.json", "", "", true, ""},
		{"unknown parameter", "POST", messagesPath, form, "To=%2B1&Foo=bar", true, "unknown parameter Foo"},
		{"lower-case name", "POST", messagesPath, form, "to=%2B1", true, "required parameter To missing"},
		{"missing To", "POST", messagesPath, form, "Body=hi", true, "required parameter To missing"},
		{"repeated scalar", "POST", messagesPath, form, "To=%2B1&Body=a&Body=b", true, "given 2 times"},
		{"bad enum", "POST", messagesPath, form, "To=%2B1&TrafficType=paid", true, "not one of"},
		{"bad boolean", "POST", messagesPath, form, "To=%2B1&SendAsMms=yes", true, "not a boolean"},
		{"bad integer", "POST", messagesPath, form, "To=%2B1&ValidityPeriod=soon", true, "not an integer"},
		{"bad callback", "POST", messagesPath, form, "To=%2B1&StatusCallback=not+a+url", true, "not an absolute URI"},
		{"bad account", "POST", "/2010-04-01/Accounts/ACnope/Messages.json", form, "To=%2B1", true, "path parameter AccountSid"},
		{"json body", "POST", messagesPath, "application/json", "", true, "content type"},
		{"no auth", "POST", messagesPath, form, "To=%2B1", false, "no HTTP Basic credentials"},
		{"wrong method", "DELETE", messagesPath, "", "", true, "method not allowed"},
		{"unknown path", "POST", "/2010-04-01/Accounts/" + DefaultAccountSID + "/Texts.json", form, "To=%2B1", true, "no such path"},
		{"unknown query", "GET", "/2010-04-01/Accounts/" + DefaultAccountSID + "/Messages/SM0123456789abcdef0123456789abcdef.json?x=1", "", "", true, "unknown query parameter x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(tt.method, tt.path, strings.NewReader(tt.body))
			if tt.ctype != "" {
				r.Header.Set("Content-Type", tt.ctype)
			}
			if tt.auth {
				r.SetBasicAuth(DefaultAccountSID, DefaultAuthToken)
			}
			var f url.Values
			if tt.ctype == form {
				if err := r.ParseForm(); err != nil {
					t.Fatal(err)
				}
				f = r.PostForm
			}
			bad := c.Check(r, f)
			if tt.want == "" {
				if len(bad) != 0 {
					t.Fatalf("violations %q", bad)
				}
				return
			}
			found := false
			for _, b := range bad {
				found = found || strings.Contains(b, tt.want)
			}
			if !found {
				t.Fatalf("violations %q, want one containing %q", bad, tt.want)
			}
		})
	}
}

// The fake answers a violating request 400 and keeps the violation.
func TestServerRecordsViolations(t *testing.T) {
	s, err := Start(Options{Contract: testContract(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	req, _ := http.NewRequestWithContext(t.Context(), "POST", s.URL()+messagesPath, strings.NewReader("To=%2B15551230000&Sender=x"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(DefaultAccountSID, DefaultAuthToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("status %d, want 400", resp.StatusCode)
	}
	if v := s.Violations(); len(v) != 1 || !strings.Contains(v[0], "unknown parameter Sender") {
		t.Errorf("violations %q", v)
	}
	if len(s.Messages()) != 0 {
		t.Error("a violating request created a message")
	}
}

func TestSignIsTwilios(t *testing.T) {
	// Computed independently (Python's hmac) from the documented rule.
	f := url.Values{"MessageSid": {"SM1"}, "From": {"+15551230000"}, "To": {"+15559870000"}, "Body": {"hi"}, "MediaUrl": {"b", "a"}}
	if got := sign("token123", "https://gw.example.org/sms/tw/inbound?x=1", f); got != "Dmm3ACDefQWmcZCmjpG4/N0riOA=" {
		t.Fatalf("sign = %q", got)
	}
}
