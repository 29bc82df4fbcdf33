package jid

import (
	"strings"
	"testing"
)

// escapeTests hold unescaped text and its escaped form. Escape must map the
// first to the second and Unescape the second back to the first.
var escapeTests = []struct{ raw, escaped string }{
	// XEP-0106 section 5.1, examples 1 to 8 and 12 (localparts only).
	{"space cadet", `space\20cadet`},
	{`call me "ishmael"`, `call\20me\20\22ishmael\22`},
	{"at&t guy", `at\26t\20guy`},
	{"d'artagnan", `d\27artagnan`},
	{"/.fanboy", `\2f.fanboy`},
	{"::foo::", `\3a\3afoo\3a\3a`},
	{"<foo>", `\3cfoo\3e`},
	{"user@host", `user\40host`},
	{`c:\5commas`, `c\3a\5c5commas`},
	// Examples 9 to 11: the XEP's table escapes every backslash, but only
	// one that starts an escape sequence needs it (business rule 7); the
	// table's forms unescape to the same text (see unescapeTests).
	{`c:\net`, `c\3a\net`},
	{`c:\\net`, `c\3a\\net`},
	{`c:\cool stuff`, `c\3a\cool\20stuff`},
	// Section 5.2 (email) and section 5.5 (IMPS).
	{"here's_a_wild_&_/cr%zy/_address", `here\27s_a_wild_\26_\2fcr%zy\2f_address`},
	{`here's_a_wild_&_/cr%zy/_address_for:<wv>("IMPS")`, `here\27s_a_wild_\26_\2fcr%zy\2f_address_for\3a\3cwv\3e(\22IMPS\22)`},
	{`\3and\2is\5cool`, `\5c3and\2is\5c5cool`},
	// Section 4.3: partial and undefined sequences are left alone.
	{`\2plus\2is\4`, `\2plus\2is\4`},
	{`foo\bar`, `foo\bar`},
	{`foob\41r`, `foob\41r`},
	// Every sequence, preceded by a backslash in the raw text.
	{`\20\22\26\27\2f\3a\3c\3e\40\5c`, `\5c20\5c22\5c26\5c27\5c2f\5c3a\5c3c\5c3e\5c40\5c5c`},
	// Uppercase forms are escaped too, because localparts are lowered.
	{`\2F\3A\5C`, `\5c2F\5c3A\5c5C`},
	{`\2g\5`, `\2g\5`},
	// Backslashes next to escaped characters and at the ends.
	{`\`, `\`},
	{`\\`, `\\`},
	{`\@`, `\\40`},
	{`@\`, `\40\`},
	{`\\20`, `\\5c20`},
	// Multi-byte UTF-8 before, between and after escapes.
	{"ñ@x", `ñ\40x`},
	{"alice@corp.example", `alice\40corp.example`},
	{"日本 語", `日本\20語`},
	{"ü\\40ü", `ü\5c40ü`},
	{"😀/😀", `😀\2f😀`},
	{"", ""},
	{"plain", "plain"},
}

func TestEscape(t *testing.T) {
	for _, tc := range escapeTests {
		if got := Escape(tc.raw); got != tc.escaped {
			t.Errorf("Escape(%q) = %q, want %q", tc.raw, got, tc.escaped)
		}
		if got := Unescape(tc.escaped); got != tc.raw {
			t.Errorf("Unescape(%q) = %q, want %q", tc.escaped, got, tc.raw)
		}
	}
}

func TestUnescape(t *testing.T) {
	tests := []struct{ in, want string }{
		// XEP-0106 section 5.1, examples 9 to 11, as the XEP escapes them.
		{`c\3a\5cnet`, `c:\net`},
		{`c\3a\5c\5cnet`, `c:\\net`},
		{`c\3a\5ccool\20stuff`, `c:\cool stuff`},
		// Section 3.3's unescaping example.
		{`tréville\40musketeers.lit`, "tréville@musketeers.lit"},
		// The brief's multi-byte prefixes.
		{`alice\40corp.example`, "alice@corp.example"},
		{`ñ\40x`, "ñ@x"},
		// Left to right: "\5c27" is "\27", never "'".
		{`\5c27`, `\27`},
		{`\5c5c20`, `\5c20`},
		// Case is significant (section 3.1).
		{`\2F\3A\5C\40`, `\2F\3A\5C@`},
		// Sequences cut short at the end.
		{`a\4`, `a\4`},
		{`a\`, `a\`},
		{`\2`, `\2`},
		{`ü\`, `ü\`},
		// Not a sequence: another character, a wrong digit.
		{`\41\21\2e`, `\41\21\2e`},
		// An escaped backslash before a sequence.
		{`\\40`, `\@`},
	}
	for _, tc := range tests {
		if got := Unescape(tc.in); got != tc.want {
			t.Errorf("Unescape(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestEscapeNoAllocWhenClean(t *testing.T) {
	for _, s := range []string{"juliet", "ñandú", `a\b`} {
		if n := testing.AllocsPerRun(100, func() { _ = Escape(s); _ = Unescape(s) }); n != 0 {
			t.Errorf("Escape/Unescape(%q) allocate %v times, want none", s, n)
		}
	}
}

// TestEscapeIntoJID walks the gateway use: escape a remote name, build a JID,
// and read the name back from the localpart.
func TestEscapeIntoJID(t *testing.T) {
	tests := []struct {
		remote   string
		local    string // the JID's localpart; "" means New fails
		readBack string // Unescape(local)
	}{
		{"d'artagnan", `d\27artagnan`, "d'artagnan"},
		{"alice@corp.example", `alice\40corp.example`, "alice@corp.example"},
		{"ñ@x", `ñ\40x`, "ñ@x"},
		{"@ñ", `\40ñ`, "@ñ"},
		{"c:/Program Files", `c\3a\2fprogram\20files`, "c:/program files"},
		{`\2F`, `\5c2f`, `\2f`},
		// Leading and trailing spaces escape, against XEP-0106's advice; the
		// caller has to trim them.
		{" x ", `\20x\20`, " x "},
		// The profile refuses or maps what Escape leaves alone.
		{"a\u3000b", "", ""},
		{"♚", "", ""},
		{"a＠b", "", ""},
		{"＼２ｆ", `\2f`, "/"},
	}
	for _, tc := range tests {
		j, err := New(Escape(tc.remote), "gw.example", "")
		if tc.local == "" {
			if err == nil {
				t.Errorf("New(Escape(%q)) = %v, want an error", tc.remote, j)
			}
			continue
		}
		if err != nil {
			t.Errorf("New(Escape(%q)): %v", tc.remote, err)
			continue
		}
		if j.Local() != tc.local || Unescape(j.Local()) != tc.readBack {
			t.Errorf("New(Escape(%q)).Local() = %q (unescaped %q), want %q (%q)",
				tc.remote, j.Local(), Unescape(j.Local()), tc.local, tc.readBack)
		}
	}
}

func TestEscapeRemovesForbidden(t *testing.T) {
	var all strings.Builder
	for c := range 0x80 {
		all.WriteByte(byte(c))
	}
	esc := Escape(all.String())
	if strings.ContainsAny(esc, ` "&'/:<>@`) {
		t.Errorf("Escape of all ASCII = %q still holds a character XEP-0106 escapes", esc)
	}
	if Unescape(esc) != all.String() {
		t.Errorf("Unescape(Escape(all ASCII)) differs")
	}
}
