package discordfake_test

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/bwmarrin/discordgo"

	"github.com/xgate-im/xgate/transports/discord/discordfake"
)

// TestChannelsThroughREST: topics through PATCH /channels/{id} (with
// CHANNEL_UPDATE, and Discord's refusals), the reactors of an emoji, the
// member who leaves (GUILD_MEMBER_REMOVE), group DMs, and uploads over the
// limit (413, 40005), through discordgo's own calls.
func TestChannelsThroughREST(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := testCtx(t)
	bot, botEv := f.open(t, "Bot "+f.botToken, botIntents)
	next(ctx, t, botEv, "READY")
	alice, _ := f.client(t, f.userToken, discordgo.IntentsNone)

	topic := "the plan"
	ch, err := bot.ChannelEditComplex(f.general.ID, &discordgo.ChannelEdit{Topic: topic})
	if err != nil || ch.Topic != topic {
		t.Fatalf("edit topic: %+v, %v", ch, err)
	}
	if u := next(ctx, t, botEv, "CHANNEL_UPDATE").Struct.(*discordgo.ChannelUpdate); u.Topic != topic || u.ID != f.general.ID {
		t.Fatalf("CHANNEL_UPDATE %+v", u.Channel)
	}
	if c, _ := f.fake.Channel(f.general.ID); c.Topic != topic {
		t.Fatalf("stored topic %q", c.Topic)
	}
	for _, tc := range []struct {
		name    string
		channel string
		edit    *discordgo.ChannelEdit
		code    int
	}{
		{"a DM", f.dm.ID, &discordgo.ChannelEdit{Topic: "x"}, 50024},
		{"a topic too long", f.general.ID, &discordgo.ChannelEdit{Topic: strings.Repeat("x", 1025)}, 50035},
	} {
		if _, err := alice.ChannelEditComplex(tc.channel, tc.edit); restCode(err) != tc.code {
			t.Errorf("%s: %v, want code %d", tc.name, err, tc.code)
		}
	}
	f.fake.SetTopic(f.bob.ID, f.general.ID, "bob's")
	if u := next(ctx, t, botEv, "CHANNEL_UPDATE").Struct.(*discordgo.ChannelUpdate); u.Topic != "bob's" {
		t.Fatalf("CHANNEL_UPDATE after SetTopic %+v", u.Channel)
	}

	m := f.fake.Post(f.bob.ID, f.general.ID, "react to me")
	f.fake.React(f.bob.ID, f.general.ID, m, "👍")
	f.fake.React(f.alice.ID, f.general.ID, m, "👍")
	us, err := bot.MessageReactions(f.general.ID, m, "👍", 100, "", "")
	if err != nil || len(us) != 2 {
		t.Fatalf("reactors %+v, %v", us, err)
	}
	if ids := []string{us[0].ID, us[1].ID}; !(ids[0] == f.alice.ID && ids[1] == f.bob.ID || ids[0] == f.bob.ID && ids[1] == f.alice.ID) {
		t.Errorf("reactors %v", ids)
	}

	carol := f.fake.CreateUser(discordfake.UserSpec{Username: "carol"})
	f.fake.AddMember(f.guild.ID, carol.ID, "")
	next(ctx, t, botEv, "GUILD_MEMBER_ADD")
	f.fake.RemoveMember(f.guild.ID, carol.ID)
	if r := next(ctx, t, botEv, "GUILD_MEMBER_REMOVE").Struct.(*discordgo.GuildMemberRemove); r.User.ID != carol.ID || r.GuildID != f.guild.ID {
		t.Fatalf("GUILD_MEMBER_REMOVE %+v", r.Member)
	}

	g := f.fake.CreateGroupDM(f.alice.ID, "Trio", f.bob.ID, carol.ID)
	got, err := alice.Channel(g.ID)
	if err != nil || got.Type != discordgo.ChannelTypeGroupDM || got.Name != "Trio" || got.OwnerID != f.alice.ID || len(got.Recipients) != 2 {
		t.Fatalf("group DM %+v, %v", got, err)
	}

	big := &discordgo.File{Name: "big.bin", Reader: bytes.NewReader(make([]byte, discordfake.MaxUpload+1))}
	if _, err := bot.ChannelMessageSendComplex(f.general.ID, &discordgo.MessageSend{Files: []*discordgo.File{big}}); restCode(err) != 40005 {
		t.Errorf("an upload over the limit: %v, want code 40005", err)
	}
}

// TestRecipientsAreTheOthers: a private channel lists its recipients other
// than the user asking, as Discord does, in every place a channel object
// appears for that user: GET /users/@me/channels, GET /channels/{id}, POST
// /users/@me/channels, READY's private_channels and CHANNEL_CREATE.
func TestRecipientsAreTheOthers(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := testCtx(t)
	dm := f.fake.OpenDM(f.alice.ID, f.bob.ID)
	carol := f.fake.CreateUser(discordfake.UserSpec{Username: "carol"})
	group := f.fake.CreateGroupDM(f.alice.ID, "Trio", f.bob.ID, carol.ID)
	alice, aliceEv := f.open(t, f.userToken, discordgo.IntentsNone)
	ready := next(ctx, t, aliceEv, "READY").Struct.(*discordgo.Ready)
	bob, _ := f.client(t, f.fake.IssueUserToken(f.bob.ID), discordgo.IntentsNone)
	bot, _ := f.client(t, "Bot "+f.botToken, botIntents)

	ids := func(us []*discordgo.User) []string {
		var out []string
		for _, u := range us {
			out = append(out, u.ID)
		}
		slices.Sort(out)
		return out
	}
	sorted := func(v ...string) []string { slices.Sort(v); return v }
	byID := func(chs []*discordgo.Channel, id string) *discordgo.Channel {
		for _, c := range chs {
			if c.ID == id {
				return c
			}
		}
		return nil
	}
	list := func(s *discordgo.Session) []*discordgo.Channel {
		body, err := s.RequestWithBucketID("GET", discordgo.EndpointUserChannels("@me"), nil, discordgo.EndpointUserChannels(""))
		if err != nil {
			t.Fatalf("GET /users/@me/channels: %v", err)
		}
		var chs []*discordgo.Channel
		if err := json.Unmarshal(body, &chs); err != nil {
			t.Fatal(err)
		}
		return chs
	}
	aliceList, bobList := list(alice), list(bob)
	get := func(s *discordgo.Session, id string) *discordgo.Channel {
		c, err := s.Channel(id)
		if err != nil {
			t.Fatalf("GET /channels/%s: %v", id, err)
		}
		return c
	}
	created, err := bot.UserChannelCreate(f.bob.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		ch   *discordgo.Channel
		want []string
	}{
		{"alice lists her DM with bob", byID(aliceList, dm.ID), []string{f.bob.ID}},
		{"alice lists her DM with the bot", byID(aliceList, f.dm.ID), []string{f.bot.ID}},
		{"alice lists the group", byID(aliceList, group.ID), sorted(f.bob.ID, carol.ID)},
		{"bob lists his DM with alice", byID(bobList, dm.ID), []string{f.alice.ID}},
		{"bob lists the group", byID(bobList, group.ID), sorted(f.alice.ID, carol.ID)},
		{"alice gets the DM", get(alice, dm.ID), []string{f.bob.ID}},
		{"bob gets the DM", get(bob, dm.ID), []string{f.alice.ID}},
		{"the bot opens a DM with bob", created, []string{f.bob.ID}},
		{"alice's READY", byID(ready.PrivateChannels, dm.ID), []string{f.bob.ID}},
	} {
		if tc.ch == nil {
			t.Errorf("%s: channel missing", tc.name)
			continue
		}
		if got := ids(tc.ch.Recipients); !slices.Equal(got, tc.want) {
			t.Errorf("%s: recipients %v, want %v", tc.name, got, tc.want)
		}
	}
	dave := f.fake.CreateUser(discordfake.UserSpec{Username: "dave"})
	f.fake.OpenDM(f.alice.ID, dave.ID)
	if c := next(ctx, t, aliceEv, "CHANNEL_CREATE").Struct.(*discordgo.ChannelCreate); !slices.Equal(ids(c.Recipients), []string{dave.ID}) {
		t.Errorf("CHANNEL_CREATE recipients %v, want [%s]", ids(c.Recipients), dave.ID)
	}
}
