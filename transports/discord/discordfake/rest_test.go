package discordfake_test

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/xgate-im/xgate/transports/discord/discordfake"
)

// TestMessagesThroughREST sends, replies, edits, reacts, types and deletes
// through discordgo's REST calls as the bot, and checks both the fake's
// state and what alice's own client receives on the Gateway.
func TestMessagesThroughREST(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := testCtx(t)
	bot, _ := f.client(t, "Bot "+f.botToken, botIntents)
	_, aliceEv := f.open(t, f.userToken, discordgo.IntentsNone)
	next(ctx, t, aliceEv, "READY")

	// Send with explicit allowed mentions: nobody is pinged.
	sent, err := bot.ChannelMessageSendComplex(f.general.ID, &discordgo.MessageSend{
		Content:         "hello <@" + f.alice.ID + ">",
		AllowedMentions: &discordgo.MessageAllowedMentions{Parse: []discordgo.AllowedMentionType{}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if sent.Author.ID != f.bot.ID || !sent.Author.Bot || sent.ChannelID != f.general.ID || sent.Timestamp.IsZero() {
		t.Fatalf("sent = %+v", sent)
	}
	got := next(ctx, t, aliceEv, "MESSAGE_CREATE").Struct.(*discordgo.MessageCreate)
	if got.ID != sent.ID || got.Content != "hello <@"+f.alice.ID+">" || len(got.Mentions) != 0 || got.GuildID != f.guild.ID {
		t.Fatalf("alice got %+v", got.Message)
	}
	if m, _ := f.fake.Message(f.general.ID, sent.ID); string(m.AllowedMentions) != `{"parse":[],"replied_user":false}` || len(m.Mentions) != 0 {
		t.Fatalf("stored allowed_mentions %s, mentions %v", m.AllowedMentions, m.Mentions)
	}

	// A reply to alice pings her unless allowed mentions say otherwise.
	q := f.fake.Post(f.alice.ID, f.general.ID, "question?")
	next(ctx, t, aliceEv, "MESSAGE_CREATE")
	reply, err := bot.ChannelMessageSendReply(f.general.ID, "answer", &discordgo.MessageReference{MessageID: q})
	if err != nil {
		t.Fatal(err)
	}
	if reply.Type != discordgo.MessageTypeReply || reply.MessageReference.MessageID != q ||
		reply.ReferencedMessage == nil || reply.ReferencedMessage.Content != "question?" ||
		len(reply.Mentions) != 1 || reply.Mentions[0].ID != f.alice.ID {
		t.Fatalf("reply = %+v", reply)
	}
	next(ctx, t, aliceEv, "MESSAGE_CREATE")

	// Edit: discordgo's body carries "ID" and "Channel", which Discord ignores.
	edited, err := bot.ChannelMessageEdit(f.general.ID, sent.ID, "hello again")
	if err != nil {
		t.Fatal(err)
	}
	if edited.Content != "hello again" || edited.EditedTimestamp == nil {
		t.Fatalf("edited = %+v", edited)
	}
	if u := next(ctx, t, aliceEv, "MESSAGE_UPDATE").Struct.(*discordgo.MessageUpdate); u.Content != "hello again" {
		t.Fatalf("MESSAGE_UPDATE = %+v", u.Message)
	}
	if uf := f.fake.UnknownFields("PATCH /channels/{channel.id}/messages/{message.id}"); !slices.Equal(uf, []string{"Channel", "ID"}) {
		t.Fatalf("unknown edit fields = %v", uf)
	}
	if _, err := bot.ChannelMessageEditComplex(&discordgo.MessageEdit{ID: sent.ID, Channel: f.general.ID, Content: ptr("")}); restCode(err) != 50006 {
		t.Fatalf("editing to nothing: %v", err)
	}
	if _, err := bot.ChannelMessageEdit(f.general.ID, q, "not mine"); restCode(err) != 50005 {
		t.Fatalf("editing alice's message: %v", err)
	}

	// Reactions, Unicode and custom.
	for _, e := range []string{"👍", "blobwave:112233445566778899"} {
		if err := bot.MessageReactionAdd(f.general.ID, q, e); err != nil {
			t.Fatal(err)
		}
		r := next(ctx, t, aliceEv, "MESSAGE_REACTION_ADD").Struct.(*discordgo.MessageReactionAdd)
		if r.UserID != f.bot.ID || r.Emoji.APIName() != e {
			t.Fatalf("reaction %q: %+v", e, r.MessageReaction)
		}
	}
	if err := bot.MessageReactionRemove(f.general.ID, q, "👍", "@me"); err != nil {
		t.Fatal(err)
	}
	next(ctx, t, aliceEv, "MESSAGE_REACTION_REMOVE")
	if m, _ := f.fake.Message(f.general.ID, q); len(m.Reactions) != 1 || m.Reactions[0].Emoji != "blobwave:112233445566778899" {
		t.Fatalf("reactions = %+v", m.Reactions)
	}
	if err := bot.MessageReactionAdd(f.general.ID, q, "thumbsup"); restCode(err) != 10014 {
		t.Fatalf("a name instead of an emoji: %v", err)
	}

	// Typing and deletion.
	if err := bot.ChannelTyping(f.general.ID); err != nil {
		t.Fatal(err)
	}
	if ts := next(ctx, t, aliceEv, "TYPING_START").Struct.(*discordgo.TypingStart); ts.UserID != f.bot.ID {
		t.Fatalf("TYPING_START = %+v", ts)
	}
	if err := bot.ChannelMessageDelete(f.general.ID, sent.ID); err != nil {
		t.Fatal(err)
	}
	if d := next(ctx, t, aliceEv, "MESSAGE_DELETE").Struct.(*discordgo.MessageDelete); d.ID != sent.ID || d.ChannelID != f.general.ID {
		t.Fatalf("MESSAGE_DELETE = %+v", d.Message)
	}
	if _, err := bot.ChannelMessage(f.general.ID, sent.ID); restCode(err) != 10008 {
		t.Fatalf("deleted message: %v", err)
	}
	if uf := f.fake.UnknownFields(sendRoute); len(uf) != 0 {
		t.Errorf("send and reply bodies: unknown fields %v", uf)
	}
}

// restCode returns the JSON error code of a discordgo REST error, or -1.
func restCode(err error) int {
	var re *discordgo.RESTError
	if errors.As(err, &re) && re.Message != nil {
		return re.Message.Code
	}
	return -1
}

func TestHistoryPagination(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	bot, _ := f.client(t, "Bot "+f.botToken, botIntents)
	var ids []string
	for _, text := range []string{"m0", "m1", "m2", "m3", "m4"} {
		ids = append(ids, f.fake.Post(f.alice.ID, f.general.ID, text))
	}
	for _, tc := range []struct {
		name          string
		limit         int
		before, after string
		want          []string // newest first, as Discord
	}{
		{"latest", 2, "", "", []string{"m4", "m3"}},
		{"default limit", 0, "", "", []string{"m4", "m3", "m2", "m1", "m0"}},
		{"before", 2, ids[3], "", []string{"m2", "m1"}},
		{"after takes the oldest following", 2, "", ids[0], []string{"m2", "m1"}},
		{"between", 10, ids[4], ids[1], []string{"m3", "m2"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			msgs, err := bot.ChannelMessages(f.general.ID, tc.limit, tc.before, tc.after, "")
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, m := range msgs {
				got = append(got, m.Content)
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestWebhooksThreadsAndDirectory(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := testCtx(t)
	bot, botEv := f.open(t, "Bot "+f.botToken, botIntents)
	next(ctx, t, botEv, "READY")

	hook, err := bot.WebhookCreate(f.general.ID, "xgate relay", "")
	if err != nil {
		t.Fatal(err)
	}
	if hook.ApplicationID != f.bot.ID || hook.Token == "" || hook.ChannelID != f.general.ID {
		t.Fatalf("webhook = %+v", hook)
	}
	if hooks, err := bot.ChannelWebhooks(f.general.ID); err != nil || len(hooks) != 1 || hooks[0].ID != hook.ID {
		t.Fatalf("webhooks = %v, %v", hooks, err)
	}
	msg, err := bot.WebhookExecute(hook.ID, hook.Token, true, &discordgo.WebhookParams{
		Content: "relayed", Username: "romeo (XMPP)", AvatarURL: "https://example.org/r.png",
		AllowedMentions: &discordgo.MessageAllowedMentions{},
	})
	if err != nil {
		t.Fatal(err)
	}
	if msg.WebhookID != hook.ID || msg.Author.Username != "romeo (XMPP)" || !msg.Author.Bot {
		t.Fatalf("webhook message = %+v", msg)
	}
	if e := next(ctx, t, botEv, "MESSAGE_CREATE").Struct.(*discordgo.MessageCreate); e.WebhookID != hook.ID {
		t.Fatalf("MESSAGE_CREATE of the webhook = %+v", e.Message)
	}
	if _, err := bot.WebhookMessageEdit(hook.ID, hook.Token, msg.ID, &discordgo.WebhookEdit{Content: ptr("relayed, fixed")}); err != nil {
		t.Fatal(err)
	}
	if m, _ := f.fake.Message(f.general.ID, msg.ID); m.Content != "relayed, fixed" || m.Username != "romeo (XMPP)" {
		t.Fatalf("stored webhook message = %+v", m)
	}
	// Only edits carry undocumented fields; discordgo's create, reply and
	// webhook bodies are clean.
	for _, r := range []string{"POST /webhooks/{webhook.id}/{webhook.token}",
		"PATCH /webhooks/{webhook.id}/{webhook.token}/messages/{message.id}"} {
		if uf := f.fake.UnknownFields(r); len(uf) != 0 {
			t.Errorf("%s: unknown fields %v", r, uf)
		}
	}
	if _, err := bot.WebhookExecute(hook.ID, hook.Token, true, &discordgo.WebhookParams{Content: "x", Username: "Discord fan"}); restCode(err) != 50035 {
		t.Fatalf("username with \"discord\": %v", err)
	}

	// A thread from a message has the message's ID.
	root := f.fake.Post(f.alice.ID, f.general.ID, "let's discuss")
	next(ctx, t, botEv, "MESSAGE_CREATE")
	th, err := bot.MessageThreadStart(f.general.ID, root, "discussion", 1440)
	if err != nil {
		t.Fatal(err)
	}
	if th.ID != root || th.Type != discordgo.ChannelTypeGuildPublicThread || th.ParentID != f.general.ID {
		t.Fatalf("thread = %+v", th)
	}
	if tc := next(ctx, t, botEv, "THREAD_CREATE").Struct.(*discordgo.ThreadCreate); tc.ID != root || !tc.NewlyCreated {
		t.Fatalf("THREAD_CREATE = %+v", tc)
	}
	if _, err := bot.ChannelMessageSend(th.ID, "in the thread"); err != nil {
		t.Fatal(err)
	}
	if ms := f.fake.Messages(th.ID); len(ms) != 1 || ms[0].GuildID != f.guild.ID {
		t.Fatalf("thread messages = %+v", ms)
	}
	if _, err := bot.MessageThreadStart(f.general.ID, root, "again", 1440); restCode(err) != 160004 {
		t.Fatalf("second thread: %v", err)
	}

	// Directory: users, guilds, members, channels, DMs.
	if u, err := bot.User(f.alice.ID); err != nil || u.GlobalName != "Alice Liddell" || u.Avatar != "a1b2c3" {
		t.Fatalf("user = %+v, %v", u, err)
	}
	if gs, err := bot.UserGuilds(0, "", "", false); err != nil || len(gs) != 1 || gs[0].ID != f.guild.ID {
		t.Fatalf("guilds = %v, %v", gs, err)
	}
	if ms, err := bot.GuildMembers(f.guild.ID, "", 100); err != nil || len(ms) != 3 {
		t.Fatalf("members = %v, %v", ms, err)
	}
	if m, err := bot.GuildMember(f.guild.ID, f.bob.ID); err != nil || m.Nick != "Bobby" || m.User.Username != "bob" {
		t.Fatalf("member = %+v, %v", m, err)
	}
	if cs, err := bot.GuildChannels(f.guild.ID); err != nil || len(cs) != 1 || cs[0].Name != "general" {
		t.Fatalf("channels = %v, %v", cs, err)
	}
	if dm, err := bot.UserChannelCreate(f.alice.ID); err != nil || dm.ID != f.dm.ID || dm.Type != discordgo.ChannelTypeDM {
		t.Fatalf("DM = %+v, %v", dm, err)
	}
	// Listing members needs the privileged GUILD_MEMBERS intent.
	plain, _ := f.client(t, "Bot "+f.fake.IssueBotToken(f.bot.ID, 0), discordgo.IntentsGuilds)
	if _, err := plain.GuildMembers(f.guild.ID, "", 100); restCode(err) != 50001 {
		t.Fatalf("members without the intent: %v", err)
	}
}

func ptr[T any](v T) *T { return &v }

func TestAttachments(t *testing.T) {
	t.Parallel()
	var clock testClock
	clock.set(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	f := newFixture(t, discordfake.WithClock(clock.now))
	bot, _ := f.client(t, "Bot "+f.botToken, botIntents)
	m, err := bot.ChannelMessageSendComplex(f.dm.ID, &discordgo.MessageSend{
		Content: "a picture",
		Files:   []*discordgo.File{{Name: "cat.png", ContentType: "image/png", Reader: bytes.NewReader([]byte("PNGDATA"))}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Attachments) != 1 || m.Attachments[0].Filename != "cat.png" || m.Attachments[0].Size != 7 {
		t.Fatalf("attachments = %+v", m.Attachments)
	}
	get := func(u string) (int, string) {
		resp, err := http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if st, body := get(m.Attachments[0].URL); st != 200 || body != "PNGDATA" {
		t.Fatalf("GET attachment = %d %q", st, body)
	}
	if st, _ := get(m.Attachments[0].URL + "x"); st != 404 {
		t.Fatalf("tampered link = %d", st)
	}
	clock.set(clock.now().Add(25 * time.Hour)) // Discord's links last 24 hours
	if st, body := get(m.Attachments[0].URL); st != 404 || body != "This content is no longer available.\n" {
		t.Fatalf("expired link = %d %q", st, body)
	}
}

func TestMessageContentOverREST(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	plain, _ := f.client(t, "Bot "+f.fake.IssueBotToken(f.bot.ID, 0), discordgo.IntentsGuildMessages)
	f.fake.Post(f.alice.ID, f.general.ID, "hidden")
	if _, err := plain.ChannelMessageSend(f.general.ID, "mine"); err != nil {
		t.Fatal(err)
	}
	f.fake.Post(f.alice.ID, f.dm.ID, "private")
	msgs, err := plain.ChannelMessages(f.general.ID, 10, "", "", "")
	if err != nil || len(msgs) != 2 || msgs[0].Content != "mine" || msgs[1].Content != "" {
		t.Fatalf("guild history = %v, %v", msgs, err)
	}
	if msgs, err := plain.ChannelMessages(f.dm.ID, 10, "", "", ""); err != nil || len(msgs) != 1 || msgs[0].Content != "private" {
		t.Fatalf("DM history = %v, %v", msgs, err)
	}
}
