package slack

import (
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/xgate-im/xgate/kit/styling"
)

// Slack mrkdwn → XEP-0393 message styling.
//
// Both syntaxes mark *strong*, _emphasis_, ~strike~ and `code` with the same
// characters at word boundaries, so styling characters are copied unchanged
// and an XMPP client styles what Slack styled. What differs is rewritten:
//
//   - entities &amp; &lt; &gt; are decoded;
//   - <…> tokens become text: users "@Name" (reported as a Mention), channels
//     "#name", "@here"/"@channel"/"@everyone", user groups by their label,
//     dates by their fallback text, links "label (url)" or the bare url;
//   - emoji shortcodes become Unicode (not inside code);
//   - ```code blocks```, which Slack opens and closes anywhere, are put on
//     lines of their own as XEP-0393 requires;
//   - a ">>>" line quotes every following line ("> " on each);
//   - U+200B next to a styling character is dropped: Slack clients use it
//     to force styling inside words, and StyledToMrkdwn adds it for that.
//
// Known gaps, since XEP-0393 has no escapes: markers Slack leaves alone but
// XEP-0393 styles ("*a*b") stay styled, markers glued to punctuation that
// Slack styles ("(*a*)") stay plain, and a line that starts with an unclosed
// "```" opens a preformatted block.

// Directory resolves Slack IDs and names for the converters. The converters
// only call it; it must be safe for concurrent use if they are.
type Directory interface {
	// UserName returns the display name for a user ID (U… or W…).
	UserName(id string) (name string, ok bool)
	// ChannelName returns the name, without "#", of a channel ID.
	ChannelName(id string) (name string, ok bool)
	// UserByName returns the user ID whose display name is exactly name.
	UserByName(name string) (id string, ok bool)
}

// Mention is a user mention in converted text, for an XEP-0372 reference:
// the text from Begin to End (half-open, counted in Unicode code points as
// XEP-0372 counts) is "@" followed by the user's name.
type Mention struct {
	UserID     string // Slack user ID, U… or W…
	Begin, End int
}

const (
	zeroWidthSpace = "\u200B" // zero-width space, Slack's styling glue
	codeFence      = "```"
	styledQuote    = "> " // quote prefix of lines the converter creates
)

// MrkdwnToStyled converts the text of a Slack message to XEP-0393 styled
// text (see the rules at the top of this file) and returns the user mentions
// in it. Invalid UTF-8 becomes U+FFFD. dir may be nil: IDs then stand for
// names.
func MrkdwnToStyled(text string, dir Directory) (out string, mentions []Mention) {
	text = toValidUTF8(text)
	c := &toStyled{dir: dir, src: text, skipFence: -1}
	c.out = make([]byte, 0, len(text)+len(text)/8)
	i := c.startLine(0)
	for i < len(text) {
		switch ch := text[i]; {
		case ch == '\n':
			c.raw("\n")
			i = c.startLine(i + 1)
		case ch == '`' && strings.HasPrefix(text[i:], codeFence):
			if end, ok := c.codeBlock(i); ok {
				i = end
				continue
			}
			c.raw(codeFence)
			i += len(codeFence)
		case ch == '`':
			i = c.codeSpan(i)
		default:
			i = c.step(i, true)
		}
	}
	return string(c.out), c.mentions
}

// toStyled is the state of one MrkdwnToStyled conversion.
type toStyled struct {
	dir      Directory
	src      string
	out      []byte
	n        int // code points in out
	mentions []Mention
	quote    bool // the current line is quoted
	multi    bool // a ">>>" quotes everything to the end
	lineAt   int  // len(out) just after the current line's quote marker
	noFence  bool // no closing fence is left in src
	// skipFence is the index of a closing fence to copy as text: its block
	// held only white space.
	skipFence int
	// No token end or closing backtick is found from before these indexes.
	noTokenBefore, noTickBefore int
}

func (c *toStyled) raw(s string) {
	c.out = append(c.out, s...)
	c.n += utf8.RuneCountInString(s)
}

// startLine handles the quote marker at the start of the line at src[i].
func (c *toStyled) startLine(i int) int {
	rest := c.src[i:]
	c.quote = c.multi
	switch {
	case c.multi:
		c.raw(styledQuote)
	case strings.HasPrefix(rest, "&gt;&gt;&gt;"), strings.HasPrefix(rest, ">>>"):
		c.multi, c.quote = true, true
		i += len(">>>")
		if rest[0] == '&' {
			i += len("&gt;&gt;&gt;") - len(">>>")
		}
		if strings.HasPrefix(c.src[i:], " ") {
			i++
		}
		c.raw(styledQuote)
	case strings.HasPrefix(rest, "&gt;"):
		c.quote = true
		c.raw(">")
		i += len("&gt;")
	case strings.HasPrefix(rest, ">"):
		c.quote = true
		c.raw(">")
		i++
	}
	c.lineAt = len(c.out)
	return i
}

// step converts one piece of text at src[i] that holds no newline or
// backtick and returns the index after it.
func (c *toStyled) step(i int, emoji bool) int {
	s := c.src
	switch s[i] {
	case '<':
		return c.angle(i)
	case '&':
		for _, e := range [...]struct{ ent, ch string }{{"&amp;", "&"}, {"&lt;", "<"}, {"&gt;", ">"}} {
			if strings.HasPrefix(s[i:], e.ent) {
				c.raw(e.ch)
				return i + len(e.ent)
			}
		}
		c.raw("&")
		return i + 1
	case ':':
		if emoji {
			if u, end, ok := matchShortcode(s, i); ok {
				c.raw(u)
				return end
			}
		}
		c.raw(":")
		return i + 1
	}
	if strings.HasPrefix(s[i:], zeroWidthSpace) {
		if (i > 0 && isStyleMarker(s[i-1])) || (i+len(zeroWidthSpace) < len(s) && isStyleMarker(s[i+len(zeroWidthSpace)])) {
			return i + len(zeroWidthSpace)
		}
		c.raw(zeroWidthSpace)
		return i + len(zeroWidthSpace)
	}
	// Copy up to the next byte that may need work.
	j := i + 1
	for j < len(s) && !isStyledSpecial(s[j]) {
		j++
	}
	c.raw(s[i:j])
	return j
}

// isStyledSpecial reports the bytes step must look at: the first byte of
// U+200B is 0xE2.
func isStyledSpecial(b byte) bool {
	switch b {
	case '\n', '`', '<', '&', ':', 0xE2:
		return true
	}
	return false
}

func isStyleMarker(b byte) bool { return styling.IsDirective(b) }

// codeSpan converts `code` at src[i]: entities and tokens, no emoji.
func (c *toStyled) codeSpan(i int) int {
	s := c.src
	c.raw("`")
	if i < c.noTickBefore {
		return i + 1
	}
	end := -1 // the closing backtick; <…> tokens are skipped whole
	j := i + 1
	for ; j < len(s) && s[j] != '\n'; j++ {
		if s[j] == '`' {
			end = j
			break
		}
		if s[j] == '<' {
			if k := c.tokenEnd(j); k >= 0 {
				j = k
			}
		}
	}
	if end < 0 {
		c.noTickBefore = j
	}
	if end <= i+1 {
		return i + 1
	}
	for j := i + 1; j < end; {
		j = c.step(j, false)
	}
	c.raw("`")
	return end + 1
}

// codeBlock converts the ```block``` opening at src[i], which Slack allows
// anywhere, to a preformatted block on lines of its own. It reports false
// when the fence has no closing fence or encloses only white space.
func (c *toStyled) codeBlock(i int) (int, bool) {
	if c.noFence || i == c.skipFence {
		return i, false
	}
	start := i + len(codeFence)
	k := strings.Index(c.src[start:], codeFence)
	if k < 0 {
		c.noFence = true
		return i, false
	}
	body := c.src[start : start+k]
	if strings.TrimSpace(body) == "" {
		c.skipFence = start + k
		return i, false
	}
	end := start + k + len(codeFence)
	lines := strings.Split(body, "\n")
	if lines[0] == "" {
		lines = lines[1:]
	}
	if last := lines[len(lines)-1]; last == "" || c.quote && !c.multi && strings.TrimSpace(trimQuoteMarker(last)) == "" {
		lines = lines[:len(lines)-1]
	}

	// The fence must start its line: drop blanks before it, or break the line.
	tail := c.out[c.lineAt:]
	if strings.Trim(string(tail), " \t") == "" {
		keep := 0
		if c.quote && len(tail) > 0 {
			keep = 1 // XEP-0393 trims one space after ">"
		}
		c.n -= len(tail) - keep
		c.out = c.out[:c.lineAt+keep]
	} else {
		c.breakLine(true)
	}
	c.raw(codeFence)
	for _, ln := range lines {
		c.raw("\n")
		// Quoted Slack lines carry their own marker, which decodes to ">".
		if c.quote && (c.multi || trimQuoteMarker(ln) == ln) {
			c.raw(styledQuote)
		}
		c.codeLine(ln)
	}
	c.breakLine(false)
	c.raw(codeFence)
	// Text after the closing fence goes on a new line.
	for end < len(c.src) && c.src[end] == ' ' {
		end++
	}
	if end < len(c.src) && c.src[end] != '\n' {
		c.breakLine(false)
	}
	return end, true
}

// breakLine ends the current output line, without its trailing blanks if
// trim, and starts a new one with the current quote prefix.
func (c *toStyled) breakLine(trim bool) {
	for trim && len(c.out) > c.lineAt && (c.out[len(c.out)-1] == ' ' || c.out[len(c.out)-1] == '\t') {
		c.out = c.out[:len(c.out)-1]
		c.n--
	}
	c.raw("\n")
	if c.quote {
		c.raw(styledQuote)
	}
	c.lineAt = len(c.out)
}

// codeLine converts one line inside a code block; ln is a substring of src.
func (c *toStyled) codeLine(ln string) {
	if ln == "" {
		return
	}
	sub := &toStyled{dir: c.dir, src: ln, out: c.out, n: c.n}
	for j := 0; j < len(ln); {
		if ln[j] == '`' {
			sub.raw("`")
			j++
			continue
		}
		j = sub.step(j, false)
	}
	c.out, c.n = sub.out, sub.n
	c.mentions = append(c.mentions, sub.mentions...)
}

// trimQuoteMarker removes a leading "&gt;" or ">" from a Slack line.
func trimQuoteMarker(ln string) string {
	if strings.HasPrefix(ln, "&gt;") {
		return ln[len("&gt;"):]
	}
	return strings.TrimPrefix(ln, ">")
}

// angle converts the <…> token at src[i].
func (c *toStyled) angle(i int) int {
	k := c.tokenEnd(i)
	if k < 0 {
		c.raw("<")
		return i + 1
	}
	c.token(c.src[i+1 : k])
	return k + 1
}

// tokenEnd returns the index of the ">" closing a token opened at src[i] on
// the same line, or -1. A failed search is remembered up to the end of the
// line, so that a line of "<" costs linear time.
func (c *toStyled) tokenEnd(i int) int {
	if i < c.noTokenBefore {
		return -1
	}
	k := strings.IndexAny(c.src[i+1:], ">\n")
	if k < 0 || c.src[i+1+k] != '>' {
		c.noTokenBefore = len(c.src)
		if k >= 0 {
			c.noTokenBefore = i + 1 + k
		}
		return -1
	}
	if k == 0 {
		return -1
	}
	return i + 1 + k
}

// token writes the text for the inside of a <…> token.
func (c *toStyled) token(tok string) {
	body, label, _ := strings.Cut(tok, "|")
	label = unescapeMrkdwn(label)
	switch {
	case len(body) > 1 && body[0] == '@':
		id := body[1:]
		name := id
		if n, ok := c.lookup(id, Directory.UserName); ok {
			name = n
		} else if l := strings.TrimPrefix(label, "@"); l != "" {
			name = l
		}
		begin := c.n
		c.raw("@" + oneLineText(name))
		c.mentions = append(c.mentions, Mention{UserID: id, Begin: begin, End: c.n})
	case len(body) > 1 && body[0] == '#':
		id := body[1:]
		name := id
		if n, ok := c.lookup(id, Directory.ChannelName); ok {
			name = n
		} else if label != "" {
			name = label
		}
		c.raw("#" + oneLineText(name))
	case len(body) > 1 && body[0] == '!':
		c.raw(oneLineText(mrkdwnSpecial(body[1:], label)))
	default:
		url := unescapeMrkdwn(body)
		switch {
		case label == "" || label == url || label == strings.TrimPrefix(url, "mailto:"):
			if label == "" {
				label = url
			}
			c.raw(oneLineText(label))
		default:
			c.raw(oneLineText(label + " (" + url + ")"))
		}
	}
}

func (c *toStyled) lookup(id string, f func(Directory, string) (string, bool)) (string, bool) {
	if c.dir == nil || id == "" {
		return "", false
	}
	n, ok := f(c.dir, id)
	return n, ok && n != ""
}

// mrkdwnSpecial renders <!command^args|label>.
func mrkdwnSpecial(cmd, label string) string {
	name, args, _ := strings.Cut(cmd, "^")
	switch name {
	case "here", "channel", "everyone":
		return "@" + name
	case "subteam":
		if label != "" {
			return "@" + strings.TrimPrefix(label, "@")
		}
		return "@" + args
	case "date":
		if label != "" {
			return label
		}
		return mrkdwnDate(args)
	}
	if label != "" {
		return label
	}
	return "@" + name
}

// mrkdwnDateLayouts renders Slack's date tokens in UTC (used only when a date has
// no fallback text).
var mrkdwnDateLayouts = map[string]string{
	"date_num":           "2006-01-02",
	"date_slash":         "02/01/2006",
	"date":               "January 2, 2006",
	"date_pretty":        "January 2, 2006",
	"date_long_full":     "January 2, 2006",
	"date_short":         "Jan 2, 2006",
	"date_short_pretty":  "Jan 2, 2006",
	"date_long":          "Monday, January 2, 2006",
	"date_long_pretty":   "Monday, January 2, 2006",
	"day_divider_pretty": "Monday, January 2, 2006",
	"time":               "15:04 UTC",
	"time_secs":          "15:04:05 UTC",
}

// mrkdwnDate renders "timestamp^format[^link]".
func mrkdwnDate(args string) string {
	ts, format, _ := strings.Cut(args, "^")
	format, _, _ = strings.Cut(format, "^")
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return format
	}
	t := time.Unix(sec, 0).UTC()
	var b strings.Builder
	for {
		open := strings.IndexByte(format, '{')
		if open < 0 {
			break
		}
		end := strings.IndexByte(format[open:], '}')
		if end < 0 {
			break
		}
		b.WriteString(format[:open])
		if layout, ok := mrkdwnDateLayouts[format[open+1:open+end]]; ok {
			b.WriteString(t.Format(layout))
		} else {
			b.WriteString(format[open : open+end+1])
		}
		format = format[open+end+1:]
	}
	b.WriteString(format)
	return b.String()
}

// unescapeMrkdwn decodes Slack's three entities.
func unescapeMrkdwn(s string) string {
	if !strings.Contains(s, "&") {
		return s
	}
	return mrkdwnUnescaper.Replace(s)
}

var mrkdwnUnescaper = strings.NewReplacer("&amp;", "&", "&lt;", "<", "&gt;", ">")

// oneLineText keeps names and labels on one line so that they cannot start
// blocks.
func oneLineText(s string) string {
	if !strings.ContainsAny(s, "\r\n") {
		return s
	}
	return strings.Map(func(r rune) rune {
		if r == '\n' || r == '\r' {
			return ' '
		}
		return r
	}, s)
}

// toValidUTF8 replaces invalid UTF-8 by U+FFFD: neither XML nor Slack's JSON
// carries it, and code point offsets need whole runes.
func toValidUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}

// isStyleSpace is XEP-0393's whitespace: White_Space or category Z.
func isStyleSpace(r rune) bool { return styling.IsSpace(r) }

// isMrkdwnWordRune is a letter or digit: Slack styles only at word boundaries.
func isMrkdwnWordRune(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }
