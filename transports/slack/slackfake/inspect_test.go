package slackfake_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/xgate-im/xgate/transports/slack/slackfake"
)

func TestWaitMessage(t *testing.T) {
	f := newFixture(t)
	ctx := testCtx(t)
	got := make(chan slackfake.Message, 1)
	go func() {
		m, err := f.fake.WaitMessage(ctx, f.general.ID, func(m slackfake.Message) bool { return m.Text == "second" })
		if err != nil {
			t.Error(err)
		}
		got <- m
	}()
	f.fake.Post(f.alice.ID, f.general.ID, "first")
	ts := f.fake.Post(f.bob.ID, f.general.ID, "second")
	if m := <-got; m.TS != ts || m.User != f.bob.ID {
		t.Errorf("got %+v", m)
	}

	short, cancel := context.WithTimeout(ctx, 10*time.Millisecond)
	defer cancel()
	_, err := f.fake.WaitMessage(short, f.general.ID, func(m slackfake.Message) bool { return false })
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("timeout: %v", err)
	}
	f.fake.Close()
	if err := f.fake.WaitUntil(ctx, func() bool { return false }); !errors.Is(err, slackfake.ErrClosed) {
		t.Errorf("after Close: %v", err)
	}
}

func TestProfileActs(t *testing.T) {
	f := newFixture(t)
	ctx := testCtx(t)
	f.fake.UpdateProfile(f.bob.ID, func(p *slackfake.Profile) {
		p.DisplayName = "bobby"
		p.Image72 = "https://example.org/bob.png"
	})
	u, err := f.bot.GetUserInfoContext(ctx, f.bob.ID)
	if err != nil || u.Profile.DisplayName != "bobby" || u.Profile.Image72 != "https://example.org/bob.png" {
		t.Fatalf("user = %+v, %v", u.Profile, err)
	}
	f.fake.DeactivateUser(f.bob.ID)
	if got, _ := f.fake.User(f.bob.ID); !got.Deleted {
		t.Error("not deactivated")
	}
	if _, _, _, err := f.bot.OpenConversationContext(ctx, &slack.OpenConversationParameters{Users: []string{f.bob.ID}}); slackErr(err) != "user_disabled" {
		t.Errorf("open with deactivated user: %v", err)
	}
	if ch, ok := f.fake.Channel(f.general.ID); !ok || !slices.Equal(ch.Members, []string{f.alice.ID, f.bob.ID, f.botUser}) {
		t.Errorf("channel = %+v", ch)
	}
}

// TestConcurrentPosts posts from many goroutines through the Web API and the
// Go API at once; timestamps must stay unique and ordered.
func TestConcurrentPosts(t *testing.T) {
	f := newFixture(t)
	ctx := testCtx(t)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for j := range 20 {
				if i%2 == 0 {
					f.fake.Post(f.alice.ID, f.general.ID, fmt.Sprint(i, j))
				} else if _, _, err := f.bot.PostMessageContext(ctx, f.general.ID, slack.MsgOptionText(fmt.Sprint(i, j), false)); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	msgs := f.fake.Messages(f.general.ID)
	var tss []string
	for _, m := range msgs {
		tss = append(tss, m.TS)
	}
	if len(tss) != 160 || !slices.IsSorted(tss) || len(slices.Compact(slices.Clone(tss))) != 160 {
		t.Errorf("%d messages, sorted %v", len(tss), slices.IsSorted(tss))
	}
	if f.fake.Pending() != 160 {
		t.Errorf("pending envelopes = %d, want 160", f.fake.Pending())
	}
}

// TestDeterministic runs the same script on two servers with a frozen clock.
func TestDeterministic(t *testing.T) {
	frozen := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	run := func() []slackfake.Message {
		fake := slackfake.New(slackfake.WithClock(func() time.Time { return frozen }))
		defer fake.Close()
		team := fake.CreateTeam("T")
		a := fake.CreateUser(team.ID, slackfake.UserSpec{Name: "a"})
		b := fake.CreateUser(team.ID, slackfake.UserSpec{Name: "b"})
		im := fake.OpenIM(team.ID, a.ID, b.ID)
		ts := fake.Post(a.ID, im, "one")
		fake.Post(b.ID, im, "two", slackfake.WithThread(ts))
		fake.React(b.ID, im, ts, "wave")
		fake.Edit(a.ID, im, ts, "one!")
		return fake.Messages(im)
	}
	first, second := run(), run()
	if !reflect.DeepEqual(first, second) || first[0].TS != "1704164645.000000" || first[1].TS != "1704164645.000001" {
		t.Errorf("runs differ:\n%+v\n%+v", first, second)
	}
}
