package discordfake_test

import (
	"encoding/json"
	"mime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/xgate-im/xgate/transports/discord/discordfake"
)

func FuzzParseEmoji(f *testing.F) {
	for _, s := range []string{"👍", "blobwave:112233445566778899", "thumbsup", ":x:", "a:", ":1", "#️⃣", "x:y", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		key, ok := discordfake.ParseEmoji(s)
		if !ok {
			return
		}
		if key != s {
			t.Fatalf("key %q for %q", key, s)
		}
		if name, id, custom := strings.Cut(s, ":"); custom {
			if name == "" {
				t.Fatalf("custom emoji without name accepted: %q", s)
			}
			if _, ok := discordfake.ParseSnowflake(id); !ok {
				t.Fatalf("custom emoji with bad id accepted: %q", s)
			}
		} else if !strings.ContainsFunc(s, func(r rune) bool { return r > 127 }) {
			t.Fatalf("ASCII name accepted as an emoji: %q", s)
		}
	})
}

func FuzzParseSnowflake(f *testing.F) {
	for _, s := range []string{"0", "112233445566778899", "18446744073709551615", "18446744073709551616", "-1", "+1", " 1", "1e3", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, ok := discordfake.ParseSnowflake(s)
		if !ok {
			return
		}
		if want, err := strconv.ParseUint(s, 10, 64); err != nil || want != n {
			t.Fatalf("%q → %d, strconv says %d, %v", s, n, want, err)
		}
	})
}

func FuzzMatchRoute(f *testing.F) {
	for _, s := range []string{"channels/1/messages", "channels/1/messages/2/reactions/%F0%9F%91%8D/@me",
		"users/@me", "users/%40me", "webhooks/1/tok", "guilds/1/members/2", "channels//messages", "a/b/c", ""} {
		f.Add("GET", s)
		f.Add("DELETE", s)
	}
	f.Fuzz(func(t *testing.T, method, path string) {
		name, params, seen := discordfake.MatchRoute(method, path)
		if name == "" {
			return
		}
		if seen {
			t.Fatal("a matched route also reports a method mismatch")
		}
		if !strings.HasPrefix(name, method+" /") {
			t.Fatalf("%s %s matched %s", method, path, name)
		}
		for k, v := range params {
			if v == "" || !strings.Contains(name, "{"+k+"}") {
				t.Fatalf("param %s=%q for %s", k, v, name)
			}
		}
	})
}

func FuzzParseMessageBody(f *testing.F) {
	f.Add("application/json", []byte(`{"content":"hi","embeds":null,"tts":false}`))
	f.Add("application/json", []byte(`{"content":5}`))
	f.Add("multipart/form-data; boundary=x", []byte("--x\r\nContent-Disposition: form-data; name=\"payload_json\"\r\n\r\n{\"content\":\"a\"}\r\n--x\r\nContent-Disposition: form-data; name=\"files[0]\"; filename=\"a.txt\"\r\n\r\nhello\r\n--x--\r\n"))
	f.Add("", []byte(``))
	f.Fuzz(func(t *testing.T, ctype string, body []byte) {
		content, files, err := discordfake.ParseMessageBody(ctype, body)
		if err != nil {
			return
		}
		if mt, _, _ := mime.ParseMediaType(ctype); mt == "multipart/form-data" {
			return
		}
		// A JSON body parses as encoding/json reads it, and has no files.
		var want struct {
			Content *string `json:"content"`
		}
		if len(strings.TrimSpace(string(body))) > 0 {
			if json.Unmarshal(body, &want) != nil {
				t.Fatalf("accepted %q, which is not JSON", body)
			}
		}
		if (want.Content == nil && content != "") || (want.Content != nil && *want.Content != content) || files != 0 {
			t.Fatalf("content %q, %d files from %q", content, files, body)
		}
	})
}

// TestSnowflakesIncrease checks IDs grow strictly even with a frozen clock,
// and encode the clock's time.
func TestSnowflakesIncrease(t *testing.T) {
	at := time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC)
	fake := discordfake.New(discordfake.WithClock(func() time.Time { return at }))
	defer fake.Close()
	var last uint64
	for i := range 5000 {
		u := fake.CreateUser(discordfake.UserSpec{Username: "u" + strconv.Itoa(i)})
		n, ok := discordfake.ParseSnowflake(u.ID)
		if !ok || n <= last {
			t.Fatalf("ID %s after %d", u.ID, last)
		}
		last = n
	}
	first, _ := discordfake.ParseSnowflake(fake.CreateUser(discordfake.UserSpec{Username: "x"}).ID)
	if ms := int64(first>>22) + 1420070400000; ms < at.UnixMilli() {
		t.Fatalf("snowflake time %d before the clock %d", ms, at.UnixMilli())
	}
}
