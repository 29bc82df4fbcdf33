package discord

import (
	"errors"
	"log/slog"
	"net/http"
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

// TestGlobalLimitHoldsEveryChat: after a global 429 in one chat, the
// account's requests in another chat wait for its retry_after too, so the
// fake (which holds the token's every route for that long) sees no early
// request.
func TestGlobalLimitHoldsEveryChat(t *testing.T) {
	w := newWorld(t, allPrivileged)
	s, _ := w.login(w.transport())
	ctx := bounded(t, 10*time.Second)
	const hold = 400 * time.Millisecond
	w.fake.RateLimitGlobal(1, hold)
	start := time.Now()
	_, err := s.Send(ctx, w.dm(), bridge.OutgoingMessage{Text: "to bob"})
	var rl *bridge.RateLimitError
	if !errors.As(err, &rl) || rl.RetryAfter != hold {
		t.Fatalf("send to bob: %v, want a rate limit of %s", err, hold)
	}
	carol := bridge.ChatRef{Kind: bridge.Direct, Peer: bridge.UserID(w.carol.ID)}
	if _, err := s.Send(ctx, carol, bridge.OutgoingMessage{Text: "to carol"}); err != nil {
		t.Fatalf("send to carol: %v", err)
	}
	if took := time.Since(start); took < hold {
		t.Errorf("carol's message went after %s, within the global limit of %s", took, hold)
	}
	if n := w.fake.EarlyRequests(); n != 0 {
		t.Errorf("%d requests during the global limit", n)
	}
}

func TestGlobalRetryAfter(t *testing.T) {
	hdr := func(kv ...string) http.Header {
		h := http.Header{}
		for i := 0; i < len(kv); i += 2 {
			h.Set(kv[i], kv[i+1])
		}
		return h
	}
	tests := []struct {
		name   string
		h      http.Header
		body   string
		global bool
		want   time.Duration
	}{
		{"body", hdr("X-RateLimit-Global", "true", "Retry-After", "2"), `{"retry_after":1.25,"global":true}`, true, 1250 * time.Millisecond},
		{"scope only, header", hdr("X-RateLimit-Scope", "global", "Retry-After", "3"), `not json`, true, 3 * time.Second},
		{"nothing said", hdr("X-RateLimit-Global", "true"), `{}`, true, time.Second},
		{"per-route", hdr("X-RateLimit-Scope", "user", "Retry-After", "1"), `{"retry_after":0.5}`, false, 500 * time.Millisecond},
		{"shared", hdr("X-RateLimit-Scope", "shared"), ``, false, time.Second},
	}
	for _, tt := range tests {
		if got := isGlobalLimit(tt.h); got != tt.global {
			t.Errorf("%s: isGlobalLimit = %v, want %v", tt.name, got, tt.global)
		}
		if got := globalRetryAfter(tt.h, []byte(tt.body)); got != tt.want {
			t.Errorf("%s: globalRetryAfter = %s, want %s", tt.name, got, tt.want)
		}
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
