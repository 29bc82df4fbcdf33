package slack

import (
	"strings"
	"unicode/utf8"

	"github.com/xgate-im/xgate/kit/styling"
)

// XEP-0393 message styling → Slack mrkdwn.
//
// The text is parsed as XEP-0393 by kit/styling (blocks, then the spans of
// each line) and written for Slack by toMrkdwn, a styling.Renderer:
//
//   - & < > become entities everywhere, code included;
//   - styling spans keep their characters; a closing marker followed by a
//     letter or digit gets a U+200B after it so that Slack styles it too;
//   - a styling character that is plain in XEP-0393 but that Slack would
//     pair (rule below) is written <!date^00000000^{_}|*>: Slack shows the
//     fallback "*" of that invalid date as plain text, and MrkdwnToStyled
//     turns it back into "*";
//   - "@Display Name" at a word start, matched by Directory.UserByName
//     (longest first, up to 64 characters), becomes <@U…>; not in code;
//   - a preformatted block becomes ```…``` on its own lines: the text after
//     the opening fence is dropped, a missing closing fence is added, and
//     "```" inside code or plain text gets a U+200B so that Slack cannot
//     read it as a fence;
//   - quote markers are kept as "&gt;", but a line never starts with three
//     of them (Slack's ">>>" quotes the rest of the message): a space goes
//     after the second;
//   - emoji stay Unicode, and shortcodes typed as ":name:" are left for
//     Slack to show as emoji.
//
// Slack's rule as modelled here: a marker opens a span at the start of a line
// or after a character that is not a letter or digit, when followed by a
// non-space; it closes one after a non-space, when followed by the end of
// the line or by a character that is not a letter or digit (U+200B is not).
// A doubled marker ("**") opens nothing. So "2*3*4" and "snake_case_name",
// plain in both, are left as they are, and so are http(s) URLs, which Slack
// links itself.

// slackLiteral shows one styling character as plain text in Slack.
const slackLiteral = "<!date^00000000^{_}|"

// maxMentionRunes bounds the display names tried after an "@".
const maxMentionRunes = 64

// StyledToMrkdwn converts XEP-0393 styled text from an XMPP user to the text
// of a Slack message (see the rules above). Invalid UTF-8 becomes U+FFFD.
// dir may be nil: no mentions are then made.
func StyledToMrkdwn(text string, dir Directory) string {
	text = toValidUTF8(text)
	c := &toMrkdwn{dir: dir}
	c.b.Grow(len(text) + len(text)/8)
	styling.Render(styling.Parse(text), c)
	return c.b.String()
}

// toMrkdwn is the state of one StyledToMrkdwn conversion: the mrkdwn
// renderer of kit/styling.
type toMrkdwn struct {
	dir     Directory
	b       strings.Builder
	started bool
	// The plain line being written: its body, the body's offset in the
	// document, and the end (in ln) of the plain run being written.
	ln       string
	body, hi int
	marks    []byte // per byte of ln: 'o'pen, 'c'lose, 'p're or 0
	last     [4]int // see slackClosers
}

var _ styling.Renderer = (*toMrkdwn)(nil)

// newLine starts an output line with the quote markers of l.
func (c *toMrkdwn) newLine(d *styling.Document, l *styling.Line) {
	if c.started {
		c.b.WriteByte('\n')
	}
	c.started = true
	prefix := d.Text[l.Start:l.Body]
	for i := 0; i < len(prefix); i++ {
		if prefix[i] != '>' {
			c.b.WriteByte(prefix[i])
			continue
		}
		c.b.WriteString("&gt;")
		if i == 1 && strings.HasPrefix(prefix, ">>>") {
			c.b.WriteByte(' ')
		}
	}
}

// StartLine starts a plain line and works out where Slack could close
// spans on it.
func (c *toMrkdwn) StartLine(d *styling.Document, l *styling.Line) {
	c.newLine(d, l)
	c.ln, c.body = d.Text[l.Body:l.End], l.Body
	if cap(c.marks) < len(c.ln) {
		c.marks = make([]byte, len(c.ln))
	}
	c.marks = c.marks[:len(c.ln)]
	clear(c.marks)
	for _, s := range l.Spans {
		lo, hi := s.Start-c.body, s.End-1-c.body
		c.marks[lo], c.marks[hi] = 'o', 'c'
		if s.Style == styling.Code {
			for j := lo + 1; j < hi; j++ {
				c.marks[j] = 'p'
			}
		}
	}
	c.last = slackClosers(c.ln, c.marks)
}

// PreBlock writes a preformatted block as ```…``` on lines of their own.
func (c *toMrkdwn) PreBlock(d *styling.Document, lines []styling.Line) {
	closed := lines[0].Closed
	content := lines[1:]
	if closed {
		content = content[:len(content)-1]
	}
	body := func(l *styling.Line) string { return d.Text[l.Body:l.End] }
	c.newLine(d, &lines[0])
	if len(content) == 0 && !closed {
		c.code(body(&lines[0])) // a lone fence: text, broken so that it pairs with nothing
		return
	}
	c.b.WriteString(codeFence)
	for k := range content {
		c.newLine(d, &content[k])
		c.code(body(&content[k]))
	}
	c.newLine(d, &lines[len(lines)-1])
	c.b.WriteString(codeFence)
}

// Directive keeps the styling character; a closing one followed by a
// letter or digit gets a U+200B so that Slack styles it too.
func (c *toMrkdwn) Directive(_ *styling.Document, s *styling.Span, open bool) {
	c.b.WriteByte(s.Style.Directive())
	if open {
		return
	}
	if i := s.End - c.body; i < len(c.ln) {
		if r, _ := utf8.DecodeRuneInString(c.ln[i:]); isMrkdwnWordRune(r) {
			c.b.WriteString(zeroWidthSpace)
		}
	}
}

// Code writes the inside of a preformatted span.
func (c *toMrkdwn) Code(d *styling.Document, s *styling.Span) {
	c.code(d.Text[s.Start+1 : s.End-1])
}

// Plain writes a run of plain text of the current line.
func (c *toMrkdwn) Plain(_ *styling.Document, _ *styling.Line, lo, hi int) {
	c.hi = hi - c.body
	for i := lo - c.body; i < c.hi; {
		i = c.plain(c.ln, i, &c.last)
	}
}

// code writes code text: entities, and runs of backticks broken after
// every second one.
func (c *toMrkdwn) code(s string) {
	run := 0
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if ch == '`' {
			if run > 0 && run%2 == 0 {
				c.b.WriteString(zeroWidthSpace)
			}
			run++
			c.b.WriteByte(ch)
			continue
		}
		run = 0
		c.escapeByte(ch)
	}
}

func (c *toMrkdwn) escapeByte(ch byte) {
	switch ch {
	case '&':
		c.b.WriteString("&amp;")
	case '<':
		c.b.WriteString("&lt;")
	case '>':
		c.b.WriteString("&gt;")
	default:
		c.b.WriteByte(ch)
	}
}

// plain writes plain text at ln[i] up to the next byte that needs work.
func (c *toMrkdwn) plain(ln string, i int, last *[4]int) int {
	switch ch := ln[i]; ch {
	case 'h', 'H':
		if end := c.urlEnd(ln, i); end > i {
			c.code(ln[i:end]) // entities, and no fences
			return end
		}
	case '@':
		if end, ok := c.mention(ln, i); ok {
			return end
		}
	case '&', '<', '>':
		c.escapeByte(ch)
		return i + 1
	case '`':
		j := i
		for j < c.hi && ln[j] == '`' {
			j++
		}
		if j-i >= 3 {
			c.code(ln[i:j])
			return j
		}
		fallthrough
	case '*', '_', '~':
		if slackWouldOpen(ln, i, last) {
			c.b.WriteString(slackLiteral)
			c.b.WriteByte(ch)
			c.b.WriteByte('>')
		} else {
			c.b.WriteByte(ch)
		}
		return i + 1
	}
	j := i + 1
	for j < c.hi && !isMrkdwnSpecial(ln[j]) {
		j++
	}
	c.b.WriteString(ln[i:j])
	return j
}

// urlEnd returns the end of an http(s) URL starting a word at ln[i], or i.
// Slack links URLs itself; their styling characters and "@" are left alone.
func (c *toMrkdwn) urlEnd(ln string, i int) int {
	rest := ln[i:]
	if !hasPrefixFoldASCII(rest, "http://") && !hasPrefixFoldASCII(rest, "https://") {
		return i
	}
	if r, _ := utf8.DecodeLastRuneInString(ln[:i]); i > 0 && isMrkdwnWordRune(r) {
		return i
	}
	j := i
	for j < c.hi {
		r, size := utf8.DecodeRuneInString(ln[j:])
		if isStyleSpace(r) || r == '<' || r == '>' {
			break
		}
		j += size
	}
	return j
}

func hasPrefixFoldASCII(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

func isMrkdwnSpecial(b byte) bool {
	switch b {
	case 'h', 'H', '@', '&', '<', '>', '*', '_', '~', '`':
		return true
	}
	return false
}

// styleMarkerIndex numbers the four styling characters.
func styleMarkerIndex(b byte) int { return strings.IndexByte("*_~`", b) }

// slackClosers returns, per styling character, the last index where Slack
// could close a span with it (-1 if none). XEP-0393 closing directives count
// since spans writes U+200B after them when needed.
func slackClosers(ln string, marks []byte) [4]int {
	last := [4]int{-1, -1, -1, -1}
	for k := len(ln) - 1; k > 0; k-- {
		m := styleMarkerIndex(ln[k])
		if m < 0 || last[m] >= 0 || marks[k] == 'p' {
			continue
		}
		if r, _ := utf8.DecodeLastRuneInString(ln[:k]); isStyleSpace(r) {
			continue
		}
		if r, _ := utf8.DecodeRuneInString(ln[k+1:]); k+1 == len(ln) || marks[k] == 'c' || !isMrkdwnWordRune(r) {
			last[m] = k
		}
	}
	return last
}

// slackWouldOpen reports whether Slack could open a span with the plain
// styling character at ln[i] and close it later on the line.
func slackWouldOpen(ln string, i int, last *[4]int) bool {
	if i+1 >= len(ln) || last[styleMarkerIndex(ln[i])] <= i+1 {
		return false
	}
	if r, _ := utf8.DecodeLastRuneInString(ln[:i]); i > 0 && isMrkdwnWordRune(r) {
		return false
	}
	r, _ := utf8.DecodeRuneInString(ln[i+1:])
	return !isStyleSpace(r) && ln[i+1] != ln[i]
}

// mention turns "@Display Name" at ln[i] into <@ID> when the directory knows
// the name, trying the longest candidate first.
func (c *toMrkdwn) mention(ln string, i int) (int, bool) {
	if c.dir == nil {
		return i, false
	}
	if r, _ := utf8.DecodeLastRuneInString(ln[:i]); i > 0 && (isMrkdwnWordRune(r) || r == '_' || r == '.') {
		return i, false // an e-mail address or the like
	}
	var buf [maxMentionRunes]int
	ends := buf[:0]
	for j, n := i+1, 0; j < c.hi && n < maxMentionRunes; n++ {
		r, size := utf8.DecodeRuneInString(ln[j:])
		j += size
		if isStyleSpace(r) {
			continue
		}
		if nr, _ := utf8.DecodeRuneInString(ln[j:]); j == len(ln) || !isMrkdwnWordRune(nr) {
			ends = append(ends, j)
		}
	}
	for k := len(ends) - 1; k >= 0; k-- {
		if id, ok := c.dir.UserByName(ln[i+1 : ends[k]]); ok && mentionIDOK(id) {
			c.b.WriteString("<@")
			c.b.WriteString(id)
			c.b.WriteByte('>')
			return ends[k], true
		}
	}
	return i, false
}

// mentionIDOK accepts IDs that are safe to put between < and >.
func mentionIDOK(id string) bool {
	if id == "" || len(id) > 32 {
		return false
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z') {
			return false
		}
	}
	return true
}
