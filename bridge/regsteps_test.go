package bridge_test

import (
	"strings"
	"testing"

	"github.com/xgate-im/xgate/bridge"
	"github.com/xgate-im/xgate/xmpp"
	"github.com/xgate-im/xgate/xmpp/form"
)

// A network that registers in two steps (a token, then a code) is
// registered through the in-band form, the ad-hoc command and the chat
// command alike.
func TestMultiStepRegistration(t *testing.T) {
	e := newEnv(t)
	const formOpen = `<x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE'><value>jabber:iq:register</value></field>`

	t.Run("in-band", func(t *testing.T) {
		e.send(`<iq type='set' id='r1' from='alice@example.org/a' to='fake.example.org'><query xmlns='jabber:iq:register'>%s<field var='token'><value>multi-a</value></field></x></query></iq>`, formOpen)
		iq := e.expectIQ("r1")
		if errCond(iq) != xmpp.CondNotAcceptable || !strings.Contains(iq.Error.Text, "Enter the code") {
			t.Fatalf("first step: %s", iq.Element())
		}
		e.send(`<iq type='get' id='r2' from='alice@example.org/a' to='fake.example.org'><query xmlns='jabber:iq:register'/></iq>`)
		f, err := form.Parse(e.expectIQ("r2").Payload.Child(form.NS, "x"))
		if err != nil || f.Field("code") == nil || f.Field("token") != nil {
			t.Fatalf("second form %+v %v", f, err)
		}
		e.send(`<iq type='set' id='r3' from='alice@example.org/a' to='fake.example.org'><query xmlns='jabber:iq:register'>%s<field var='code'><value>%s</value></field></x></query></iq>`, formOpen, "1234")
		if iq := e.expectIQ("r3"); iq.Type != xmpp.IQResult {
			t.Fatalf("second step: %s", iq.Element())
		}
		if err := e.tr.WaitLogin(e.ctx(), "acct-a"); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("ad-hoc", func(t *testing.T) {
		e.send(`<iq type='set' id='c1' from='bob@example.org/a' to='fake.example.org'><command xmlns='http://jabber.org/protocol/commands' node='register' action='execute'/></iq>`)
		sid := e.expectIQ("c1").Payload.AttrValue("sessionid")
		e.send(`<iq type='set' id='c2' from='bob@example.org/a' to='fake.example.org'><command xmlns='http://jabber.org/protocol/commands' node='register' sessionid='%s'><x xmlns='jabber:x:data' type='submit'><field var='token'><value>multi-b</value></field></x></command></iq>`, sid)
		cmd := e.expectIQ("c2").Payload
		f, err := form.Parse(cmd.Child(form.NS, "x"))
		if cmd.AttrValue("status") != "executing" || cmd.AttrValue("sessionid") != sid || err != nil || f.Field("code") == nil {
			t.Fatalf("second step: %s", cmd)
		}
		// A wrong code ends the registration with an error note.
		e.send(`<iq type='set' id='c3' from='bob@example.org/a' to='fake.example.org'><command xmlns='http://jabber.org/protocol/commands' node='register' sessionid='%s'><x xmlns='jabber:x:data' type='submit'><field var='code'><value>9999</value></field></x></command></iq>`, sid)
		if n := e.expectIQ("c3").Payload.Child("", "note"); n == nil || n.AttrValue("type") != "error" || !strings.Contains(n.Text(), "wrong code") {
			t.Fatalf("wrong code: %v", n)
		}
		e.send(`<iq type='set' id='c4' from='bob@example.org/a' to='fake.example.org'><command xmlns='http://jabber.org/protocol/commands' node='register' action='execute'/></iq>`)
		sid = e.expectIQ("c4").Payload.AttrValue("sessionid")
		e.send(`<iq type='set' id='c5' from='bob@example.org/a' to='fake.example.org'><command xmlns='http://jabber.org/protocol/commands' node='register' sessionid='%s'><x xmlns='jabber:x:data' type='submit'><field var='token'><value>multi-b</value></field></x></command></iq>`, sid)
		e.expectIQ("c5")
		e.send(`<iq type='set' id='c6' from='bob@example.org/a' to='fake.example.org'><command xmlns='http://jabber.org/protocol/commands' node='register' sessionid='%s'><x xmlns='jabber:x:data' type='submit'><field var='code'><value>1234</value></field></x></command></iq>`, sid)
		if n := e.expectIQ("c6").Payload.Child("", "note"); n == nil || !strings.Contains(n.Text(), "Registered") {
			t.Fatalf("completed: %v", n)
		}
		if err := e.tr.WaitLogin(e.ctx(), "acct-b"); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("chat", func(t *testing.T) {
		ask := func(body string) string {
			t.Helper()
			e.send(`<message type='chat' from='carol@example.org/a' to='fake.example.org'><body>%s</body></message>`, body)
			return e.expectMessage(func(m *xmpp.Message) bool {
				return m.From.String() == domain && m.To.Bare().String() == "carol@example.org"
			}).Body
		}
		if got := ask("register multi-c"); !strings.Contains(got, "Enter the code") || !strings.Contains(got, "register code=") {
			t.Fatalf("first step: %q", got)
		}
		if got := ask("register code=1234"); !strings.Contains(got, "Registered") {
			t.Fatalf("second step: %q", got)
		}
		if err := e.tr.WaitLogin(e.ctx(), bridge.AccountID("acct-c")); err != nil {
			t.Fatal(err)
		}
	})
}
