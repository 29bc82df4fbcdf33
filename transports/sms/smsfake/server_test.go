package smsfake

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
)

// create posts a create-message request as a client would.
func create(t *testing.T, s *Server, form url.Values) (int, map[string]any, http.Header) {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), "POST", s.URL()+messagesPath, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(s.AccountSID(), s.AuthToken())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, body, resp.Header
}

// hook records signed webhooks and checks their signatures.
type hook struct {
	mu    sync.Mutex
	forms []url.Values
}

func startHook(t *testing.T, s **Server) *httptest.Server {
	t.Helper()
	h := &hook{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		if r.Header.Get("X-Twilio-Signature") != sign((*s).AuthToken(), "http://"+r.Host+r.URL.RequestURI(), r.PostForm) {
			http.Error(w, "bad signature", http.StatusForbidden)
			return
		}
		h.mu.Lock()
		h.forms = append(h.forms, r.PostForm)
		h.mu.Unlock()
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestCreateMessageAndCallbacks(t *testing.T) {
	var s *Server
	hookSrv := startHook(t, &s)
	s, err := Start(Options{Contract: testContract(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	status, body, _ := create(t, s, url.Values{"To": {"+15551230000"}, "From": {"+15559870000"}, "Body": {"привет"}, "StatusCallback": {hookSrv.URL + "/status"}})
	if status != http.StatusCreated || body["status"] != "queued" || body["num_segments"] != "1" || !strings.HasPrefix(body["sid"].(string), "SM") ||
		body["account_sid"] != DefaultAccountSID || body["direction"] != "outbound-api" {
		t.Fatalf("create = %d %v", status, body)
	}
	cbs, err := s.WaitCallbacks(t.Context(), 2)
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []string{"sent", "delivered"} {
		if cbs[i].Status != http.StatusOK || cbs[i].Form.Get("MessageStatus") != want || cbs[i].Form.Get("MessageSid") != body["sid"] {
			t.Errorf("callback %d: %+v", i, cbs[i])
		}
	}
	if v := s.Violations(); len(v) != 0 {
		t.Fatalf("violations %q", v)
	}
}

func TestFaults(t *testing.T) {
	s, err := Start(Options{Statuses: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	msg := url.Values{"To": {"+15551230000"}, "From": {"+15559870000"}, "Body": {"x"}}
	s.FailNext(Fault{Status: 429, Code: 20429, Message: "Too Many Requests", RetryAfter: "3", Times: 2})
	for range 2 {
		status, body, header := create(t, s, msg)
		if status != 429 || body["code"] != float64(20429) || header.Get("Retry-After") != "3" {
			t.Fatalf("fault: %d %v %v", status, body, header)
		}
	}
	if status, _, _ := create(t, s, msg); status != http.StatusCreated {
		t.Fatalf("after the fault ran out: %d", status)
	}
	s.FailTo("+15550000001", OptedOut)
	opted := url.Values{"To": {"+15550000001"}, "From": {"+15559870000"}, "Body": {"x"}}
	if status, body, _ := create(t, s, opted); status != 400 || body["code"] != float64(21610) {
		t.Fatalf("opted out: %d %v", status, body)
	}
	if status, _, _ := create(t, s, msg); status != http.StatusCreated {
		t.Fatalf("other recipient: %d", status)
	}
	s.ClearFaults()
	if status, _, _ := create(t, s, opted); status != http.StatusCreated {
		t.Fatalf("after ClearFaults: %d", status)
	}
	if n := len(s.Messages()); n != 3 {
		t.Fatalf("%d messages recorded, want 3", n)
	}
}

func TestAuthAndValidation(t *testing.T) {
	s, err := Start(Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	tests := []struct {
		name   string
		user   string
		pass   string
		path   string
		form   url.Values
		status int
		code   float64
	}{
		{"wrong token", DefaultAccountSID, "nope", messagesPath, url.Values{"To": {"+1"}, "Body": {"x"}}, 401, 20003},
		{"other account", "AC00000000000000000000000000000000", DefaultAuthToken, "/2010-04-01/Accounts/AC00000000000000000000000000000000/Messages.json", url.Values{"To": {"+1"}, "Body": {"x"}}, 401, 20003},
		{"no body", DefaultAccountSID, DefaultAuthToken, messagesPath, url.Values{"To": {"+1"}, "From": {"+2"}}, 400, 21602},
		{"no From", DefaultAccountSID, DefaultAuthToken, messagesPath, url.Values{"To": {"+1"}, "Body": {"x"}}, 400, 21603},
		{"too long", DefaultAccountSID, DefaultAuthToken, messagesPath, url.Values{"To": {"+1"}, "From": {"+2"}, "Body": {strings.Repeat("x", 1601)}}, 400, 21617},
		{"no To", DefaultAccountSID, DefaultAuthToken, messagesPath, url.Values{"Body": {"x"}}, 400, 21604},
	}
	for _, tt := range tests {
		req, _ := http.NewRequestWithContext(t.Context(), "POST", s.URL()+tt.path, strings.NewReader(tt.form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(tt.user, tt.pass)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var body map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if resp.StatusCode != tt.status || body["code"] != tt.code {
			t.Errorf("%s: %d %v", tt.name, resp.StatusCode, body)
		}
	}
}

func TestInspectionAPI(t *testing.T) {
	var s *Server
	hookSrv := startHook(t, &s)
	s, err := Start(Options{InboundURL: hookSrv.URL + "/inbound", Statuses: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	create(t, s, url.Values{"To": {"+15551230000"}, "From": {"+15559870000"}, "Body": {"one"}})
	resp, err := http.Get(s.URL() + "/fake/messages")
	if err != nil {
		t.Fatal(err)
	}
	var msgs []Message
	_ = json.NewDecoder(resp.Body).Decode(&msgs)
	resp.Body.Close()
	if len(msgs) != 1 || msgs[0].Body != "one" {
		t.Fatalf("/fake/messages = %+v", msgs)
	}
	resp, err = http.PostForm(s.URL()+"/fake/inbound", url.Values{"From": {"+15551230000"}, "To": {"+15559870000"}, "Body": {"hi"}})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(b), `"webhook_status":200`) {
		t.Fatalf("/fake/inbound = %d %s", resp.StatusCode, b)
	}
	cbs := s.Callbacks()
	if len(cbs) != 1 || cbs[0].Form.Get("Body") != "hi" || cbs[0].Form.Get("NumMedia") != "0" {
		t.Fatalf("callbacks %+v", cbs)
	}
}

func TestCloseTwice(t *testing.T) {
	s, err := Start(Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestAutoReply(t *testing.T) {
	var s *Server
	hookSrv := startHook(t, &s)
	s, err := Start(Options{
		InboundURL: hookSrv.URL + "/inbound", Statuses: []string{"delivered"},
		AutoReply: func(m Message) (string, bool) { return "echo: " + m.Body, m.Body != "quiet" },
	})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, body := range []string{"quiet", "hi"} {
		create(t, s, url.Values{"To": {"+15551230000"}, "From": {"+15559870000"}, "Body": {body}, "StatusCallback": {hookSrv.URL + "/status"}})
	}
	cbs, err := s.WaitCallbacks(t.Context(), 3)
	if err != nil {
		t.Fatal(err)
	}
	// Status callbacks and the auto-reply are sent concurrently, so their
	// order is not fixed: sort them by where they went.
	var replies, statuses []Callback
	for _, cb := range cbs {
		if strings.HasSuffix(cb.URL, "/inbound") {
			replies = append(replies, cb)
		} else {
			statuses = append(statuses, cb)
		}
	}
	if len(replies) != 1 || len(statuses) != 2 {
		t.Fatalf("callbacks %+v", cbs)
	}
	reply := replies[0]
	if reply.Status != 200 || reply.Form.Get("Body") != "echo: hi" ||
		reply.Form.Get("From") != "+15551230000" || reply.Form.Get("To") != "+15559870000" {
		t.Fatalf("reply %+v", reply)
	}
	for _, cb := range statuses {
		if cb.Form.Get("MessageStatus") != "delivered" {
			t.Fatalf("callback %+v", cb)
		}
	}
}
