package discord

import (
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/xgate-im/xgate/bridge"
)

func TestToDiscord(t *testing.T) {
	tests := []struct{ in, want string }{
		{"hello", "hello"},
		{"*bold* and _it_ and ~gone~", "**bold** and _it_ and ~~gone~~"},
		{"`a*b*c`", "`a*b*c`"},
		{"2*3*4 is not styled", `2\*3\*4 is not styled`},
		{"snake_case_name", `snake\_case\_name`},
		{"a || b", `a \|\| b`},
		{"# not a heading", `\# not a heading`},
		{"- not a list", `\- not a list`},
		{"> quoted *bold*", "> quoted **bold**"},
		{"```\ncode *x*\n```", "```\ncode *x*\n```"},
		{"```go\nfmt.Println()", "```go\nfmt.Println()\n```"},
		{"<@123> stays text", `\<@123> stays text`},
		{"hi @Bob Builder", "hi @Bob Builder"}, // a name is no mention: nobody is notified
		{"two\nlines", "two\nlines"},
		{"*_both_*", "**_both_**"},
	}
	for _, tc := range tests {
		if got := ToDiscord(tc.in); got != tc.want {
			t.Errorf("ToDiscord(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestFromDiscord(t *testing.T) {
	names := Names{
		User:    func(id string) string { return map[string]string{"1": "Bob Builder", "2": "Zoë"}[id] },
		Channel: func(id string) string { return map[string]string{"9": "general"}[id] },
		Role:    func(id string) string { return map[string]string{"7": "mods"}[id] },
	}
	tests := []struct {
		in, want string
		mentions []bridge.Mention
	}{
		{"hello", "hello", nil},
		{"**bold** *it* _it_ __under__ ~~gone~~", "*bold* _it_ _it_ _under_ ~gone~", nil},
		{"***both***", "*_both_*", nil},
		{"`**code**`", "`**code**`", nil},
		{`not \*styled\*`, "not *styled*", nil},
		{"hi <@1>!", "hi @Bob Builder!", []bridge.Mention{{User: "1", Begin: 3, End: 15}}},
		{"<@!2> <@2>", "@Zoë @Zoë", []bridge.Mention{{User: "2", Begin: 0, End: 4}, {User: "2", Begin: 5, End: 9}}},
		{"<@3>", "@3", []bridge.Mention{{User: "3", Begin: 0, End: 2}}},
		{"see <#9> and <#8>", "see #general and #8", nil},
		{"<@&7> <@&8>", "@mods @role", nil},
		{"nice <:pog:123> <a:dance:456>", "nice :pog: :dance:", nil},
		{"at <t:1700000000:t>, <t:1700000000:D>, <t:1700000000> and <t:1700000000:R>",
			"at 22:13 UTC, 2023-11-14, 2023-11-14 22:13 UTC and 2023-11-14 22:13 UTC", nil},
		{"```go\nfmt.Println()\n```", "```go\nfmt.Println()\n```\n", nil},
		{"look: ```x := 1```", "look: \n```\nx := 1\n```\n", nil},
		{"unclosed ```fence", "unclosed ```fence", nil},
		{"||spoiler||", "||spoiler||", nil},
		{"a * b * c", "a * b * c", nil},
		{"<@abc> <t:x>", "<@abc> <t:x>", nil},
	}
	for _, tc := range tests {
		got, ms := FromDiscord(tc.in, names)
		if got != tc.want || !slices.Equal(ms, tc.mentions) {
			t.Errorf("FromDiscord(%q) = %q %+v, want %q %+v", tc.in, got, ms, tc.want, tc.mentions)
		}
	}
}

func TestToDiscordParts(t *testing.T) {
	long := strings.Repeat("word ", 900) // 4,500 characters
	parts := toDiscordParts(long, "", maxMessageRunes)
	if len(parts) != 3 {
		t.Fatalf("%d parts, want 3", len(parts))
	}
	var joined []string
	for _, p := range parts {
		if n := utf8.RuneCountInString(p); n > maxMessageRunes {
			t.Errorf("part of %d runes", n)
		}
		joined = append(joined, strings.Fields(p)...)
	}
	if len(joined) != 900 {
		t.Errorf("%d words after splitting, want 900", len(joined))
	}
	// Markup that conversion lengthens, and a signature, still fit.
	styled := strings.Repeat("*a* ", 1000)
	for _, p := range toDiscordParts(styled, "**Alice:** ", maxMessageRunes) {
		if n := utf8.RuneCountInString(p); n > maxMessageRunes || !strings.HasPrefix(p, "**Alice:** ") {
			t.Errorf("part of %d runes: %.40q", n, p)
		}
	}
	// Escapes: every "_" becomes "\_".
	for _, p := range toDiscordParts(strings.Repeat("_", 3000), "", maxMessageRunes) {
		if n := utf8.RuneCountInString(p); n > maxMessageRunes {
			t.Errorf("part of %d runes", n)
		}
	}
	if got := toDiscordParts("short", "", maxMessageRunes); !slices.Equal(got, []string{"short"}) {
		t.Errorf("short text: %q", got)
	}
}

func FuzzFromDiscord(f *testing.F) {
	for _, s := range []string{"**a** <@1> <#2> <:x:3> <t:5:R>", "```go\nx\n```", `\*`, "__a__~~b~~||c||", "<@!", "***", "`"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out, ms := FromDiscord(in, Names{User: func(string) string { return "Ñame" }})
		n := utf8.RuneCountInString(out)
		last := 0
		for _, m := range ms {
			if m.Begin < last || m.End <= m.Begin || m.End > n {
				t.Fatalf("mention %+v out of %d runes of %q", m, n, out)
			}
			if !strings.HasPrefix(string([]rune(out)[m.Begin:m.End]), "@") {
				t.Fatalf("mention %+v does not cover an @name in %q", m, out)
			}
			last = m.End
		}
	})
}

func FuzzToDiscord(f *testing.F) {
	for _, s := range []string{"*a* _b_ ~c~ `d`", "> q\n```\nx\n```", "# h", "a||b", strings.Repeat("*x* ", 600)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		if !utf8.ValidString(in) {
			return
		}
		for _, p := range toDiscordParts(in, "", maxMessageRunes) {
			if n := utf8.RuneCountInString(p); n > maxMessageRunes {
				t.Fatalf("part of %d runes", n)
			}
		}
	})
}
