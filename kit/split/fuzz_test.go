package split

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/xgate-im/xgate/kit/styling"
)

// FuzzSplit checks the invariants of Split on any text, limit and
// mention: every part fits; the parts, without what Split added, are the
// text in order with only white space between them; a mention is never
// cut unless a cut had to be forced through one; a best-kind cut never
// falls inside a styling span.
func FuzzSplit(f *testing.F) {
	for _, s := range []struct {
		text     string
		max      uint8
		from, to uint8
	}{
		{"hello big world", 10, 0, 0},
		{"hi @Bob Builder, see *this bold text* and `code`", 12, 3, 15},
		{"> quoted text that goes on\n> and on", 9, 0, 0},
		{"```go\nfunc main() {\n\tprintln(1)\n}\n```\nafter", 14, 0, 0},
		{"> ```\n> x y z\n> w", 8, 0, 0},
		{"abcdefghijklmnop", 3, 2, 5},
		{"ééé ééé\n\n\n   x", 4, 0, 0},
		{"\xff\xfe abc \xff", 2, 0, 0},
	} {
		f.Add(s.text, s.max, s.from, s.to)
	}
	f.Fuzz(func(t *testing.T, text string, max uint8, from, to uint8) {
		n := int(max%64) + 1
		mentions := []Range{{int(from), int(to)}}
		parts := Split(text, n, mentions)
		total := utf8.RuneCountInString(text)
		valid := int(from) < int(to) && int(to) <= total
		if len(parts) == 0 {
			t.Fatal("no parts")
		}
		forced := false
		found := false
		at := 0
		for i, p := range parts {
			if r := utf8.RuneCountInString(p.Text); r > n && len(parts) > 1 {
				t.Fatalf("part %d has %d runes > %d: %q", i, r, n, p.Text)
			}
			if p.from < at || p.to < p.from || p.Text[p.head:len(p.Text)-p.tail] != text[p.from:p.to] {
				t.Fatalf("part %d %q is not text[%d:%d] of %q", i, p.Text, p.from, p.to, text)
			}
			if gap := text[at:p.from]; strings.TrimFunc(gap, styling.IsSpace) != "" {
				t.Fatalf("part %d: %q dropped between parts", i, gap)
			}
			at = p.to
			if p.level >= 4 {
				forced = true
			}
			if p.level == 1 {
				checkNotInSpan(t, text, p.to)
			}
			for _, m := range p.Mentions {
				found = true
				r := []rune(p.Text)
				want := string([]rune(text)[from:to])
				if m.Index != 0 || m.End > len(r) || string(r[m.Begin:m.End]) != want {
					t.Fatalf("mention %+v of part %q is not %q", m, p.Text, want)
				}
			}
		}
		if strings.TrimFunc(text[at:], styling.IsSpace) != "" {
			t.Fatalf("%q dropped at the end", text[at:])
		}
		if valid && !found && !forced && utf8.ValidString(text) {
			t.Fatalf("mention [%d,%d) of %q lost without a forced cut: %q", from, to, text, texts(parts))
		}
	})
}

// checkNotInSpan fails if the cut at p lies strictly inside a span.
func checkNotInSpan(t *testing.T, text string, p int) {
	t.Helper()
	for _, l := range styling.Parse(text).Lines {
		for _, s := range l.Spans {
			if s.Start < p && p < s.End {
				t.Fatalf("cut at %d inside span %+v of %q", p, s, text)
			}
		}
	}
}
