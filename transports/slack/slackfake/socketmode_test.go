package slackfake_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
	"github.com/slack-go/slack/socketmode"

	"github.com/xgate-im/xgate/transports/slack/slackfake"
)

// callback decodes an events_api request.
func callback(t *testing.T, req *socketmode.Request) (slackevents.EventsAPIEvent, *slackevents.EventsAPICallbackEvent) {
	t.Helper()
	ev, err := slackevents.ParseEvent(req.Payload, slackevents.OptionNoVerifyToken())
	if err != nil {
		t.Fatalf("parse %s: %v", req.Payload, err)
	}
	return ev, ev.Data.(*slackevents.EventsAPICallbackEvent)
}

func TestSocketModeReceiveAndAck(t *testing.T) {
	f := newFixture(t)
	ctx := testCtx(t)
	sm := runSocket(t, f.bot)
	var hello *socketmode.Request
	for hello == nil {
		select {
		case evt := <-sm.Events:
			if evt.Type == socketmode.EventTypeHello {
				hello = evt.Request
			}
		case <-ctx.Done():
			t.Fatal("no hello")
		}
	}
	if hello.NumConnections != 1 || hello.ConnectionInfo.AppID != f.fake.AppID() || hello.DebugInfo.Host == "" {
		t.Errorf("hello = %+v", hello)
	}
	ts := f.fake.Post(f.alice.ID, f.general.ID, "hello bot")
	req := nextRequest(ctx, t, sm)
	ev, cb := callback(t, req)
	msg, ok := ev.InnerEvent.Data.(*slackevents.MessageEvent)
	if !ok || msg.Text != "hello bot" || msg.User != f.alice.ID || msg.Channel != f.general.ID ||
		msg.TimeStamp != ts || msg.ChannelType != "channel" || msg.ClientMsgID == "" {
		t.Fatalf("event = %#v", ev.InnerEvent.Data)
	}
	if req.RetryAttempt != 0 || req.EnvelopeID == "" || cb.TeamID != f.team.ID || cb.APIAppID != f.fake.AppID() ||
		cb.EventID == "" || cb.EventContext == "" || len(cb.Authorizations) != 1 || !cb.Authorizations[0].IsBot ||
		cb.Authorizations[0].UserID != f.botUser {
		t.Fatalf("envelope = %+v, callback = %+v", req, cb)
	}
	if f.fake.Pending() != 1 {
		t.Errorf("pending before ack = %d", f.fake.Pending())
	}
	if err := sm.Ack(*req); err != nil {
		t.Fatal(err)
	}
	if err := f.fake.WaitUntil(ctx, func() bool { return f.fake.Acked() == 1 && f.fake.Pending() == 0 }); err != nil {
		t.Fatal(err)
	}
}

func TestSocketModeEvents(t *testing.T) {
	f := newFixture(t)
	ctx := testCtx(t)
	sm := runSocket(t, f.bot)
	base := f.fake.Post(f.bob.ID, f.general.ID, "base")

	type check func(t *testing.T, inner any)
	msgSub := func(sub string, more func(*slackevents.MessageEvent) bool) check {
		return func(t *testing.T, inner any) {
			m, ok := inner.(*slackevents.MessageEvent)
			if !ok || m.SubType != sub || (more != nil && !more(m)) {
				t.Errorf("want message/%q, got %#v", sub, inner)
			}
		}
	}
	is := func(want string) check {
		return func(t *testing.T, inner any) {
			got := map[string]bool{
				"reaction_added":        isType[*slackevents.ReactionAddedEvent](inner),
				"reaction_removed":      isType[*slackevents.ReactionRemovedEvent](inner),
				"user_change":           isType[*slackevents.UserChangeEvent](inner),
				"team_join":             isType[*slackevents.TeamJoinEvent](inner),
				"member_joined_channel": isType[*slackevents.MemberJoinedChannelEvent](inner),
				"channel_created":       isType[*slackevents.ChannelCreatedEvent](inner),
			}
			if !got[want] {
				t.Errorf("want %s, got %#v", want, inner)
			}
		}
	}
	tests := []struct {
		name   string
		act    func()
		checks []check
	}{
		{"edit", func() { f.fake.Edit(f.bob.ID, f.general.ID, base, "base!") }, []check{
			msgSub("message_changed", func(m *slackevents.MessageEvent) bool {
				return m.Message.Text == "base!" && m.PreviousMessage.Text == "base" && m.Message.Edited != nil
			}),
		}},
		{"react", func() { f.fake.React(f.alice.ID, f.general.ID, base, "tada") }, []check{is("reaction_added")}},
		{"unreact", func() { f.fake.Unreact(f.alice.ID, f.general.ID, base, "tada") }, []check{is("reaction_removed")}},
		{"thread reply", func() { f.fake.Post(f.alice.ID, f.general.ID, "re", slackfake.WithThread(base)) }, []check{
			msgSub("", func(m *slackevents.MessageEvent) bool { return m.ThreadTimeStamp == base }),
		}},
		{"delete", func() { f.fake.Delete(f.bob.ID, f.general.ID, base) }, []check{
			msgSub("message_deleted", func(m *slackevents.MessageEvent) bool { return m.DeletedTimeStamp == base }),
		}},
		{"status", func() { f.fake.SetStatus(f.carol.ID, "away", ":palm_tree:") }, []check{is("user_change")}},
		{"team join", func() { f.fake.UserJoinTeam(f.team.ID, slackfake.UserSpec{Name: "dave"}) }, []check{is("team_join")}},
		{"join", func() { f.fake.Join(f.carol.ID, f.general.ID) }, []check{msgSub("channel_join", nil), is("member_joined_channel")}},
		{"channel created", func() { f.fake.CreateChannelAs(f.alice.ID, "news", false, f.botUser) }, []check{
			is("channel_created"), is("member_joined_channel"),
		}},
		{"own bot post", func() {
			if _, _, err := f.bot.PostMessageContext(ctx, f.general.ID, slack.MsgOptionText("echo", false)); err != nil {
				t.Fatal(err)
			}
		}, []check{msgSub("", func(m *slackevents.MessageEvent) bool { return m.BotID == f.fake.BotID(f.team.ID) })}},
	}
	// The first event is the base message.
	req := nextRequest(ctx, t, sm)
	sm.Ack(*req)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.act()
			for _, c := range tc.checks {
				req := nextRequest(ctx, t, sm)
				ev, _ := callback(t, req)
				c(t, ev.InnerEvent.Data)
				if err := sm.Ack(*req); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
	if err := f.fake.WaitUntil(ctx, func() bool { return f.fake.Pending() == 0 }); err != nil {
		t.Fatal(err)
	}
}

func isType[T any](v any) bool { _, ok := v.(T); return ok }

func TestSocketModeDisconnect(t *testing.T) {
	for _, reason := range []string{"refresh_requested", "warning", "link_disabled"} {
		t.Run(reason, func(t *testing.T) {
			f := newFixture(t)
			ctx := testCtx(t)
			sm := runSocket(t, f.bot)
			if ce := waitConnected(ctx, t, sm); ce.ConnectionCount != 0 {
				t.Fatalf("first connection count = %d", ce.ConnectionCount)
			}
			f.fake.Post(f.alice.ID, f.general.ID, "before")
			req := nextRequest(ctx, t, sm)
			sm.Ack(*req)
			// Without this wait the ack may still sit in the client's send
			// queue when the socket closes; Slack, and the fake, would then
			// deliver the envelope again.
			if err := f.fake.WaitUntil(ctx, func() bool { return f.fake.Acked() == 1 }); err != nil {
				t.Fatal(err)
			}

			f.fake.Disconnect(reason)
			if ce := waitConnected(ctx, t, sm); ce.ConnectionCount != 1 {
				t.Fatalf("reconnection count = %d", ce.ConnectionCount)
			}
			f.fake.Post(f.alice.ID, f.general.ID, "after")
			req = nextRequest(ctx, t, sm)
			if ev, _ := callback(t, req); ev.InnerEvent.Data.(*slackevents.MessageEvent).Text != "after" || req.RetryAttempt != 0 {
				t.Fatalf("after reconnect: %s", req.Payload)
			}
			sm.Ack(*req)
			err := f.fake.WaitUntil(ctx, func() bool { return f.fake.Acked() == 2 && f.fake.Connections() == 1 })
			if err != nil || f.fake.CallCount("apps.connections.open") != 2 {
				t.Fatalf("acked %d, connections %d, opens %d: %v", f.fake.Acked(), f.fake.Connections(),
					f.fake.CallCount("apps.connections.open"), err)
			}
		})
	}
}

func TestSocketModeRedeliveryAfterReconnect(t *testing.T) {
	f := newFixture(t, slackfake.WithAckTimeout(time.Hour))
	ctx := testCtx(t)
	sm := runSocket(t, f.bot)
	f.fake.Post(f.alice.ID, f.general.ID, "do not lose me")
	first := nextRequest(ctx, t, sm) // not acked
	f.fake.DropSockets()
	again := nextRequest(ctx, t, sm)
	if again.EnvelopeID != first.EnvelopeID || again.RetryAttempt != 1 || again.RetryReason != "timeout" {
		t.Fatalf("redelivery = %+v, first = %+v", again, first)
	}
	_, cb1 := callback(t, first)
	_, cb2 := callback(t, again)
	if cb1.EventID != cb2.EventID {
		t.Errorf("event IDs differ: %s, %s", cb1.EventID, cb2.EventID)
	}
	sm.Ack(*again)
	if err := f.fake.WaitUntil(ctx, func() bool { return f.fake.Acked() == 1 && f.fake.Pending() == 0 }); err != nil {
		t.Fatal(err)
	}
	if f.fake.Delivered() != 2 {
		t.Errorf("delivered = %d", f.fake.Delivered())
	}
}

func TestSocketModeAckTimeout(t *testing.T) {
	f := newFixture(t)
	ctx := testCtx(t)
	f.fake.SetAckTimeout(20 * time.Millisecond)
	sm := runSocket(t, f.bot)
	f.fake.Post(f.alice.ID, f.general.ID, "ack me")
	var reqs []*socketmode.Request
	for len(reqs) < 3 {
		reqs = append(reqs, nextRequest(ctx, t, sm))
	}
	for i, r := range reqs {
		if r.EnvelopeID != reqs[0].EnvelopeID || r.RetryAttempt != i || (i > 0 && r.RetryReason != "timeout") {
			t.Fatalf("attempt %d = %+v", i, r)
		}
	}
	f.fake.SetAckTimeout(time.Hour)
	sm.Ack(*reqs[2])
	if err := f.fake.WaitUntil(ctx, func() bool { return f.fake.Pending() == 0 }); err != nil {
		t.Fatal(err)
	}
}

func TestSocketModeUserTokenAuthorizations(t *testing.T) {
	f := newFixture(t)
	ctx := testCtx(t)
	f.fake.IssueUserToken(f.team.ID, f.alice.ID)
	aliceBob := f.fake.OpenIM(f.team.ID, f.alice.ID, f.bob.ID)
	carolBob := f.fake.OpenIM(f.team.ID, f.carol.ID, f.bob.ID)
	sm := runSocket(t, f.bot)

	f.fake.Post(f.bob.ID, carolBob, "nobody of ours sees this")
	f.fake.Post(f.bob.ID, aliceBob, "hi alice")
	f.fake.Post(f.bob.ID, f.general.ID, "hi all")

	tests := []struct {
		channel, channelType string
		first                slack.EventAuthorization
		all                  []string
	}{
		{aliceBob, "im", slack.EventAuthorization{TeamID: f.team.ID, UserID: f.alice.ID}, []string{f.alice.ID}},
		{f.general.ID, "channel", slack.EventAuthorization{TeamID: f.team.ID, UserID: f.botUser, IsBot: true}, []string{f.botUser, f.alice.ID}},
	}
	for _, tc := range tests {
		req := nextRequest(ctx, t, sm)
		ev, cb := callback(t, req)
		msg := ev.InnerEvent.Data.(*slackevents.MessageEvent)
		if msg.Channel != tc.channel || msg.ChannelType != tc.channelType {
			t.Fatalf("event in %s (%s), want %s", msg.Channel, msg.ChannelType, tc.channel)
		}
		if len(cb.Authorizations) != 1 || cb.Authorizations[0] != tc.first {
			t.Errorf("authorizations = %+v, want %+v", cb.Authorizations, tc.first)
		}
		auths, err := f.bot.ListEventAuthorizationsContext(ctx, cb.EventContext)
		if err != nil {
			t.Fatal(err)
		}
		var users []string
		for _, a := range auths {
			users = append(users, a.UserID)
		}
		if !slices.Equal(users, tc.all) {
			t.Errorf("all authorizations = %v, want %v", users, tc.all)
		}
		sm.Ack(*req)
	}
	if err := f.fake.WaitUntil(ctx, func() bool { return f.fake.Pending() == 0 }); err != nil {
		t.Fatal(err)
	}
	if f.fake.Acked() != 2 {
		t.Errorf("acked = %d, want 2 (carol's IM is not visible)", f.fake.Acked())
	}
}

func TestSocketModeRevokedAppToken(t *testing.T) {
	f := newFixture(t)
	ctx := testCtx(t)
	f.fake.SetTokenState(f.fake.AppToken(), slackfake.TokenRevoked)
	sm := socketmode.New(f.bot)
	go func() {
		for range sm.Events {
		}
	}()
	if err := sm.RunContext(ctx); err == nil || err.Error() != "token_revoked" {
		t.Fatalf("RunContext = %v", err)
	}
	if _, _, err := socketmode.New(f.client(f.botToken)).OpenContext(ctx); err == nil {
		t.Error("apps.connections.open accepted")
	}
	var bad slack.SlackErrorResponse
	_, _, err := socketmode.New(slack.New(f.botToken, slack.OptionAPIURL(f.fake.APIURL()), slack.OptionAppLevelToken(f.botToken))).OpenContext(ctx)
	if !errors.As(err, &bad) || bad.Err != "not_allowed_token_type" {
		t.Errorf("bot token as app token: %v", err)
	}
}

// TestSocketModeBacklog checks that events raised while the app is not
// connected wait for it, in order.
func TestSocketModeBacklog(t *testing.T) {
	f := newFixture(t)
	ctx := testCtx(t)
	for _, text := range []string{"a", "b", "c"} {
		f.fake.Post(f.alice.ID, f.general.ID, text)
	}
	sm := runSocket(t, f.bot)
	var got []string
	for range 3 {
		req := nextRequest(ctx, t, sm)
		ev, _ := callback(t, req)
		got = append(got, ev.InnerEvent.Data.(*slackevents.MessageEvent).Text)
		sm.Ack(*req)
	}
	if !slices.Equal(got, []string{"a", "b", "c"}) {
		t.Errorf("order = %v", got)
	}
}
