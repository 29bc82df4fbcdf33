package bridge_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xgate-im/xgate/bridge"
	"github.com/xgate-im/xgate/bridge/bridgetest"
	"github.com/xgate-im/xgate/store"
	"github.com/xgate-im/xgate/xmpp"
	"github.com/xgate-im/xgate/xmpp/xmpptest"
)

// hosted is the fake network with the optional host interfaces: admin
// commands that assign and unassign accounts, keep a record and notify
// the admins, and counters.
type hosted struct {
	*bridgetest.Transport
	host *bridge.Host
}

func (h *hosted) UseHost(x *bridge.Host) { h.host = x }

func (h *hosted) TransportStats() map[string]int64 { return map[string]int64{"widgets": 7} }

func (h *hosted) AdminCommands() []bridge.AdminCommand {
	return []bridge.AdminCommand{
		{
			Node: "assign", Name: "Assign an account", Help: "assign user=JID name=NAME",
			Form: bridge.RegistrationForm{Fields: []bridge.Field{
				{Var: "user", Label: "User", Type: bridge.FieldText, Required: true},
				{Var: "name", Label: "Name", Type: bridge.FieldText, Required: true},
			}},
			Run: func(ctx context.Context, admin string, v map[string]string) (string, error) {
				if err := h.host.Put("assigned/"+v["name"], []byte(v["user"]+" by "+admin)); err != nil {
					return "", err
				}
				data := bridge.AccountData{ID: bridge.AccountID("acct-" + v["name"]), Name: v["name"], Secrets: map[string]string{"token": "good-" + v["name"]}}
				if err := h.host.Assign(ctx, v["user"], data); err != nil {
					return "", err
				}
				h.host.NotifyAdmins(ctx, "assigned "+v["name"])
				return "Assigned " + v["name"] + ".", nil
			},
		},
		{
			Node: "unassign", Name: "Unassign an account", Help: "unassign user=JID name=NAME",
			Form: bridge.RegistrationForm{Fields: []bridge.Field{
				{Var: "user", Label: "User", Type: bridge.FieldText, Required: true},
				{Var: "name", Label: "Name", Type: bridge.FieldText, Required: true},
			}},
			Run: func(ctx context.Context, _ string, v map[string]string) (string, error) {
				if err := h.host.Delete("assigned/" + v["name"]); err != nil {
					return "", err
				}
				return "Unassigned.", h.host.Unassign(ctx, v["user"], bridge.AccountID("acct-"+v["name"]))
			},
		},
		{
			Node: "assigned", Name: "List assignments", Help: "assigned",
			Run: func(context.Context, string, map[string]string) (string, error) {
				all, err := h.host.List("assigned/")
				return fmt.Sprint(len(all), " ", string(all["assigned/x"])), err
			},
		},
	}
}

// A transport's admin commands are offered to admins only, as ad-hoc and
// chat commands; its records survive a restart; it assigns accounts that
// log in at once, unassigns them, notifies the admins; its counters are
// the gateway's TransportStats.
func TestTransportHost(t *testing.T) {
	tr := &hosted{Transport: bridgetest.New()}
	e := &env{t: t, srv: xmpptest.NewServer(t, "secret"), tr: tr.Transport, net: tr, key: testKey(t)}
	e.dbPath = filepath.Join(t.TempDir(), "xgate.db")
	e.openDB()
	e.start()

	e.send(`<iq type='set' id='c1' from='alice@example.org/a' to='fake.example.org'><command xmlns='http://jabber.org/protocol/commands' node='assign' action='execute'/></iq>`)
	if errCond(e.expectIQ("c1")) != xmpp.CondItemNotFound {
		t.Fatal("a non-admin ran a transport's admin command")
	}
	// Ad-hoc: the form, then its submission.
	e.send(`<iq type='set' id='c2' from='admin@example.org/x' to='fake.example.org'><command xmlns='http://jabber.org/protocol/commands' node='assign' action='execute'/></iq>`)
	iq := e.expectIQ("c2")
	sid := iq.Payload.AttrValue("sessionid")
	if iq.Payload.AttrValue("status") != "executing" || !strings.Contains(iq.Payload.String(), "var=\"user\"") {
		t.Fatalf("form: %s", iq.Element())
	}
	e.send(`<iq type='set' id='c3' from='admin@example.org/x' to='fake.example.org'><command xmlns='http://jabber.org/protocol/commands' node='assign' sessionid='%s'><x xmlns='jabber:x:data' type='submit'><field var='user'><value>bob@example.org</value></field><field var='name'><value>x</value></field></x></command></iq>`, sid)
	iq = e.expectIQ("c3")
	if iq.Payload.AttrValue("status") != "completed" || iq.Payload.ChildText("", "note") != "Assigned x." {
		t.Fatalf("result: %s", iq.Element())
	}
	if err := e.tr.WaitLogin(e.ctx(), "acct-x"); err != nil {
		t.Fatal(err)
	}
	e.expectPresence(func(p *xmpp.Presence) bool {
		return p.To.String() == "bob@example.org" && p.Type == xmpp.PresenceSubscribe
	})
	e.expectMessage(func(m *xmpp.Message) bool { return m.To.String() == "admin@example.org" && m.Body == "assigned x" })
	if got := e.gw.TransportStats(); got["widgets"] != 7 {
		t.Fatalf("stats %v", got)
	}

	e.restart()
	ask := func(body string) string {
		t.Helper()
		e.send(`<message type='chat' id='q' from='admin@example.org/x' to='fake.example.org'><body>%s</body></message>`, body)
		return e.expectMessage(func(m *xmpp.Message) bool {
			return m.From.String() == domain && m.Body != "" && m.To.Bare().String() == "admin@example.org"
		}).Body
	}
	if got := ask("assigned"); got != "1 bob@example.org by admin@example.org" {
		t.Fatalf("after a restart: %q", got)
	}
	if got := ask("unassign user=bob@example.org"); !strings.Contains(got, "name is required") {
		t.Fatalf("missing field: %q", got)
	}
	if got := ask("unassign user=bob@example.org name=x"); got != "Unassigned." {
		t.Fatalf("unassign: %q", got)
	}
	if got := ask("assigned"); got != "0 " {
		t.Fatalf("after unassign: %q", got)
	}
	if _, err := e.db.GetAccount(store.AccountKey{User: "bob@example.org", Transport: "fake", Remote: "acct-x"}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("account still stored: %v", err)
	}
}
