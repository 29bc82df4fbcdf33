package slackfake_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/xgate-im/xgate/transports/slack/slackfake"
)

// post calls a Web API method with a raw request and returns the body.
func post(t *testing.T, req *http.Request) (int, http.Header, string) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

func TestWireRequests(t *testing.T) {
	f := newFixture(t)
	fake := f.fake
	form := func(method string, vals url.Values, bearer string) *http.Request {
		r, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, fake.APIURL()+method, strings.NewReader(vals.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if bearer != "" {
			r.Header.Set("Authorization", "Bearer "+bearer)
		}
		return r
	}
	jsonReq := func(method, body, bearer string) *http.Request {
		r, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, fake.APIURL()+method, strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json; charset=utf-8")
		if bearer != "" {
			r.Header.Set("Authorization", "Bearer "+bearer)
		}
		return r
	}
	get := func(method, query, bearer string) *http.Request {
		r, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, fake.APIURL()+method+"?"+query, nil)
		if bearer != "" {
			r.Header.Set("Authorization", "Bearer "+bearer)
		}
		return r
	}
	tests := []struct {
		name   string
		req    *http.Request
		status int
		want   string // the body, or its prefix when it ends in "…"
	}{
		{"form token", form("users.setPresence", url.Values{"token": {f.botToken}, "presence": {"away"}}, ""), 200, `{"ok":true}`},
		{"bearer", form("users.setPresence", url.Values{"presence": {"auto"}}, f.botToken), 200, `{"ok":true}`},
		{"json bearer", jsonReq("chat.postMessage", `{"channel":"`+f.general.ID+`","text":"hi","blocks":[{"type":"divider"}]}`, f.botToken), 200, `{"ok":true,"channel":"` + f.general.ID + `","ts":"…`},
		{"json token in body", jsonReq("auth.test", `{"token":"`+f.botToken+`"}`, ""), 200, `{"ok":false,"error":"not_authed"}`},
		{"json bad body", jsonReq("auth.test", `{"token":`, f.botToken), 200, `{"ok":false,"error":"invalid_json"}`},
		{"json array body", jsonReq("auth.test", `[1]`, f.botToken), 200, `{"ok":false,"error":"json_not_object"}`},
		{"get query", get("users.getPresence", "user="+f.alice.ID, f.botToken), 200, `{"ok":true,"presence":"active"}`},
		{"no token", form("auth.test", nil, ""), 200, `{"ok":false,"error":"not_authed"}`},
		{"empty json to apps.connections.open", jsonReq("apps.connections.open", "", fake.AppToken()), 200, `{"ok":true,"url":"ws://127.0.0.1:…`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, _, body := post(t, tc.req)
			want, prefix := strings.CutSuffix(tc.want, "…")
			if status != tc.status || (prefix && !strings.HasPrefix(body, want)) || (!prefix && body != want) {
				t.Errorf("got %d %s\nwant %d %s", status, body, tc.status, tc.want)
			}
		})
	}
	if msgs := fake.Messages(f.general.ID); len(msgs) != 1 || string(msgs[0].Blocks) != `[{"type":"divider"}]` {
		t.Errorf("json post stored %+v", msgs)
	}

	fake.RateLimit("auth.test", 1, 0)
	status, hdr, body := post(t, form("auth.test", url.Values{"token": {f.botToken}}, ""))
	if status != 429 || hdr.Get("Retry-After") != "0" || body != `{"ok":false,"error":"ratelimited"}` {
		t.Errorf("429: %d %q %s", status, hdr.Get("Retry-After"), body)
	}
}

// rawSocket opens a Socket Mode connection with gorilla/websocket alone and
// returns it with a channel of the text frames it reads.
func rawSocket(t *testing.T, fake *slackfake.Server) (*websocket.Conn, string, <-chan string) {
	t.Helper()
	r, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, fake.APIURL()+"apps.connections.open", nil)
	r.Header.Set("Authorization", "Bearer "+fake.AppToken())
	_, _, body := post(t, r)
	var open struct {
		OK  bool   `json:"ok"`
		URL string `json:"url"`
	}
	if err := json.Unmarshal([]byte(body), &open); err != nil || !open.OK {
		t.Fatalf("apps.connections.open: %s", body)
	}
	ws, _, err := websocket.DefaultDialer.DialContext(t.Context(), open.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ws.Close() })
	frames := make(chan string, 16)
	go func() {
		defer close(frames)
		for {
			_, data, err := ws.ReadMessage()
			if err != nil {
				return
			}
			frames <- string(data)
		}
	}()
	return ws, open.URL, frames
}

func recv(t *testing.T, frames <-chan string) string {
	t.Helper()
	select {
	case f, ok := <-frames:
		if !ok {
			t.Fatal("socket closed")
		}
		return f
	case <-time.After(10 * time.Second):
		t.Fatal("no frame")
	}
	return ""
}

func TestWireSocket(t *testing.T) {
	f := newFixture(t, slackfake.WithPingInterval(5*time.Millisecond), slackfake.WithDisconnectGrace(5*time.Millisecond))
	fake := f.fake
	ws, link, frames := rawSocket(t, fake)
	pinged := make(chan struct{}, 1)
	ws.SetPingHandler(func(string) error {
		select {
		case pinged <- struct{}{}:
		default:
		}
		return nil
	})
	ponged := make(chan string, 1)
	ws.SetPongHandler(func(data string) error { ponged <- data; return nil })

	host := "applink-fake-" + strings.ToLower(fake.AppID())
	want := `{"type":"hello","num_connections":1,"debug_info":{"host":"` + host + `","build_number":1,"approximate_connection_time":18060},"connection_info":{"app_id":"` + fake.AppID() + `"}}`
	if got := recv(t, frames); got != want {
		t.Errorf("hello:\n got %s\nwant %s", got, want)
	}
	if _, resp, err := websocket.DefaultDialer.DialContext(t.Context(), link, nil); err == nil || resp == nil || resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("ticket reused: %v", err)
	}

	if err := ws.WriteControl(websocket.PingMessage, []byte("p1"), time.Now().Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	select {
	case data := <-ponged:
		if data != "p1" {
			t.Errorf("pong %q", data)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no pong")
	}
	select {
	case <-pinged:
	case <-time.After(10 * time.Second):
		t.Fatal("no ping from the server")
	}

	fake.Post(f.alice.ID, f.general.ID, "hi")
	env := recv(t, frames)
	wantPrefix := `{"envelope_id":"00000000-0000-4000-8000-000000000001","type":"events_api","accepts_response_payload":false,"retry_attempt":0,"retry_reason":"","payload":{"token":`
	if !strings.HasPrefix(env, wantPrefix) {
		t.Errorf("envelope:\n got %s\nwant %s…", env, wantPrefix)
	}
	ws.WriteMessage(websocket.TextMessage, []byte("not json"))
	ws.WriteMessage(websocket.TextMessage, []byte(`{"envelope_id":"00000000-0000-4000-8000-000000000001"}`))
	if err := fake.WaitUntil(testCtx(t), func() bool { return fake.Acked() == 1 }); err != nil {
		t.Fatal(err)
	}

	fake.Disconnect("warning")
	want = `{"type":"disconnect","reason":"warning","debug_info":{"host":"` + host + `"}}`
	if got := recv(t, frames); got != want {
		t.Errorf("disconnect:\n got %s\nwant %s", got, want)
	}
	// The client does not close the socket: the fake does after the grace.
	for range frames {
	}
	if err := fake.WaitUntil(testCtx(t), func() bool { return fake.Connections() == 0 }); err != nil {
		t.Fatal(err)
	}
}
