package sms

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/xgate-im/xgate/bridge"
	"github.com/xgate-im/xgate/bridge/bridgetest"
	"github.com/xgate-im/xgate/transports/sms/provider"
	"github.com/xgate-im/xgate/transports/sms/segment"
	"github.com/xgate-im/xgate/transports/sms/smsfake"
)

const testToken = "hook-token-0123456789abcdef"

func TestConfigValidate(t *testing.T) {
	kannel := func() Config {
		return Config{Provider: KindKannel, DefaultRegion: "DE", PublicURL: "https://gw.example.org/sms", WebhookToken: testToken,
			KannelSendSMSURL: "http://127.0.0.1:13013/cgi-bin/sendsms", KannelUsername: "xgate", KannelPassword: "pw",
			KannelSecret: "kannel-secret-0123456789", KannelAllowedSources: []string{"127.0.0.1", "10.0.0.0/8"},
			Numbers: []NumberConfig{{Number: "0151 2345 6789", User: "alice@example.org", Contacts: []string{"+49 30 1234567"}}}}
	}
	twilioCfg := func() Config {
		return Config{Provider: KindTwilio, DefaultRegion: "US", PublicURL: "https://gw.example.org/sms", WebhookToken: testToken,
			TwilioAccountSID: smsfake.DefaultAccountSID, TwilioAuthToken: "tok"}
	}
	tests := []struct {
		name   string
		mutate func(*Config)
		base   func() Config
		want   string // "" for valid
	}{
		{"kannel", func(*Config) {}, kannel, ""},
		{"twilio", func(*Config) {}, twilioCfg, ""},
		{"own credentials only", func(c *Config) {
			*c = Config{DefaultRegion: "US", PublicURL: "http://127.0.0.1:8089/sms", UserCredentials: true}
		}, twilioCfg, ""},
		{"no region", func(c *Config) { c.DefaultRegion = "" }, twilioCfg, "default_region: required"},
		{"bad region", func(c *Config) { c.DefaultRegion = "XX" }, twilioCfg, "default_region: \"XX\""},
		{"no public url", func(c *Config) { c.PublicURL = "" }, twilioCfg, "public_url"},
		{"public url with query", func(c *Config) { c.PublicURL = "https://gw/sms?x=1" }, twilioCfg, "public_url"},
		{"no provider", func(c *Config) { c.Provider = "" }, twilioCfg, "provider: required"},
		{"unknown provider", func(c *Config) { c.Provider = "telnyx" }, twilioCfg, `provider: "telnyx"`},
		{"short token", func(c *Config) { c.WebhookToken = "short" }, twilioCfg, "webhook_token: at least 16"},
		{"no token", func(c *Config) { c.WebhookToken = "" }, twilioCfg, "webhook_token"},
		{"twilio without sid", func(c *Config) { c.TwilioAccountSID = "" }, twilioCfg, "twilio_account_sid: required"},
		{"twilio without token", func(c *Config) { c.TwilioAuthToken = "" }, twilioCfg, "twilio_auth_token"},
		{"kannel without password", func(c *Config) { c.KannelPassword = "" }, kannel, "kannel_password"},
		{"kannel short secret", func(c *Config) { c.KannelSecret = "s" }, kannel, "kannel_secret: at least"},
		{"kannel bad source", func(c *Config) { c.KannelAllowedSources = []string{"nowhere"} }, kannel, "kannel_allowed_sources"},
		{"kannel bad url", func(c *Config) { c.KannelSendSMSURL = "ftp://x" }, kannel, "kannel_sendsms_url"},
		{"impossible number", func(c *Config) { c.Numbers[0].Number = "12" }, kannel, "numbers[0].number"},
		{"number twice", func(c *Config) {
			c.Numbers = append(c.Numbers, NumberConfig{Number: "+4915123456789", User: "bob@example.org"})
		}, kannel, "assigned twice"},
		{"number without user", func(c *Config) { c.Numbers[0].User = "" }, kannel, "numbers[0].user"},
		{"bad contact", func(c *Config) { c.Numbers[0].Contacts = []string{"call me"} }, kannel, "numbers[0].contacts"},
		{"bad rate", func(c *Config) { c.SendRate = -1 }, kannel, "send_rate"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.base()
			tc.mutate(&c)
			err := c.Validate()
			if tc.want == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) || !errors.Is(err, ErrConfig) {
				t.Fatalf("Validate: %v, want an ErrConfig containing %q", err, tc.want)
			}
		})
	}
}

func TestConfigHidesSecrets(t *testing.T) {
	c := Config{KannelPassword: "pw-SECRET", KannelSecret: "kannel-SECRET", TwilioAuthToken: "tw-SECRET", WebhookToken: "hook-SECRET"}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
		if s := fmt.Sprintf(verb, c); strings.Contains(s, "SECRET") {
			t.Errorf("%s shows a secret: %s", verb, s)
		}
	}
}

func TestResolveContact(t *testing.T) {
	tr, err := New(Config{DefaultRegion: "US", PublicURL: "http://127.0.0.1:1/sms", UserCredentials: true}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ in, want, err string }{
		{"(202) 555-0111", "+12025550111", ""},
		{"tel:+44-20-7946-0958", "+442079460958", ""},
		{"0049 30 1234567", "+49301234567", ""},
		{"12345", "12345", ""},
		{"911", "", "emergency"},
		{"555-0111", "", "area code"},
		{"call me", "", "not a phone number"},
	}
	for _, tc := range tests {
		c, err := tr.ResolveContact(t.Context(), tc.in)
		if tc.err != "" {
			if !errors.Is(err, bridge.ErrInvalidInput) || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q: %v, want ErrInvalidInput saying %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || string(c.ID) != tc.want || tr.ContactLocalpart(c.ID) != tc.want {
			t.Errorf("%q: %+v, %v; want %s", tc.in, c, err, tc.want)
		}
	}
}

func TestChunks(t *testing.T) {
	long := strings.Repeat("a", 400)
	emoji := strings.Repeat("😀", 100) // 200 UCS-2 units: 3 parts
	tests := []struct {
		name string
		text string
		caps provider.Capabilities
		want []int // segments per chunk
	}{
		{"short", "hi", provider.Capabilities{Concatenates: true, MaxSegments: 10}, []int{1}},
		{"concatenated whole", long, provider.Capabilities{Concatenates: true, MaxSegments: 10}, []int{3}},
		{"over the parts limit", long, provider.Capabilities{Concatenates: true, MaxSegments: 2}, []int{2, 1}},
		{"no concatenation", long, provider.Capabilities{}, []int{1, 1, 1}},
		{"body limit", long, provider.Capabilities{Concatenates: true, MaxBody: 306}, []int{2, 1}},
		{"emoji", emoji, provider.Capabilities{Concatenates: true, MaxSegments: 2}, []int{2, 1}},
	}
	for _, tc := range tests {
		got := chunks(tc.text, tc.caps)
		var segs []int
		for _, c := range got {
			segs = append(segs, segment.Segments(c))
		}
		if fmt.Sprint(segs) != fmt.Sprint(tc.want) || strings.Join(got, "") != tc.text {
			t.Errorf("%s: segments %v, want %v (joined back: %v)", tc.name, segs, tc.want, strings.Join(got, "") == tc.text)
		}
	}
}

func TestReportsOutOfOrder(t *testing.T) {
	chat := bridge.ChatRef{Peer: "+12025550122"}
	all := func(bridge.AccountID) bool { return true }
	rep := func(id string, s provider.Status) provider.DeliveryReport {
		return provider.DeliveryReport{ID: provider.MessageID(id), Status: s}
	}
	t.Run("delivered before Send returned", func(t *testing.T) {
		tk := newTracker()
		if _, _, known := tk.report(rep("k1", provider.StatusDelivered), all); known {
			t.Fatal("an ID nobody sent is known")
		}
		_, _, _ = tk.report(rep("k1", provider.StatusSent), all)
		out := tk.sent("a", chat, "k1", []provider.MessageID{"k1"})
		if len(out) != 1 || out[0].state != bridge.Delivered {
			t.Fatalf("outcomes %+v, want one delivered", out)
		}
		tk.passed(out[0])
		if _, changed, _ := tk.report(rep("k1", provider.StatusFailed), all); changed {
			t.Error("a delivered message moved to failed")
		}
	})
	t.Run("parts", func(t *testing.T) {
		tk := newTracker()
		tk.sent("a", chat, "p1", []provider.MessageID{"p1", "p2"})
		if _, changed, _ := tk.report(rep("p1", provider.StatusDelivered), all); changed {
			t.Error("delivered with one part of two")
		}
		o, changed, _ := tk.report(rep("p2", provider.StatusDelivered), all)
		if !changed || o.state != bridge.Delivered || o.text.id != "p1" {
			t.Errorf("%+v %v, want delivered p1", o, changed)
		}
	})
	t.Run("failure with reason, again until passed", func(t *testing.T) {
		tk := newTracker()
		tk.sent("a", chat, "f1", []provider.MessageID{"f1"})
		r := rep("f1", provider.StatusUndelivered)
		r.Err = provider.NewError("twilio", provider.Permanent, provider.ReasonBlocked, "30007", "Carrier filtered", nil)
		o, changed, _ := tk.report(r, all)
		if !changed || o.state != bridge.Failed || !strings.Contains(o.reason, "30007") || !strings.Contains(o.reason, "Carrier filtered") {
			t.Fatalf("%+v", o)
		}
		if _, changed, _ := tk.report(r, all); !changed {
			t.Error("a report sent again before the failure was stored is not passed on again")
		}
		tk.passed(o)
		if _, changed, _ := tk.report(r, all); changed {
			t.Error("passed on twice")
		}
	})
	t.Run("foreign account", func(t *testing.T) {
		tk := newTracker()
		tk.sent("a", chat, "x1", []provider.MessageID{"x1"})
		if _, changed, _ := tk.report(rep("x1", provider.StatusDelivered), func(a bridge.AccountID) bool { return a == "b" }); changed {
			t.Error("a report from another account's provider was applied")
		}
	})
}

// sharedWorld is a transport with a Twilio account of its own (smsfake)
// and one number assigned to a user, logged in.
type sharedWorld struct {
	fake *smsfake.Server
	tr   *Transport
	base string // the listener's URL of /sms
	rec  *bridgetest.Recorder
	sess bridge.Session
}

const (
	assignedNumber = "+12025550111"
	peerNumber     = "+12025550122"
)

func newSharedWorld(t *testing.T, opts smsfake.Options) *sharedWorld {
	t.Helper()
	srv, mux := listener(t)
	base := srv.URL + "/sms"
	opts.InboundURL = base + "/p/" + testToken + "/inbound"
	fake, err := smsfake.Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fake.Close() })
	tr, err := New(Config{
		Provider: KindTwilio, DefaultRegion: "US", PublicURL: base, WebhookToken: testToken,
		TwilioBaseURL: fake.URL(), TwilioAccountSID: fake.AccountSID(), TwilioAuthToken: fake.AuthToken(),
		Numbers:  []NumberConfig{{Number: "202 555 0111", User: "alice@example.org", Contacts: []string{peerNumber}}},
		SendRate: 100, SendBurst: 100,
	}, testLog(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	tr.MountWebhooks(testMux{mux})
	serve(t, tr)
	as := tr.Assignments()
	if len(as) != 1 || as[0].User != "alice@example.org" || as[0].Account.ID != assignedNumber {
		t.Fatalf("assignments %+v", as)
	}
	rec := bridgetest.NewRecorder()
	sess, err := tr.Login(t.Context(), as[0].Account, rec)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sess.Close() })
	return &sharedWorld{fake: fake, tr: tr, base: base, rec: rec, sess: sess}
}

var peerChat = bridge.ChatRef{Kind: bridge.Direct, Peer: peerNumber}

func TestDeliveryReports(t *testing.T) {
	w := newSharedWorld(t, smsfake.Options{})
	ctx := bounded(t, 10*time.Second)
	id, err := w.sess.Send(ctx, peerChat, bridge.OutgoingMessage{Text: "hello"})
	if err != nil {
		t.Fatal(err)
	}
	ev := bridgetest.WaitFor(t, w.rec, func(e bridge.DeliveryEvent) bool { return e.ID == id })
	if ev.State != bridge.Delivered || ev.Chat.Peer != peerNumber {
		t.Errorf("%+v", ev)
	}
	w.fake.FailDelivery(peerNumber, 30007)
	id, err = w.sess.Send(ctx, peerChat, bridge.OutgoingMessage{Text: "filtered"})
	if err != nil {
		t.Fatal(err)
	}
	ev = bridgetest.WaitFor(t, w.rec, func(e bridge.DeliveryEvent) bool { return e.ID == id })
	if ev.State != bridge.Failed || !strings.Contains(ev.Reason, "30007") {
		t.Errorf("%+v, want failed with code 30007", ev)
	}
	if s := w.tr.Stats(); s.Sent != 2 || s.Segments != 2 || s.Failed != 1 {
		t.Errorf("stats %+v", s)
	}
	if m := w.tr.TransportStats(); m["sms_sent"] != 2 || m["sms_failed"] != 1 || len(m) != 6 {
		t.Errorf("transport stats %v", m)
	}
}

func TestDefinitiveFailuresBounced(t *testing.T) {
	w := newSharedWorld(t, smsfake.Options{})
	tests := []struct {
		fault smsfake.Fault
		want  error
		code  string
	}{
		{smsfake.OptedOut, bridge.ErrForbidden, "21610"},
		{smsfake.InvalidNumber, bridge.ErrNotFound, "21211"},
		{smsfake.Fault{Status: 400, Code: 21408, Message: "Permission to send an SMS has not been enabled"}, bridge.ErrForbidden, "21408"},
	}
	for _, tc := range tests {
		w.fake.FailNext(tc.fault)
		_, err := w.sess.Send(bounded(t, 10*time.Second), peerChat, bridge.OutgoingMessage{Text: "x"})
		if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.code) || !strings.Contains(err.Error(), tc.fault.Message) {
			t.Errorf("fault %d: %v, want %v with the provider's reason", tc.fault.Code, err, tc.want)
		}
	}
	w.fake.FailNext(smsfake.Unavailable)
	if _, err := w.sess.Send(bounded(t, 10*time.Second), peerChat, bridge.OutgoingMessage{Text: "x"}); !errors.Is(err, bridge.ErrTemporary) {
		t.Errorf("503: %v, want a temporary error (retried from the queue)", err)
	}
}

func TestInboundOnceAndForgedRefused(t *testing.T) {
	w := newSharedWorld(t, smsfake.Options{})
	ctx := bounded(t, 10*time.Second)
	sid, st, err := w.fake.SendInbound(ctx, smsfake.Inbound{From: peerNumber, To: assignedNumber, Body: "hi"})
	if err != nil || st != 200 {
		t.Fatalf("inbound: %d %v", st, err)
	}
	m := bridgetest.WaitFor(t, w.rec, func(m bridge.MessageEvent) bool { return m.ID == bridge.MessageID(sid) })
	if m.Text != "hi" || m.Chat.Peer != peerNumber {
		t.Errorf("%+v", m)
	}
	// The same webhook again (a provider's retry): answered 2xx, not passed on.
	sim := newPhoneSim(t, w.fake.AuthToken())
	form := url.Values{"MessageSid": {sid}, "AccountSid": {w.fake.AccountSID()}, "From": {peerNumber}, "To": {assignedNumber}, "Body": {"hi"}}
	inbound := w.base + "/p/" + testToken + "/inbound"
	if st, err := sim.post(ctx, inbound, form); err != nil || st != 200 {
		t.Fatalf("again: %d %v", st, err)
	}
	// Forged: signed with another token.
	forger := newPhoneSim(t, "not-the-auth-token")
	form.Set("MessageSid", newSID("SM"))
	if st, _ := forger.post(ctx, inbound, form); st != http.StatusForbidden {
		t.Errorf("forged webhook answered %d, want 403", st)
	}
	if st, _ := sim.post(ctx, w.base+"/p/wrong-token-0123456789/inbound", form); st != http.StatusNotFound {
		t.Errorf("wrong path token answered %d, want 404", st)
	}
	if n := bridgetest.Count(w.rec, func(m bridge.MessageEvent) bool { return true }); n != 1 {
		t.Errorf("%d messages emitted, want 1", n)
	}
	if s := w.tr.Stats(); s.Forged != 1 || s.Inbound != 1 {
		t.Errorf("stats %+v, want one forged, one inbound", s)
	}
	// A text to a number nobody has is answered (kept by the log), counted.
	form.Set("To", "+12025550199")
	if st, _ := sim.post(ctx, inbound, form); st != 200 {
		t.Errorf("text to an unassigned number answered %d", st)
	}
	if s := w.tr.Stats(); s.Unassigned != 1 {
		t.Errorf("stats %+v, want one unassigned", s)
	}
}

func TestMMSRehosted(t *testing.T) {
	w := newSharedWorld(t, smsfake.Options{})
	ctx := bounded(t, 10*time.Second)
	pic := []byte("\x89PNG\r\n\x1a\n not really a picture")
	sid, _, err := w.fake.SendInbound(ctx, smsfake.Inbound{From: peerNumber, To: assignedNumber, Body: "look",
		Media: []smsfake.MediaFile{{ContentType: "image/png", Data: pic}}})
	if err != nil {
		t.Fatal(err)
	}
	m := bridgetest.WaitFor(t, w.rec, func(m bridge.MessageEvent) bool { return m.ID == bridge.MessageID(sid) })
	if len(m.Attachments) != 1 || !strings.HasPrefix(m.Attachments[0].URL, w.base+"/m/") || m.Attachments[0].MIME != "image/png" {
		t.Fatalf("attachments %+v", m.Attachments)
	}
	get := func(u string) (int, []byte, string) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b, resp.Header.Get("Content-Type")
	}
	if st, b, ct := get(m.Attachments[0].URL); st != 200 || string(b) != string(pic) || ct != "image/png" {
		t.Errorf("re-hosted media: %d %q %s", st, b, ct)
	}
	u := m.Attachments[0].URL
	parts := strings.Split(u, "/")
	parts[len(parts)-2] = "AAAAAAAAAAAAAAAAAAAAAAAA"
	if st, _, _ := get(strings.Join(parts, "/")); st != http.StatusForbidden {
		t.Errorf("media link with a forged MAC answered %d", st)
	}
	// Outgoing: a XEP-0066 link becomes MMS media.
	if _, err := w.sess.Send(ctx, peerChat, bridge.OutgoingMessage{Text: "see", Attachments: []bridge.Attachment{{URL: "https://up.example.org/a.jpg"}}}); err != nil {
		t.Fatal(err)
	}
	msgs := w.fake.Messages()
	last := msgs[len(msgs)-1]
	if last.Body != "see" || len(last.MediaURLs) != 1 || last.MediaURLs[0] != "https://up.example.org/a.jpg" {
		t.Errorf("sent %+v", last)
	}
}

func TestAssignedOnly(t *testing.T) {
	w := newSharedWorld(t, smsfake.Options{})
	if _, err := w.tr.Register(t.Context(), map[string]string{"number": assignedNumber}); !errors.Is(err, bridge.ErrInvalidInput) {
		t.Errorf("Register without user credentials allowed: %v", err)
	}
	acct := bridge.AccountData{ID: "+12025550133", Settings: map[string]string{"mode": modeAssigned, "number": "+12025550133"}}
	if _, err := w.tr.Login(t.Context(), acct, bridgetest.NewRecorder()); !errors.Is(err, bridge.ErrAuth) {
		t.Errorf("Login of a number no longer assigned: %v, want ErrAuth", err)
	}
	// The stored account of a user the number was assigned to before.
	acct = bridge.AccountData{ID: assignedNumber, Settings: map[string]string{"mode": modeAssigned, "number": assignedNumber, "user": "bob@example.org"}}
	if _, err := w.tr.Login(t.Context(), acct, bridgetest.NewRecorder()); !errors.Is(err, bridge.ErrAuth) {
		t.Errorf("Login of a number assigned to someone else: %v, want ErrAuth", err)
	}
	cs, _ := w.sess.Contacts(t.Context())
	if len(cs) != 1 || cs[0].ID != peerNumber {
		t.Errorf("contacts %+v", cs)
	}
	if _, err := w.sess.Send(t.Context(), bridge.ChatRef{Kind: bridge.Direct, Peer: "2025550122"}, bridge.OutgoingMessage{Text: "x"}); !errors.Is(err, bridge.ErrNotFound) {
		t.Errorf("send to a non-canonical number: %v", err)
	}
}

// TestOwnAccountSpeaksForItsNumberOnly: a user's validly signed webhook
// claiming another number's text is ignored.
func TestOwnAccountSpeaksForItsNumberOnly(t *testing.T) {
	w := newFakeWorld(t, smsfake.Options{})
	acct, err := w.tr.Register(t.Context(), w.Credentials())
	if err != nil {
		t.Fatal(err)
	}
	rec := bridgetest.NewRecorder()
	sess, err := w.tr.Login(t.Context(), acct, rec)
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	// The account's name (shown by the status command) says where to point
	// the number's webhook.
	if want := w.srv.URL + "/sms/a/" + w.hook() + "/inbound"; !strings.Contains(acct.Name, want) || !strings.HasPrefix(string(acct.ID), assignedNumber+"~") {
		t.Errorf("account %q %q lacks %s", acct.ID, acct.Name, want)
	}
	ctx := bounded(t, 10*time.Second)
	form := url.Values{"MessageSid": {newSID("SM")}, "From": {peerNumber}, "To": {"+12025550177"}, "Body": {"x"}}
	if st, err := w.sim.post(ctx, w.srv.URL+"/sms/a/"+w.hook()+"/inbound", form); err != nil || st != 200 {
		t.Fatalf("%d %v", st, err)
	}
	if n := len(rec.Events()); n != 0 || w.tr.Stats().Forged != 1 {
		t.Errorf("%d events, stats %+v", n, w.tr.Stats())
	}
}

// TestTextWaitsForLogin: a text to an assigned number whose account is not
// logged in yet is held until it is, then delivered and answered 200.
func TestTextWaitsForLogin(t *testing.T) {
	srv, mux := listener(t)
	base := srv.URL + "/sms"
	fake, err := smsfake.Start(smsfake.Options{InboundURL: base + "/p/" + testToken + "/inbound"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fake.Close() })
	tr, err := New(Config{
		Provider: KindTwilio, DefaultRegion: "US", PublicURL: base, WebhookToken: testToken,
		TwilioBaseURL: fake.URL(), TwilioAccountSID: fake.AccountSID(), TwilioAuthToken: fake.AuthToken(),
		Numbers: []NumberConfig{{Number: assignedNumber, User: "alice@example.org"}},
	}, testLog(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	waiting := make(chan struct{}, 1)
	tr.onNotReady = func() {
		select {
		case waiting <- struct{}{}:
		default:
		}
	}
	tr.MountWebhooks(testMux{mux})
	serve(t, tr)
	ctx := bounded(t, 10*time.Second)
	type answer struct {
		sid    string
		status int
		err    error
	}
	answered := make(chan answer, 1)
	go func() {
		sid, st, err := fake.SendInbound(ctx, smsfake.Inbound{From: peerNumber, To: assignedNumber, Body: "early"})
		answered <- answer{sid, st, err}
	}()
	select {
	case <-waiting:
	case a := <-answered:
		t.Fatalf("answered before the login: %+v", a)
	case <-ctx.Done():
		t.Fatal("the text never waited for the login")
	}
	rec := bridgetest.NewRecorder()
	sess, err := tr.Login(ctx, tr.Assignments()[0].Account, rec)
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	a := <-answered
	if a.err != nil || a.status != 200 {
		t.Fatalf("%+v", a)
	}
	if m := bridgetest.WaitFor(t, rec, func(m bridge.MessageEvent) bool { return m.ID == bridge.MessageID(a.sid) }); m.Text != "early" {
		t.Errorf("%+v", m)
	}
}

// TestSameNumberTwoUsers: two users registering the same number with
// their own credentials get separate accounts; a text through one's
// webhook reaches only that one.
func TestSameNumberTwoUsers(t *testing.T) {
	w := newFakeWorld(t, smsfake.Options{})
	ctx := bounded(t, 10*time.Second)
	var accts []bridge.AccountData
	var recs []*bridgetest.Recorder
	for range 2 {
		acct, err := w.tr.Register(ctx, w.Credentials())
		if err != nil {
			t.Fatal(err)
		}
		rec := bridgetest.NewRecorder()
		sess, err := w.tr.Login(ctx, acct, rec)
		if err != nil {
			t.Fatal(err)
		}
		defer sess.Close()
		accts, recs = append(accts, acct), append(recs, rec)
	}
	if accts[0].ID == accts[1].ID {
		t.Fatalf("both users got account %s", accts[0].ID)
	}
	sid := newSID("SM")
	form := url.Values{"MessageSid": {sid}, "From": {peerNumber}, "To": {w.number}, "Body": {"for the first"}}
	if st, err := w.sim.post(ctx, w.srv.URL+"/sms/a/"+accts[0].Settings["hook"]+"/inbound", form); err != nil || st != 200 {
		t.Fatalf("%d %v", st, err)
	}
	bridgetest.WaitFor(t, recs[0], func(m bridge.MessageEvent) bool { return m.ID == bridge.MessageID(sid) })
	if n := bridgetest.Count(recs[1], func(bridge.MessageEvent) bool { return true }); n != 0 {
		t.Errorf("the second user got %d messages of the first", n)
	}
}

// TestRegisterChecksCredentials: a user's own credentials are checked
// with the provider at registration, each refusal with a clear reason.
func TestRegisterChecksCredentials(t *testing.T) {
	w := newFakeWorld(t, smsfake.Options{Numbers: []string{"+12025550111", "+12025550133"}})
	ctx := bounded(t, 10*time.Second)
	with := func(k, v string) map[string]string {
		c := w.Credentials()
		c[k] = v
		return c
	}
	tests := []struct {
		name   string
		values map[string]string
		want   error
		says   string
	}{
		{"ok", w.Credentials(), nil, ""},
		{"another of the account's numbers", with("number", "+1 202 555 0133"), nil, ""},
		{"wrong token", with("auth_token", "wrong-token-0123456789"), bridge.ErrAuth, "refused account " + w.fake.AccountSID()},
		{"other account", with("account_sid", "AC"+strings.Repeat("0", 32)), bridge.ErrAuth, "refused account"},
		{"not the account's number", with("number", "+12025550144"), bridge.ErrInvalidInput, "+12025550144 is not a number of account"},
		{"malformed SID", with("account_sid", "not-a-sid"), bridge.ErrInvalidInput, ""},
		{"impossible number", with("number", "12"), bridge.ErrInvalidInput, "number"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := w.tr.Register(ctx, tt.values)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Register: %v", err)
				}
				return
			}
			if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.says) {
				t.Fatalf("Register: %v, want %v saying %q", err, tt.want, tt.says)
			}
		})
	}
	// The provider down: a temporary error, to try again.
	w.fake.Close()
	if _, err := w.tr.Register(ctx, w.Credentials()); !errors.Is(err, bridge.ErrTemporary) {
		t.Fatalf("provider down: %v, want ErrTemporary", err)
	}
}
