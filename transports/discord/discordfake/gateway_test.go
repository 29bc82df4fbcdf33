package discordfake_test

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/bwmarrin/discordgo"
	"github.com/gorilla/websocket"

	"github.com/xgate-im/xgate/transports/discord/discordfake"
)

func TestReadyAndGuildCreate(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := testCtx(t)
	s, events := f.open(t, "Bot "+f.botToken, botIntents)
	ready := next(ctx, t, events, "READY").Struct.(*discordgo.Ready)
	if ready.User.ID != f.bot.ID || !ready.User.Bot || ready.SessionID == "" || len(ready.Guilds) != 1 {
		t.Fatalf("READY = %+v", ready)
	}
	gc := next(ctx, t, events, "GUILD_CREATE").Struct.(*discordgo.GuildCreate)
	if gc.ID != f.guild.ID || gc.Name != "Wonderland" || len(gc.Channels) != 1 || len(gc.Members) != 3 {
		t.Fatalf("GUILD_CREATE = %+v", gc.Guild)
	}
	if g, err := s.State.Guild(f.guild.ID); err != nil || g.Name != "Wonderland" {
		t.Fatalf("state guild = %v, %v", g, err)
	}
	id, ok := f.fake.LastIdentify()
	if !ok || id.UserID != f.bot.ID || id.Intents != discordfake.Intent(botIntents) || !id.Compress {
		t.Fatalf("identify = %+v", id)
	}
	ss := f.fake.Sessions()
	if len(ss) != 1 || !ss[0].Connected || ss[0].ID != ready.SessionID || f.fake.Connections() != 1 {
		t.Fatalf("sessions = %+v", ss)
	}
}

func TestIdentifyRefused(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	noContent := f.fake.IssueBotToken(f.bot.ID, 0)
	revoked := f.fake.IssueBotToken(f.bot.ID, 0)
	f.fake.RevokeToken(revoked)
	for _, tc := range []struct {
		name    string
		auth    string
		intents discordgo.Intent
		code    int
	}{
		{"unknown token", "Bot nope", discordgo.IntentsGuilds, 4004},
		{"revoked token", "Bot " + revoked, discordgo.IntentsGuilds, 4004},
		{"message content not granted", "Bot " + noContent, discordgo.IntentMessageContent, 4014},
		{"members not granted", "Bot " + noContent, discordgo.IntentsGuildMembers, 4014},
		{"undefined intent bit", "Bot " + f.botToken, 1 << 40, 4013},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := f.client(t, tc.auth, tc.intents)
			err := s.Open()
			var ce *websocket.CloseError
			if !errors.As(err, &ce) || ce.Code != tc.code {
				t.Fatalf("Open = %v, want close code %d", err, tc.code)
			}
		})
	}
}

func TestMessageContentIntent(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := testCtx(t)
	plain := f.fake.IssueBotToken(f.bot.ID, 0)
	_, events := f.open(t, "Bot "+plain, discordgo.IntentsGuildMessages|discordgo.IntentsDirectMessages)
	for _, tc := range []struct {
		name, channel, content string
		visible                bool
	}{
		{"guild message", f.general.ID, "secret plans", false},
		{"mention of the bot", f.general.ID, "hey <@" + f.bot.ID + "> look", true},
		{"direct message", f.dm.ID, "just for you", true},
	} {
		f.fake.Post(f.alice.ID, tc.channel, tc.content)
		m := next(ctx, t, events, "MESSAGE_CREATE").Struct.(*discordgo.MessageCreate)
		want := ""
		if tc.visible {
			want = tc.content
		}
		if m.Content != want || m.Author.ID != f.alice.ID {
			t.Errorf("%s: content %q by %s, want %q", tc.name, m.Content, m.Author.ID, want)
		}
	}
}

func TestDispatchesFollowIntents(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := testCtx(t)
	all, allEv := f.open(t, "Bot "+f.botToken, botIntents)
	_, dmEv := f.open(t, "Bot "+f.botToken, discordgo.IntentsDirectMessages)
	next(ctx, t, allEv, "READY")
	next(ctx, t, dmEv, "READY")

	f.fake.Typing(f.alice.ID, f.general.ID)
	f.fake.SetPresence(f.bob.ID, "idle", discordfake.Activity{Name: "Custom Status", Type: 4, State: "brb"})
	guildMsg := f.fake.Post(f.alice.ID, f.general.ID, "in the guild")
	f.fake.React(f.bob.ID, f.general.ID, guildMsg, "👍")
	f.fake.Post(f.alice.ID, f.dm.ID, "in private")

	typing := next(ctx, t, allEv, "TYPING_START").Struct.(*discordgo.TypingStart)
	if typing.UserID != f.alice.ID || typing.ChannelID != f.general.ID || typing.GuildID != f.guild.ID {
		t.Errorf("TYPING_START = %+v", typing)
	}
	pres := next(ctx, t, allEv, "PRESENCE_UPDATE").Struct.(*discordgo.PresenceUpdate)
	if pres.User.ID != f.bob.ID || pres.Status != discordgo.StatusIdle || len(pres.Activities) != 1 || pres.Activities[0].State != "brb" {
		t.Errorf("PRESENCE_UPDATE = %+v", pres)
	}
	if m := next(ctx, t, allEv, "MESSAGE_CREATE").Struct.(*discordgo.MessageCreate); m.ID != guildMsg || m.GuildID != f.guild.ID {
		t.Errorf("MESSAGE_CREATE = %+v", m.Message)
	}
	r := next(ctx, t, allEv, "MESSAGE_REACTION_ADD").Struct.(*discordgo.MessageReactionAdd)
	if r.UserID != f.bob.ID || r.Emoji.Name != "👍" || r.MessageID != guildMsg {
		t.Errorf("MESSAGE_REACTION_ADD = %+v", r.MessageReaction)
	}
	next(ctx, t, allEv, "MESSAGE_CREATE")
	// The DM-only session got the DM and nothing of the guild.
	if m := next(ctx, t, dmEv, "MESSAGE_CREATE").Struct.(*discordgo.MessageCreate); m.ChannelID != f.dm.ID || m.Content != "in private" {
		t.Errorf("DM session got %+v", m.Message)
	}
	ss := f.fake.Sessions()
	var types []string
	for _, d := range f.fake.Dispatches(ss[1].ID) {
		types = append(types, d.Type)
	}
	if want := []string{"READY", "MESSAGE_CREATE"}; !slices.Equal(types, want) {
		t.Errorf("DM-only session dispatches = %v, want %v", types, want)
	}
	_ = all
}

func TestUserAccountSession(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := testCtx(t)
	carol := f.fake.CreateUser(discordfake.UserSpec{Username: "carol", GlobalName: "Carol"})
	f.fake.AddFriend(f.alice.ID, f.bob.ID)
	s, events := f.open(t, f.userToken, discordgo.IntentsNone)
	ready := next(ctx, t, events, "READY")
	var raw struct {
		Relationships []struct {
			ID   string `json:"id"`
			Type int    `json:"type"`
		} `json:"relationships"`
		PrivateChannels []struct {
			ID string `json:"id"`
		} `json:"private_channels"`
	}
	if err := json.Unmarshal(ready.RawData, &raw); err != nil {
		t.Fatal(err)
	}
	if len(raw.Relationships) != 1 || raw.Relationships[0].ID != f.bob.ID || raw.Relationships[0].Type != 1 ||
		len(raw.PrivateChannels) != 1 || raw.PrivateChannels[0].ID != f.dm.ID {
		t.Fatalf("READY relationships/private_channels = %s", ready.RawData)
	}
	f.fake.AddFriend(f.alice.ID, carol.ID)
	rel := next(ctx, t, events, "RELATIONSHIP_ADD")
	if !json.Valid(rel.RawData) || !containsID(rel.RawData, carol.ID) {
		t.Fatalf("RELATIONSHIP_ADD = %s", rel.RawData)
	}
	// A friend's presence reaches the user without guild or intents.
	f.fake.SetPresence(carol.ID, "dnd")
	if p := next(ctx, t, events, "PRESENCE_UPDATE").Struct.(*discordgo.PresenceUpdate); p.User.ID != carol.ID || p.Status != discordgo.StatusDoNotDisturb {
		t.Fatalf("PRESENCE_UPDATE = %+v", p)
	}
	// And REST: relationships are for user accounts.
	body, err := s.Request("GET", discordgo.EndpointUsers+"@me/relationships", nil)
	if err != nil || !containsID(body, carol.ID) || !containsID(body, f.bob.ID) {
		t.Fatalf("relationships = %s, %v", body, err)
	}
}

func containsID(raw []byte, id string) bool {
	return json.Valid(raw) && len(id) > 0 && strings.Contains(string(raw), `"id":"`+id+`"`)
}
