package discord

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestWebhookUsername(t *testing.T) {
	long := strings.Repeat("é", 100)
	for _, tc := range []struct{ in, want string }{
		{"alice", "alice"},
		{"  bob  ", "bob"},
		{"", "someone"},
		{"Discord fan", "Disc\u200Bord fan"},
		{"my clyde and DISCORD", "my cly\u200Bde and DISC\u200BORD"},
		{long, strings.Repeat("é", 80)},
	} {
		got := webhookUsername(tc.in)
		if got != tc.want {
			t.Errorf("webhookUsername(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if n := utf8.RuneCountInString(got); n < 1 || n > 80 || strings.Contains(strings.ToLower(got), "discord") || strings.Contains(strings.ToLower(got), "clyde") {
			t.Errorf("webhookUsername(%q) = %q: Discord refuses it", tc.in, got)
		}
	}
}
