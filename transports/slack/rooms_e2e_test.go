package slack_test

import (
	"context"
	"strings"
	"testing"
	"time"

	slackapi "github.com/slack-go/slack"

	"github.com/xgate-im/xgate/bridge"
	"github.com/xgate-im/xgate/transports/slack"
	"github.com/xgate-im/xgate/transports/slack/slackfake"
	"github.com/xgate-im/xgate/xmpp"
	"github.com/xgate-im/xgate/xmpp/disco"
	"github.com/xgate-im/xgate/xmpp/jid"
	"github.com/xgate-im/xgate/xmpp/prosodytest"
)

// groupchatFrom matches a groupchat message from an occupant JID (or the
// room itself) whose body satisfies ok.
func groupchatFrom(from jid.JID, ok func(body string) bool) func(xmpp.Stanza) bool {
	return func(s xmpp.Stanza) bool {
		m, is := s.(*xmpp.Message)
		return is && m.Type == xmpp.MessageGroupchat && m.From == from && m.Body != "" && ok(m.Body)
	}
}

// fromRoom matches any message from a room or its occupants.
func fromRoom(room jid.JID) func(xmpp.Stanza) bool {
	return func(s xmpp.Stanza) bool {
		m, ok := s.(*xmpp.Message)
		return ok && m.From.Bare() == room
	}
}

func mucUserStatuses(p *xmpp.Presence) []string {
	var out []string
	for _, x := range p.Extra {
		if x.Name.Space == bridge.NSMUCUser {
			for _, c := range x.Children() {
				if c.Name.Local == "status" {
					out = append(out, c.AttrValue("code"))
				}
			}
		}
	}
	return out
}

func hasStatus(p *xmpp.Presence, code string) bool {
	for _, c := range mucUserStatuses(p) {
		if c == code {
			return true
		}
	}
	return false
}

// joinRoom joins a room as nick and returns the occupant presences in the
// order they came, the own one (with 110) last, as a MUC client sees
// them.
func joinRoom(t *testing.T, ctx context.Context, c *prosodytest.Client, room jid.JID, nick, history string) []*xmpp.Presence {
	t.Helper()
	to, _ := room.WithResource(nick)
	x := xmpp.NewElement(bridge.NSMUC, "x")
	if history != "" {
		el, err := xmpp.ParseElement(history)
		if err != nil {
			t.Fatal(err)
		}
		x.Append(el)
	}
	c.Send(&xmpp.Presence{Header: xmpp.Header{To: to}, Extra: []*xmpp.Element{x}})
	var got []*xmpp.Presence
	for {
		s, err := c.Expect(ctx, func(s xmpp.Stanza) bool {
			p, ok := s.(*xmpp.Presence)
			return ok && p.From.Bare() == room
		})
		if err != nil {
			t.Fatal(err)
		}
		p := s.(*xmpp.Presence)
		if p.Type == xmpp.PresenceError {
			t.Fatalf("join refused: %s", p.Element())
		}
		got = append(got, p)
		if hasStatus(p, "110") {
			return got
		}
	}
}

func TestRoomsEndToEnd(t *testing.T) {
	fake := slackfake.New(slackfake.WithAckTimeout(500 * time.Millisecond))
	t.Cleanup(fake.Close)
	team := fake.CreateTeam("Acme")
	alice := fake.CreateUser(team.ID, slackfake.UserSpec{Name: "alice", DisplayName: "Alice"})
	bob := fake.CreateUser(team.ID, slackfake.UserSpec{Name: "bob", DisplayName: "Bob"})
	bob2 := fake.CreateUser(team.ID, slackfake.UserSpec{Name: "bobby", DisplayName: "Bob"})
	carol := fake.CreateUser(team.ID, slackfake.UserSpec{Name: "carol", DisplayName: "Carol"})
	dave := fake.CreateUser(team.ID, slackfake.UserSpec{Name: "dave", DisplayName: "Dave"})
	ch := fake.CreateChannel(team.ID, "Design", false, alice.ID, bob.ID, bob2.ID, carol.ID)
	fake.CreateChannel(team.ID, "elsewhere", false, bob.ID) // alice is not in it
	fake.OpenMPIM(team.ID, alice.ID, bob.ID, carol.ID)
	fake.Post(bob.ID, ch.ID, "first")
	fake.Post(carol.ID, ch.ID, "second")
	fake.Post(alice.ID, ch.ID, "third, by me")
	token := fake.IssueUserToken(team.ID, alice.ID)
	api := slackapi.New(token, slackapi.OptionAPIURL(fake.APIURL()))
	if _, err := api.SetTopicOfConversation(ch.ID, "All things design"); err != nil {
		t.Fatal(err)
	}

	e := startE2E(t, fake, slack.Config{
		APIURL: fake.APIURL(), AppToken: fake.AppToken(),
		PresencePoll: slack.Duration(time.Hour), PostRate: 1000, PostBurst: 1000,
	})
	c := e.client("alice")
	ctx := bounded(t)
	gw := jid.MustParse(gwDomain)
	c.Send(&xmpp.Presence{})
	register(t, ctx, c, token)
	accept(t, ctx, c, gw)
	if _, err := c.Expect(ctx, presenceFrom(gw, func(p *xmpp.Presence) bool { return strings.Contains(p.Status, "connected") })); err != nil {
		t.Fatal(err)
	}

	// The gateway is also a chat room service.
	res, err := c.Request(ctx, &xmpp.IQ{Header: xmpp.Header{To: gw, Type: xmpp.IQGet}, Payload: xmpp.NewElement(disco.NSInfo, "query")})
	if err != nil {
		t.Fatal(err)
	}
	if info, err := disco.ParseInfo(res.Payload); err != nil || !info.HasFeature(bridge.NSMUC) {
		t.Errorf("gateway disco#info %s (%v)", res.Payload, err)
	}
	// disco#items lists alice's channels as rooms: "#" and the name.
	res, err = c.Request(ctx, &xmpp.IQ{Header: xmpp.Header{To: gw, Type: xmpp.IQGet}, Payload: xmpp.NewElement(disco.NSItems, "query")})
	if err != nil {
		t.Fatal(err)
	}
	items, err := disco.ParseItems(res.Payload)
	if err != nil {
		t.Fatal(err)
	}
	room := jid.MustParse("#design@" + gwDomain)
	// A group DM is named by the others' names; its JID keeps Slack's name.
	mpdm := jid.MustParse("#mpdm-alice--bob--carol-1@" + gwDomain)
	var found, foundDM bool
	for _, it := range items.Items {
		if it.JID == room && it.Name == "Design" {
			found = true
		}
		if it.JID == mpdm && it.Name == "Bob, Carol" {
			foundDM = true
		}
		if strings.Contains(it.JID.String(), "elsewhere") {
			t.Errorf("a channel alice is not in is listed: %v", it)
		}
	}
	if !found || !foundDM {
		t.Fatalf("disco#items %s: no %s or %s", res.Payload, room, mpdm)
	}
	res, err = c.Request(ctx, &xmpp.IQ{Header: xmpp.Header{To: mpdm, Type: xmpp.IQGet}, Payload: xmpp.NewElement(disco.NSInfo, "query")})
	if err != nil {
		t.Fatal(err)
	}
	if info, err := disco.ParseInfo(res.Payload); err != nil || len(info.Identities) != 1 || info.Identities[0].Name != "Bob, Carol" {
		t.Errorf("group DM's disco#info %s (%v)", res.Payload, err)
	}
	res, err = c.Request(ctx, &xmpp.IQ{Header: xmpp.Header{To: room, Type: xmpp.IQGet}, Payload: xmpp.NewElement(disco.NSInfo, "query")})
	if err != nil {
		t.Fatal(err)
	}
	info, err := disco.ParseInfo(res.Payload)
	if err != nil || len(info.Identities) != 1 || info.Identities[0].Category != "conference" || info.Identities[0].Name != "Design" ||
		!info.HasFeature(bridge.NSMUC) || !info.HasFeature("muc_persistent") || !info.HasFeature(bridge.NSOccupantID) || !info.HasFeature(bridge.NSMAM) {
		t.Errorf("room disco#info %s (%v)", res.Payload, err)
	}

	// XEP-0313 on the room, from Slack's history: the newest two, then the
	// page before them.
	mam := func(id, before string) (bodies []string, fin *xmpp.Element) {
		t.Helper()
		q := xmpp.NewElement(bridge.NSMAM, "query", "queryid", id).Append(
			xmpp.NewElement(bridge.NSRSM, "set").Append(xmpp.TextElement(bridge.NSRSM, "max", "2"), xmpp.TextElement(bridge.NSRSM, "before", before)))
		res, err := c.Request(ctx, &xmpp.IQ{Header: xmpp.Header{To: room, Type: xmpp.IQSet}, Payload: q})
		if err != nil || res.Type != xmpp.IQResult {
			t.Fatalf("archive query: %v %v", res, err)
		}
		for {
			s, err := c.Expect(ctx, func(s xmpp.Stanza) bool {
				m, ok := s.(*xmpp.Message)
				return ok && len(m.Extra) == 1 && m.Extra[0].Name.Space == bridge.NSMAM && m.Extra[0].AttrValue("queryid") == id
			})
			if err != nil {
				t.Fatal(err)
			}
			fwd := s.(*xmpp.Message).Extra[0].Child(bridge.NSForward, "forwarded")
			bodies = append(bodies, fwd.Child(xmpp.NSClient, "message").ChildText(xmpp.NSClient, "body"))
			if len(bodies) == 2 || strings.Join(bodies, "") == "first" {
				return bodies, res.Payload
			}
		}
	}
	bodies, fin := mam("a1", "")
	if strings.Join(bodies, "|") != "second|third, by me" || fin.AttrValue("complete") == "true" {
		t.Fatalf("archive page %q %s", bodies, fin)
	}
	bodies, fin = mam("a2", fin.Child(bridge.NSRSM, "set").ChildText(bridge.NSRSM, "first"))
	if strings.Join(bodies, "|") != "first" || fin.AttrValue("complete") != "true" {
		t.Fatalf("archive page before %q %s", bodies, fin)
	}

	// Join with two messages of history: the members as occupants (the
	// two Bobs told apart), alice's own presence last with 110 and 100,
	// then the history with delays, then the subject.
	pres := joinRoom(t, ctx, c, room, "alice", `<history xmlns='http://jabber.org/protocol/muc' maxstanzas='2'/>`)
	var nicks []string
	for _, p := range pres {
		nicks = append(nicks, p.From.Resource())
		if p.Extra[len(p.Extra)-1].Name.Space != bridge.NSOccupantID {
			t.Errorf("no occupant-id in %s", p.Element())
		}
	}
	if strings.Join(nicks, ",") != "Bob,Bob (2),Carol,alice" {
		t.Errorf("occupants %v", nicks)
	}
	if self := pres[len(pres)-1]; !hasStatus(self, "100") || hasStatus(self, "210") {
		t.Errorf("self-presence %s", self.Element())
	}
	self, _ := room.WithResource("alice")
	carolOcc, _ := room.WithResource("Carol")
	for _, want := range []struct {
		from jid.JID
		body string
	}{{carolOcc, "second"}, {self, "third, by me"}} {
		s, err := c.Expect(ctx, fromRoom(room))
		if err != nil {
			t.Fatal(err)
		}
		m, ok := s.(*xmpp.Message)
		if !ok || m.Type != xmpp.MessageGroupchat || m.From != want.from || m.Body != want.body || m.Delay == nil || m.Delay.From != room.String() {
			t.Fatalf("history: want %q from %s, got %s", want.body, want.from, s.Element())
		}
	}
	s, err := c.Expect(ctx, fromRoom(room))
	if err != nil {
		t.Fatal(err)
	}
	if m, ok := s.(*xmpp.Message); !ok || m.From != room || m.Subject != "All things design" || m.Body != "" {
		t.Fatalf("want the subject after the history, got %s", s.Element())
	}

	// A message on Slack comes from its author's occupant JID; a mention
	// of alice is a XEP-0372 reference to her occupant JID.
	bobOcc, _ := room.WithResource("Bob")
	fake.Post(bob.ID, ch.ID, "hi <@"+alice.ID+">")
	s, err = c.Expect(ctx, groupchatFrom(bobOcc, func(b string) bool { return b == "hi @Alice" }))
	if err != nil {
		t.Fatal(err)
	}
	var ref *xmpp.Element
	for _, x := range s.(*xmpp.Message).Extra {
		if x.Name.Space == bridge.NSReference {
			ref = x
		}
	}
	if ref == nil || ref.AttrValue("uri") != "xmpp:%23design@"+gwDomain+"/alice" {
		t.Errorf("mention %s", s.Element())
	}

	// Edits, reactions and deletions on Slack reach the room, naming the
	// message by its stanza-id; alice's reaction reaches Slack.
	hiTS := s.(*xmpp.Message).StanzaIDs[0].ID
	fake.Edit(bob.ID, ch.ID, hiTS, "hi again")
	if _, err := c.Expect(ctx, func(s xmpp.Stanza) bool {
		m, ok := s.(*xmpp.Message)
		return ok && m.From == bobOcc && m.Body == "hi again" && len(m.Extra) > 0 && m.Extra[0].Name.Space == bridge.NSCorrect && m.Extra[0].AttrValue("id") == hiTS
	}); err != nil {
		t.Fatal(err)
	}
	fake.React(carol.ID, ch.ID, hiTS, "tada")
	if _, err := c.Expect(ctx, func(s xmpp.Stanza) bool {
		m, ok := s.(*xmpp.Message)
		if !ok || m.From != carolOcc || m.Type != xmpp.MessageGroupchat {
			return false
		}
		for _, x := range m.Extra {
			if x.Name.Space == bridge.NSReactions && x.AttrValue("id") == hiTS && x.ChildText("", "reaction") == "🎉" {
				return true
			}
		}
		return false
	}); err != nil {
		t.Fatal(err)
	}
	c.Send(&xmpp.Message{Header: xmpp.Header{To: room, Type: xmpp.MessageGroupchat, ID: "r1"},
		Extra: []*xmpp.Element{xmpp.NewElement(bridge.NSReactions, "reactions", "id", hiTS).Append(xmpp.TextElement("", "reaction", "👍"))}})
	if _, err := fake.WaitMessage(ctx, ch.ID, func(m slackfake.Message) bool {
		for _, r := range m.Reactions {
			if m.TS == hiTS && r.Name == "+1" && len(r.Users) == 1 && r.Users[0] == alice.ID {
				return true
			}
		}
		return false
	}); err != nil {
		t.Fatalf("reaction on Slack: %v", err)
	}
	fake.Delete(bob.ID, ch.ID, hiTS)
	if _, err := c.Expect(ctx, func(s xmpp.Stanza) bool {
		m, ok := s.(*xmpp.Message)
		return ok && m.From == bobOcc && m.Element().Child(bridge.NSRetract, "retract") != nil
	}); err != nil {
		t.Fatal(err)
	}

	// alice writes in the room: the message goes to the channel and is
	// reflected once, with her id and a stanza-id, never echoed again.
	c.Send(&xmpp.Message{Header: xmpp.Header{To: room, Type: xmpp.MessageGroupchat, ID: "g1"}, Body: "hello room"})
	s, err = c.Expect(ctx, groupchatFrom(self, func(b string) bool { return b == "hello room" }))
	if err != nil {
		t.Fatal(err)
	}
	if m := s.(*xmpp.Message); m.ID != "g1" || len(m.StanzaIDs) != 1 || m.StanzaIDs[0].By != room.String() {
		t.Errorf("reflection %s", m.Element())
	}
	if _, err := fake.WaitMessage(ctx, ch.ID, func(m slackfake.Message) bool { return m.Text == "hello room" && m.User == alice.ID }); err != nil {
		t.Fatal(err)
	}
	fake.Post(carol.ID, ch.ID, "after")
	for {
		s, err := c.Expect(ctx, fromRoom(room))
		if err != nil {
			t.Fatal(err)
		}
		if m, ok := s.(*xmpp.Message); ok && m.Body == "hello room" {
			t.Fatalf("echo of alice's own message: %s", m.Element())
		}
		if m, ok := s.(*xmpp.Message); ok && m.Body == "after" && m.From == carolOcc {
			break
		}
	}

	// Someone joins the channel: a new occupant.
	fake.Join(dave.ID, ch.ID)
	if _, err := c.Expect(ctx, presenceFrom(room, func(p *xmpp.Presence) bool { return p.From.Resource() == "Dave" })); err != nil {
		t.Fatal(err)
	}

	// A private message to an occupant goes to the person's direct
	// messages.
	c.Send(&xmpp.Message{Header: xmpp.Header{To: bobOcc, Type: xmpp.MessageChat, ID: "pm1"}, Body: "psst"})
	im := fake.OpenIM(team.ID, alice.ID, bob.ID)
	if _, err := fake.WaitMessage(ctx, im, func(m slackfake.Message) bool { return m.Text == "psst" && m.User == alice.ID }); err != nil {
		t.Fatal(err)
	}

	// alice changes the subject: the channel's topic changes, and the new
	// subject comes from her nick.
	c.Send(&xmpp.Message{Header: xmpp.Header{To: room, Type: xmpp.MessageGroupchat, ID: "t1"}, Subject: "Design, all of it"})
	s, err = c.Expect(ctx, func(s xmpp.Stanza) bool { m, ok := s.(*xmpp.Message); return ok && m.Subject == "Design, all of it" })
	if err != nil || s.(*xmpp.Message).From != self {
		t.Fatalf("subject change %v %v", s, err)
	}
	if info, err := api.GetConversationInfo(&slackapi.GetConversationInfoInput{ChannelID: ch.ID}); err != nil || info.Topic.Value != "Design, all of it" {
		t.Errorf("topic on Slack %+v %v", info, err)
	}

	// XEP-0410: alice's self-ping is answered.
	ping := func(c *prosodytest.Client, to jid.JID) *xmpp.IQ {
		res, err := c.Request(ctx, &xmpp.IQ{Header: xmpp.Header{To: to, Type: xmpp.IQGet}, Payload: xmpp.NewElement(xmpp.NSPing, "ping")})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	if res := ping(c, self); res.Type != xmpp.IQResult {
		t.Errorf("self-ping %s", res.Element())
	}

	// A second resource: not an occupant until it joins (its self-ping is
	// refused), then in the room with the same nick; both get messages.
	c2 := e.client("alice")
	c2.Send(&xmpp.Presence{})
	if res := ping(c2, self); res.Error == nil || res.Error.Condition != xmpp.CondNotAcceptable {
		t.Errorf("self-ping of a resource not in the room %s", res.Element())
	}
	pres = joinRoom(t, ctx, c2, room, "other-nick", "<history xmlns='http://jabber.org/protocol/muc' maxstanzas='0'/>")
	if last := pres[len(pres)-1]; last.From != self || !hasStatus(last, "210") {
		t.Errorf("second resource's self-presence %s", last.Element())
	}
	if s, err := c2.Expect(ctx, fromRoom(room)); err != nil || s.(*xmpp.Message).Subject != "Design, all of it" {
		t.Errorf("second resource's subject: %v %v", s, err)
	}
	fake.Post(bob.ID, ch.ID, "to both")
	for _, cl := range []*prosodytest.Client{c, c2} {
		if _, err := cl.Expect(ctx, groupchatFrom(bobOcc, func(b string) bool { return b == "to both" })); err != nil {
			t.Fatal(err)
		}
	}

	// Leaving: the unavailable presence comes back with 110; the resource
	// is out (self-ping refused, groupchat refused), the other stays.
	c2.Send(&xmpp.Presence{Header: xmpp.Header{To: self, Type: xmpp.PresenceUnavailable}})
	s, err = c2.Expect(ctx, prosodytest.PresenceFrom(self, xmpp.PresenceUnavailable))
	if err != nil || !hasStatus(s.(*xmpp.Presence), "110") {
		t.Fatalf("leave: %v %v", s, err)
	}
	if res := ping(c2, self); res.Error == nil || res.Error.Condition != xmpp.CondNotAcceptable {
		t.Errorf("self-ping after leaving %s", res.Element())
	}
	c2.Send(&xmpp.Message{Header: xmpp.Header{To: room, Type: xmpp.MessageGroupchat, ID: "late"}, Body: "late"})
	s, err = c2.Expect(ctx, func(s xmpp.Stanza) bool { m, ok := s.(*xmpp.Message); return ok && m.ID == "late" })
	if err != nil || s.(*xmpp.Message).Error == nil || s.(*xmpp.Message).Error.Condition != xmpp.CondNotAcceptable {
		t.Fatalf("groupchat after leaving: %v %v", s, err)
	}
	if res := ping(c, self); res.Type != xmpp.IQResult {
		t.Errorf("the first resource left with the second: %s", res.Element())
	}

	// Rooms that do not exist, and channels alice is not in, cannot be
	// joined.
	nope, _ := jid.MustParse("#nope@" + gwDomain).WithResource("alice")
	c.Send(&xmpp.Presence{Header: xmpp.Header{To: nope}, Extra: []*xmpp.Element{xmpp.NewElement(bridge.NSMUC, "x")}})
	s, err = c.Expect(ctx, prosodytest.PresenceFrom(nope, xmpp.PresenceError))
	if err != nil || s.(*xmpp.Presence).Error.Condition != xmpp.CondItemNotFound {
		t.Fatalf("join of a room that does not exist: %v %v", s, err)
	}
}
