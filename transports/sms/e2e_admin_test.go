package sms

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/xgate-im/xgate/bridge"
	"github.com/xgate-im/xgate/transports/sms/smsfake"
	"github.com/xgate-im/xgate/xmpp"
	"github.com/xgate-im/xgate/xmpp/disco"
	"github.com/xgate-im/xgate/xmpp/form"
	"github.com/xgate-im/xgate/xmpp/jid"
	"github.com/xgate-im/xgate/xmpp/prosodytest"
)

// Through a real Prosody, across a gateway restart:
//   - a text to a number nobody has is kept (answered 200), counted and
//     reported to the admin, with how to assign the number;
//   - the admin assigns the number with the sms-assign ad-hoc command;
//     the kept texts reach the new owner, in order, and the number sends;
//   - after a restart the assignment holds, and a delivery report for a
//     text sent before the restart still becomes its receipt;
//   - sms-numbers lists, sms-unassign takes the number back, and texts to
//     it are kept again.
func TestEndToEndAssignKeepRestart(t *testing.T) {
	const spare = "+12025550177"
	var cur atomic.Pointer[bridge.Webhooks]
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { cur.Load().ServeHTTP(w, r) }))
	t.Cleanup(srv.Close)
	public := srv.URL + "/sms"
	// No status callbacks of its own: the test sends the report itself,
	// after the restart.
	fake, err := smsfake.Start(smsfake.Options{InboundURL: public + "/p/" + testToken + "/inbound", Statuses: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fake.Close() })
	cfg := Config{
		Provider: KindTwilio, DefaultRegion: "US", PublicURL: public, WebhookToken: testToken,
		TwilioBaseURL: fake.URL(), TwilioAccountSID: fake.AccountSID(), TwilioAuthToken: fake.AuthToken(),
		Numbers: []NumberConfig{{Number: assignedNumber, User: "alice@localhost"}},
	}
	p := startProsody(t)
	dbPath := filepath.Join(t.TempDir(), "xgate.db")
	cur.Store(bridge.NewWebhooks())
	tr, stop := startGateway(t, p, dbPath, cur.Load(), cfg)
	ctx := bounded(t, 60*time.Second)
	alice := prosodytest.Dial(ctx, t, p.C2SAddr(), "alice", "localhost", "pw")
	alice.Send(&xmpp.Presence{})
	admin := prosodytest.Dial(ctx, t, p.C2SAddr(), "admin", "localhost", "pw")
	admin.Send(&xmpp.Presence{})
	gw := jid.MustParse(gwDomain)
	// A round trip after the presence: the admin is online for the notice.
	if _, err := admin.Request(ctx, &xmpp.IQ{Header: xmpp.Header{To: gw, Type: xmpp.IQGet}, Payload: xmpp.NewElement(disco.NSInfo, "query")}); err != nil {
		t.Fatal(err)
	}
	peer := jid.MustParse(peerNumber + "@" + gwDomain)
	fromGateway := func(c *prosodytest.Client, contains ...string) string {
		t.Helper()
		s, err := c.Expect(ctx, func(s xmpp.Stanza) bool {
			m, ok := s.(*xmpp.Message)
			if !ok || m.From != gw {
				return false
			}
			for _, c := range contains {
				if !strings.Contains(m.Body, c) {
					return false
				}
			}
			return true
		})
		if err != nil {
			t.Fatalf("no message from the gateway with %q: %v", contains, err)
		}
		return s.(*xmpp.Message).Body
	}
	inbound := func(to, body string) {
		t.Helper()
		if _, st, err := fake.SendInbound(ctx, smsfake.Inbound{From: peerNumber, To: to, Body: body}); err != nil || st != http.StatusOK {
			t.Fatalf("inbound to %s: %d %v", to, st, err)
		}
	}

	inbound(spare, "for whoever gets this number")
	fromGateway(admin, spare, "sms-assign number="+spare)
	inbound(spare, "second text")
	if s := tr.Stats(); s.Unassigned != 2 {
		t.Fatalf("stats %+v, want 2 unassigned", s)
	}

	// sms-assign as a XEP-0050 command: the form, then the submission.
	cmd := func(node, sid string, x *xmpp.Element) *xmpp.IQ {
		t.Helper()
		c := xmpp.NewElement(bridge.NSCommands, "command", "node", node)
		if sid == "" {
			c.SetAttr("action", "execute")
		} else {
			c.SetAttr("sessionid", sid)
			c.Append(x)
		}
		res, err := admin.Request(ctx, &xmpp.IQ{Header: xmpp.Header{To: gw, Type: xmpp.IQSet}, Payload: c})
		if err != nil || res.Type != xmpp.IQResult {
			t.Fatalf("%s: %v %v", node, res, err)
		}
		return res
	}
	res := cmd("sms-assign", "", nil)
	sub := &form.Form{Type: form.TypeSubmit}
	sub.Set("number", "(202) 555-0177")
	sub.Set("user", "alice@localhost")
	res = cmd("sms-assign", res.Payload.AttrValue("sessionid"), sub.Element())
	if note := res.Payload.ChildText("", "note"); !strings.Contains(note, spare+" is now alice@localhost's") || !strings.Contains(note, "2 text(s) kept") {
		t.Fatalf("sms-assign: %s", res.Payload)
	}
	var got []string
	for range 2 {
		s, err := alice.Expect(ctx, func(s xmpp.Stanza) bool {
			m, ok := s.(*xmpp.Message)
			return ok && m.From.Bare() == peer && m.Body != ""
		})
		if err != nil {
			t.Fatalf("kept texts: %v (got %q)", err, got)
		}
		got = append(got, s.(*xmpp.Message).Body)
	}
	if got[0] != "for whoever gets this number" || got[1] != "second text" {
		t.Fatalf("kept texts arrived as %q", got)
	}

	// The peer texted the new number last: the answer leaves from it.
	// Once the second text reached the provider, the first one's send
	// is recorded (one ordered queue per chat).
	alice.Send(&xmpp.Message{Header: xmpp.Header{To: peer, Type: xmpp.MessageChat, ID: "m1"}, Body: "got them",
		Extra: []*xmpp.Element{xmpp.NewElement(bridge.NSReceipts, "request")}})
	alice.Send(&xmpp.Message{Header: xmpp.Header{To: peer, Type: xmpp.MessageChat, ID: "m2"}, Body: "thanks"})
	msgs, err := fake.WaitMessages(ctx, 2)
	if err != nil || msgs[0].From != spare || msgs[0].Body != "got them" {
		t.Fatalf("sent %+v %v", msgs, err)
	}

	stop()
	cur.Store(bridge.NewWebhooks())
	tr, _ = startGateway(t, p, dbPath, cur.Load(), cfg)

	// The report of a text sent before the restart finds it.
	sim := newPhoneSim(t, fake.AuthToken())
	report := url.Values{"MessageSid": {msgs[0].SID}, "MessageStatus": {"delivered"}, "AccountSid": {fake.AccountSID()},
		"From": {spare}, "To": {peerNumber}}
	if st, err := sim.post(ctx, msgs[0].StatusCallback, report); err != nil || st/100 != 2 {
		t.Fatalf("status callback: %d %v", st, err)
	}
	if _, err := alice.Expect(ctx, func(s xmpp.Stanza) bool {
		m, ok := s.(*xmpp.Message)
		if !ok {
			return false
		}
		for _, x := range m.Extra {
			if x.Name.Space == bridge.NSReceipts && x.Name.Local == "received" && x.AttrValue("id") == "m1" {
				return true
			}
		}
		return false
	}); err != nil {
		t.Fatalf("no receipt after the restart: %v", err)
	}

	// The assignment holds after the restart.
	inbound(spare, "still yours?")
	if _, err := alice.Expect(ctx, func(s xmpp.Stanza) bool {
		m, ok := s.(*xmpp.Message)
		return ok && m.From.Bare() == peer && m.Body == "still yours?"
	}); err != nil {
		t.Fatalf("text to the assigned number after a restart: %v", err)
	}

	// Chat commands: list, unassign, and a configured number stays.
	say := func(body string) {
		admin.Send(&xmpp.Message{Header: xmpp.Header{To: gw, Type: xmpp.MessageChat}, Body: body})
	}
	say("sms-numbers")
	fromGateway(admin, spare+": alice@localhost (command)", assignedNumber+": alice@localhost (configuration)")
	say("sms-unassign number=" + assignedNumber)
	fromGateway(admin, "assigned in the configuration file")
	say("sms-unassign number=" + spare)
	fromGateway(admin, spare+" is no longer alice@localhost's")
	inbound(spare, "anyone?")
	if s := tr.Stats(); s.Unassigned != 1 {
		t.Fatalf("stats %+v, want 1 unassigned", s)
	}
	say("sms-numbers")
	fromGateway(admin, spare+": unassigned, 1 text(s) kept")
	// Only admins have the commands.
	alice.Send(&xmpp.Message{Header: xmpp.Header{To: gw, Type: xmpp.MessageChat}, Body: "sms-numbers"})
	fromGateway(alice, "Unknown command")
	if v := fake.Violations(); len(v) > 0 {
		t.Errorf("contract violations: %q", v)
	}
}
