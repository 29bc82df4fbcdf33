package slack

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/xgate-im/xgate/bridge"
)

// TestPostMessage checks the form postMessage writes (every character of
// the text arrives as it was, in the thread asked for) and the errors it
// returns, which must be slack-go's so that classify and hasCode read them.
func TestPostMessage(t *testing.T) {
	w := newWorld(t)
	tr := w.transport()
	sess, _ := w.login(tr, w.aliceTok)
	ctx := bounded(t, 10*time.Second)
	root := w.fake.Post(w.bob.ID, w.aliceBob, "root")
	texts := []struct {
		name, text, thread string
	}{
		{"form's own characters", "a&b=c+d%20e;f?g#h", ""},
		{"lines and spaces", "  two\nlines\r\n\tand a tab ", ""},
		{"non-ASCII", "é ß 漢字 😀 \u200b", ""},
		{"in a thread", "reply & more", root},
	}
	for _, tc := range texts {
		t.Run(tc.name, func(t *testing.T) {
			ts, err := sess.postMessage(ctx, w.aliceBob, tc.thread, tc.text, "9:origin")
			if err != nil {
				t.Fatal(err)
			}
			m := findMessage(t, w.fake, w.aliceBob, ts)
			if m.Text != tc.text || m.ThreadTS != tc.thread || m.User != w.alice.ID {
				t.Errorf("posted %q in thread %q by %s, want %q in %q by %s", m.Text, m.ThreadTS, m.User, tc.text, tc.thread, w.alice.ID)
			}
		})
	}

	failures := []struct {
		name   string
		inject func()
		check  func(error) bool
	}{
		{"refused", func() { w.fake.FailNext("chat.postMessage", 1, "channel_not_found") }, func(err error) bool {
			se, ok := errors.AsType[slack.SlackErrorResponse](err)
			return ok && se.Err == "channel_not_found" && errors.Is(classify("chat.postMessage", err), bridge.ErrNotFound)
		}},
		{"rate limited", func() { w.fake.RateLimit("chat.postMessage", 1, 3*time.Second) }, func(err error) bool {
			rl, ok := errors.AsType[*slack.RateLimitedError](err)
			return ok && rl.RetryAfter == 3*time.Second
		}},
		{"Slack down", func() { w.fake.FailHTTP("chat.postMessage", 1, http.StatusServiceUnavailable) }, func(err error) bool {
			se, ok := errors.AsType[slack.StatusCodeError](err)
			return ok && se.Code == http.StatusServiceUnavailable && errors.Is(classify("chat.postMessage", err), bridge.ErrTemporary)
		}},
		{"bad request", func() { w.fake.FailHTTP("chat.postMessage", 1, http.StatusBadRequest) }, func(err error) bool {
			_, ok := errors.AsType[slack.StatusCodeError](err)
			return ok && !errors.Is(classify("chat.postMessage", err), bridge.ErrTemporary)
		}},
	}
	for _, tc := range failures {
		t.Run(tc.name, func(t *testing.T) {
			tc.inject()
			ts, err := sess.postMessage(ctx, w.aliceBob, "", "x", "")
			if ts != "" || !tc.check(err) {
				t.Errorf("got %q, %v (%T)", ts, err, err)
			}
		})
	}

	// A refused token is an authentication failure, as with slack-go.
	w.fake.FailNext("chat.postMessage", 1, "token_revoked")
	if _, err := sess.postMessage(ctx, w.aliceBob, "", "x", ""); !errors.Is(classify("chat.postMessage", err), bridge.ErrAuth) {
		t.Errorf("token_revoked: got %v, want ErrAuth", err)
	}
}
