package slackfake_test

import (
	"bytes"
	"errors"
	"image/png"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/xgate-im/xgate/transports/slack/slackfake"
)

func slackErr(err error) string {
	var se slack.SlackErrorResponse
	if errors.As(err, &se) {
		return se.Err
	}
	if err != nil {
		return "other: " + err.Error()
	}
	return ""
}

func TestAuthTest(t *testing.T) {
	f := newFixture(t)
	ctx := testCtx(t)
	userTok := f.fake.IssueUserToken(f.team.ID, f.alice.ID)
	revoked := f.fake.IssueUserToken(f.team.ID, f.bob.ID)
	f.fake.SetTokenState(revoked, slackfake.TokenRevoked)
	inactive := f.fake.IssueUserToken(f.team.ID, f.carol.ID)
	f.fake.SetTokenState(inactive, slackfake.TokenInactive)
	dave := f.fake.CreateUser(f.team.ID, slackfake.UserSpec{Name: "dave"})
	daveTok := f.fake.IssueUserToken(f.team.ID, dave.ID)
	f.fake.DeactivateUser(dave.ID)

	tests := []struct {
		name, token, wantErr, wantUser, wantBot string
	}{
		{"bot", f.botToken, "", f.botUser, f.fake.BotID(f.team.ID)},
		{"user", userTok, "", f.alice.ID, ""},
		{"missing", "", "not_authed", "", ""},
		{"invalid", "xoxb-nope", "invalid_auth", "", ""},
		{"revoked", revoked, "token_revoked", "", ""},
		{"inactive", inactive, "account_inactive", "", ""},
		{"deactivated user", daveTok, "account_inactive", "", ""},
		{"app token", f.fake.AppToken(), "not_allowed_token_type", "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := f.client(tc.token).AuthTestContext(ctx)
			if got := slackErr(err); got != tc.wantErr {
				t.Fatalf("error = %q, want %q", got, tc.wantErr)
			}
			if tc.wantErr != "" {
				return
			}
			if resp.UserID != tc.wantUser || resp.BotID != tc.wantBot || resp.TeamID != f.team.ID ||
				resp.Team != "Acme Corp" || resp.URL != "https://acme-corp.slack.com/" {
				t.Errorf("auth.test = %+v", resp)
			}
		})
	}
}

func TestUsersListPagination(t *testing.T) {
	f := newFixture(t)
	ctx := testCtx(t)
	for _, n := range []string{"u1", "u2", "u3", "u4", "u5", "u6", "u7"} {
		f.fake.CreateUser(f.team.ID, slackfake.UserSpec{Name: n})
	}
	const total = 11 // alice, bob, carol, the bot user and seven more

	p := f.bot.GetUsersPaginated(slack.GetUsersOptionLimit(3))
	var ids []string
	pages := 0
	var err error
	for {
		if p, err = p.Next(ctx); err != nil {
			break
		}
		pages++
		for _, u := range p.Users {
			ids = append(ids, u.ID)
		}
	}
	if err = p.Failure(err); err != nil {
		t.Fatal(err)
	}
	if pages != 4 || len(ids) != total || !slices.IsSorted(ids) || ids[0] != f.alice.ID {
		t.Errorf("pages = %d, ids = %v", pages, ids)
	}

	all, err := f.bot.GetUsersContext(ctx, slack.GetUsersOptionLimit(4))
	if err != nil || len(all) != total {
		t.Fatalf("GetUsersContext = %d users, %v", len(all), err)
	}
	var botUser slack.User
	for _, u := range all {
		if u.ID == f.botUser {
			botUser = u
		}
	}
	if !botUser.IsBot || botUser.Profile.BotID != f.fake.BotID(f.team.ID) {
		t.Errorf("bot user = %+v", botUser)
	}
	if got := f.fake.CallCount("users.list"); got != 4+3 {
		t.Errorf("users.list calls = %d", got)
	}
}

func TestOpenPostHistory(t *testing.T) {
	f := newFixture(t)
	ctx := testCtx(t)
	ch, noOp, already, err := f.bot.OpenConversationContext(ctx, &slack.OpenConversationParameters{Users: []string{f.alice.ID}})
	if err != nil || !strings.HasPrefix(ch.ID, "D") || noOp || already {
		t.Fatalf("open = %+v %v %v %v", ch, noOp, already, err)
	}
	again, noOp, already, err := f.bot.OpenConversationContext(ctx, &slack.OpenConversationParameters{Users: []string{f.alice.ID}, ReturnIM: true})
	if err != nil || again.ID != ch.ID || !noOp || !already || again.User != f.alice.ID || !again.IsIM {
		t.Fatalf("reopen = %+v %v %v %v", again, noOp, already, err)
	}
	alice := f.client(f.fake.IssueUserToken(f.team.ID, f.alice.ID))
	fromAlice, _, _, err := alice.OpenConversationContext(ctx, &slack.OpenConversationParameters{Users: []string{f.botUser}})
	if err != nil || fromAlice.ID != ch.ID {
		t.Fatalf("alice's open = %+v, %v", fromAlice, err)
	}
	mpim, _, _, err := alice.OpenConversationContext(ctx, &slack.OpenConversationParameters{Users: []string{f.bob.ID, f.carol.ID}})
	if err != nil || !strings.HasPrefix(mpim.ID, "G") || !mpim.IsMpIM {
		t.Fatalf("mpim = %+v, %v", mpim, err)
	}

	var tss []string
	for _, text := range []string{"one", "two", "three"} {
		c, ts, err := f.bot.PostMessageContext(ctx, ch.ID, slack.MsgOptionText(text, false))
		if err != nil || c != ch.ID {
			t.Fatal(c, err)
		}
		tss = append(tss, ts)
	}
	if !slices.IsSorted(tss) || slices.Compact(slices.Clone(tss))[2] != tss[2] {
		t.Fatalf("ts not increasing: %v", tss)
	}
	h, err := f.bot.GetConversationHistoryContext(ctx, &slack.GetConversationHistoryParameters{ChannelID: ch.ID, Limit: 2})
	if err != nil || len(h.Messages) != 2 || !h.HasMore || h.Messages[0].Text != "three" || h.ResponseMetaData.NextCursor == "" {
		t.Fatalf("history page 1 = %+v, %v", h, err)
	}
	if m := h.Messages[0]; m.BotID == "" || m.User != f.botUser || m.Timestamp != tss[2] {
		t.Errorf("bot message = %+v", m.Msg)
	}
	h2, err := f.bot.GetConversationHistoryContext(ctx, &slack.GetConversationHistoryParameters{ChannelID: ch.ID, Limit: 2, Cursor: h.ResponseMetaData.NextCursor})
	if err != nil || len(h2.Messages) != 1 || h2.HasMore || h2.Messages[0].Text != "one" {
		t.Fatalf("history page 2 = %+v, %v", h2, err)
	}
	for _, tc := range []struct {
		inclusive bool
		want      int
	}{{false, 2}, {true, 3}} {
		h, err := f.bot.GetConversationHistoryContext(ctx, &slack.GetConversationHistoryParameters{ChannelID: ch.ID, Oldest: tss[0], Inclusive: tc.inclusive})
		if err != nil || len(h.Messages) != tc.want {
			t.Errorf("oldest, inclusive=%v: %d messages, %v", tc.inclusive, len(h.Messages), err)
		}
	}
}

func TestUpdateDeleteReact(t *testing.T) {
	f := newFixture(t)
	ctx := testCtx(t)
	_, ts, err := f.bot.PostMessageContext(ctx, f.general.ID, slack.MsgOptionText("helo", false))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, text, err := f.bot.UpdateMessageContext(ctx, f.general.ID, ts, slack.MsgOptionText("hello", false)); err != nil || text != "hello" {
		t.Fatalf("update = %q, %v", text, err)
	}
	bob := f.client(f.fake.IssueUserToken(f.team.ID, f.bob.ID))
	if _, _, _, err := bob.UpdateMessageContext(ctx, f.general.ID, ts, slack.MsgOptionText("mine", false)); slackErr(err) != "cant_update_message" {
		t.Errorf("bob's update: %v", err)
	}
	if _, _, _, err := f.bot.UpdateMessageContext(ctx, f.general.ID, "1.000001", slack.MsgOptionText("x", false)); slackErr(err) != "message_not_found" {
		t.Errorf("update of nothing: %v", err)
	}
	ref := slack.NewRefToMessage(f.general.ID, ts)
	if err := bob.AddReactionContext(ctx, "thumbsup", ref); err != nil {
		t.Fatal(err)
	}
	if err := bob.AddReactionContext(ctx, "thumbsup", ref); slackErr(err) != "already_reacted" {
		t.Errorf("second reaction: %v", err)
	}
	if err := f.bot.AddReactionContext(ctx, "not an emoji", ref); slackErr(err) != "invalid_name" {
		t.Errorf("bad name: %v", err)
	}
	msgs := f.fake.Messages(f.general.ID)
	if len(msgs) != 1 || msgs[0].Text != "hello" || msgs[0].EditedBy != f.botUser || msgs[0].EditedTS <= ts ||
		len(msgs[0].Reactions) != 1 || msgs[0].Reactions[0].Users[0] != f.bob.ID {
		t.Fatalf("messages = %+v", msgs)
	}
	h, err := f.bot.GetConversationHistoryContext(ctx, &slack.GetConversationHistoryParameters{ChannelID: f.general.ID})
	if err != nil || h.Messages[0].Edited == nil || h.Messages[0].Reactions[0].Count != 1 {
		t.Fatalf("history = %+v, %v", h, err)
	}
	if err := bob.RemoveReactionContext(ctx, "thumbsup", ref); err != nil {
		t.Fatal(err)
	}
	if err := bob.RemoveReactionContext(ctx, "thumbsup", ref); slackErr(err) != "no_reaction" {
		t.Errorf("second removal: %v", err)
	}
	if _, _, err := bob.DeleteMessageContext(ctx, f.general.ID, ts); slackErr(err) != "cant_delete_message" {
		t.Errorf("bob's delete: %v", err)
	}
	if _, _, err := f.bot.DeleteMessageContext(ctx, f.general.ID, ts); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.bot.DeleteMessageContext(ctx, f.general.ID, ts); slackErr(err) != "message_not_found" {
		t.Errorf("second delete: %v", err)
	}
	if n := len(f.fake.Messages(f.general.ID)); n != 0 {
		t.Errorf("%d messages left", n)
	}
}

func TestErrors(t *testing.T) {
	f := newFixture(t)
	ctx := testCtx(t)
	random := f.fake.CreateChannel(f.team.ID, "random", false, f.alice.ID)
	secret := f.fake.CreateChannel(f.team.ID, "secret", true, f.alice.ID)
	other := f.fake.CreateTeam("Other")
	otherUser := f.fake.CreateUser(other.ID, slackfake.UserSpec{Name: "eve"})
	tests := []struct {
		name string
		call func() error
		want string
	}{
		{"post unknown channel", func() error {
			_, _, err := f.bot.PostMessageContext(ctx, "C999", slack.MsgOptionText("x", false))
			return err
		}, "channel_not_found"},
		{"post private not member", func() error {
			_, _, err := f.bot.PostMessageContext(ctx, secret.ID, slack.MsgOptionText("x", false))
			return err
		}, "channel_not_found"},
		{"post public not member", func() error {
			_, _, err := f.bot.PostMessageContext(ctx, random.ID, slack.MsgOptionText("x", false))
			return err
		}, "not_in_channel"},
		{"post no text", func() error {
			_, _, err := f.bot.PostMessageContext(ctx, f.general.ID)
			return err
		}, "no_text"},
		{"post bad thread", func() error {
			_, _, err := f.bot.PostMessageContext(ctx, f.general.ID, slack.MsgOptionText("x", false), slack.MsgOptionTS("12.000001"))
			return err
		}, "invalid_thread_ts"},
		{"post too long", func() error {
			_, _, err := f.bot.PostMessageContext(ctx, f.general.ID, slack.MsgOptionText(strings.Repeat("a", 40001), false))
			return err
		}, "msg_too_long"},
		{"history not member", func() error {
			_, err := f.bot.GetConversationHistoryContext(ctx, &slack.GetConversationHistoryParameters{ChannelID: random.ID})
			return err
		}, "not_in_channel"},
		{"history bad oldest", func() error {
			_, err := f.bot.GetConversationHistoryContext(ctx, &slack.GetConversationHistoryParameters{ChannelID: f.general.ID, Oldest: "yesterday"})
			return err
		}, "invalid_ts_oldest"},
		{"user unknown", func() error { _, err := f.bot.GetUserInfoContext(ctx, "U404"); return err }, "user_not_found"},
		{"user other team", func() error { _, err := f.bot.GetUserInfoContext(ctx, otherUser.ID); return err }, "user_not_found"},
		{"replies unknown", func() error {
			_, _, _, err := f.bot.GetConversationRepliesContext(ctx, &slack.GetConversationRepliesParameters{ChannelID: f.general.ID, Timestamp: "1.000001"})
			return err
		}, "thread_not_found"},
		{"profile.set with bot", func() error { return f.bot.SetUserCustomStatusContext(ctx, "x", ":x:", 0) }, "not_allowed_token_type"},
		{"join private", func() error { _, _, _, err := f.bot.JoinConversationContext(ctx, secret.ID); return err }, "channel_not_found"},
		{"open nobody", func() error {
			_, _, _, err := f.bot.OpenConversationContext(ctx, &slack.OpenConversationParameters{})
			return err
		}, "users_list_not_supplied"},
		{"bad presence", func() error { return f.bot.SetUserPresenceContext(ctx, "busy") }, "invalid_presence"},
		{"bots.info unknown", func() error {
			_, err := f.bot.GetBotInfoContext(ctx, slack.GetBotInfoParameters{Bot: "B404"})
			return err
		}, "bot_not_found"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := slackErr(tc.call()); got != tc.want {
				t.Errorf("error = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestUnknownMethod(t *testing.T) {
	f := newFixture(t)
	resp, err := http.PostForm(f.fake.APIURL()+"pins.add", url.Values{"token": {f.botToken}})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != `{"ok":false,"error":"unknown_method"}` {
		t.Errorf("got %d %s", resp.StatusCode, body)
	}
	if got := f.fake.UnknownMethods(); !slices.Equal(got, []string{"pins.add"}) || f.fake.CallCount("pins.add") != 1 {
		t.Errorf("unknown = %v", got)
	}
}

func TestRateLimit(t *testing.T) {
	f := newFixture(t)
	ctx := testCtx(t)
	f.fake.RateLimit("chat.postMessage", 2, 1500*time.Millisecond)
	for range 2 {
		_, _, err := f.bot.PostMessageContext(ctx, f.general.ID, slack.MsgOptionText("x", false))
		var rl *slack.RateLimitedError
		if !errors.As(err, &rl) || rl.RetryAfter != 2*time.Second {
			t.Fatalf("err = %v, want RateLimitedError after 2s", err)
		}
	}
	if _, _, err := f.bot.PostMessageContext(ctx, f.general.ID, slack.MsgOptionText("x", false)); err != nil {
		t.Fatal(err)
	}
	if n := f.fake.CallCount("chat.postMessage"); n != 3 {
		t.Errorf("calls = %d", n)
	}
	f.fake.FailNext("auth.test", 1, "fatal_error")
	if _, err := f.bot.AuthTestContext(ctx); slackErr(err) != "fatal_error" {
		t.Errorf("injected error: %v", err)
	}
}

func TestUploadRoundTrip(t *testing.T) {
	f := newFixture(t)
	ctx := testCtx(t)
	content := []byte("hello, file\n")
	sum, err := f.bot.UploadFileContext(ctx, slack.UploadFileParameters{
		Reader: bytes.NewReader(content), FileSize: len(content), Filename: "hello.txt",
		Title: "Greeting", Channel: f.general.ID, InitialComment: "see attached",
	})
	if err != nil || !strings.HasPrefix(sum.ID, "F") || sum.Title != "Greeting" {
		t.Fatalf("upload = %+v, %v", sum, err)
	}
	file, ok := f.fake.File(sum.ID)
	if !ok || !bytes.Equal(file.Content, content) || file.Mimetype != "text/plain" || file.Channels[0] != f.general.ID {
		t.Fatalf("file = %+v", file)
	}
	h, err := f.bot.GetConversationHistoryContext(ctx, &slack.GetConversationHistoryParameters{ChannelID: f.general.ID})
	if err != nil || len(h.Messages) != 1 || len(h.Messages[0].Files) != 1 || h.Messages[0].Text != "see attached" {
		t.Fatalf("history = %+v, %v", h, err)
	}
	priv := h.Messages[0].Files[0].URLPrivate
	var buf bytes.Buffer
	if err := f.bot.GetFileContext(ctx, priv, &buf); err != nil || !bytes.Equal(buf.Bytes(), content) {
		t.Fatalf("download = %q, %v", buf.String(), err)
	}
	other := f.fake.CreateTeam("Other")
	otherTok, _ := f.fake.InstallApp(other.ID)
	buf.Reset()
	if err := f.client(otherTok).GetFileContext(ctx, priv, &buf); err == nil {
		t.Errorf("another team's token downloaded %q", buf.String())
	}
}

func TestThreads(t *testing.T) {
	f := newFixture(t)
	ctx := testCtx(t)
	parent := f.fake.Post(f.alice.ID, f.general.ID, "question")
	_, r1, err := f.bot.PostMessageContext(ctx, f.general.ID, slack.MsgOptionText("answer", false), slack.MsgOptionTS(parent))
	if err != nil {
		t.Fatal(err)
	}
	r2 := f.fake.Post(f.bob.ID, f.general.ID, "me too", slackfake.WithThread(r1), slackfake.WithBroadcast())
	h, err := f.bot.GetConversationHistoryContext(ctx, &slack.GetConversationHistoryParameters{ChannelID: f.general.ID})
	if err != nil || len(h.Messages) != 2 || h.Messages[0].Timestamp != r2 || h.Messages[0].SubType != "thread_broadcast" ||
		h.Messages[1].ReplyCount != 2 || h.Messages[1].LatestReply != r2 || len(h.Messages[1].ReplyUsers) != 2 {
		t.Fatalf("history = %+v, %v", h.Messages, err)
	}
	msgs, more, _, err := f.bot.GetConversationRepliesContext(ctx, &slack.GetConversationRepliesParameters{ChannelID: f.general.ID, Timestamp: parent})
	if err != nil || more || len(msgs) != 3 || msgs[0].Timestamp != parent || msgs[1].ThreadTimestamp != parent || msgs[2].ParentUserId != f.alice.ID {
		t.Fatalf("replies = %+v, %v", msgs, err)
	}
	link, err := f.bot.GetPermalinkContext(ctx, &slack.PermalinkParameters{Channel: f.general.ID, Ts: r1})
	want := "https://acme-corp.slack.com/archives/" + f.general.ID + "/p" + strings.ReplaceAll(r1, ".", "") + "?thread_ts=" + parent + "&cid=" + f.general.ID
	if err != nil || link != want {
		t.Errorf("permalink = %q, %v; want %q", link, err, want)
	}
}

func TestCustomizedBotPost(t *testing.T) {
	f := newFixture(t)
	ctx := testCtx(t)
	_, ts, err := f.bot.PostMessageContext(ctx, f.general.ID, slack.MsgOptionText("hi from xmpp", false),
		slack.MsgOptionUsername("romeo"), slack.MsgOptionIconURL("https://example.org/romeo.png"),
		slack.MsgOptionBlocks(slack.NewSectionBlock(slack.NewTextBlockObject("mrkdwn", "*hi*", false, false), nil, nil)))
	if err != nil {
		t.Fatal(err)
	}
	m, err := f.fake.WaitMessage(ctx, f.general.ID, func(m slackfake.Message) bool { return m.TS == ts })
	if err != nil || m.Username != "romeo" || m.IconURL != "https://example.org/romeo.png" || m.Subtype != "bot_message" ||
		m.BotID == "" || m.User != "" || !strings.Contains(string(m.Blocks), `"section"`) {
		t.Fatalf("message = %+v, %v", m, err)
	}
	h, err := f.bot.GetConversationHistoryContext(ctx, &slack.GetConversationHistoryParameters{ChannelID: f.general.ID})
	if err != nil || h.Messages[0].Username != "romeo" || len(h.Messages[0].Blocks.BlockSet) != 1 {
		t.Fatalf("history = %+v, %v", h.Messages, err)
	}
}

func TestProfilePresence(t *testing.T) {
	f := newFixture(t)
	ctx := testCtx(t)
	alice := f.client(f.fake.IssueUserToken(f.team.ID, f.alice.ID))
	if err := alice.SetUserCustomStatusContext(ctx, "at lunch", "", 0); err != nil {
		t.Fatal(err)
	}
	u, err := f.bot.GetUserInfoContext(ctx, f.alice.ID)
	if err != nil || u.Profile.StatusText != "at lunch" || u.Profile.StatusEmoji != ":speech_balloon:" ||
		u.RealName != "Alice Liddell" || !strings.HasSuffix(u.Profile.Image72, "/72.png") {
		t.Fatalf("user = %+v, %v", u, err)
	}
	resp, err := http.Get(u.Profile.Image192)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(resp.Body)
	resp.Body.Close()
	if err != nil || img.Bounds().Dx() != 192 {
		t.Fatalf("avatar: %v", err)
	}
	for _, tc := range []struct{ set, want string }{{"away", "away"}, {"active", "active"}} {
		f.fake.SetPresence(f.alice.ID, tc.set)
		p, err := f.bot.GetUserPresenceContext(ctx, f.alice.ID)
		if err != nil || p.Presence != tc.want {
			t.Errorf("presence after %s = %+v, %v", tc.set, p, err)
		}
	}
	if err := alice.SetUserPresenceContext(ctx, "away"); err != nil {
		t.Fatal(err)
	}
	if got, _ := f.fake.User(f.alice.ID); got.Presence != "away" {
		t.Errorf("presence = %q", got.Presence)
	}
	prof, err := alice.GetUserProfileContext(ctx, &slack.GetUserProfileParameters{})
	if err != nil || prof.DisplayName != "alice" {
		t.Errorf("profile = %+v, %v", prof, err)
	}
}

func TestConversations(t *testing.T) {
	f := newFixture(t)
	ctx := testCtx(t)
	random := f.fake.CreateChannel(f.team.ID, "random", false, f.alice.ID)
	f.fake.CreateChannel(f.team.ID, "secret", true, f.alice.ID)
	f.fake.CreateChannel(f.team.ID, "bots-only", true, f.botUser)
	im := f.fake.OpenIM(f.team.ID, f.botUser, f.carol.ID)

	list := func(types ...string) []string {
		var ids []string
		cursor := ""
		for {
			chans, next, err := f.bot.GetConversationsContext(ctx, &slack.GetConversationsParameters{Types: types, Limit: 1, Cursor: cursor})
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range chans {
				ids = append(ids, c.Name+c.User)
			}
			if cursor = next; cursor == "" {
				return ids
			}
		}
	}
	if got := list(); !slices.Equal(got, []string{"general", "random"}) {
		t.Errorf("public = %v", got)
	}
	if got := list("private_channel", "im"); !slices.Equal(got, []string{"bots-only", f.carol.ID}) {
		t.Errorf("private and im = %v", got)
	}
	info, err := f.bot.GetConversationInfoContext(ctx, &slack.GetConversationInfoInput{ChannelID: random.ID, IncludeNumMembers: true})
	if err != nil || info.IsMember || info.NumMembers != 1 || info.Name != "random" {
		t.Fatalf("info = %+v, %v", info, err)
	}
	if _, warning, _, err := f.bot.JoinConversationContext(ctx, random.ID); err != nil || warning != "" {
		t.Fatalf("join = %q, %v", warning, err)
	}
	if _, warning, _, err := f.bot.JoinConversationContext(ctx, random.ID); err != nil || warning != "already_in_channel" {
		t.Fatalf("second join = %q, %v", warning, err)
	}
	members, _, err := f.bot.GetUsersInConversationContext(ctx, &slack.GetUsersInConversationParameters{ChannelID: random.ID})
	if err != nil || !slices.Equal(members, []string{f.alice.ID, f.botUser}) {
		t.Fatalf("members = %v, %v", members, err)
	}
	if msgs := f.fake.Messages(random.ID); len(msgs) != 1 || msgs[0].Subtype != "channel_join" {
		t.Errorf("join message = %+v", msgs)
	}
	if err := f.bot.MarkConversationContext(ctx, im, "1.000001"); err != nil {
		t.Fatal(err)
	}
	if info, err := f.bot.GetConversationInfoContext(ctx, &slack.GetConversationInfoInput{ChannelID: im}); err != nil || info.LastRead != "1.000001" {
		t.Errorf("im info = %+v, %v", info, err)
	}
}

func TestTeamBotsEmoji(t *testing.T) {
	f := newFixture(t)
	ctx := testCtx(t)
	f.fake.AddEmoji(f.team.ID, "party_parrot", "https://example.org/parrot.gif")
	f.fake.AddEmoji(f.team.ID, "parrot", "alias:party_parrot")
	team, err := f.bot.GetTeamInfoContext(ctx)
	if err != nil || team.ID != f.team.ID || team.Domain != "acme-corp" {
		t.Fatalf("team = %+v, %v", team, err)
	}
	b, err := f.bot.GetBotInfoContext(ctx, slack.GetBotInfoParameters{Bot: f.fake.BotID(f.team.ID)})
	if err != nil || b.UserID != f.botUser || b.AppID != f.fake.AppID() || b.Name != "xgate" {
		t.Fatalf("bot = %+v, %v", b, err)
	}
	emoji, err := f.bot.GetEmojiContext(ctx)
	if err != nil || emoji["parrot"] != "alias:party_parrot" || len(emoji) != 2 {
		t.Fatalf("emoji = %v, %v", emoji, err)
	}
}

func TestLeaveAndSetTopic(t *testing.T) {
	f := newFixture(t)
	ctx := testCtx(t)
	random := f.fake.CreateChannel(f.team.ID, "random", false, f.alice.ID, f.botUser)
	lonely := f.fake.CreateChannel(f.team.ID, "lonely", true, f.botUser)
	outside := f.fake.CreateChannel(f.team.ID, "outside", false, f.alice.ID)
	im := f.fake.OpenIM(f.team.ID, f.botUser, f.carol.ID)
	for _, tc := range []struct {
		name, channel, topic, err string
	}{
		{"set", random.ID, "Weekly :tada:", ""},
		{"too long", random.ID, strings.Repeat("x", 251), "too_long"},
		{"not a member", outside.ID, "x", "not_in_channel"},
		{"direct message", im, "x", "method_not_supported_for_channel_type"},
		{"unknown", "C999999999", "x", "channel_not_found"},
	} {
		ch, err := f.bot.SetTopicOfConversationContext(ctx, tc.channel, tc.topic)
		if slackErr(err) != tc.err || (err == nil && ch.Topic.Value != tc.topic) {
			t.Errorf("setTopic %s: %+v, %v", tc.name, ch, err)
		}
	}
	info, err := f.bot.GetConversationInfoContext(ctx, &slack.GetConversationInfoInput{ChannelID: random.ID})
	if err != nil || info.Topic.Value != "Weekly :tada:" || info.Topic.Creator != f.botUser {
		t.Errorf("topic = %+v, %v", info.Topic, err)
	}
	for _, tc := range []struct {
		name, channel string
		notIn         bool
		err           string
	}{
		{"leave", random.ID, false, ""},
		{"again", random.ID, true, ""},
		{"last member", lonely.ID, false, "last_member"},
		{"direct message", im, false, "method_not_supported_for_channel_type"},
		{"unknown", "C999999999", false, "channel_not_found"},
	} {
		notIn, err := f.bot.LeaveConversationContext(ctx, tc.channel)
		if slackErr(err) != tc.err || notIn != tc.notIn {
			t.Errorf("leave %s: %v, %v", tc.name, notIn, err)
		}
	}
	if ch, _ := f.fake.Channel(random.ID); slices.Contains(ch.Members, f.botUser) {
		t.Errorf("still a member: %v", ch.Members)
	}
	msgs := f.fake.Messages(random.ID)
	if len(msgs) != 2 || msgs[0].Subtype != "channel_topic" || msgs[1].Subtype != "channel_leave" {
		t.Errorf("messages %+v", msgs)
	}
}
