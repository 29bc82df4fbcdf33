package slack

import (
	"os"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestEmojiToUnicode(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"smile", "😄", true},
		{"+1", "👍", true},
		{"thumbsup", "👍", true},
		{"-1", "👎", true},
		{"wave::skin-tone-3", "👋🏼", true},
		{"+1::skin-tone-6", "👍🏿", true},
		{"skin-tone-2", "🏻", true},
		{"SMILE", "😄", true},
		{"smile::skin-tone-3", "😄", true}, // no skin tones: the tone is ignored
		{"heart", "❤\uFE0F", true},
		{"us", "🇺🇸", true},
		{"flag-us", "🇺🇸", true},
		{"man-woman-boy", "👨\u200d👩\u200d👦", true},
		{"handshake::skin-tone-2-3", "🫱🏻\u200d🫲🏼", true},
		{"party_parrot", "", false},
		{"", "", false},
		{":smile:", "", false},
		{"wave::skin-tone-9", "👋", true},
	}
	for _, tt := range tests {
		got, ok := EmojiToUnicode(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("EmojiToUnicode(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestUnicodeToEmoji(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"😄", "smile", true},
		{"👍", "+1", true},
		{"👍🏼", "+1::skin-tone-3", true},
		{"❤\uFE0F", "heart", true},
		{"❤", "heart", true},
		{"☺", "relaxed", true},
		{"☺\uFE0F", "relaxed", true},
		{"🇺🇸", "us", true},
		{"🫱🏻\u200d🫲🏼", "handshake::skin-tone-2-3", true},
		{"👨\u200d👩\u200d👦", "man-woman-boy", true},
		{"x", "", false},
		{"", "", false},
		{"😄😄", "", false},
		{"\uFE0F", "", false},
	}
	for _, tt := range tests {
		got, ok := UnicodeToEmoji(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("UnicodeToEmoji(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestReactions(t *testing.T) {
	names := []struct {
		in, want string
		ok       bool
	}{
		{"👍", "+1", true},
		{"👋🏽", "wave::skin-tone-4", true},
		{":party-parrot:", "party-parrot", true},
		{":wave::skin-tone-2:", "wave::skin-tone-2", true},
		{"hello", "", false},
		{"::", "", false},
		{":a b:", "", false},
		{":<script>:", "", false},
		{"", "", false},
	}
	for _, tt := range names {
		got, ok := ReactionName(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("ReactionName(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
	unicode := []struct{ in, want string }{
		{"+1", "👍"},
		{"thumbsup", "👍"},
		{"wave::skin-tone-2", "👋🏻"},
		{"party-parrot", ":party-parrot:"},
	}
	for _, tt := range unicode {
		if got := ReactionUnicode(tt.in); got != tt.want {
			t.Errorf("ReactionUnicode(%q) = %q, want %q", tt.in, got, tt.want)
		}
		// Both directions agree on the primary name.
		if name, ok := ReactionName(ReactionUnicode(tt.in)); !ok || ReactionUnicode(name) != tt.want {
			t.Errorf("ReactionName(ReactionUnicode(%q)) = %q, %v", tt.in, name, ok)
		}
	}
}

func TestReplaceShortcodes(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"no colons", "no colons"},
		{":smile:", "😄"},
		{"a :smile: b :+1:", "a 😄 b 👍"},
		{":wave::skin-tone-3:", "👋🏼"},
		{":wave::skin-tone-9:", "👋:skin-tone-9:"},
		{":smile::smile:", "😄😄"},
		{":unknown:smile:", ":unknown😄"},
		{":custom_emoji:", ":custom_emoji:"},
		{"12:30:45", "12:30:45"},
		{"::", "::"},
		{":", ":"},
		{"ends with :smile", "ends with :smile"},
		{":SMILE:", ":SMILE:"},
		{"x:smile:y", "x😄y"},
		{":" + strings.Repeat("a", 100) + ":", ":" + strings.Repeat("a", 100) + ":"},
	}
	for _, tt := range tests {
		if got := ReplaceShortcodes(tt.in); got != tt.want {
			t.Errorf("ReplaceShortcodes(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestEmojiTables checks that the generated tables agree with each other.
func TestEmojiTables(t *testing.T) {
	if len(emojiByName) < 3000 || len(emojiByUnicode) < 3000 {
		t.Fatalf("tables too small: %d names, %d sequences", len(emojiByName), len(emojiByUnicode))
	}
	for name, uni := range emojiByName {
		primary, ok := UnicodeToEmoji(uni)
		if !ok {
			t.Errorf("%s → %q has no name back", name, uni)
			continue
		}
		if back, _ := EmojiToUnicode(primary); back != uni {
			t.Errorf("%s → %q → %s → %q", name, uni, primary, back)
		}
	}
	for uni, name := range emojiByUnicode {
		back, ok := EmojiToUnicode(name)
		if !ok || strings.ReplaceAll(back, variationSelector16, "") != strings.ReplaceAll(uni, variationSelector16, "") {
			t.Errorf("%q → %s → %q", uni, name, back)
		}
	}
}

// TestEmojiDataHeader checks the generated file's marker and source note.
func TestEmojiDataHeader(t *testing.T) {
	src, err := os.ReadFile("emoji_data.go")
	if err != nil {
		t.Fatal(err)
	}
	first, _, _ := strings.Cut(string(src), "\n")
	if !regexp.MustCompile(`^// Code generated .* DO NOT EDIT\.$`).MatchString(first) {
		t.Errorf("first line %q is not a generated-code marker", first)
	}
	if !strings.Contains(string(src), "emoji-datasource@"+emojiDataVersion) {
		t.Errorf("emoji_data.go does not name its source version %s", emojiDataVersion)
	}
}

func FuzzEmoji(f *testing.F) {
	for _, s := range []string{"smile", ":smile:", "👍🏼", ":wave::skin-tone-3:", "❤", "x:+1:y", "::::", "\xff:smile:"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := ReplaceShortcodes(s)
		if utf8.ValidString(s) && !utf8.ValidString(out) {
			t.Fatalf("ReplaceShortcodes(%q) = invalid %q", s, out)
		}
		if !strings.Contains(s, ":") && out != s {
			t.Fatalf("ReplaceShortcodes(%q) = %q without a colon", s, out)
		}
		if name, ok := UnicodeToEmoji(s); ok {
			uni, ok := EmojiToUnicode(name)
			if !ok {
				t.Fatalf("UnicodeToEmoji(%q) = %q, unknown to EmojiToUnicode", s, name)
			}
			if again, _ := UnicodeToEmoji(uni); again != name {
				t.Fatalf("%q → %q → %q → %q", s, name, uni, again)
			}
		}
		if uni, ok := EmojiToUnicode(s); ok {
			if _, ok := UnicodeToEmoji(uni); !ok {
				t.Fatalf("EmojiToUnicode(%q) = %q, unknown to UnicodeToEmoji", s, uni)
			}
		}
		if name, ok := ReactionName(s); ok {
			if name == "" || strings.ContainsAny(name, " <>&|") {
				t.Fatalf("ReactionName(%q) = %q", s, name)
			}
			if got := ReactionUnicode(name); got != s && !strings.HasPrefix(got, ":") {
				if back, _ := ReactionName(got); back != name {
					t.Fatalf("ReactionName(%q) = %q, ReactionUnicode → %q → %q", s, name, got, back)
				}
			}
		}
	})
}
