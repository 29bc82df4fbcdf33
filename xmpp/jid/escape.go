package jid

import "strings"

// XEP-0106 maps ten characters to a backslash and two lowercase hex digits:
// the nine characters that a localpart cannot hold and the backslash itself.
// Case is significant (XEP-0106 section 3.1): only the lowercase forms below
// are escape sequences.

// escapeOf returns the two hex digits that follow the backslash in the escape
// sequence of c, or "" if c is not escaped on its own.
func escapeOf(c byte) string {
	switch c {
	case ' ':
		return "20"
	case '"':
		return "22"
	case '&':
		return "26"
	case '\'':
		return "27"
	case '/':
		return "2f"
	case ':':
		return "3a"
	case '<':
		return "3c"
	case '>':
		return "3e"
	case '@':
		return "40"
	}
	return ""
}

// unescapeOf returns the character that the escape sequence `\` hi lo
// stands for, and whether hi and lo (lowercase hex digits) name one.
func unescapeOf(hi, lo byte) (byte, bool) {
	switch {
	case hi == '2' && lo == '0':
		return ' ', true
	case hi == '2' && lo == '2':
		return '"', true
	case hi == '2' && lo == '6':
		return '&', true
	case hi == '2' && lo == '7':
		return '\'', true
	case hi == '2' && lo == 'f':
		return '/', true
	case hi == '3' && lo == 'a':
		return ':', true
	case hi == '3' && lo == 'c':
		return '<', true
	case hi == '3' && lo == 'e':
		return '>', true
	case hi == '4' && lo == '0':
		return '@', true
	case hi == '5' && lo == 'c':
		return '\\', true
	}
	return 0, false
}

// startsEscapeAnyCase reports whether s[i] is a backslash followed by the two
// hex digits of one of the ten escape sequences, in either letter case.
func startsEscapeAnyCase(s string, i int) bool {
	if s[i] != '\\' || i+2 >= len(s) {
		return false
	}
	_, ok := unescapeOf(lowerASCII(s[i+1]), lowerASCII(s[i+2]))
	return ok
}

// lowerASCII maps an ASCII uppercase letter to lowercase and returns any
// other byte unchanged.
func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + ('a' - 'A')
	}
	return c
}

// Escape applies XEP-0106 escaping to s, an address in some other network
// meant to become a localpart. It replaces each of the nine characters
// space " & ' / : < > @ by its escape sequence (\20 \22 \26 \27 \2f \3a \3c
// \3e \40), and replaces by \5c each backslash that starts one of the ten
// escape sequences (business rule 7 of section 4.1: "\27" becomes "\5c27",
// "\5c" becomes "\5c5c"). Other backslashes are left alone, as are all other
// characters. It works on bytes, so any string, valid UTF-8 or not, comes
// back from Unescape unchanged: Unescape(Escape(s)) == s.
//
// Because localparts are case-mapped, a backslash followed by an uppercase
// form such as "\2F" is escaped too ("\5c2F"): otherwise Parse would lower it
// to "\2f", which Unescape would read as "/". The result still unescapes to s
// everywhere, since "\5c" is a defined sequence.
//
// Escape does not make every string a valid localpart, and enforcement can
// change what it returns. XEP-0106 forbids an escaped localpart to begin or
// end with "\20"; Escape keeps the round trip exact instead, so callers that
// build JIDs from remote names should trim leading and trailing spaces first
// (or reject them). Characters outside XEP-0106's set that the
// UsernameCaseMapped profile refuses (other spaces, control characters,
// symbols such as "♚") are not escaped, and New and Parse reject them.
// Characters the profile maps are not escaped either: uppercase letters are
// lowered, and fullwidth forms become ASCII, so "＠" turns into a forbidden
// "@" (rejected) and "＼２ｆ" into "\2f" (accepted, and read back by Unescape as
// "/"). A caller that needs an exact, reversible mapping from a remote name
// to a JID must therefore check, after New, that Unescape(j.Local()) equals
// the name it started from.
func Escape(s string) string {
	n := 0
	for i := 0; i < len(s); i++ {
		if escapeOf(s[i]) != "" || startsEscapeAnyCase(s, i) {
			n++
		}
	}
	if n == 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 2*n)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case escapeOf(c) != "":
			b.WriteByte('\\')
			b.WriteString(escapeOf(c))
		case startsEscapeAnyCase(s, i):
			b.WriteString(`\5c`)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// Unescape reverses XEP-0106 escaping, typically of a JID's Local(), for
// display or for addressing another network. It replaces each of the ten
// escape sequences \20 \22 \26 \27 \2f \3a \3c \3e \40 \5c (lowercase hex
// only, as XEP-0106 makes case significant) by its character, scanning left
// to right so that "\5c27" yields "\27". Everything else, including partial
// sequences and sequences for other characters ("\2plus", "foob\41r",
// "\2F"), is left untouched (XEP-0106 section 4.3). It works on bytes, and a
// backslash never occurs inside a multi-byte UTF-8 sequence, so characters
// before, between and after escapes are preserved whatever their encoding.
func Unescape(s string) string {
	i := indexEscape(s)
	if i < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i >= 0 {
		b.WriteString(s[:i])
		u, _ := unescapeOf(s[i+1], s[i+2])
		b.WriteByte(u)
		s = s[i+3:]
		i = indexEscape(s)
	}
	b.WriteString(s)
	return b.String()
}

// indexEscape returns the index of the first of the ten escape sequences
// (lowercase) in s, or -1.
func indexEscape(s string) int {
	for i := 0; ; {
		k := strings.IndexByte(s[i:], '\\')
		if k < 0 {
			return -1
		}
		i += k
		if i+2 >= len(s) {
			return -1
		}
		if _, ok := unescapeOf(s[i+1], s[i+2]); ok {
			return i
		}
		i++
	}
}
