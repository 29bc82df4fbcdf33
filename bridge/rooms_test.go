package bridge_test

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/xgate-im/xgate/bridge"
	"github.com/xgate-im/xgate/bridge/bridgetest"
	"github.com/xgate-im/xgate/xmpp"
)

const (
	lounge    = "#lounge@" + domain
	loungeRes = lounge + "/"
)

var loungeChat = bridge.ChatRef{Kind: bridge.Group, ID: "g1"}

// newRoomEnv is a gateway whose network has group chats: alice's account
// is in "Lounge" with Bob, Carol (whose display name is "alice") and two
// past messages; "Other" exists without her.
func newRoomEnv(t *testing.T) *env {
	t.Helper()
	tr := bridgetest.New()
	tr.Caps = func(c *bridge.Capabilities) { c.Groups = true }
	tr.SetGroups("acct-alice", bridge.GroupInfo{ID: "g1", Name: "Lounge", Topic: "Be nice", Members: 4})
	tr.SetGroups("acct-bob", bridge.GroupInfo{ID: "g2", Name: "Other"})
	tr.SetMembers("g1",
		bridge.GroupMember{User: "acct-alice", Nick: "Alice"},
		bridge.GroupMember{User: "bob", Nick: "Bob"},
		bridge.GroupMember{User: "carol", Nick: "alice", Role: bridge.RoleOwner},
	)
	t0 := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	tr.SetHistory("g1",
		bridge.MessageEvent{Chat: loungeChat, Sender: "bob", ID: "h1", Time: t0, Text: "oldest"},
		bridge.MessageEvent{Chat: loungeChat, Sender: "carol", ID: "h2", Time: t0.Add(time.Minute), Text: "older"},
	)
	e := newEnvWith(t, tr)
	e.register(alice, "good-alice")
	return e
}

// join sends a join presence and returns the presences of the room up to
// the user's own (status 110), in order.
func (e *env) join(from, to, history string) []*xmpp.Presence {
	e.t.Helper()
	e.send(`<presence from='%s' to='%s'><x xmlns='http://jabber.org/protocol/muc'>%s</x></presence>`, from, to, history)
	room, _, _ := strings.Cut(to, "/")
	var out []*xmpp.Presence
	for {
		p := e.expectPresence(func(p *xmpp.Presence) bool { return p.From.Bare().String() == room && p.To.String() == from })
		out = append(out, p)
		if strings.Contains(p.Element().String(), `code="110"`) {
			return out
		}
	}
}

func TestRoomJoinAndLiveChanges(t *testing.T) {
	e := newRoomEnv(t)
	me := alice + "/phone"
	pres := e.join(me, loungeRes+"alice", `<history maxstanzas='1'/>`)
	var nicks []string
	for _, p := range pres {
		nicks = append(nicks, p.From.Resource())
	}
	// Carol's display name is "alice": she keeps it and the user gets
	// "alice (2)", told by 210.
	if strings.Join(nicks, ",") != "Bob,alice,alice (2)" {
		t.Fatalf("occupants %v", nicks)
	}
	if s := pres[1].Element().String(); !strings.Contains(s, `affiliation="owner"`) || !strings.Contains(s, `jid="carol@`+domain+`"`) {
		t.Errorf("carol %s", s)
	}
	if s := pres[2].Element().String(); !strings.Contains(s, `code="210"`) || !strings.Contains(s, `code="100"`) {
		t.Errorf("self-presence %s", s)
	}
	m := e.expectMessage(func(m *xmpp.Message) bool { return m.From.Bare().String() == lounge })
	if m.Body != "older" || m.From.Resource() != "alice" || m.Delay == nil || m.ID != "h2" {
		t.Errorf("history %s", m.Element())
	}
	m = e.expectMessage(func(m *xmpp.Message) bool { return m.From.Bare().String() == lounge })
	if m.Subject != "Be nice" || m.From.String() != lounge {
		t.Errorf("subject %s", m.Element())
	}

	// A nick change is refused; a presence update changes nothing.
	e.send(`<presence from='%s' to='%s'><show>away</show></presence>`, me, loungeRes+"alice (2)")
	e.send(`<presence from='%s' to='%s'/>`, me, loungeRes+"ally")
	p := e.expectPresence(func(p *xmpp.Presence) bool { return p.Type == xmpp.PresenceError })
	if p.From.String() != loungeRes+"ally" || errCond(p) != xmpp.CondNotAcceptable {
		t.Errorf("nick change %s", p.Element())
	}

	ctx := e.ctx()
	emit := func(ev bridge.Event) {
		t.Helper()
		if err := e.tr.Emit(ctx, "acct-alice", ev); err != nil {
			t.Fatal(err)
		}
	}
	// Members come and go, the topic changes, live.
	emit(bridge.MemberEvent{Chat: "g1", Member: bridge.GroupMember{User: "dave", Nick: "Dave"}})
	e.expectPresence(func(p *xmpp.Presence) bool { return p.From.String() == loungeRes+"Dave" && p.Type == "" })
	emit(bridge.MemberEvent{Chat: "g1", Member: bridge.GroupMember{User: "bob"}, Left: true})
	e.expectPresence(func(p *xmpp.Presence) bool {
		return p.From.String() == loungeRes+"Bob" && p.Type == xmpp.PresenceUnavailable
	})
	emit(bridge.PresenceEvent{User: "dave", Presence: bridge.Presence{Show: bridge.ShowAway, Status: "Lunch"}})
	e.expectPresence(func(p *xmpp.Presence) bool {
		return p.From.String() == loungeRes+"Dave" && p.Show == "away" && p.Status == "Lunch"
	})
	emit(bridge.TopicEvent{Chat: "g1", Topic: "Be very nice", By: "carol"})
	e.expectMessage(func(m *xmpp.Message) bool { return m.From.String() == lounge && m.Subject == "Be very nice" })

	// What alice wrote on another client of the network comes from her
	// own nick, as it is; a reaction of Carol's to a message of the
	// history names it by its id.
	emit(bridge.MessageEvent{Chat: loungeChat, Sender: "acct-alice", FromSelf: true, ID: "r1", Text: "from my phone"})
	m = e.expectMessage(func(m *xmpp.Message) bool { return m.Body == "from my phone" })
	if m.From.String() != loungeRes+"alice (2)" || m.Type != xmpp.MessageGroupchat {
		t.Errorf("own message %s", m.Element())
	}
	emit(bridge.ReactionEvent{Chat: loungeChat, Sender: "carol", ID: "h2", Emojis: []string{"👍"}})
	m = e.expectMessage(func(m *xmpp.Message) bool { return len(m.Extra) > 0 && m.Extra[0].Name.Space == bridge.NSReactions })
	if m.From.String() != loungeRes+"alice" || m.Extra[0].AttrValue("id") != "h2" || m.Type != xmpp.MessageGroupchat {
		t.Errorf("reaction %s", m.Element())
	}

	// alice reacts to a message of the history, corrects her own message:
	// both go to the group through its queue.
	e.send(`<message from='%s' to='%s' type='groupchat' id='x1'><body>hello</body><origin-id xmlns='urn:xmpp:sid:0' id='o1'/></message>`, me, lounge)
	m = e.expectMessage(func(m *xmpp.Message) bool { return m.Body == "hello" })
	if m.ID != "x1" || len(m.StanzaIDs) != 1 || m.StanzaIDs[0].ID != "o1" || m.From.String() != loungeRes+"alice (2)" {
		t.Errorf("reflection %s", m.Element())
	}
	e.send(`<message from='%s' to='%s' type='groupchat' id='x2'><reactions xmlns='urn:xmpp:reactions:0' id='h2'><reaction>🎉</reaction></reactions></message>`, me, lounge)
	e.send(`<message from='%s' to='%s' type='groupchat' id='x3'><body>hello!</body><replace xmlns='urn:xmpp:message-correct:0' id='x1'/></message>`, me, lounge)
	e.send(`<message from='%s' to='%s' type='groupchat' id='x4'><body>indeed</body><reply xmlns='urn:xmpp:reply:0' id='h2'/></message>`, me, lounge)
	e.send(`<message from='%s' to='%s' type='groupchat' id='x5'><retract xmlns='urn:xmpp:message-retract:1' id='x1'/></message>`, me, lounge)
	if _, err := e.tr.WaitSentKind(ctx, "retract", 1); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range e.tr.Sent() {
		if s.Chat == loungeChat {
			got = append(got, s.Kind+":"+string(s.ID)+":"+s.Msg.Text+strings.Join(s.Emojis, "")+":"+string(s.Msg.ReplyTo))
		}
	}
	if !slices.Equal(got, []string{"message:m1:hello:", "react:h2:🎉:", "edit:m1:hello!:", "message:m2:indeed:h2", "retract:m1::"}) {
		t.Errorf("sent to the group %q", got)
	}
	// Echo of alice's own message from the network: not shown twice.
	emit(bridge.MessageEvent{Chat: loungeChat, Sender: "acct-alice", FromSelf: true, ID: "m1", Text: "hello"})
	emit(bridge.MessageEvent{Chat: loungeChat, Sender: "carol", ID: "c1", Text: "welcome"})
	e.expectMessage(func(m *xmpp.Message) bool { return m.Body == "welcome" })
	for _, s := range e.backlog {
		if m, ok := s.(*xmpp.Message); ok && m.Body == "hello" {
			t.Errorf("echo shown: %s", m.Element())
		}
	}

	// The account leaves the group: the user is taken out of the room.
	emit(bridge.GroupEvent{Group: bridge.GroupInfo{ID: "g1"}, Left: true})
	p = e.expectPresence(func(p *xmpp.Presence) bool { return p.From.String() == loungeRes+"alice (2)" })
	if p.Type != xmpp.PresenceUnavailable || !strings.Contains(p.Element().String(), `code="110"`) {
		t.Errorf("removal %s", p.Element())
	}
}

func TestRoomRefusals(t *testing.T) {
	e := newRoomEnv(t)
	refused := func(from, to string) xmpp.Condition {
		t.Helper()
		e.send(`<presence from='%s' to='%s'><x xmlns='http://jabber.org/protocol/muc'/></presence>`, from, to)
		return errCond(e.expectPresence(func(p *xmpp.Presence) bool { return p.Type == xmpp.PresenceError && p.To.String() == from }))
	}
	if c := refused(alice+"/a", "#nowhere@"+domain+"/alice"); c != xmpp.CondItemNotFound {
		t.Errorf("unknown room: %s", c)
	}
	// Bob's account is in "Other"; its room exists once he joined it.
	e.register("bob@example.org", "good-bob")
	e.join("bob@example.org/b", "#other@"+domain+"/bob", "")
	if c := refused(alice+"/a", "#other@"+domain+"/alice"); c != xmpp.CondRegistrationRequired {
		t.Errorf("a group alice is not in: %s", c)
	}
	// A room tells nothing of itself to those outside it.
	for i, who := range []struct {
		from string
		want xmpp.Condition
	}{{alice + "/a", xmpp.CondRegistrationRequired}, {"mallory@evil.example/m", xmpp.CondForbidden}, {"carol@example.org/c", xmpp.CondRegistrationRequired}} {
		id := fmt.Sprint("di", i)
		e.send(`<iq type='get' id='%s' from='%s' to='#other@%s'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>`, id, who.from, domain)
		if c := errCond(e.expectIQ(id)); c != who.want {
			t.Errorf("disco#info of #other by %s: %q, want %q", who.from, c, who.want)
		}
	}
	e.send(`<iq type='get' id='di-bob' from='bob@example.org/b' to='#other@%s'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>`, domain)
	if iq := e.expectIQ("di-bob"); iq.Type != xmpp.IQResult || !strings.Contains(iq.Payload.String(), `name="Other"`) {
		t.Errorf("disco#info of #other by bob: %s", iq.Element())
	}
	if c := refused("carol@example.org/c", "#other@"+domain+"/carol"); c != xmpp.CondRegistrationRequired {
		t.Errorf("not registered: %s", c)
	}
	if c := refused("mallory@evil.example/m", loungeRes+"m"); c != xmpp.CondForbidden {
		t.Errorf("not allowed: %s", c)
	}
	// Groupchat to a room not joined, and a private message from outside.
	e.send(`<message from='%s/a' to='%s' type='groupchat' id='g1'><body>hi</body></message>`, alice, lounge)
	if c := errCond(e.expectMessage(func(m *xmpp.Message) bool { return m.ID == "g1" })); c != xmpp.CondNotAcceptable {
		t.Errorf("groupchat without joining: %s", c)
	}
	e.send(`<message from='%s/a' to='%s' type='chat' id='p1'><body>hi</body></message>`, alice, loungeRes+"Bob")
	if c := errCond(e.expectMessage(func(m *xmpp.Message) bool { return m.ID == "p1" })); c != xmpp.CondNotAcceptable {
		t.Errorf("private message without joining: %s", c)
	}
}

// A room the user left stays left across a restart; a room they were in
// is not entered again by the gateway (its self-ping is refused, so the
// client joins again) and gets nothing until the client does.
func TestRoomStaysLeftAcrossRestart(t *testing.T) {
	e := newRoomEnv(t)
	me := alice + "/phone"
	e.join(me, loungeRes+"alice", `<history maxstanzas='0'/>`)
	e.expectMessage(func(m *xmpp.Message) bool { return m.From.String() == lounge && m.Subject != "" })
	e.send(`<iq type='get' id='sp1' from='%s' to='%s'><ping xmlns='urn:xmpp:ping'/></iq>`, me, loungeRes+"alice (2)")
	if iq := e.expectIQ("sp1"); iq.Type != xmpp.IQResult {
		t.Fatalf("self-ping %s", iq.Element())
	}
	// A second resource whose server answers the room's stanzas with an
	// error is taken out of the room; the first stays.
	e.join(alice+"/laptop", loungeRes+"alice", `<history maxstanzas='0'/>`)
	e.expectMessage(func(m *xmpp.Message) bool {
		return m.From.String() == lounge && m.Subject != "" && m.To.Resource() == "laptop"
	})
	e.send(`<message type='error' from='%s/laptop' to='%s' id='z'><error type='cancel'><service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></message>`, alice, loungeRes+"alice (2)")
	e.send(`<iq type='get' id='sp-l' from='%s/laptop' to='%s'><ping xmlns='urn:xmpp:ping'/></iq>`, alice, loungeRes+"alice (2)")
	if c := errCond(e.expectIQ("sp-l")); c != xmpp.CondNotAcceptable {
		t.Errorf("self-ping of a resource that is gone: %q", c)
	}
	// Likewise for an error answering a presence of the room.
	e.join(alice+"/tablet", loungeRes+"alice", `<history maxstanzas='0'/>`)
	e.expectMessage(func(m *xmpp.Message) bool {
		return m.From.String() == lounge && m.Subject != "" && m.To.Resource() == "tablet"
	})
	e.send(`<presence type='error' from='%s/tablet' to='%s'><error type='cancel'><recipient-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></presence>`, alice, loungeRes+"Bob")
	e.send(`<iq type='get' id='sp-t' from='%s/tablet' to='%s'><ping xmlns='urn:xmpp:ping'/></iq>`, alice, loungeRes+"alice (2)")
	if c := errCond(e.expectIQ("sp-t")); c != xmpp.CondNotAcceptable {
		t.Errorf("self-ping of a resource whose presence bounced: %q", c)
	}
	e.send(`<iq type='get' id='sp-p' from='%s' to='%s'><ping xmlns='urn:xmpp:ping'/></iq>`, me, loungeRes+"alice (2)")
	if iq := e.expectIQ("sp-p"); iq.Type != xmpp.IQResult {
		t.Errorf("self-ping of the resource still in: %s", iq.Element())
	}

	e.restart()
	if err := e.tr.WaitLogin(e.ctx(), "acct-alice"); err != nil {
		t.Fatal(err)
	}
	e.backlog = nil
	e.send(`<iq type='get' id='sp2' from='%s' to='%s'><ping xmlns='urn:xmpp:ping'/></iq>`, me, loungeRes+"alice (2)")
	if c := errCond(e.expectIQ("sp2")); c != xmpp.CondNotAcceptable {
		t.Fatalf("self-ping after a restart: %s", c)
	}
	ctx := e.ctx()
	if err := e.tr.Emit(ctx, "acct-alice", bridge.MessageEvent{Chat: loungeChat, Sender: "bob", ID: "n1", Text: "while away"}); err != nil {
		t.Fatal(err)
	}
	// The client joins again, asking for the history since a time: the
	// message older than that is left out.
	e.join(me, loungeRes+"alice", `<history since='2026-12-01T09:00:30Z'/>`)
	m := e.expectMessage(func(m *xmpp.Message) bool { return m.From.Bare().String() == lounge })
	if m.Body != "older" {
		t.Errorf("history since: %s", m.Element())
	}
	e.expectMessage(func(m *xmpp.Message) bool { return m.From.String() == lounge && m.Subject != "" })
	// It leaves, and after another restart nothing of the room reaches it.
	e.send(`<presence from='%s' to='%s' type='unavailable'/>`, me, loungeRes+"alice (2)")
	p := e.expectPresence(func(p *xmpp.Presence) bool {
		return p.Type == xmpp.PresenceUnavailable && p.From.Bare().String() == lounge
	})
	if !strings.Contains(p.Element().String(), `code="110"`) {
		t.Errorf("leave %s", p.Element())
	}
	e.restart()
	if err := e.tr.WaitLogin(e.ctx(), "acct-alice"); err != nil {
		t.Fatal(err)
	}
	e.backlog = nil
	if err := e.tr.Emit(ctx, "acct-alice", bridge.MessageEvent{Chat: loungeChat, Sender: "bob", ID: "n2", Text: "after leaving"}); err != nil {
		t.Fatal(err)
	}
	// A message of a direct chat, sent after, arrives; nothing of the
	// room came before it.
	if err := e.tr.Emit(ctx, "acct-alice", bridge.MessageEvent{Chat: bridge.ChatRef{Kind: bridge.Direct, Peer: "bob"}, Sender: "bob", ID: "d1", Text: "direct"}); err != nil {
		t.Fatal(err)
	}
	e.expectMessage(func(m *xmpp.Message) bool { return m.Body == "direct" })
	for _, s := range e.backlog {
		if m, ok := s.(*xmpp.Message); ok && m.From.Bare().String() == lounge {
			t.Errorf("room message after leaving: %s", m.Element())
		}
	}
}

// A leave that arrives while the join still talks to the network cancels
// the join: the resource is not in the room afterwards.
func TestRoomLeaveOvertakesJoin(t *testing.T) {
	e := newRoomEnv(t)
	entered, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	e.tr.BeforeMembers = func(bridge.ChatID) {
		once.Do(func() {
			close(entered)
			<-release
		})
	}
	me := alice + "/phone"
	e.send(`<presence from='%s' to='%s'><x xmlns='http://jabber.org/protocol/muc'/></presence>`, me, loungeRes+"alice")
	select {
	case <-entered:
	case <-e.ctx().Done():
		t.Fatal("the join never asked for the members")
	}
	e.send(`<presence from='%s' to='%s' type='unavailable'/>`, me, loungeRes+"alice")
	e.expectPresence(func(p *xmpp.Presence) bool {
		return p.Type == xmpp.PresenceUnavailable && p.From.String() == loungeRes+"alice"
	})
	close(release)
	// A message of the room waits for the join to end; then a direct
	// message: nothing of the room comes before it.
	ctx := e.ctx()
	if err := e.tr.Emit(ctx, "acct-alice", bridge.MessageEvent{Chat: loungeChat, Sender: "bob", ID: "n1", Text: "in the room"}); err != nil {
		t.Fatal(err)
	}
	if err := e.tr.Emit(ctx, "acct-alice", bridge.MessageEvent{Chat: bridge.ChatRef{Kind: bridge.Direct, Peer: "bob"}, Sender: "bob", ID: "d1", Text: "direct"}); err != nil {
		t.Fatal(err)
	}
	e.expectMessage(func(m *xmpp.Message) bool { return m.Body == "direct" })
	for _, s := range e.backlog {
		if s.Head().From.Bare().String() == lounge {
			t.Errorf("the cancelled join went on: %s", s.Element())
		}
	}
}

// A contact never gets a localpart that would name a room.
func TestContactLocalpartsAreNeverRooms(t *testing.T) {
	e := newRoomEnv(t)
	ev := bridge.MessageEvent{Chat: bridge.ChatRef{Kind: bridge.Direct, Peer: "#lounge"}, Sender: "#lounge", ID: "d1", Text: "who am I"}
	if err := e.tr.Emit(e.ctx(), "acct-alice", ev); err != nil {
		t.Fatal(err)
	}
	m := e.expectMessage(func(m *xmpp.Message) bool { return m.Body == "who am I" })
	if l := m.From.Local(); strings.HasPrefix(l, "#") || !strings.HasPrefix(l, "u-") {
		t.Errorf("contact JID %s", m.From)
	}
}

// Archive queries on a room page through the network's history both
// ways; start and end filter.
func TestRoomArchive(t *testing.T) {
	e := newRoomEnv(t)
	me := alice + "/phone"
	e.join(me, loungeRes+"alice", `<history maxstanzas='0'/>`) // maps the room
	query := func(id, inner string) (bodies []string, iq *xmpp.IQ) {
		t.Helper()
		e.send(`<iq type='set' id='%s' from='%s' to='%s'><query xmlns='urn:xmpp:mam:2' queryid='%s'>%s</query></iq>`, id, me, lounge, id, inner)
		iq = e.expectIQ(id)
		for _, s := range e.backlog {
			if m, ok := s.(*xmpp.Message); ok && len(m.Extra) == 1 && m.Extra[0].AttrValue("queryid") == id {
				fwd := m.Extra[0].Child(bridge.NSForward, "forwarded")
				bodies = append(bodies, fwd.Child(xmpp.NSClient, "message").ChildText(xmpp.NSClient, "body"))
			}
		}
		return bodies, iq
	}
	form := func(field, value string) string {
		return `<x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE' type='hidden'><value>urn:xmpp:mam:2</value></field><field var='` + field + `'><value>` + value + `</value></field></x>`
	}
	tests := []struct {
		id, inner, want string
		complete        bool
	}{
		{"a1", "", "oldest|older", true},
		{"a2", `<set xmlns='http://jabber.org/protocol/rsm'><max>1</max><before/></set>`, "older", false},
		{"a3", `<set xmlns='http://jabber.org/protocol/rsm'><max>1</max><before>h2</before></set>`, "oldest", false},
		{"a4", form("start", "2026-12-01T09:00:30Z"), "older", true},
		{"a5", form("end", "2026-12-01T09:00:30Z"), "oldest", true},
	}
	for _, tc := range tests {
		bodies, iq := query(tc.id, tc.inner)
		fin := iq.Payload
		if iq.Type != xmpp.IQResult || strings.Join(bodies, "|") != tc.want || (fin.AttrValue("complete") == "true") != tc.complete {
			t.Errorf("%s: %q, %s; want %q, complete %v", tc.id, bodies, iq.Element(), tc.want, tc.complete)
		}
	}
	// Forwards: after a message, or from a time on.
	for _, tc := range []struct {
		id, inner, want string
		complete        bool
	}{
		{"f1", `<set xmlns='http://jabber.org/protocol/rsm'><after>h1</after></set>`, "older", true},
		{"f2", `<set xmlns='http://jabber.org/protocol/rsm'><max>1</max></set>` + form("start", "2026-12-01T08:00:00Z"), "oldest", false},
		{"f3", `<set xmlns='http://jabber.org/protocol/rsm'><max>1</max><after>h1</after></set>`, "older", true},
		{"f4", `<set xmlns='http://jabber.org/protocol/rsm'><after>h2</after></set>`, "", true},
	} {
		bodies, iq := query(tc.id, tc.inner)
		if iq.Type != xmpp.IQResult || strings.Join(bodies, "|") != tc.want || (iq.Payload.AttrValue("complete") == "true") != tc.complete {
			t.Errorf("%s: %q, %s; want %q, complete %v", tc.id, bodies, iq.Element(), tc.want, tc.complete)
		}
	}
	_, iq := query("f5", `<set xmlns='http://jabber.org/protocol/rsm'><after>nope</after></set>`)
	if errCond(iq) != xmpp.CondItemNotFound {
		t.Errorf("after an unknown message: %s", iq.Element())
	}
	// A page that starts further back than the gateway reads is refused.
	var many []bridge.MessageEvent
	for i := range 1001 {
		many = append(many, bridge.MessageEvent{Chat: loungeChat, Sender: "bob", ID: bridge.MessageID(fmt.Sprint("k", i)), Text: fmt.Sprint(i)})
	}
	e.tr.SetHistory("g1", many...)
	if bodies, iq := query("f6", `<set xmlns='http://jabber.org/protocol/rsm'><max>2</max><after>k0</after></set>`); errCond(iq) != xmpp.CondNotAcceptable {
		t.Errorf("too far back: %q %s", bodies, iq.Element())
	}
	if bodies, iq := query("f7", `<set xmlns='http://jabber.org/protocol/rsm'><max>2</max><after>k100</after></set>`); strings.Join(bodies, "|") != "101|102" || iq.Payload.AttrValue("complete") == "true" {
		t.Errorf("after k100: %q %s", bodies, iq.Element())
	}
	e.register("bob@example.org", "good-bob")
	e.send(`<iq type='set' id='b1' from='bob@example.org/b' to='%s'><query xmlns='urn:xmpp:mam:2'/></iq>`, lounge)
	if c := errCond(e.expectIQ("b1")); c != xmpp.CondRegistrationRequired {
		t.Errorf("archive of a room bob is not in: %q", c)
	}
}
