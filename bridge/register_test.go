package bridge_test

import (
	"context"
	"strings"
	"testing"

	"github.com/xgate-im/xgate/bridge"
	"github.com/xgate-im/xgate/store"
	"github.com/xgate-im/xgate/xmpp"
	"github.com/xgate-im/xgate/xmpp/form"
)

func TestRegisterInBand(t *testing.T) {
	e := newEnv(t)
	// The form.
	e.send(`<iq type='get' id='g1' from='alice@example.org/a' to='fake.example.org'><query xmlns='jabber:iq:register'/></iq>`)
	iq := e.expectIQ("g1")
	f, err := form.Parse(iq.Payload.Child(form.NS, "x"))
	if err != nil {
		t.Fatalf("%v in %s", err, iq.Element())
	}
	if fd := f.Field("token"); fd == nil || fd.Type != form.FieldTextPrivate || !fd.Required {
		t.Fatalf("form %+v", f.Fields)
	}
	if iq.Payload.Child("", "registered") != nil {
		t.Fatal("registered before registering")
	}

	e.register(alice, "good-a")
	// XEP-0100: the gateway asks to be in the roster.
	e.expectPresence(func(p *xmpp.Presence) bool {
		return p.Type == "subscribe" && p.From.String() == domain && p.To.String() == alice
	})
	a, err := e.db.GetAccount(store.AccountKey{User: alice, Transport: "fake", Remote: "acct-a"})
	if err != nil || a.Secrets["token"] != "good-a" || a.Settings["xgate.name"] != "a on Fakenet" {
		t.Fatalf("stored %+v %v", a, err)
	}
	e.send(`<iq type='get' id='g2' from='alice@example.org/a' to='fake.example.org'><query xmlns='jabber:iq:register'/></iq>`)
	if e.expectIQ("g2").Payload.Child("", "registered") == nil {
		t.Fatal("not shown as registered")
	}

	// A second account for the same user.
	e.register(alice, "good-b")
	if got := e.tr.Accounts(); len(got) != 2 {
		t.Fatalf("sessions %v", got)
	}

	// Removal logs out and deletes both.
	e.send(`<iq type='set' id='g3' from='alice@example.org/a' to='fake.example.org'><query xmlns='jabber:iq:register'><remove/></query></iq>`)
	if iq := e.expectIQ("g3"); iq.Type != "result" {
		t.Fatalf("remove: %s", iq.Element())
	}
	e.expectPresence(func(p *xmpp.Presence) bool { return p.Type == "unsubscribed" && p.From.String() == domain })
	if accts, _ := e.db.UserAccounts("fake", alice); len(accts) != 0 {
		t.Fatalf("accounts left: %v", accts)
	}
	if e.tr.Closed("acct-a") != 1 || e.tr.Closed("acct-b") != 1 {
		t.Fatal("sessions not closed")
	}
}

func TestRegisterErrors(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name, from, fields string
		cond               xmpp.Condition
	}{
		{"bad token", "alice@example.org/a", `<field var='token'><value>bad-token</value></field>`, xmpp.CondNotAuthorized},
		{"missing token", "alice@example.org/a", ``, xmpp.CondNotAcceptable},
		{"unknown field", "alice@example.org/a", `<field var='token'><value>good-x</value></field><field var='evil'><value>1</value></field>`, xmpp.CondNotAcceptable},
		{"network down", "alice@example.org/a", `<field var='token'><value>down</value></field>`, xmpp.CondRemoteServerTimeout},
		{"not allowed", "mallory@evil.example/a", `<field var='token'><value>good-m</value></field>`, xmpp.CondForbidden},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := "e" + string(rune('0'+i))
			e.send(`<iq type='set' id='%s' from='%s' to='fake.example.org'><query xmlns='jabber:iq:register'><x xmlns='jabber:x:data' type='submit'>%s</x></query></iq>`, id, tt.from, tt.fields)
			iq := e.expectIQ(id)
			if errCond(iq) != tt.cond {
				t.Fatalf("got %s, want %s", iq.Element(), tt.cond)
			}
			if iq.Error.Text == "" {
				t.Error("error without explanation")
			}
		})
	}
	if accts, _ := e.db.Accounts("fake"); len(accts) != 0 {
		t.Fatalf("accounts stored after failures: %v", accts)
	}
	e.send(`<iq type='set' id='legacy' from='alice@example.org/a' to='fake.example.org'><query xmlns='jabber:iq:register'><username>a</username></query></iq>`)
	if errCond(e.expectIQ("legacy")) != xmpp.CondBadRequest {
		t.Fatal("legacy registration accepted")
	}
}

func TestRegisterByAdHocCommand(t *testing.T) {
	e := newEnv(t)
	e.send(`<iq type='set' id='c1' from='alice@example.org/a' to='fake.example.org'><command xmlns='http://jabber.org/protocol/commands' node='register' action='execute'/></iq>`)
	iq := e.expectIQ("c1")
	cmd := iq.Payload
	sid := cmd.AttrValue("sessionid")
	if cmd.AttrValue("status") != "executing" || sid == "" || cmd.Child(form.NS, "x") == nil {
		t.Fatalf("got %s", iq.Element())
	}
	e.send(`<iq type='set' id='c2' from='alice@example.org/a' to='fake.example.org'><command xmlns='http://jabber.org/protocol/commands' node='register' sessionid='%s' action='complete'><x xmlns='jabber:x:data' type='submit'><field var='token'><value>good-c</value></field></x></command></iq>`, sid)
	iq = e.expectIQ("c2")
	note := iq.Payload.Child("", "note")
	if iq.Payload.AttrValue("status") != "completed" || note == nil || note.AttrValue("type") != "info" || !strings.Contains(note.Text(), "Registered") {
		t.Fatalf("got %s", iq.Element())
	}
	if err := e.tr.WaitLogin(e.ctx(), "acct-c"); err != nil {
		t.Fatal(err)
	}
	// The transport's login returns before the gateway counts the account
	// as logged in; the presence announcing it comes after.
	e.expectPresence(func(p *xmpp.Presence) bool {
		return p.From.String() == domain && strings.Contains(p.Status, "c on Fakenet: connected")
	})
	// The session id is single-use.
	e.send(`<iq type='set' id='c3' from='alice@example.org/a' to='fake.example.org'><command xmlns='http://jabber.org/protocol/commands' node='register' sessionid='%s'><x xmlns='jabber:x:data' type='submit'><field var='token'><value>good-c</value></field></x></command></iq>`, sid)
	if iq := e.expectIQ("c3"); errCond(iq) != xmpp.CondBadRequest || iq.Payload == nil && iq.Error.App == nil {
		t.Fatalf("reused session: %s", iq.Element())
	}
	// A wrong token completes with an error note.
	e.send(`<iq type='set' id='c4' from='alice@example.org/a' to='fake.example.org'><command xmlns='http://jabber.org/protocol/commands' node='register' action='execute'/></iq>`)
	sid = e.expectIQ("c4").Payload.AttrValue("sessionid")
	e.send(`<iq type='set' id='c5' from='alice@example.org/a' to='fake.example.org'><command xmlns='http://jabber.org/protocol/commands' node='register' sessionid='%s'><x xmlns='jabber:x:data' type='submit'><field var='token'><value>bad</value></field></x></command></iq>`, sid)
	iq = e.expectIQ("c5")
	if n := iq.Payload.Child("", "note"); n == nil || n.AttrValue("type") != "error" {
		t.Fatalf("got %s", iq.Element())
	}

	// status, then unregister through commands.
	e.send(`<iq type='set' id='c6' from='alice@example.org/a' to='fake.example.org'><command xmlns='http://jabber.org/protocol/commands' node='status' action='execute'/></iq>`)
	if n := e.expectIQ("c6").Payload.ChildText("", "note"); !strings.Contains(n, "c on Fakenet [id acct-c]: connected") {
		t.Fatalf("status note %q", n)
	}
	e.send(`<iq type='set' id='c7' from='alice@example.org/a' to='fake.example.org'><command xmlns='http://jabber.org/protocol/commands' node='unregister' action='execute'/></iq>`)
	sid = e.expectIQ("c7").Payload.AttrValue("sessionid")
	e.send(`<iq type='set' id='c8' from='alice@example.org/a' to='fake.example.org'><command xmlns='http://jabber.org/protocol/commands' node='unregister' sessionid='%s'><x xmlns='jabber:x:data' type='submit'><field var='confirm'><value>1</value></field></x></command></iq>`, sid)
	if n := e.expectIQ("c8").Payload.ChildText("", "note"); !strings.Contains(n, "Removed 1") {
		t.Fatalf("unregister note %q", n)
	}
}

func TestAdminUsersCommand(t *testing.T) {
	e := newEnv(t)
	e.register(alice, "good-a")
	e.send(`<iq type='set' id='u1' from='alice@example.org/a' to='fake.example.org'><command xmlns='http://jabber.org/protocol/commands' node='users' action='execute'/></iq>`)
	if errCond(e.expectIQ("u1")) != xmpp.CondItemNotFound {
		t.Fatal("a non-admin ran an admin command")
	}
	e.send(`<iq type='set' id='u2' from='admin@example.org/x' to='fake.example.org'><command xmlns='http://jabber.org/protocol/commands' node='users' action='execute'/></iq>`)
	iq := e.expectIQ("u2")
	res, err := form.Parse(iq.Payload.Child(form.NS, "x"))
	if err != nil || len(res.Items) != 1 || res.Items[0][0].Values[0] != alice {
		t.Fatalf("got %s (%v)", iq.Element(), err)
	}
}

func TestChatCommands(t *testing.T) {
	e := newEnv(t)
	ask := func(body string) string {
		t.Helper()
		e.send(`<message type='chat' id='q' from='alice@example.org/a' to='fake.example.org'><body>%s</body></message>`, body)
		return e.expectMessage(func(m *xmpp.Message) bool { return m.From.String() == domain && m.Body != "" }).Body
	}
	if got := ask("help"); !strings.Contains(got, "register") || !strings.Contains(got, "status") || strings.Contains(got, "users") {
		t.Fatalf("help: %q", got)
	}
	if got := ask("status"); !strings.Contains(got, "no Fakenet account") {
		t.Fatalf("status: %q", got)
	}
	if got := ask("register"); !strings.Contains(got, "usage") {
		t.Fatalf("register without args: %q", got)
	}
	if got := ask("register bad-token"); !strings.Contains(got, "invalid token") {
		t.Fatalf("bad register: %q", got)
	}
	if got := ask("register good-chat"); !strings.Contains(got, "Registered Fakenet account chat on Fakenet") {
		t.Fatalf("register: %q", got)
	}
	if err := e.tr.WaitLogin(e.ctx(), bridge.AccountID("acct-chat")); err != nil {
		t.Fatal(err)
	}
	if got := ask("frobnicate"); !strings.Contains(got, `Unknown command "frobnicate"`) {
		t.Fatalf("unknown: %q", got)
	}
	// A huge unknown word is echoed as a short prefix only.
	if got := ask(strings.Repeat("é", 100000)); !strings.Contains(got, `Unknown command "`+strings.Repeat("é", 32)+`…"`) || len(got) > 200 {
		t.Fatalf("unknown huge command: %d bytes: %.100q", len(got), got)
	}
	if got := ask("unregister"); !strings.Contains(got, "Removed 1") {
		t.Fatalf("unregister: %q", got)
	}
}

func TestGatewayIQTranslatesAddress(t *testing.T) {
	e := newEnv(t)
	e.register(alice, "good-a")
	e.send(`<iq type='set' id='t1' from='alice@example.org/a' to='fake.example.org'><query xmlns='jabber:iq:gateway'><prompt>Bob</prompt></query></iq>`)
	iq := e.expectIQ("t1")
	if got := iq.Payload.ChildText("", "jid"); got != "bob@fake.example.org" {
		t.Fatalf("got %s", iq.Element())
	}
	e.send(`<iq type='set' id='t2' from='alice@example.org/a' to='fake.example.org'><query xmlns='jabber:iq:gateway'><prompt>not valid</prompt></query></iq>`)
	if errCond(e.expectIQ("t2")) != xmpp.CondNotAcceptable {
		t.Fatal("invalid address accepted")
	}
}

// XEP-0100 §4.4: unsubscribing from the gateway logs out (keeping the
// account), subscribing again logs in.
func TestGatewaySubscriptionLogsInAndOut(t *testing.T) {
	e := newEnv(t)
	e.register(alice, "good-a")
	e.send(`<presence type='unsubscribe' from='alice@example.org' to='fake.example.org'/>`)
	e.expectPresence(func(p *xmpp.Presence) bool { return p.Type == "unsubscribed" && p.From.String() == domain })
	p := e.expectPresence(func(p *xmpp.Presence) bool { return p.From.String() == domain && p.Type == "unavailable" })
	if e.tr.Closed("acct-a") != 1 {
		t.Fatal("session not closed on unsubscribe")
	}
	a, err := e.db.GetAccount(store.AccountKey{User: alice, Transport: "fake", Remote: "acct-a"})
	if err != nil || !a.Disabled {
		t.Fatalf("account after unsubscribe: %+v %v (presence %s)", a, err, p.Element())
	}
	// Disabled accounts stay disabled across a restart.
	e.restart()
	if got := e.tr.Accounts(); len(got) != 0 {
		t.Fatalf("disabled account logged in at start: %v", got)
	}
	e.send(`<presence type='subscribe' from='alice@example.org' to='fake.example.org'/>`)
	e.expectPresence(func(p *xmpp.Presence) bool { return p.Type == "subscribed" && p.From.String() == domain })
	if err := e.tr.WaitLogin(e.ctx(), "acct-a"); err != nil {
		t.Fatal(err)
	}
	e.expectPresence(func(p *xmpp.Presence) bool {
		return p.From.String() == domain && p.Type == "" && strings.Contains(p.Status, "connected")
	})
	// Someone not allowed cannot subscribe.
	e.send(`<presence type='subscribe' from='mallory@evil.example' to='fake.example.org'/>`)
	e.expectPresence(func(p *xmpp.Presence) bool {
		return p.Type == "unsubscribed" && p.To.String() == "mallory@evil.example"
	})
}

func TestAdminBackupCommand(t *testing.T) {
	called := 0
	e := newEnv(t, func(c *bridge.Config) {
		c.Backup = func(context.Context) (string, int64, error) {
			called++
			return "/backups/xgate-1.db", 4096, nil
		}
	})
	e.send(`<iq type='set' id='b1' from='admin@example.org/x' to='fake.example.org'><command xmlns='http://jabber.org/protocol/commands' node='backup' action='execute'/></iq>`)
	iq := e.expectIQ("b1")
	if n := iq.Payload.ChildText("", "note"); !strings.Contains(n, "/backups/xgate-1.db (4096 bytes)") || called != 1 {
		t.Fatalf("got %s", iq.Element())
	}
	e.send(`<iq type='set' id='b2' from='alice@example.org/x' to='fake.example.org'><command xmlns='http://jabber.org/protocol/commands' node='backup' action='execute'/></iq>`)
	if errCond(e.expectIQ("b2")) != xmpp.CondItemNotFound || called != 1 {
		t.Fatal("a non-admin ran a backup")
	}
}
