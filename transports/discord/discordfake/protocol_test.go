package discordfake_test

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/xgate-im/xgate/transports/discord/discordfake"
)

// rawGateway is a bare WebSocket client for exact wire checks.
type rawGateway struct {
	t  *testing.T
	ws *websocket.Conn
}

func dialRaw(t *testing.T, f *fixture) *rawGateway {
	t.Helper()
	ws, _, err := websocket.DefaultDialer.DialContext(testCtx(t), f.fake.GatewayURL()+"?v=10&encoding=json", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ws.Close() })
	g := &rawGateway{t: t, ws: ws}
	hello := g.read()
	if hello.Op != 10 || !strings.Contains(string(hello.D), `"heartbeat_interval":41250`) {
		t.Fatalf("first frame = %+v", hello)
	}
	return g
}

type frame struct {
	Op int             `json:"op"`
	S  *int            `json:"s"`
	T  *string         `json:"t"`
	D  json.RawMessage `json:"d"`
}

func (g *rawGateway) send(v string) {
	g.t.Helper()
	if err := g.ws.WriteMessage(websocket.TextMessage, []byte(v)); err != nil {
		g.t.Fatal(err)
	}
}

// read returns the next frame; a close frame fails the test.
func (g *rawGateway) read() frame {
	g.t.Helper()
	g.ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, data, err := g.ws.ReadMessage()
	if err != nil {
		g.t.Fatalf("read: %v", err)
	}
	var f frame
	if err := json.Unmarshal(data, &f); err != nil {
		g.t.Fatalf("frame %s: %v", data, err)
	}
	return f
}

// closeCode reads until the server closes and returns its close code.
func (g *rawGateway) closeCode() int {
	g.t.Helper()
	g.ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		_, _, err := g.ws.ReadMessage()
		var ce *websocket.CloseError
		if errors.As(err, &ce) {
			return ce.Code
		}
		if err != nil {
			g.t.Fatalf("read: %v", err)
		}
	}
}

func identify(tok string, intents int) string {
	b, _ := json.Marshal(map[string]any{"op": 2, "d": map[string]any{"token": tok, "intents": intents,
		"properties": map[string]string{"os": "linux", "browser": "test", "device": "test"}}})
	return string(b)
}

func TestGatewayProtocol(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	for _, tc := range []struct {
		name string
		run  func(g *rawGateway)
	}{
		{"heartbeat is acknowledged", func(g *rawGateway) {
			g.send(`{"op":1,"d":null}`)
			if fr := g.read(); fr.Op != 11 {
				t.Fatalf("got op %d", fr.Op)
			}
		}},
		{"READY then GUILD_CREATE, numbered from 1", func(g *rawGateway) {
			g.send(identify(f.botToken, 1|1<<9))
			ready, gc := g.read(), g.read()
			if *ready.T != "READY" || *ready.S != 1 || *gc.T != "GUILD_CREATE" || *gc.S != 2 {
				t.Fatalf("got %s/%d, %s/%d", *ready.T, *ready.S, *gc.T, *gc.S)
			}
			var d struct {
				V                int    `json:"v"`
				SessionID        string `json:"session_id"`
				ResumeGatewayURL string `json:"resume_gateway_url"`
				Application      struct {
					ID string `json:"id"`
				} `json:"application"`
			}
			json.Unmarshal(ready.D, &d)
			if d.V != 9 || len(d.SessionID) != 32 || !strings.HasPrefix(d.ResumeGatewayURL, "ws://127.0.0.1:") || d.Application.ID != f.bot.ID {
				t.Fatalf("READY d = %s", ready.D)
			}
		}},
		{"second identify closes 4005", func(g *rawGateway) {
			g.send(identify(f.botToken, 1))
			g.read()
			g.read()
			g.send(identify(f.botToken, 1))
			if c := g.closeCode(); c != 4005 {
				t.Fatalf("close %d", c)
			}
		}},
		{"unknown opcode closes 4001", func(g *rawGateway) {
			g.send(`{"op":42,"d":{}}`)
			if c := g.closeCode(); c != 4001 {
				t.Fatalf("close %d", c)
			}
		}},
		{"undecodable payload closes 4002", func(g *rawGateway) {
			g.send(`{"op":`)
			if c := g.closeCode(); c != 4002 {
				t.Fatalf("close %d", c)
			}
		}},
		{"presence before identify closes 4003", func(g *rawGateway) {
			g.send(`{"op":3,"d":{"status":"idle","activities":[],"since":null,"afk":false}}`)
			if c := g.closeCode(); c != 4003 {
				t.Fatalf("close %d", c)
			}
		}},
		{"bots must send intents: 4013", func(g *rawGateway) {
			g.send(`{"op":2,"d":{"token":"` + f.botToken + `","properties":{}}}`)
			if c := g.closeCode(); c != 4013 {
				t.Fatalf("close %d", c)
			}
		}},
		{"resume of an unknown session gets op 9 false", func(g *rawGateway) {
			g.send(`{"op":6,"d":{"token":"` + f.botToken + `","session_id":"nope","seq":3}}`)
			if fr := g.read(); fr.Op != 9 || string(fr.D) != "false" {
				t.Fatalf("got %+v", fr)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.run(dialRaw(t, f)) })
	}
}

func TestResumeReplaysBySequence(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	g := dialRaw(t, f)
	g.send(identify(f.botToken, 1|1<<9|1<<15))
	ready := g.read()
	var d struct {
		SessionID string `json:"session_id"`
	}
	json.Unmarshal(ready.D, &d)
	g.read() // GUILD_CREATE, seq 2
	f.fake.Post(f.alice.ID, f.general.ID, "three")
	f.fake.Post(f.alice.ID, f.general.ID, "four")
	if fr := g.read(); *fr.S != 3 {
		t.Fatalf("seq %d", *fr.S)
	}
	f.fake.DropSockets()
	f.fake.Post(f.alice.ID, f.general.ID, "five")

	// The client saw up to 3: resuming there replays 4 and 5, then RESUMED.
	g2 := dialRaw(t, f)
	g2.send(`{"op":6,"d":{"token":"Bot ` + f.botToken + `","session_id":"` + d.SessionID + `","seq":3}}`)
	var got []string
	for _, want := range []int{4, 5, 6} {
		fr := g2.read()
		if *fr.S != want {
			t.Fatalf("seq %d, want %d", *fr.S, want)
		}
		got = append(got, *fr.T)
	}
	if strings.Join(got, ",") != "MESSAGE_CREATE,MESSAGE_CREATE,RESUMED" {
		t.Fatalf("got %v", got)
	}
	// A sequence number the session never reached closes 4007.
	g3 := dialRaw(t, f)
	g3.send(`{"op":6,"d":{"token":"` + f.botToken + `","session_id":"` + d.SessionID + `","seq":99}}`)
	if c := g3.closeCode(); c != 4007 {
		t.Fatalf("close %d", c)
	}
}

func TestPresenceFromClient(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	g := dialRaw(t, f)
	g.send(identify(f.userToken, 0))
	g.read()
	// discordgo sends created_at as a date string; it is accepted.
	g.send(`{"op":3,"d":{"since":null,"activities":[{"name":"Custom Status","type":4,"state":"on XMPP","created_at":"0001-01-01T00:00:00Z"}],"afk":false,"status":"idle"}}`)
	ctx := testCtx(t)
	err := f.fake.WaitUntil(ctx, func() bool {
		u, _ := f.fake.User(f.alice.ID)
		return u.Status == "idle" && strings.Contains(string(u.Activities), `"state":"on XMPP"`)
	})
	if err != nil {
		u, _ := f.fake.User(f.alice.ID)
		t.Fatalf("presence = %+v: %v", u, err)
	}
}

// TestRESTErrors checks the errors Discord gives, byte for byte where the
// body matters.
func TestRESTErrors(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	stranger := f.fake.CreateUser(discordfake.UserSpec{Username: "eve"})
	eveTok := f.fake.IssueUserToken(stranger.ID)
	eveBob := f.fake.OpenDM(stranger.ID, f.bob.ID)
	bot := "Bot " + f.botToken
	ch := "/api/v9/channels/" + f.general.ID
	long := strings.Repeat("x", 2001)
	for _, tc := range []struct {
		name, method, path, auth, body string
		status                         int
		want                           string // body, or its prefix when it ends in "…"
	}{
		{"no token", "GET", "/api/v9/users/@me", "", "", 401, `{"message":"401: Unauthorized","code":0}`},
		{"bot token without Bot", "GET", "/api/v9/users/@me", f.botToken, "", 401, `{"message":"401: Unauthorized","code":0}`},
		{"user token with Bot", "GET", "/api/v9/users/@me", "Bot " + f.userToken, "", 401, `{"message":"401: Unauthorized","code":0}`},
		{"v10 works too", "GET", "/api/v10/users/@me", bot, "", 200, `{"id":"` + f.bot.ID + `","username":"xgate","avatar":null,"discriminator":"0000","global_name":null,"public_flags":0,"flags":0,"bot":true}`},
		{"unknown API version", "GET", "/api/v7/users/@me", bot, "", 404, `{"message":"404: Not Found","code":0}`},
		{"wrong method", "PUT", ch, bot, "", 405, `{"message":"405: Method Not Allowed","code":0}`},
		{"unknown channel", "GET", "/api/v9/channels/1", bot, "", 404, `{"message":"Unknown Channel","code":10003}`},
		{"channel of another guild", "GET", ch, eveTok, "", 403, `{"message":"Missing Access","code":50001}`},
		{"unknown user", "GET", "/api/v9/users/1", bot, "", 404, `{"message":"Unknown User","code":10013}`},
		{"empty message", "POST", ch + "/messages", bot, `{"content":""}`, 400, `{"message":"Cannot send an empty message","code":50006}`},
		{"too long", "POST", ch + "/messages", bot, `{"content":"` + long + `"}`, 400,
			`{"message":"Invalid Form Body","code":50035,"errors":{"content":{"_errors":[{"code":"BASE_TYPE_MAX_LENGTH","message":"Must be 2000 or fewer in length."}]}}}`},
		{"bad JSON", "POST", ch + "/messages", bot, `{`, 400, `{"message":"The request body contains invalid JSON.","code":50109}`},
		{"reply to nothing", "POST", ch + "/messages", bot, `{"content":"x","message_reference":{"message_id":"1"}}`, 400, `{"message":"Invalid Form Body","code":50035,…`},
		{"parse users and users", "POST", ch + "/messages", bot, `{"content":"x","allowed_mentions":{"parse":["users"],"users":["1"]}}`, 400, `{"message":"Invalid Form Body","code":50035,…`},
		{"history limit", "GET", ch + "/messages?limit=101", bot, "", 400, `{"message":"Invalid Form Body","code":50035,…`},
		{"DM without a shared guild or friendship", "POST", "/api/v9/channels/" + eveBob.ID + "/messages", eveTok, `{"content":"hi"}`, 403, `{"message":"Cannot send messages to this user","code":50007}`},
		{"unknown message", "GET", ch + "/messages/1", bot, "", 404, `{"message":"Unknown Message","code":10008}`},
		{"relationships are for users", "GET", "/api/v9/users/@me/relationships", bot, "", 403, `{"message":"Bots cannot use this endpoint","code":20001}`},
		{"unknown webhook", "POST", "/api/v9/webhooks/1/abc?wait=true", "", `{"content":"x"}`, 404, `{"message":"Unknown Webhook","code":10015}`},
		{"webhooks need guild channels", "POST", "/api/v9/channels/" + f.dm.ID + "/webhooks", bot, `{"name":"x"}`, 400, `{"message":"Cannot execute action on this channel type","code":50024}`},
		{"gateway needs no token", "GET", "/api/v9/gateway", "", "", 200, `{"url":"` + f.fake.GatewayURL() + `"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := f.fake.InvalidRequests()
			req, _ := http.NewRequestWithContext(t.Context(), tc.method, f.fake.URL()+tc.path, strings.NewReader(tc.body))
			if tc.auth != "" {
				req.Header.Set("Authorization", tc.auth)
			}
			if tc.body != "" {
				req.Header.Set("Content-Type", "application/json")
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			got := string(b)
			match := got == tc.want
			if p, ok := strings.CutSuffix(tc.want, "…"); ok {
				match = strings.HasPrefix(got, p)
			}
			if resp.StatusCode != tc.status || !match {
				t.Fatalf("%d %s, want %d %s", resp.StatusCode, got, tc.status, tc.want)
			}
			invalid := tc.status == 401 || tc.status == 403 || tc.status == 429
			if after := f.fake.InvalidRequests(); (after > before) != invalid {
				t.Fatalf("invalid requests %d → %d after a %d", before, after, tc.status)
			}
		})
	}
}

func TestRevokedTokenClosesSessions(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	g := dialRaw(t, f)
	g.send(identify(f.botToken, 1))
	g.read()
	f.fake.RevokeToken(f.botToken)
	if c := g.closeCode(); c != 4004 {
		t.Fatalf("close %d", c)
	}
	req, _ := http.NewRequestWithContext(t.Context(), "GET", f.fake.APIURL()+"users/@me", nil)
	req.Header.Set("Authorization", "Bot "+f.botToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Fatalf("REST with a revoked token: %d", resp.StatusCode)
	}
	if ss := f.fake.Sessions(); len(ss) != 1 || !ss[0].Invalid {
		t.Fatalf("sessions = %+v", ss)
	}
}

func TestGatewayUpgradeRefusals(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	for _, q := range []string{"?v=6&encoding=json", "?v=9&encoding=etf", "?v=9&encoding=json&compress=zlib-stream"} {
		_, resp, err := websocket.DefaultDialer.DialContext(t.Context(), f.fake.GatewayURL()+q, nil)
		if err == nil || resp == nil || resp.StatusCode != 400 {
			t.Errorf("%s: %v", q, err)
		}
	}
}
