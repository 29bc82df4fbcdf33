package bridge_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/xgate-im/xgate/bridge"
	"github.com/xgate-im/xgate/xmpp"
	"github.com/xgate-im/xgate/xmpp/form"
	"github.com/xgate-im/xgate/xmpp/jid"
)

// ask sends a chat command to the gateway and returns its answer.
func (e *env) ask(body string) string {
	e.t.Helper()
	e.send(`<message type='chat' id='q' from='alice@example.org/a' to='fake.example.org'><body>%s</body></message>`, body)
	return e.expectMessage(func(m *xmpp.Message) bool { return m.From.String() == domain && m.Body != "" }).Body
}

// Issue 12 bug 5: status lists accounts with the names and IDs that
// unregister accepts, and a registered user who names an account wrongly
// is shown theirs, never told they are not registered.
func TestStatusListsWhatUnregisterAccepts(t *testing.T) {
	e := newEnv(t)
	e.register(alice, "good-a")
	e.register(alice, "good-b")
	got := e.ask("status")
	for _, want := range []string{"a on Fakenet [id acct-a]: connected", "b on Fakenet [id acct-b]: connected", "unregister"} {
		if !strings.Contains(got, want) {
			t.Fatalf("status lacks %q: %q", want, got)
		}
	}
	steps := []struct {
		cmd, want string
	}{
		{"unregister nosuch", `You have no Fakenet account matching "nosuch". Yours: a on Fakenet [id acct-a]; b on Fakenet [id acct-b].`},
		{"unregister on fakenet", `You have more than one Fakenet account matching "on fakenet"`},
		{"unregister B ON FAKENET", "Removed 1 Fakenet account(s)."},
		{"status", "a on Fakenet [id acct-a]: connected"},
		{"unregister b on Fakenet", `You have no Fakenet account matching "b on Fakenet". Yours: a on Fakenet [id acct-a].`},
		{"unregister acct-a", "Removed 1 Fakenet account(s)."},
		{"status", "You have no Fakenet account here."},
		{"unregister", "You are not registered"},
	}
	for _, s := range steps {
		if got := e.ask(s.cmd); !strings.Contains(got, s.want) {
			t.Fatalf("%s: got %q, want %q", s.cmd, got, s.want)
		}
	}
}

// The Status ad-hoc command gives the same list as a table, and the
// Unregister command takes a name as the account.
func TestStatusAdHocTable(t *testing.T) {
	e := newEnv(t)
	e.register(alice, "good-a")
	e.send(`<iq type='set' id='s1' from='alice@example.org/a' to='fake.example.org'><command xmlns='http://jabber.org/protocol/commands' node='status' action='execute'/></iq>`)
	iq := e.expectIQ("s1")
	res, err := form.Parse(iq.Payload.Child(form.NS, "x"))
	if err != nil || len(res.Items) != 1 {
		t.Fatalf("got %s (%v)", iq.Element(), err)
	}
	row := map[string]string{}
	for _, f := range res.Items[0] {
		row[f.Var] = strings.Join(f.Values, "")
	}
	if row["name"] != "a on Fakenet" || row["id"] != "acct-a" || row["state"] != "connected" {
		t.Fatalf("row %v", row)
	}
}

// Bug 5 and 7: a user whose accounts are all disabled (unsubscribed) is
// told so by status, by a message bounce and by the gateway's presence,
// never "not registered".
func TestDisabledIsNotUnregistered(t *testing.T) {
	e := withBob(t)
	e.send(`<presence type='unsubscribe' from='alice@example.org' to='fake.example.org'/>`)
	p := e.expectPresence(func(p *xmpp.Presence) bool { return p.From.String() == domain && p.Type == "unavailable" })
	if strings.Contains(p.Status, "Not registered") || !strings.Contains(p.Status, "you unsubscribed") {
		t.Fatalf("gateway presence: %q", p.Status)
	}
	if got := e.ask("status"); !strings.Contains(got, "a on Fakenet [id acct-a]: logged out because you unsubscribed") {
		t.Fatalf("status: %q", got)
	}
	e.send(`<message type='chat' id='m1' from='alice@example.org/a' to='bob@fake.example.org'><body>hi</body></message>`)
	m := e.expectMessage(func(m *xmpp.Message) bool { return m.Type == xmpp.MessageError && m.ID == "m1" })
	if m.Error == nil || strings.Contains(m.Error.Text, "not registered") || !strings.Contains(m.Error.Text, "unsubscribed") {
		t.Fatalf("bounce: %s", m.Element())
	}
	e.send(`<presence type='probe' from='alice@example.org/a' to='fake.example.org'/>`)
	p = e.expectPresence(func(p *xmpp.Presence) bool { return p.From.String() == domain && p.Type == "unavailable" })
	if strings.Contains(p.Status, "Not registered") {
		t.Fatalf("probe answer: %q", p.Status)
	}
}

// Issue 12 bug 6: the statistics command that docs/admin.md promises,
// for admins only.
func TestAdminStatisticsCommand(t *testing.T) {
	e := withBob(t)
	e.send(`<message type='chat' id='x1' from='alice@example.org/a' to='bob@fake.example.org'><body>hi</body></message>`)
	if _, err := e.tr.WaitSent(e.ctx(), 1); err != nil {
		t.Fatal(err)
	}
	e.send(`<iq type='set' id='s0' from='alice@example.org/x' to='fake.example.org'><command xmlns='http://jabber.org/protocol/commands' node='statistics' action='execute'/></iq>`)
	if errCond(e.expectIQ("s0")) != xmpp.CondItemNotFound {
		t.Fatal("a non-admin ran statistics")
	}
	// The counter of sent messages moves after the send returned: ask
	// until it shows, bounded by the test's deadline.
	var rows map[string]string
	for i := 0; ; i++ {
		e.send(`<iq type='set' id='s%d' from='admin@example.org/x' to='fake.example.org'><command xmlns='http://jabber.org/protocol/commands' node='statistics' action='execute'/></iq>`, i+1)
		iq := e.expectIQ(fmt.Sprintf("s%d", i+1))
		res, err := form.Parse(iq.Payload.Child(form.NS, "x"))
		if err != nil {
			t.Fatalf("got %s (%v)", iq.Element(), err)
		}
		rows = map[string]string{}
		for _, it := range res.Items {
			rows[it[0].Values[0]] = it[1].Values[0]
		}
		if rows["messages sent to the network"] == "1" || e.ctx().Err() != nil {
			break
		}
	}
	want := map[string]string{
		"users":                        "1",
		"accounts":                     "1 (1 connected, 0 connecting, 0 logged out, 0 disabled)",
		"contacts in rosters":          "1",
		"queued to the network":        "0",
		"messages sent to the network": "1",
		"registrations":                "1 (0 removals)",
	}
	for k, v := range want {
		if rows[k] != v {
			t.Errorf("%s = %q, want %q (all: %v)", k, rows[k], v, rows)
		}
	}
	if _, ok := rows["uptime"]; !ok {
		t.Errorf("no uptime: %v", rows)
	}
}

// Issue 12 bug 7: a provisioned user (the demo's) is asked for the
// gateway's subscription when the account first logs in, as a registered
// one is, and only once.
func TestProvisionedUserIsAskedOnce(t *testing.T) {
	e := newEnv(t)
	if err := bridge.Provision(e.db, "fake", jid.MustParse(alice), bridge.AccountData{ID: "acct-p", Name: "p on Fakenet", Secrets: map[string]string{"token": "good-p"}}); err != nil {
		t.Fatal(err)
	}
	// Each run, the login offers a new contact after the request, if
	// any: the request comes first or not at all. Before each restart,
	// the host confirms everything, so nothing is written again.
	for run, contact := range []string{"bob", "carol"} {
		e.tr.SetContacts("acct-p", bridge.Contact{ID: bridge.UserID(contact), Name: contact})
		if run > 0 {
			if err := e.gw.Component().Flush(e.ctx()); err != nil {
				t.Fatal(err)
			}
		}
		e.restart()
		e.backlog = nil
		asked := false
		e.expectPresence(func(p *xmpp.Presence) bool {
			if p.From.String() == domain && p.Type == xmpp.PresenceSubscribe && p.To.String() == alice {
				asked = true
			}
			return p.From.Local() == contact && p.Type == xmpp.PresenceSubscribe
		})
		if asked != (run == 0) {
			t.Fatalf("run %d: asked for the subscription: %v", run+1, asked)
		}
	}
}

// Issue 12 bug 6: contacts "grouped under the workspace's name" — the
// contacts offered at login come with their groups in one XEP-0144
// suggestion from the gateway.
func TestContactGroupsSuggested(t *testing.T) {
	e := newEnv(t)
	e.tr.SetContacts("acct-a",
		bridge.Contact{ID: "bob", Name: "Bob", Groups: []string{"Acme"}},
		bridge.Contact{ID: "carol", Name: "Carol"})
	e.register(alice, "good-a")
	m := e.expectMessage(func(m *xmpp.Message) bool {
		return m.From.String() == domain && len(m.Extra) == 1 && m.Extra[0].Name.Space == bridge.NSRosterX
	})
	items := m.Extra[0].Children()
	if len(items) != 1 || items[0].AttrValue("jid") != "bob@"+domain || items[0].AttrValue("name") != "Bob" ||
		items[0].AttrValue("action") != "add" || items[0].ChildText("", "group") != "Acme" {
		t.Fatalf("suggestion %s", m.Element())
	}
}
