package split

import (
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// texts gives the texts of parts.
func texts(parts []Part) []string {
	out := make([]string, len(parts))
	for i, p := range parts {
		out[i] = p.Text
	}
	return out
}

func TestSplit(t *testing.T) {
	tests := []struct {
		name string
		in   string
		max  int
		want []string
	}{
		{"fits", "hello world", 11, []string{"hello world"}},
		{"no limit", "hello world", 0, []string{"hello world"}},
		{"words", "hello big world", 10, []string{"hello big", "world"}},
		{"white space dropped", "hello   world", 7, []string{"hello", "world"}},
		{"indentation kept", "a b\n  c d", 5, []string{"a b", "  c d"}},
		{"long word", "abcdefghij", 4, []string{"abcd", "efgh", "ij"}},
		{"long word after short", "a bcdefghij", 4, []string{"a", "bcde", "fghi", "j"}},
		{"runes not bytes", "ééé ééé", 3, []string{"ééé", "ééé"}},
		{"span kept whole", "aa *bb cc* dd", 8, []string{"aa", "*bb cc*", "dd"}},
		{"span longer than a part", "*aa bb cc*", 6, []string{"*aa*", "*bb*", "*cc*"}},
		{"nested spans reopened", "_x *aa bb*_", 9, []string{"_x *aa*_", "_*bb*_"}},
		{"code span reopened", "`a b c`", 5, []string{"`a b`", "`c`"}},
		{"span cut in a word", "*abcdefgh*", 5, []string{"*abc*", "*def*", "*gh*"}},
		{"no room to reopen", "*abcdefgh*", 2, []string{"*a", "bc", "de", "fg", "h*"}},
		{"code span kept", "x `a b` y", 6, []string{"x", "`a b`", "y"}},
		{"line end", "one two\nthree", 9, []string{"one two", "three"}},
		{"line end preferred", "aaaa bbbb\ncc dd ee", 14, []string{"aaaa bbbb", "cc dd ee"}},
		{"line end too early", "aa\nbbbb cccc dd", 14, []string{"aa\nbbbb cccc", "dd"}},
		{"quote continued", "> aaa bbb ccc", 9, []string{"> aaa bbb", "> ccc"}},
		{"quote lines", "> aaa\n> bbb", 6, []string{"> aaa", "> bbb"}},
		{"pre block at line ends", "```go\nl1 x\nl2 y\nl3 z\n```", 20, []string{"```go\nl1 x\nl2 y\n```", "```go\nl3 z\n```"}},
		{"pre block kept whole", "intro\n```\nab\n```\nend", 12, []string{"intro", "```\nab\n```", "end"}},
		{"pre line wrapped", "```\naaaa bbbb\n```", 13, []string{"```\naaaa\n```", "```\n bbbb\n```"}},
		{"pre line cut in a word", "```\nabcdefgh\n```", 10, []string{"```\nab\n```", "```\ncd\n```", "```\nef\n```", "```\ngh\n```"}},
		{"fences dropped when they do not fit", "```\nab\ncd\n```", 8, []string{"```\nab", "cd\n```"}},
		{"quoted pre", "> ```\n> a1\n> a2\n> ```", 16, []string{"> ```\n> a1\n> ```", "> ```\n> a2\n> ```"}},
		{"unclosed pre", "```\naa\nbb\ncc", 10, []string{"```\naa\n```", "```\nbb\ncc"}},
		{"trailing white space", "abc def   ", 4, []string{"abc", "def"}},
		{"tiny max", "> ab", 1, []string{">", "a", "b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := texts(Split(tt.in, tt.max, nil))
			if fmt.Sprintf("%q", got) != fmt.Sprintf("%q", tt.want) {
				t.Errorf("Split(%q, %d)\n got %q\nwant %q", tt.in, tt.max, got, tt.want)
			}
		})
	}
}

func TestSplitMentions(t *testing.T) {
	tests := []struct {
		name     string
		in       string
		max      int
		mentions []Range
		want     []string // each part, mentions in [brackets] with their index
	}{
		{"kept whole", "hi @Bob Builder ok", 12, []Range{{3, 15}}, []string{"hi", "[0@Bob Builder]", "ok"}},
		{"re-based", "aaaa @Al @Bo", 8, []Range{{5, 8}, {9, 12}}, []string{"aaaa [0@Al]", "[1@Bo]"}},
		{"fits, ordered", "@Al @Bo", 10, []Range{{4, 7}, {0, 3}}, []string{"[1@Al] [0@Bo]"}},
		{"invalid ignored", "ab cd", 2, []Range{{3, 2}, {-1, 1}, {4, 9}}, []string{"ab", "cd"}},
		{"longer than a part: cut and dropped", "@abcdef", 4, []Range{{0, 7}}, []string{"@abc", "def"}},
		{"quoted, after a reopened quote", "> xx @Al", 6, []Range{{5, 8}}, []string{"> xx", "> [0@Al]"}},
		// A cut at a code block's first line break leaves the break to a
		// mention that starts with it (found by FuzzSplit).
		{"line break held by a mention", "```000000000\n00000000", 15, []Range{{12, 17}}, []string{"```000000000", "[0\n0000]0000"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, p := range Split(tt.in, tt.max, tt.mentions) {
				got = append(got, markMentions(p))
			}
			if fmt.Sprintf("%q", got) != fmt.Sprintf("%q", tt.want) {
				t.Errorf("Split(%q, %d, %v)\n got %q\nwant %q", tt.in, tt.max, tt.mentions, got, tt.want)
			}
		})
	}
}

// markMentions brackets the mentions of a part, with their index.
func markMentions(p Part) string {
	r := []rune(p.Text)
	var b strings.Builder
	at := 0
	for _, m := range p.Mentions {
		b.WriteString(string(r[at:m.Begin]))
		fmt.Fprintf(&b, "[%d%s]", m.Index, string(r[m.Begin:m.End]))
		at = m.End
	}
	b.WriteString(string(r[at:]))
	return b.String()
}

// TestLargeInputs guards against quadratic paths: each split of about
// 100 KB must stay far below a second (the bound is loose on purpose; a
// quadratic path takes minutes).
func TestLargeInputs(t *testing.T) {
	const n = 100_000
	inputs := []struct {
		text     string
		mentions []Range
	}{
		{strings.Repeat("word ", n/5), nil},
		{strings.Repeat("x", n), nil},
		{"*" + strings.Repeat("a ", n/2) + "*", nil},
		{"*" + strings.Repeat("_a b_ ", n/6) + "*", nil},
		{strings.Repeat("*a* ", n/4), nil},
		{"```\n" + strings.Repeat("code line\n", n/10) + "```", nil},
		{"```\n" + strings.Repeat("x", n) + "\n```", nil},
		{strings.Repeat("> ", n/2) + "deep", nil},
		{strings.Repeat("@a ", n/3), func() []Range {
			var r []Range
			for i := 0; i < n/3; i += 3 {
				r = append(r, Range{i, i + 2})
			}
			return r
		}()},
		{strings.Repeat("y", n), []Range{{0, n}}},
	}
	for _, in := range inputs {
		for _, max := range []int{7, 100, 4000} {
			start := time.Now()
			parts := Split(in.text, max, in.mentions)
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("%q… (%d bytes) at %d: %v for %d parts", in.text[:12], len(in.text), max, d, len(parts))
			}
		}
	}
}

// BenchmarkSplit splits a 12 KB styled message with a quote, a code block
// and mentions into parts of 1,000 runes; ns/op is the cost of one Split.
func BenchmarkSplit(b *testing.B) {
	para := "Hey @Bob Builder, the *deploy* of build 1234 finished but _two_ tests failed: `TestLogin` and `TestLogout`.\n"
	msg := strings.Repeat(para, 40) + "> see the log\n> of the run\n```\n" + strings.Repeat("go test ./... -run TestLogin\n", 100) + "```\n" + strings.Repeat(para, 40)
	var mentions []Range
	for i := 0; i < 80; i++ {
		at := i*utf8.RuneCountInString(para) + 4
		if i >= 40 {
			at += utf8.RuneCountInString(msg) - 80*utf8.RuneCountInString(para)
		}
		mentions = append(mentions, Range{at, at + 12})
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(msg)))
	for b.Loop() {
		Split(msg, 1000, mentions)
	}
}
