package discord_test

import (
	"bytes"
	"context"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/xgate-im/xgate/bridge"
	"github.com/xgate-im/xgate/store"
	"github.com/xgate-im/xgate/transports/discord"
	"github.com/xgate-im/xgate/transports/discord/discordfake"
	"github.com/xgate-im/xgate/xmpp"
	"github.com/xgate-im/xgate/xmpp/disco"
	"github.com/xgate-im/xgate/xmpp/form"
	"github.com/xgate-im/xgate/xmpp/jid"
	"github.com/xgate-im/xgate/xmpp/prosodytest"
)

// hasMUCStatus reports whether a presence carries a XEP-0045 status code.
func hasMUCStatus(p *xmpp.Presence, code string) bool {
	for _, x := range p.Extra {
		if x.Name.Space != bridge.NSMUCUser {
			continue
		}
		for _, c := range x.Children() {
			if c.Name.Local == "status" && c.AttrValue("code") == code {
				return true
			}
		}
	}
	return false
}

// joinDiscordRoom joins a room as nick and returns the occupant
// presences in the order they came, up to the user's own (110).
func joinDiscordRoom(t *testing.T, ctx context.Context, c *prosodytest.Client, room jid.JID, nick, history string) []*xmpp.Presence {
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
		if hasMUCStatus(p, "110") {
			return got
		}
	}
}

// roomMessage matches a groupchat message from an occupant of room.
func roomMessage(from jid.JID, ok func(*xmpp.Message) bool) func(xmpp.Stanza) bool {
	return func(s xmpp.Stanza) bool {
		m, is := s.(*xmpp.Message)
		return is && m.Type == xmpp.MessageGroupchat && m.From == from && ok(m)
	}
}

// TestRoomsEndToEndThroughProsody: a guild's text channels are rooms on
// the gateway's domain for a personal account, through a real Prosody and
// discordgo against discordfake: listed by disco#items, joined with the
// guild's members as occupants and the user's own presence last (110),
// history with delays, messages both ways (the user's reflected with its
// id, never echoed), edits and reactions both ways.
func TestRoomsEndToEndThroughProsody(t *testing.T) {
	fake := discordfake.New()
	t.Cleanup(fake.Close)
	alice := fake.CreateUser(discordfake.UserSpec{Username: "alice", GlobalName: "Alice"})
	bob := fake.CreateUser(discordfake.UserSpec{Username: "bob", GlobalName: "Bob"})
	carol := fake.CreateUser(discordfake.UserSpec{Username: "carol", GlobalName: "Carol"})
	g := fake.CreateGuild(alice.ID, "Hub")
	fake.AddMember(g.ID, bob.ID, "")
	fake.AddMember(g.ID, carol.ID, "Caz")
	general := fake.CreateChannel(g.ID, "general")
	fake.CreateChannel(g.ID, "random")
	other := fake.CreateGuild(bob.ID, "Elsewhere") // alice is not in it
	fake.CreateChannel(other.ID, "hidden")
	fake.Post(bob.ID, general.ID, "first")
	fake.Post(carol.ID, general.ID, "second")
	fake.Post(alice.ID, general.ID, "third, by me")
	fake.SetTopic(alice.ID, general.ID, "Anything goes")
	token := fake.IssueUserToken(alice.ID)

	c, ctx, p := personalRooms(t, fake, token)
	gw := jid.MustParse(gwDomain)

	// disco#items on the gateway lists alice's guild as a node (and no
	// guild she is not in); the node lists the guild's channels.
	top := discoItems(t, ctx, c, gw, "")
	if len(top) != 1 || top[0].JID != gw || top[0].Node != "parent/"+g.ID {
		t.Fatalf("disco#items of the gateway %+v: want the node of guild %s only", top, g.ID)
	}
	items := discoItems(t, ctx, c, gw, top[0].Node)
	var room jid.JID
	var names []string
	for _, it := range items {
		if strings.Contains(it.Name, "hidden") {
			t.Errorf("a channel of a guild alice is not in is listed: %+v", it)
		}
		names = append(names, it.Name)
		if it.Name == "Hub #general" {
			room = it.JID
		}
	}
	if room.IsZero() {
		t.Fatalf("disco#items %v: no Hub #general", names)
	}
	if !slices.Contains(names, "Hub #random") {
		t.Errorf("disco#items %v: no Hub #random", names)
	}

	// Join with two messages of history: the guild's members as
	// occupants, alice's own presence last with 110, then the history
	// with delays (her own message under her nick), then the subject.
	pres := joinDiscordRoom(t, ctx, c, room, "alice", `<history xmlns='http://jabber.org/protocol/muc' maxstanzas='2'/>`)
	var nicks []string
	for _, p := range pres {
		nicks = append(nicks, p.From.Resource())
	}
	if last := nicks[len(nicks)-1]; last != "alice" || !slices.Contains(nicks, "Bob") || !slices.Contains(nicks, "Caz") {
		t.Errorf("occupants %v: want Bob and Caz, alice last", nicks)
	}
	self, _ := room.WithResource("alice")
	bobOcc, _ := room.WithResource("Bob")
	cazOcc, _ := room.WithResource("Caz")
	for _, want := range []struct {
		from jid.JID
		body string
	}{{cazOcc, "second"}, {self, "third, by me"}} {
		s, err := c.Expect(ctx, func(s xmpp.Stanza) bool { m, ok := s.(*xmpp.Message); return ok && m.From.Bare() == room })
		if err != nil {
			t.Fatal(err)
		}
		m := s.(*xmpp.Message)
		if m.Type != xmpp.MessageGroupchat || m.From != want.from || m.Body != want.body || m.Delay == nil || m.Delay.From != room.String() {
			t.Fatalf("history: want %q from %s, got %s", want.body, want.from, s.Element())
		}
	}
	s, err := c.Expect(ctx, func(s xmpp.Stanza) bool { m, ok := s.(*xmpp.Message); return ok && m.From.Bare() == room })
	if err != nil {
		t.Fatal(err)
	}
	if m := s.(*xmpp.Message); m.From != room || m.Subject != "Anything goes" || m.Body != "" {
		t.Fatalf("want the subject after the history, got %s", s.Element())
	}

	// An occupant's vCard (XEP-0054 to the occupant JID) is the person's
	// Discord profile.
	res, err := c.Request(ctx, &xmpp.IQ{Header: xmpp.Header{To: cazOcc, Type: xmpp.IQGet}, Payload: xmpp.NewElement(bridge.NSVCard, "vCard")})
	if err != nil || res.Type != xmpp.IQResult || res.Payload.ChildText("", "NICKNAME") != "Carol" {
		t.Fatalf("occupant vCard %v %v", res, err)
	}

	// Bob writes on Discord: from his occupant JID, with a stanza-id.
	hi := fake.Post(bob.ID, general.ID, "hi all")
	s, err = c.Expect(ctx, roomMessage(bobOcc, func(m *xmpp.Message) bool { return m.Body == "hi all" }))
	if err != nil {
		t.Fatal(err)
	}
	if m := s.(*xmpp.Message); len(m.StanzaIDs) != 1 || m.StanzaIDs[0].ID != hi || m.StanzaIDs[0].By != room.String() {
		t.Errorf("stanza-id %s", m.Element())
	}

	// alice writes in the room: on Discord under her name, reflected to
	// her once with her id, never echoed by the Gateway's MESSAGE_CREATE.
	c.Send(&xmpp.Message{Header: xmpp.Header{To: room, Type: xmpp.MessageGroupchat, ID: "g1"}, Body: "hello *room*"})
	s, err = c.Expect(ctx, roomMessage(self, func(m *xmpp.Message) bool { return m.Body == "hello *room*" }))
	if err != nil {
		t.Fatal(err)
	}
	if m := s.(*xmpp.Message); m.ID != "g1" || len(m.StanzaIDs) != 1 || m.StanzaIDs[0].By != room.String() {
		t.Errorf("reflection %s", m.Element())
	}
	sent, err := fake.WaitMessage(ctx, general.ID, func(m discordfake.Message) bool { return m.Content == "hello **room**" })
	if err != nil || sent.AuthorID != alice.ID {
		t.Fatalf("message on Discord %+v %v", sent, err)
	}

	// alice corrects it (XEP-0308): the Discord message is edited, and
	// the correction is reflected.
	c.Send(&xmpp.Message{Header: xmpp.Header{To: room, Type: xmpp.MessageGroupchat, ID: "g2"}, Body: "hello everyone",
		Extra: []*xmpp.Element{xmpp.NewElement(bridge.NSCorrect, "replace", "id", "g1")}})
	if _, err := fake.WaitMessage(ctx, general.ID, func(m discordfake.Message) bool { return m.ID == sent.ID && m.Content == "hello everyone" }); err != nil {
		t.Fatalf("edit on Discord: %v; have %+v", err, fake.Messages(general.ID))
	}
	if _, err := c.Expect(ctx, roomMessage(self, func(m *xmpp.Message) bool { return m.Body == "hello everyone" && m.ID == "g2" })); err != nil {
		t.Fatal(err)
	}

	// Bob edits his message on Discord: a correction naming it.
	fake.Edit(bob.ID, general.ID, hi, "hi all, again")
	if _, err := c.Expect(ctx, roomMessage(bobOcc, func(m *xmpp.Message) bool {
		r := m.Element().Child(bridge.NSCorrect, "replace")
		return m.Body == "hi all, again" && r != nil && r.AttrValue("id") == hi
	})); err != nil {
		t.Fatal(err)
	}

	// Reactions both ways: Caz's on Discord reaches the room, alice's
	// reaches Discord.
	fake.React(carol.ID, general.ID, hi, "🎉")
	if _, err := c.Expect(ctx, roomMessage(cazOcc, func(m *xmpp.Message) bool {
		r := m.Element().Child(bridge.NSReactions, "reactions")
		return r != nil && r.AttrValue("id") == hi && r.ChildText("", "reaction") == "🎉"
	})); err != nil {
		t.Fatal(err)
	}
	c.Send(&xmpp.Message{Header: xmpp.Header{To: room, Type: xmpp.MessageGroupchat, ID: "r1"},
		Extra: []*xmpp.Element{xmpp.NewElement(bridge.NSReactions, "reactions", "id", hi).Append(xmpp.TextElement("", "reaction", "👍"))}})
	if _, err := fake.WaitMessage(ctx, general.ID, func(m discordfake.Message) bool {
		for _, r := range m.Reactions {
			if m.ID == hi && r.Emoji == "👍" && slices.Equal(r.Users, []string{alice.ID}) {
				return true
			}
		}
		return false
	}); err != nil {
		t.Fatalf("reaction on Discord: %v; have %+v", err, fake.Messages(general.ID))
	}

	// Nothing alice wrote came back as someone else's message, and the
	// room goes on: a later message of Bob's is the next with a body.
	fake.Post(bob.ID, general.ID, "after")
	for {
		s, err := c.Expect(ctx, func(s xmpp.Stanza) bool {
			m, ok := s.(*xmpp.Message)
			return ok && m.From.Bare() == room && m.Body != ""
		})
		if err != nil {
			t.Fatal(err)
		}
		m := s.(*xmpp.Message)
		if strings.HasPrefix(m.Body, "hello") {
			t.Fatalf("echo of alice's own message: %s", m.Element())
		}
		if m.Body == "after" && m.From == bobOcc {
			break
		}
	}

	// A file Bob posts in the channel reaches the room as a copy on the
	// server's upload service.
	sheet := []byte("name,qty\nbolts,12\nnuts,30\n")
	fake.Post(bob.ID, general.ID, "the list", discordfake.WithAttachment("parts.csv", "text/csv", sheet))
	s, err = c.Expect(ctx, roomMessage(bobOcc, func(m *xmpp.Message) bool { return strings.HasPrefix(m.Body, "the list\n") }))
	if err != nil {
		t.Fatal(err)
	}
	link := strings.TrimPrefix(s.(*xmpp.Message).Body, "the list\n")
	var got []byte
	if !strings.HasPrefix(link, "http://"+p.HTTPAddr()+"/") || status(t, link, &got) != 200 || !bytes.Equal(got, sheet) {
		t.Fatalf("file in the room: %s (%d bytes served)", s.Element(), len(got))
	}
}

// discoItems asks a JID's disco#items (of a node, if not "").
func discoItems(t *testing.T, ctx context.Context, c *prosodytest.Client, to jid.JID, node string) []disco.Item {
	t.Helper()
	q := xmpp.NewElement(disco.NSItems, "query")
	if node != "" {
		q = xmpp.NewElement(disco.NSItems, "query", "node", node)
	}
	res, err := c.Request(ctx, &xmpp.IQ{Header: xmpp.Header{To: to, Type: xmpp.IQGet}, Payload: q})
	if err != nil || res.Type != xmpp.IQResult {
		t.Fatalf("disco#items of %s node %q: %v %v", to, node, res, err)
	}
	items, err := disco.ParseItems(res.Payload)
	if err != nil {
		t.Fatal(err)
	}
	return items.Items
}

// personalRooms starts Prosody and the gateway on a fake for personal
// accounts, and returns alice's client, registered with token and
// connected.
func personalRooms(t *testing.T, fake *discordfake.Server, token string) (*prosodytest.Client, context.Context, *prosodytest.Server) {
	t.Helper()
	p := prosodytest.Start(t, prosodytest.Options{
		Components: []prosodytest.Component{{Domain: gwDomain, Secret: "s3cret"}},
		Users:      map[string]string{"alice": "pw"},
		Upload:     "upload.localhost",
	})
	key, err := store.ParseKey([]byte(strings.Repeat("5a", 32)))
	if err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(filepath.Join(t.TempDir(), "xgate.db"), store.Options{Key: key})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := db.Verify(); err != nil {
			t.Errorf("store invariants: %v", err)
		}
		db.Close()
	})
	gateway(t, p, db, discord.Config{APIURL: fake.APIURL(), CDNURL: fake.URL() + "/", PersonalAccounts: true})

	ctx := bounded(t)
	c := prosodytest.Dial(ctx, t, p.C2SAddr(), "alice", "localhost", "pw")
	gw := jid.MustParse(gwDomain)
	c.Send(&xmpp.Presence{})
	sub := &form.Form{Type: form.TypeSubmit}
	sub.Set("FORM_TYPE", bridge.NSRegister)
	sub.Set("token", token)
	if res, err := c.Request(ctx, &xmpp.IQ{Header: xmpp.Header{To: gw, Type: xmpp.IQSet}, Payload: xmpp.NewElement(bridge.NSRegister, "query").Append(sub.Element())}); err != nil || res.Type != xmpp.IQResult {
		t.Fatalf("register: %v %v", res, err)
	}
	if _, err := c.Expect(ctx, prosodytest.PresenceFrom(gw, xmpp.PresenceSubscribe)); err != nil {
		t.Fatal(err)
	}
	c.Approve(gw)
	c.Subscribe(gw)
	if _, err := c.Expect(ctx, presenceFrom(gw, func(p *xmpp.Presence) bool { return strings.Contains(p.Status, "connected") })); err != nil {
		t.Fatal(err)
	}

	return c, ctx, p
}

// TestRoomThreadsArchiveAndGroupDMsThroughProsody: through a real Prosody
// and discordfake, for a personal account: a thread is listed next to its
// channel and joined as a room, which makes alice a member of the thread
// on Discord (she was not), with messages both ways; a XEP-0313 query on
// a channel's room is answered from Discord's history; a group DM is a
// room at the top of disco#items, with messages both ways.
func TestRoomThreadsArchiveAndGroupDMsThroughProsody(t *testing.T) {
	fake := discordfake.New()
	t.Cleanup(fake.Close)
	alice := fake.CreateUser(discordfake.UserSpec{Username: "alice", GlobalName: "Alice"})
	bob := fake.CreateUser(discordfake.UserSpec{Username: "bob", GlobalName: "Bob"})
	carol := fake.CreateUser(discordfake.UserSpec{Username: "carol", GlobalName: "Carol"})
	g := fake.CreateGuild(alice.ID, "Hub")
	fake.AddMember(g.ID, bob.ID, "")
	fake.AddMember(g.ID, carol.ID, "Caz")
	general := fake.CreateChannel(g.ID, "general")
	history := []string{
		fake.Post(bob.ID, general.ID, "one"),
		fake.Post(carol.ID, general.ID, "two"),
		fake.Post(alice.ID, general.ID, "three"),
	}
	root := fake.Post(bob.ID, general.ID, "who plans the party?")
	thread := fake.StartThread(bob.ID, general.ID, root, "party")
	fake.Post(carol.ID, thread.ID, "cake?")
	gdm := fake.CreateGroupDM(bob.ID, "", alice.ID, carol.ID)
	fake.Post(carol.ID, gdm.ID, "hi you two")
	c, ctx, _ := personalRooms(t, fake, fake.IssueUserToken(alice.ID))
	gw := jid.MustParse(gwDomain)

	// The group DM is a room at the top, the guild a node; the thread is
	// listed in the guild's node next to its channel.
	var gdmRoom, guildNode jid.JID
	node := ""
	for _, it := range discoItems(t, ctx, c, gw, "") {
		switch {
		case it.Node == "parent/"+g.ID:
			guildNode, node = it.JID, it.Node
		case it.Node == "" && it.Name == "Bob, Carol":
			gdmRoom = it.JID
		}
	}
	if guildNode.IsZero() || gdmRoom.IsZero() {
		t.Fatalf("disco#items of the gateway: want the node of %s and the group DM \"Bob, Carol\"", g.ID)
	}
	var generalRoom, threadRoom jid.JID
	for _, it := range discoItems(t, ctx, c, gw, node) {
		switch it.Name {
		case "Hub #general":
			generalRoom = it.JID
		case "Hub #general › party":
			threadRoom = it.JID
		}
	}
	if generalRoom.IsZero() || threadRoom.IsZero() {
		t.Fatalf("disco#items of %s: want Hub #general and its thread", node)
	}

	// XEP-0313 on the channel's room, before joining it: the page before
	// the thread's first message is the history, oldest first, with
	// Discord's message IDs.
	ids, bodies := roomArchive(t, ctx, c, generalRoom, "q1", 3, root)
	if !slices.Equal(ids, history) || !slices.Equal(bodies, []string{"one", "two", "three"}) {
		t.Errorf("archive page %v %v: want %v one two three", ids, bodies, history)
	}

	// Joining the thread's room makes alice a member of the thread on
	// Discord; its history, then messages both ways.
	if ch, _ := fake.Channel(thread.ID); slices.Contains(ch.Members, alice.ID) {
		t.Fatalf("alice is a member of the thread before joining it: %v", ch.Members)
	}
	joinDiscordRoom(t, ctx, c, threadRoom, "alice", `<history xmlns='http://jabber.org/protocol/muc' maxstanzas='1'/>`)
	if ch, _ := fake.Channel(thread.ID); !slices.Contains(ch.Members, alice.ID) {
		t.Errorf("joining the thread's room did not join the thread on Discord: members %v", ch.Members)
	}
	cazInThread, _ := threadRoom.WithResource("Caz")
	if _, err := c.Expect(ctx, roomMessage(cazInThread, func(m *xmpp.Message) bool { return m.Body == "cake?" && m.Delay != nil })); err != nil {
		t.Fatal(err)
	}
	fake.Post(bob.ID, thread.ID, "cake it is")
	bobInThread, _ := threadRoom.WithResource("Bob")
	if _, err := c.Expect(ctx, roomMessage(bobInThread, func(m *xmpp.Message) bool { return m.Body == "cake it is" })); err != nil {
		t.Fatal(err)
	}
	c.Send(&xmpp.Message{Header: xmpp.Header{To: threadRoom, Type: xmpp.MessageGroupchat, ID: "t1"}, Body: "I bring it"})
	if sent, err := fake.WaitMessage(ctx, thread.ID, func(m discordfake.Message) bool { return m.Content == "I bring it" }); err != nil || sent.AuthorID != alice.ID {
		t.Fatalf("message in the thread on Discord %+v %v", sent, err)
	}

	// The group DM's room: its people as occupants, messages both ways.
	pres := joinDiscordRoom(t, ctx, c, gdmRoom, "alice", `<history xmlns='http://jabber.org/protocol/muc' maxstanzas='1'/>`)
	var nicks []string
	for _, p := range pres {
		nicks = append(nicks, p.From.Resource())
	}
	if !slices.Equal(nicks, []string{"Bob", "Carol", "alice"}) {
		t.Errorf("group DM occupants %v: want Bob, Carol, then alice", nicks)
	}
	carolInDM, _ := gdmRoom.WithResource("Carol")
	if _, err := c.Expect(ctx, roomMessage(carolInDM, func(m *xmpp.Message) bool { return m.Body == "hi you two" && m.Delay != nil })); err != nil {
		t.Fatal(err)
	}
	fake.Post(bob.ID, gdm.ID, "lunch?")
	bobInDM, _ := gdmRoom.WithResource("Bob")
	if _, err := c.Expect(ctx, roomMessage(bobInDM, func(m *xmpp.Message) bool { return m.Body == "lunch?" })); err != nil {
		t.Fatal(err)
	}
	c.Send(&xmpp.Message{Header: xmpp.Header{To: gdmRoom, Type: xmpp.MessageGroupchat, ID: "d1"}, Body: "yes please"})
	selfInDM, _ := gdmRoom.WithResource("alice")
	if _, err := c.Expect(ctx, roomMessage(selfInDM, func(m *xmpp.Message) bool { return m.Body == "yes please" && m.ID == "d1" })); err != nil {
		t.Fatal(err)
	}
	if sent, err := fake.WaitMessage(ctx, gdm.ID, func(m discordfake.Message) bool { return m.Content == "yes please" }); err != nil || sent.AuthorID != alice.ID {
		t.Fatalf("message in the group DM on Discord %+v %v", sent, err)
	}
}

// roomArchive asks a room's archive (XEP-0313) for the page of at most
// max messages before a message, and returns their IDs and bodies.
func roomArchive(t *testing.T, ctx context.Context, c *prosodytest.Client, room jid.JID, queryID string, max int, before string) (ids, bodies []string) {
	t.Helper()
	q := xmpp.NewElement(bridge.NSMAM, "query", "queryid", queryID).Append(
		xmpp.NewElement(bridge.NSRSM, "set").Append(xmpp.TextElement(bridge.NSRSM, "max", strconv.Itoa(max)), xmpp.TextElement(bridge.NSRSM, "before", before)))
	res, err := c.Request(ctx, &xmpp.IQ{Header: xmpp.Header{To: room, Type: xmpp.IQSet}, Payload: q})
	if err != nil || res.Type != xmpp.IQResult {
		t.Fatalf("archive query: %v %v", res, err)
	}
	// The results came before the iq's answer.
	for range max {
		s, err := c.Expect(ctx, func(s xmpp.Stanza) bool {
			m, ok := s.(*xmpp.Message)
			return ok && len(m.Extra) == 1 && m.Extra[0].Name.Space == bridge.NSMAM && m.Extra[0].AttrValue("queryid") == queryID
		})
		if err != nil {
			t.Fatal(err)
		}
		r := s.(*xmpp.Message).Extra[0]
		ids = append(ids, r.AttrValue("id"))
		bodies = append(bodies, r.Child(bridge.NSForward, "forwarded").Child(xmpp.NSClient, "message").ChildText(xmpp.NSClient, "body"))
	}
	return ids, bodies
}
