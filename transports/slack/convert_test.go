package slack

import (
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/xgate-im/xgate/kit/styling"
)

// convTestDir is a Directory backed by maps; byName is the exact inverse of
// users so that mentions survive a round trip.
type convTestDir struct {
	users, channels map[string]string
}

func (d convTestDir) UserName(id string) (string, bool)    { n, ok := d.users[id]; return n, ok }
func (d convTestDir) ChannelName(id string) (string, bool) { n, ok := d.channels[id]; return n, ok }
func (d convTestDir) UserByName(name string) (string, bool) {
	for id, n := range d.users {
		if n == name {
			return id, true
		}
	}
	return "", false
}

var convDir = convTestDir{
	users: map[string]string{
		"U024BE7LH": "Bob Builder",
		"U2":        "Bob",
		"U1":        "Alice",
		"W123":      "Wendy O'Neil",
		"U3":        "Zoë",
	},
	channels: map[string]string{"C024BE7LR": "general"},
}

// mrkdwnLit is how StyledToMrkdwn writes a styling character Slack must not style.
func mrkdwnLit(ch string) string { return slackLiteral + ch + ">" }

func TestMrkdwnToStyled(t *testing.T) {
	tests := []struct {
		name, in, want string
		mentions       []Mention
	}{
		{"empty", "", "", nil},
		{"plain", "hello world", "hello world", nil},
		{"bold", "*bold*", "*bold*", nil},
		{"italic", "_italic_", "_italic_", nil},
		{"strike", "~strike~", "~strike~", nil},
		{"code span", "`code`", "`code`", nil},
		{"nested", "*_bold italic_* and ~*both*~", "*_bold italic_* and ~*both*~", nil},
		{"no boundary asterisks", "2*3*4", "2*3*4", nil},
		{"snake case", "snake_case_name", "snake_case_name", nil},
		{"unmatched", "*unmatched and _this", "*unmatched and _this", nil},
		{"entities", "a &amp; b &lt;c&gt;", "a & b <c>", nil},
		{"entity decoded once", "&amp;lt;", "&lt;", nil},
		{"other entity kept", "&quot;x&quot; & y", "&quot;x&quot; & y", nil},
		{"link with label", "see <https://example.com|Example>", "see Example (https://example.com)", nil},
		{"bare link", "<https://example.com>", "https://example.com", nil},
		{"label equals url", "<https://example.com|https://example.com>", "https://example.com", nil},
		{"mailto", "<mailto:a@b.org|a@b.org>", "a@b.org", nil},
		{"mailto other label", "<mailto:a@b.org|write us>", "write us (mailto:a@b.org)", nil},
		{"link entities", "<https://x.org/?a=1&amp;b=2|x &amp; y>", "x & y (https://x.org/?a=1&b=2)", nil},
		{"mention", "hi <@U024BE7LH>!", "hi @Bob Builder!", []Mention{{"U024BE7LH", 3, 15}}},
		{"unknown user", "<@U999>", "@U999", []Mention{{"U999", 0, 5}}},
		{"unknown user label", "<@U999|carol>", "@carol", []Mention{{"U999", 0, 6}}},
		{"directory beats label", "<@U024BE7LH|bob.old>", "@Bob Builder", []Mention{{"U024BE7LH", 0, 12}}},
		{"enterprise user", "<@W123>", "@Wendy O'Neil", []Mention{{"W123", 0, 13}}},
		{"channel label", "<#C024BE7LR|general>", "#general", nil},
		{"channel bare", "join <#C024BE7LR>", "join #general", nil},
		{"unknown channel", "<#C999>", "#C999", nil},
		{"unknown channel label", "<#C999|random>", "#random", nil},
		{"here", "<!here> look", "@here look", nil},
		{"channel and everyone", "<!channel> <!everyone|everyone>", "@channel @everyone", nil},
		{"subteam", "<!subteam^S123|@team>", "@team", nil},
		{"subteam no label", "<!subteam^S123>", "@S123", nil},
		{"date fallback", "<!date^1392734382^{date_num}|Feb 18, 2014>", "Feb 18, 2014", nil},
		{"date rendered", "<!date^1392734382^{date_num} {time_secs}>", "2014-02-18 14:39:42 UTC", nil},
		{"date with link", "<!date^1392734382^{date_short}^https://x.org>", "Feb 18, 2014", nil},
		{"unknown command", "<!foo>", "@foo", nil},
		{"emoji", ":smile: hi", "😄 hi", nil},
		{"plus one", "ok :+1:", "ok 👍", nil},
		{"skin tone", ":wave::skin-tone-3:", "👋🏼", nil},
		{"custom emoji", ":party_parrot: :smile:", ":party_parrot: 😄", nil},
		{"time is not emoji", "at 12:30:45", "at 12:30:45", nil},
		{"no emoji in code", "`:smile:` :smile:", "`:smile:` 😄", nil},
		{"quote", "&gt; quoted", "> quoted", nil},
		{"quote lines", "&gt; a\n&gt; b\nc", "> a\n> b\nc", nil},
		{"raw quote", "> raw", "> raw", nil},
		{"multi quote", "&gt;&gt;&gt; a\nb\n\nc", "> a\n> b\n> \n> c", nil},
		{"code block inline", "```code```", "```\ncode\n```", nil},
		{"code block lines", "```\nfunc() {}\n```", "```\nfunc() {}\n```", nil},
		{"code block keeps markup", "before ```*x* :smile: &lt;y&gt;``` after", "before\n```\n*x* :smile: <y>\n```\nafter", nil},
		{"code block multi", "```a\nb```", "```\na\nb\n```", nil},
		{"code block in quote", "&gt; ```code```", "> ```\n> code\n> ```", nil},
		{"quoted code lines", "&gt; ```\n&gt; x\n&gt; ```\nout", "> ```\n> x\n> ```\nout", nil},
		{"blank code block", "``` ``` x", "``` ``` x", nil},
		{"unclosed codeFence", "```unclosed", "```unclosed", nil},
		{"code keeps trailing blanks", "```a  \nb  ```  c", "```\na  \nb  \n```\nc", nil},
		{"code in multi quote", "&gt;&gt;&gt; x ```&gt; y\nz```", "> x\n> ```\n> > y\n> z\n> ```", nil},
		{"styled mentions", "*<@U1>* _<#C024BE7LR>_", "*@Alice* _#general_", []Mention{{"U1", 1, 7}}},
		{"unicode offsets", "héllo <@U1> 👋 <@U024BE7LH>", "héllo @Alice 👋 @Bob Builder", []Mention{{"U1", 6, 12}, {"U024BE7LH", 15, 27}}},
		{"mention in code", "`a &amp; <@U1>`", "`a & @Alice`", []Mention{{"U1", 5, 11}}},
		{"unterminated angle", "a <b", "a <b", nil},
		{"empty angle", "<>", "<>", nil},
		{"label with markup", "<https://x.org|*docs*>", "*docs* (https://x.org)", nil},
		{"zeroWidthSpace glue dropped", "*a*\u200bb", "*a*b", nil},
		{"other zeroWidthSpace kept", "x\u200by", "x\u200by", nil},
		{"date escape", "(<!date^00000000^{_}|*>b*)", "(*b*)", nil},
		{"blank lines", "a\n\n\nb", "a\n\n\nb", nil},
		{"cjk", "日本語 *太字*", "日本語 *太字*", nil},
		{"name with newline", "<@U999|a\nb>", "<@U999|a\nb>", nil},
		{"invalid utf-8", "<@\xf1\x8b>\x9a\xb9", "@\uFFFD\uFFFD", []Mention{{"\uFFFD", 0, 2}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, mentions := MrkdwnToStyled(tt.in, convDir)
			if got != tt.want {
				t.Errorf("MrkdwnToStyled(%q)\n got %q\nwant %q", tt.in, got, tt.want)
			}
			if !reflect.DeepEqual(mentions, tt.mentions) {
				t.Errorf("MrkdwnToStyled(%q) mentions = %v, want %v", tt.in, mentions, tt.mentions)
			}
			checkMentions(t, got, mentions)
		})
	}
}

func TestMrkdwnToStyledNilDirectory(t *testing.T) {
	got, mentions := MrkdwnToStyled("<@U1> in <#C1|dev> and <#C2>", nil)
	if want := "@U1 in #dev and #C2"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if want := []Mention{{"U1", 0, 3}}; !reflect.DeepEqual(mentions, want) {
		t.Errorf("mentions = %v, want %v", mentions, want)
	}
}

func TestStyledToMrkdwn(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"empty", "", ""},
		{"plain", "hello world", "hello world"},
		{"bold", "*bold*", "*bold*"},
		{"spans", "_em_ ~st~ `code`", "_em_ ~st~ `code`"},
		{"nested", "*_both_*", "*_both_*"},
		{"no boundary asterisks", "2*3*4", "2*3*4"},
		{"snake case", "snake_case_name", "snake_case_name"},
		{"escapes", "a < b && c > d", "a &lt; b &amp;&amp; c &gt; d"},
		{"entity text", "&amp; &lt;", "&amp;amp; &amp;lt;"},
		{"code escapes", "`a < b`", "`a &lt; b`"},
		{"code keeps markup", "`*not bold* @Alice`", "`*not bold* @Alice`"},
		{"glued closer", "*strong*plain", "*strong*\u200bplain"},
		{"emphasis then word", "_a_b_", "_a_\u200bb_"},
		{"punctuation before", "(*x*)", "(" + mrkdwnLit("*") + "x*)"},
		{"not strong", "*not strong", "*not strong"},
		{"not strong either", "not strong*", "not strong*"},
		{"inner literal", "*a *b*", "*a " + mrkdwnLit("*") + "b*"},
		{"directive after closer", "*a*_b_", "*a*" + mrkdwnLit("_") + "b_"},
		{"doubled", "** and ****", "** and ****"},
		{"across lines", "*a\nb*", "*a\nb*"},
		{"mention", "@Bob Builder hi", "<@U024BE7LH> hi"},
		{"longest mention", "@Bob Builder, and @Bob", "<@U024BE7LH>, and <@U2>"},
		{"shorter mention", "@Bob Builderx", "<@U2> Builderx"},
		{"no mention in mail", "mail bob@Alice.org", "mail bob@Alice.org"},
		{"mention apostrophe", "@Alice's", "<@U1>'s"},
		{"mention unicode", "hey @Zoë!", "hey <@U3>!"},
		{"unknown mention", "@Nobody", "@Nobody"},
		{"no mention in code", "`@Alice`", "`@Alice`"},
		{"mention in bold", "*@Alice*", "*<@U1>*"},
		{"quote", "> quote", "&gt; quote"},
		{"quote and nested", ">quote\n>> nested\nout", "&gt;quote\n&gt;&gt; nested\nout"},
		{"triple quote", ">>> deep", "&gt;&gt; &gt; deep"},
		{"pre block", "```\ncode *x* <y>\n```", "```\ncode *x* &lt;y&gt;\n```"},
		{"pre info dropped", "```go\nfmt.Println()\n```\nafter", "```\nfmt.Println()\n```\nafter"},
		{"pre unclosed", "```\nunclosed", "```\nunclosed\n```"},
		{"pre in quote", "> ```\n> code\n> ```\nafter", "&gt; ```\n&gt; code\n&gt; ```\nafter"},
		{"pre ends with quote", "> ```\n> code\nout", "&gt; ```\n&gt; code\n&gt; ```\nout"},
		{"codeFence mid line", "use ```x``` inline", "use ``\u200b`x``\u200b` inline"},
		{"codeFence in pre", "```\nhas ``` inside\n```", "```\nhas ``\u200b` inside\n```"},
		{"lone codeFence", "```", "``\u200b`"},
		{"empty pre", "```\n```", "```\n```"},
		{"emoji", "😀 :smile: héllo", "😀 :smile: héllo"},
		{"strike tilde pairs", "~~double~~", "~" + mrkdwnLit("~") + "double~~"},
		{"url kept", "see https://x.org/_a_/@Alice?q=1&r=<2> now", "see https://x.org/_a_/@Alice?q=1&amp;r=&lt;2&gt; now"},
		{"url in strong", "*https://x.org/~a~*", "*https://x.org/~a~*"},
		{"not a url", "thttp://x _a_", "thttp://x _a_"},
		{"punctuation quote", `"_quoted_"`, `"` + mrkdwnLit("_") + `quoted_"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := StyledToMrkdwn(tt.in, convDir)
			if got != tt.want {
				t.Errorf("StyledToMrkdwn(%q)\n got %q\nwant %q", tt.in, got, tt.want)
			}
			checkMrkdwn(t, got)
		})
	}
}

func TestStyledToMrkdwnNilDirectory(t *testing.T) {
	if got := StyledToMrkdwn("@Alice *hi*", nil); got != "@Alice *hi*" {
		t.Errorf("got %q", got)
	}
}

// TestRoundTrip checks that styled text survives a trip to Slack and back.
func TestRoundTrip(t *testing.T) {
	exact := []string{
		"", "hello", "*bold* _em_ ~st~ `code`", "*_both_*", "2*3*4", "snake_case_name",
		"a < b && c > d", "&amp; &lt;", "*strong*plain", "(*x*)", "*a *b*", "*a*_b_",
		"** and ****", "@Bob Builder, hi @Alice", "mail bob@Alice.org", "> quote\n>> nested\nout",
		"```\ncode *x* <y>\n```", "> ```\n> code\n> ```\nafter", "use ```x``` inline",
		"```\nhas ``` inside\n```", "```", "```\n```", "😀 héllo", "~~double~~", "_a_b_",
		"line\n\n\nline", "`a`b`c`", "*`mono and bold`*", "@Zoë: *yes*",
		"see https://x.org/_a_/@Alice?q=1&r=<2> now", `"_quoted_"`,
	}
	for _, in := range exact {
		mid := StyledToMrkdwn(in, convDir)
		back, _ := MrkdwnToStyled(mid, convDir)
		if back != in {
			t.Errorf("round trip of %q via %q gave %q", in, mid, back)
		}
	}
	// Documented normalizations.
	normalized := []struct{ in, want string }{
		{"```go\nx\n```", "```\nx\n```"},
		{"```\nunclosed", "```\nunclosed\n```"},
		{">>> deep", ">> > deep"},
		{":smile:", "😄"},
	}
	for _, tt := range normalized {
		mid := StyledToMrkdwn(tt.in, convDir)
		if back, _ := MrkdwnToStyled(mid, convDir); back != tt.want {
			t.Errorf("round trip of %q via %q gave %q, want %q", tt.in, mid, back, tt.want)
		}
	}
}

// TestRoundTripRandom builds random styled text from fragments and checks
// the round trip property.
func TestRoundTripRandom(t *testing.T) {
	frags := []string{
		"*", "_", "~", "`", "```", ">", "> ", "\n", " ", "a", "bc", "2", "(", ")", "&", "<", ">",
		"@Alice", "@Bob Builder", "@", "é", "👋", ".", ",", "\t", "https://x/",
	}
	r := rand.New(rand.NewPCG(1, 2))
	for n := 0; n < 20000; n++ {
		var b strings.Builder
		for k := r.IntN(12); k >= 0; k-- {
			b.WriteString(frags[r.IntN(len(frags))])
		}
		in := b.String()
		checkRoundTrip(t, in)
	}
}

// checkRoundTrip asserts the round trip property for in: exact unless in
// holds one of the documented normalizations.
func checkRoundTrip(t *testing.T, in string) {
	t.Helper()
	mid := StyledToMrkdwn(in, convDir)
	if !utf8.ValidString(mid) {
		t.Fatalf("StyledToMrkdwn(%q) = invalid UTF-8 %q", in, mid)
	}
	checkMrkdwn(t, mid)
	back, mentions := MrkdwnToStyled(mid, convDir)
	checkMentions(t, back, mentions)
	if roundTripNormalizes(in) {
		again, _ := MrkdwnToStyled(StyledToMrkdwn(back, convDir), convDir)
		if again != back {
			t.Errorf("round trip not stable: %q → %q → %q", in, back, again)
		}
		return
	}
	if back != in {
		t.Errorf("round trip of %q via %q gave %q", in, mid, back)
	}
}

// roundTripNormalizes reports inputs the round trip may change, as documented:
// preformatted blocks (info string, closing fence), lines starting ">>>",
// shortcodes, U+200B next to styling characters, invalid UTF-8.
func roundTripNormalizes(in string) bool {
	if !utf8.ValidString(in) || ReplaceShortcodes(in) != in {
		return true
	}
	for _, ln := range strings.Split(in, "\n") {
		// The quotation markers and the white space XEP-0393 trims after
		// them (any white space, \v included).
		trimmed := strings.TrimLeftFunc(ln, func(r rune) bool { return r == '>' || styling.IsSpace(r) })
		if strings.HasPrefix(trimmed, codeFence) || strings.HasPrefix(ln, ">>>") || strings.Contains(ln, ">>>") && strings.HasPrefix(ln, ">") {
			return true
		}
	}
	for i := strings.Index(in, zeroWidthSpace); i >= 0; {
		if i > 0 && isStyleMarker(in[i-1]) || i+3 < len(in) && isStyleMarker(in[i+3]) {
			return true
		}
		j := strings.Index(in[i+3:], zeroWidthSpace)
		if j < 0 {
			break
		}
		i += 3 + j
	}
	return strings.ContainsRune(in, '\r')
}

// checkMentions asserts that mentions lie inside out, in order, and point
// at "@" text.
func checkMentions(t *testing.T, out string, mentions []Mention) {
	t.Helper()
	runes := []rune(out)
	prev := 0
	for _, m := range mentions {
		if m.Begin < prev || m.End <= m.Begin || m.End > len(runes) {
			t.Fatalf("mention %v out of bounds or order in %q", m, out)
		}
		if runes[m.Begin] != '@' || m.UserID == "" {
			t.Fatalf("mention %v does not point at @ in %q", m, out)
		}
		prev = m.End
	}
}

// checkMrkdwn asserts that s has no raw < > & other than entities, user
// mentions and literal escapes.
func checkMrkdwn(t *testing.T, s string) {
	t.Helper()
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '&':
			rest := s[i:]
			if !strings.HasPrefix(rest, "&amp;") && !strings.HasPrefix(rest, "&lt;") && !strings.HasPrefix(rest, "&gt;") {
				t.Fatalf("raw & at %d in %q", i, s)
			}
		case '<':
			rest := s[i:]
			if strings.HasPrefix(rest, slackLiteral) && len(rest) > len(slackLiteral)+1 &&
				isStyleMarker(rest[len(slackLiteral)]) && rest[len(slackLiteral)+1] == '>' {
				i += len(slackLiteral) + 1
				continue
			}
			end := strings.IndexByte(rest, '>')
			if !strings.HasPrefix(rest, "<@") || end < 0 || !mentionIDOK(rest[2:end]) {
				t.Fatalf("raw < at %d in %q", i, s)
			}
			i += end
		case '>':
			t.Fatalf("raw > at %d in %q", i, s)
		}
	}
}

func FuzzMrkdwnToStyled(f *testing.F) {
	for _, s := range []string{
		"", "*bold* _it_ ~st~ `code`", "<@U024BE7LH> <#C024BE7LR|general> <!here>", "<https://x|y> &amp;",
		"&gt; q\n&gt;&gt;&gt; multi\nx", "a ```code``` b", "&gt; ```x\n&gt; y```", ":wave::skin-tone-3: :+1:",
		"<!date^1392734382^{date_num} {time}|x>", "<@U1|a\nb>", "``` ```", "*a*\u200bb", "<!date^00000000^{_}|*>",
		"héllo <@U1> 👋", "\xff<@U1>\xfe",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out, mentions := MrkdwnToStyled(in, convDir)
		if !utf8.ValidString(out) {
			t.Fatalf("invalid UTF-8 %q from %q", out, in)
		}
		checkMentions(t, out, mentions)
	})
}

func FuzzStyledToMrkdwn(f *testing.F) {
	for _, s := range []string{
		"", "*bold* _em_ ~st~ `code`", "(*x*) *a*b 2*3*4", "@Bob Builder, @Alice", "a < b && c > d",
		"> q\n>> n\n>>> t", "```go\ncode\n```", "> ```\n> x", "use ```x```", "~~d~~ ** ****", "@Zoë",
		"\xff*a*", "*`mono`*",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		checkRoundTrip(t, in)
	})
}

func BenchmarkMrkdwnToStyled(b *testing.B) {
	msg := "Hey <@U024BE7LH>, the *deploy* of <https://ci.example.com/builds/1234|build 1234> to " +
		"<#C024BE7LR|general> finished :tada: but _two_ tests failed: `TestLogin` and `TestLogout`. " +
		"&gt; see the log\nCan you check before <!date^1392734382^{date_short}|Feb 18>? :+1:\n" +
		"```go test ./... -run TestLogin```\nThanks &amp; sorry ~again~ <!here>"
	b.ReportAllocs()
	b.SetBytes(int64(len(msg)))
	for b.Loop() {
		MrkdwnToStyled(msg, convDir)
	}
}

func BenchmarkStyledToMrkdwn(b *testing.B) {
	msg := "Hey @Bob Builder, the *deploy* of https://ci.example.com/builds/1234 to #general " +
		"finished 🎉 but _two_ tests failed: `TestLogin` and `TestLogout`.\n> see the log\n" +
		"Can you check before Feb 18? 👍 snake_case_name and 2*3*4 stay.\n```\ngo test ./... -run TestLogin\n```\n" +
		"Thanks & sorry ~again~ (*really*) @Alice"
	b.ReportAllocs()
	b.SetBytes(int64(len(msg)))
	for b.Loop() {
		StyledToMrkdwn(msg, convDir)
	}
}

// TestLargeInputs guards against quadratic blow-ups on hostile input: each
// conversion of about 100 KB must stay far below a second even on a slow
// machine (the bound is loose on purpose; a quadratic path takes minutes).
func TestLargeInputs(t *testing.T) {
	const n = 100_000
	inputs := []string{
		strings.Repeat("<", n),
		"`" + strings.Repeat("<", n),
		strings.Repeat("`<", n/2),
		strings.Repeat(">", n/10) + " deep",
		strings.Repeat("> ", n/10) + "```",
		strings.Repeat("*a ", n/3),
		strings.Repeat("_", n),
		strings.Repeat("@Bob ", n/5),
		strings.Repeat(":", n),
		strings.Repeat(":smile", n/6),
		strings.Repeat("```", n/3),
		strings.Repeat("``` ", n/4),
		strings.Repeat("&", n),
		strings.Repeat("&gt;", n/4),
		strings.Repeat("a\n", n/2),
		strings.Repeat("\u200b*", n/4),
	}
	for _, in := range inputs {
		start := time.Now()
		MrkdwnToStyled(in, convDir)
		StyledToMrkdwn(in, convDir)
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("input %q… (%d bytes) took %v", in[:min(len(in), 12)], len(in), d)
		}
	}
}
