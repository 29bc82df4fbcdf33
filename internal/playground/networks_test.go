package playground_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/xgate-im/xgate/internal/playground"
	"github.com/xgate-im/xgate/transports/discord/discordfake"
	"github.com/xgate-im/xgate/transports/sms/smsfake"
)

// call runs one API request and returns its status and body.
func call(h *playground.Server, method, path, body string) (int, string) {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, path, strings.NewReader(body)))
	b, _ := io.ReadAll(rec.Result().Body)
	return rec.Code, string(b)
}

// The Discord network: people in their DMs, what they may do there, and
// the page's reaction names turned into Unicode for Discord.
func TestDiscordNetwork(t *testing.T) {
	fake := discordfake.New()
	t.Cleanup(fake.Close)
	me := fake.CreateUser(discordfake.UserSpec{Username: "you", GlobalName: "You"})
	hedy := fake.CreateUser(discordfake.UserSpec{Username: "hedy", GlobalName: "Hedy"})
	alan := fake.CreateUser(discordfake.UserSpec{Username: "alan"})
	g := fake.CreateGuild(me.ID, "G")
	fake.AddMember(g.ID, hedy.ID, "")
	fake.AddMember(g.ID, alan.ID, "")
	dm := fake.OpenDM(me.ID, hedy.ID)
	mine := fake.Post(me.ID, dm.ID, "from XMPP")
	pg := playground.New(playground.NewDiscord(fake, []string{hedy.ID, alan.ID}, []string{dm.ID}))
	act := func(as string) string { return `{"as":"` + as + `","conv":"` + dm.ID + `"` }
	for _, tc := range []struct {
		name, method, path, body string
		status                   int
		want                     string
	}{
		{"networks", "GET", "/api/networks", "", 200, `[{"id":"discord","name":"Discord","edits":true,"reactions":true,"typing":true}]`},
		{"people", "GET", "/api/discord/people", "", 200, `[{"id":"` + hedy.ID + `","name":"Hedy"},{"id":"` + alan.ID + `","name":"alan"}]`},
		{"conversations", "GET", "/api/discord/conversations?as=" + hedy.ID, "", 200, `[{"id":"` + dm.ID + `","name":"You"}]`},
		{"not alan's", "GET", "/api/discord/conversations?as=" + alan.ID, "", 200, `[]`},
		{"send elsewhere", "POST", "/api/discord/send", act(alan.ID) + `,"text":"x"}`, 400, "not allowed"},
		{"send", "POST", "/api/discord/send", act(hedy.ID) + `,"text":"from Discord"}`, 200, `{"ok":true}`},
		{"edit another's", "POST", "/api/discord/edit", act(hedy.ID) + `,"id":"` + mine + `","text":"x"}`, 400, "not allowed"},
		{"react", "POST", "/api/discord/react", act(hedy.ID) + `,"id":"` + mine + `","emoji":"+1"}`, 200, `{"ok":true}`},
		{"unknown emoji", "POST", "/api/discord/react", act(hedy.ID) + `,"id":"` + mine + `","emoji":"<b>"}`, 400, "not allowed"},
		{"typing", "POST", "/api/discord/typing", act(hedy.ID) + `}`, 200, `{"ok":true}`},
		{"typing elsewhere", "POST", "/api/discord/typing", act(alan.ID) + `}`, 400, "not allowed"},
		{"messages", "GET", "/api/discord/messages?conv=" + dm.ID, "", 200, `"text":"from XMPP","edited":false,"reactions":[{"emoji":"+1","count":1}]}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if status, body := call(pg, tc.method, tc.path, tc.body); status != tc.status || !strings.Contains(body, tc.want) {
				t.Errorf("%s %s = %d %s, want %d containing %s", tc.method, tc.path, status, body, tc.status, tc.want)
			}
		})
	}
	ms := fake.Messages(dm.ID)
	if len(ms) != 2 || ms[1].AuthorID != hedy.ID || ms[1].Content != "from Discord" || ms[0].Reactions[0].Emoji != "👍" {
		t.Errorf("Discord has %+v", ms)
	}
}

// The SMS network: a phone's texts with the gateway's number, both ways
// and in order; no edits nor reactions.
func TestSMSNetwork(t *testing.T) {
	const phone, gw = "+12025550123", "+12025550100"
	var mu sync.Mutex
	var inbound []string
	// A stand-in for the gateway's webhook: it records the texts.
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		mu.Lock()
		inbound = append(inbound, r.Form.Get("From")+" "+r.Form.Get("Body"))
		mu.Unlock()
	}))
	t.Cleanup(hook.Close)
	fake, err := smsfake.Start(smsfake.Options{InboundURL: hook.URL, Statuses: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fake.Close() })
	// The gateway texts the phone, as the SMS transport does.
	form := url.Values{"From": {gw}, "To": {phone}, "Body": {"from XMPP"}}
	req, _ := http.NewRequestWithContext(t.Context(), "POST", fake.URL()+"/2010-04-01/Accounts/"+fake.AccountSID()+"/Messages.json", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(fake.AccountSID(), fake.AuthToken())
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 201 {
		t.Fatalf("create message: %v %v", resp, err)
	}
	resp.Body.Close()
	pg := playground.New(playground.NewSMS(fake, playground.Phone{Number: phone, Name: "Pat", Peers: []string{gw}}))
	conv := phone + "," + gw
	act := `{"as":"` + phone + `","conv":"` + conv + `"`
	for _, tc := range []struct {
		name, method, path, body string
		status                   int
		want                     string
	}{
		{"networks", "GET", "/api/networks", "", 200, `[{"id":"sms","name":"SMS","edits":false,"reactions":false,"typing":false}]`},
		{"people", "GET", "/api/sms/people", "", 200, `[{"id":"` + phone + `","name":"Pat","title":"` + phone + `"}]`},
		{"conversations", "GET", "/api/sms/conversations?as=" + url.QueryEscape(phone), "", 200, `[{"id":"` + conv + `","name":"` + gw + `"}]`},
		{"send", "POST", "/api/sms/send", act + `,"text":"from the phone"}`, 200, `{"ok":true}`},
		{"send as another", "POST", "/api/sms/send", `{"as":"+12025550199","conv":"` + conv + `","text":"x"}`, 400, "not allowed"},
		{"unknown conversation", "POST", "/api/sms/send", act[:len(act)-1] + `9","text":"x"}`, 404, "not found"},
		{"no edits", "POST", "/api/sms/edit", act + `,"id":"SM1","text":"x"}`, 400, "not allowed"},
		{"no reactions", "POST", "/api/sms/react", act + `,"id":"SM1","emoji":"+1"}`, 400, "not allowed"},
		{"no typing", "POST", "/api/sms/typing", act + `}`, 400, "not allowed"},
		{"messages", "GET", "/api/sms/messages?conv=" + url.QueryEscape(conv), "", 200, `"author":"` + gw + `","authorName":"` + gw + `","text":"from XMPP"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if status, body := call(pg, tc.method, tc.path, tc.body); status != tc.status || !strings.Contains(body, tc.want) {
				t.Errorf("%s %s = %d %s, want %d containing %s", tc.method, tc.path, status, body, tc.status, tc.want)
			}
		})
	}
	_, body := call(pg, "GET", "/api/sms/messages?conv="+url.QueryEscape(conv), "")
	if i, j := strings.Index(body, "from XMPP"), strings.Index(body, "from the phone"); i < 0 || j < i {
		t.Errorf("texts out of order: %s", body)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(inbound) != 1 || inbound[0] != phone+" from the phone" {
		t.Errorf("the gateway's webhook got %q", inbound)
	}
}

// With Run, the Discord page knows who else types in a conversation (the
// XMPP user, through the gateway's session), and that is a change.
func TestDiscordTypingSeen(t *testing.T) {
	fake := discordfake.New()
	t.Cleanup(fake.Close)
	me := fake.CreateUser(discordfake.UserSpec{Username: "you", GlobalName: "You"})
	hedy := fake.CreateUser(discordfake.UserSpec{Username: "hedy", GlobalName: "Hedy"})
	fake.AddFriend(me.ID, hedy.ID)
	dm := fake.OpenDM(me.ID, hedy.ID)
	d := playground.NewDiscord(fake, []string{hedy.ID}, []string{dm.ID})
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	rctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- d.Run(rctx) }()
	if err := fake.WaitUntil(ctx, func() bool {
		ss := fake.Sessions()
		return len(ss) == 1 && ss[0].UserID == hedy.ID && ss[0].Connected
	}); err != nil {
		t.Fatalf("Hedy's session never connected: %v", err)
	}
	before, err := d.Changed(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if got := d.TypingNow(dm.ID); len(got) != 0 {
		t.Fatalf("typing before anyone typed: %q", got)
	}
	fake.Typing(me.ID, dm.ID)
	for now := before; ; {
		if now, err = d.Changed(ctx, now); err != nil {
			t.Fatalf("no change after typing: %v", err)
		}
		if got := d.TypingNow(dm.ID); len(got) == 1 && got[0] == "You" {
			break
		}
	}
	stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := fake.WaitUntil(ctx, func() bool { return fake.Connections() == 0 }); err != nil {
		t.Errorf("Run left a session open: %v", err)
	}
}
