package discord

import (
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/xgate-im/xgate/bridge"
	"github.com/xgate-im/xgate/bridge/bridgetest"
)

func TestGlobalRateLimitKept(t *testing.T) {
	w := newWorld(t, allPrivileged)
	s, _ := w.login(w.transport())
	ctx := bounded(t, 10*time.Second)
	// The session's bucket starts full (50); 40 more calls must wait
	// for tokens at 50 a second: at least 0.8 s in all.
	const calls = 90
	start := time.Now()
	var wg sync.WaitGroup
	for range calls {
		wg.Go(func() {
			if err := s.Typing(ctx, w.dm(), bridge.TypingComposing); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if took := time.Since(start); took < 750*time.Millisecond {
		t.Errorf("%d calls in %s: faster than 50 a second", calls, took)
	}
}

func TestRouteBucketsFollowed(t *testing.T) {
	w := newWorld(t, allPrivileged)
	s, _ := w.login(w.transport())
	ctx := bounded(t, 10*time.Second)
	w.fake.SetBucket("POST /channels/{channel.id}/messages", 2, 300*time.Millisecond)
	for i := range 6 {
		if _, err := s.Send(ctx, w.dm(), bridge.OutgoingMessage{Text: strings.Repeat("x", i+1)}); err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
	}
	if n := w.fake.RateLimited(); n != 0 {
		t.Errorf("%d requests got a 429: the bucket's headers were not followed", n)
	}
}

func TestContactRenamed(t *testing.T) {
	w := newWorld(t, allPrivileged)
	s, rec := w.login(w.transport())
	if _, err := s.Contacts(bounded(t, 10*time.Second)); err != nil {
		t.Fatal(err)
	}
	w.fake.UpdateProfile(w.bob.ID, "Robert", "r0b")
	ev := bridgetest.WaitFor(t, rec, func(e bridge.ContactEvent) bool { return e.Contact.ID == bridge.UserID(w.bob.ID) })
	if ev.Contact.Name != "Robert" || !strings.Contains(ev.Contact.AvatarURL, "r0b") {
		t.Errorf("contact after the rename %+v", ev.Contact)
	}
}

func TestRevokedBotTokenToldToAdmin(t *testing.T) {
	w := newWorld(t, allPrivileged)
	logs := newLogCapture()
	tr, err := New(w.config(), slog.New(logs), nil)
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = tr.Run(t.Context()) }()
	if err := w.fake.WaitUntil(bounded(t, 10*time.Second), func() bool {
		ss := w.fake.Sessions()
		return len(ss) == 1 && ss[0].Connected
	}); err != nil {
		t.Fatal(err)
	}
	w.fake.RevokeToken(w.botTok)
	logs.wait(t, slog.LevelError, "refused the bot token")
}
