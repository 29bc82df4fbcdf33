package discordfake_test

import (
	"encoding/json"
	"image/png"
	"slices"
	"testing"

	"github.com/bwmarrin/discordgo"
)

func TestProfileChangesAndAvatars(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := testCtx(t)
	bot, events := f.open(t, "Bot "+f.botToken, botIntents)
	next(ctx, t, events, "READY")

	f.fake.UpdateProfile(f.bob.ID, "Robert", "f00d")
	up := next(ctx, t, events, "GUILD_MEMBER_UPDATE").Struct.(*discordgo.GuildMemberUpdate)
	if up.User.ID != f.bob.ID || up.User.GlobalName != "Robert" || up.User.Avatar != "f00d" || up.GuildID != f.guild.ID || up.Nick != "Bobby" {
		t.Fatalf("GUILD_MEMBER_UPDATE = %+v", up.Member)
	}
	// The avatar is served at the CDN path discordgo computes.
	u, err := bot.User(f.bob.ID)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := f.fake.HTTPClient().Get(u.AvatarURL("128"))
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(resp.Body)
	resp.Body.Close()
	if err != nil || img.Bounds().Dx() != 128 {
		t.Fatalf("avatar: %v, %v", img, err)
	}
	resp, err = f.fake.HTTPClient().Get(discordgo.EndpointUserAvatar(f.bob.ID, "oldhash"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 404 {
		t.Fatalf("stale avatar: %d", resp.StatusCode)
	}
}

func TestReadState(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := testCtx(t)
	alice, events := f.open(t, f.userToken, discordgo.IntentsNone)
	next(ctx, t, events, "READY")
	first := f.fake.Post(f.bot.ID, f.dm.ID, "one")
	second := f.fake.Post(f.bot.ID, f.dm.ID, "two")

	// Read in the official app: the user's sessions are told.
	f.fake.MarkRead(f.alice.ID, f.dm.ID, first)
	ack := next(ctx, t, events, "MESSAGE_ACK")
	var d struct {
		ChannelID string `json:"channel_id"`
		MessageID string `json:"message_id"`
	}
	if err := json.Unmarshal(ack.RawData, &d); err != nil || d.ChannelID != f.dm.ID || d.MessageID != first {
		t.Fatalf("MESSAGE_ACK = %s", ack.RawData)
	}
	// Read through the API (what a bridge does for a personal account).
	if _, err := alice.Request("POST", discordgo.EndpointChannelMessage(f.dm.ID, second)+"/ack", map[string]any{"token": nil}); err != nil {
		t.Fatal(err)
	}
	if got := f.fake.ReadState(f.alice.ID, f.dm.ID); got != second {
		t.Fatalf("read state %q, want %q", got, second)
	}
	bot, _ := f.client(t, "Bot "+f.botToken, botIntents)
	if _, err := bot.Request("POST", discordgo.EndpointChannelMessage(f.dm.ID, second)+"/ack", map[string]any{"token": nil}); restCode(err) != 20001 {
		t.Fatalf("bot ack: %v", err)
	}
}

func TestRequestGuildMembers(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := testCtx(t)
	bot, events := f.open(t, "Bot "+f.botToken, botIntents)
	next(ctx, t, events, "READY")
	for _, tc := range []struct {
		query string
		ids   []string
		want  []string
	}{
		{"", nil, []string{f.alice.ID, f.bot.ID, f.bob.ID}},
		{"BO", nil, []string{f.bob.ID}},
		{"", []string{f.alice.ID}, []string{f.alice.ID}},
	} {
		var err error
		if tc.ids != nil {
			err = bot.RequestGuildMembersList(f.guild.ID, tc.ids, 0, "n1", false)
		} else {
			err = bot.RequestGuildMembers(f.guild.ID, tc.query, 0, "n1", true)
		}
		if err != nil {
			t.Fatal(err)
		}
		chunk := next(ctx, t, events, "GUILD_MEMBERS_CHUNK").Struct.(*discordgo.GuildMembersChunk)
		var got []string
		for _, m := range chunk.Members {
			got = append(got, m.User.ID)
		}
		if !slices.Equal(got, tc.want) || chunk.GuildID != f.guild.ID || chunk.Nonce != "n1" {
			t.Errorf("query %q ids %v: members %v, want %v", tc.query, tc.ids, got, tc.want)
		}
	}
}
