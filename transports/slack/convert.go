package slack

import (
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
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

func isStyleMarker(b byte) bool { return b == '*' || b == '_' || b == '~' || b == '`' }

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
func isStyleSpace(r rune) bool { return unicode.IsSpace(r) || unicode.Is(unicode.Z, r) }

// isMrkdwnWordRune is a letter or digit: Slack styles only at word boundaries.
func isMrkdwnWordRune(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }

// XEP-0393 message styling → Slack mrkdwn.
//
// The text is parsed as XEP-0393 (blocks, then the spans of each line) and
// written for Slack:
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
	lines := strings.Split(text, "\n")
	c.blocks(lines, lines)
	return c.b.String()
}

// toMrkdwn is the state of one StyledToMrkdwn conversion.
type toMrkdwn struct {
	dir     Directory
	b       strings.Builder
	started bool
	marks   []byte // per byte of the line: 'o'pen, 'c'lose, 'p're or 0
}

// startLine starts an output line with the quote markers of a source line:
// those of orig before its suffix ln.
func (c *toMrkdwn) startLine(orig, ln string) {
	if c.started {
		c.b.WriteByte('\n')
	}
	c.started = true
	prefix := orig[:len(orig)-len(ln)]
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

// blocks converts lines; each is a suffix of the source line in origs, whose
// start holds its quote markers.
func (c *toMrkdwn) blocks(lines, origs []string) {
	for i := 0; i < len(lines); {
		ln := lines[i]
		switch {
		case strings.HasPrefix(ln, codeFence):
			j := i + 1
			for j < len(lines) && lines[j] != codeFence {
				j++
			}
			end := min(j+1, len(lines))
			c.preBlock(lines[i:end], origs[i:end], j < len(lines))
			i = j + 1
		case strings.HasPrefix(ln, ">"):
			j := i
			for j < len(lines) && strings.HasPrefix(lines[j], ">") {
				j++
			}
			inner := make([]string, j-i)
			for k := i; k < j; k++ {
				rest := lines[k][1:]
				if r, size := utf8.DecodeRuneInString(rest); r != utf8.RuneError && isStyleSpace(r) {
					rest = rest[size:]
				}
				inner[k-i] = rest
			}
			c.blocks(inner, origs[i:j])
			i = j
		default:
			c.startLine(origs[i], ln)
			c.spans(ln)
			i++
		}
	}
}

// preBlock writes a preformatted block: its opening line, content lines and
// closing line if closed, with their source lines in origs.
func (c *toMrkdwn) preBlock(lines, origs []string, closed bool) {
	content := lines[1:]
	if closed {
		content = content[:len(content)-1]
	}
	c.startLine(origs[0], lines[0])
	if len(content) == 0 && !closed {
		c.code(lines[0]) // a lone fence: text, broken so that it pairs with nothing
		return
	}
	c.b.WriteString(codeFence)
	for k, ln := range content {
		c.startLine(origs[k+1], ln)
		c.code(ln)
	}
	last := len(lines) - 1
	c.startLine(origs[last], lines[last])
	c.b.WriteString(codeFence)
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

// spans converts one line outside preformatted blocks.
func (c *toMrkdwn) spans(ln string) {
	if ln == "" {
		return
	}
	if cap(c.marks) < len(ln) {
		c.marks = make([]byte, len(ln))
	}
	c.marks = c.marks[:len(ln)]
	clear(c.marks)
	var closers [4][]int32
	parseStyledSpans(ln, 0, len(ln), 0, c.marks, &closers)
	last := slackClosers(ln, c.marks)
	for i := 0; i < len(ln); {
		switch c.marks[i] {
		case 'o':
			c.b.WriteByte(ln[i])
			i++
		case 'c':
			c.b.WriteByte(ln[i])
			i++
			if r, _ := utf8.DecodeRuneInString(ln[i:]); i < len(ln) && isMrkdwnWordRune(r) {
				c.b.WriteString(zeroWidthSpace)
			}
		case 'p':
			j := i
			for j < len(ln) && c.marks[j] == 'p' {
				j++
			}
			c.code(ln[i:j])
			i = j
		default:
			i = c.plain(ln, i, &last)
		}
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
		for j < len(ln) && ln[j] == '`' && c.marks[j] == 0 {
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
	for j < len(ln) && c.marks[j] == 0 && !isMrkdwnSpecial(ln[j]) {
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
	for j < len(ln) && c.marks[j] == 0 {
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

// parseStyledSpans marks the XEP-0393 spans of ln[lo:hi], the content of a span
// opened by parent (0 at the start of a line). Spans are matched lazily from
// the left; an opening directive is at lo (and differs from parent) or
// after white space, and is followed by neither white space nor itself; a
// closing directive follows a non-space, with some text between the two.
func parseStyledSpans(ln string, lo, hi int, parent byte, marks []byte, closers *[4][]int32) {
	for i := lo; i < hi; i++ {
		ch := ln[i]
		if !isStyleMarker(ch) || !styledCanOpen(ln, lo, i, hi, parent) {
			continue
		}
		next := closers[styleMarkerIndex(ch)]
		if next == nil {
			next = xepClosers(ln, ch)
			closers[styleMarkerIndex(ch)] = next
		}
		k := int(next[i+2]) // styledCanOpen ensures i+2 <= hi
		if k < 0 || k >= hi {
			continue
		}
		marks[i], marks[k] = 'o', 'c'
		if ch == '`' {
			for j := i + 1; j < k; j++ {
				marks[j] = 'p'
			}
		} else {
			parseStyledSpans(ln, i+1, k, ch, marks, closers)
		}
		i = k
	}
}

func styledCanOpen(ln string, lo, i, hi int, parent byte) bool {
	ch := ln[i]
	if i+1 >= hi || ln[i+1] == ch {
		return false
	}
	if r, _ := utf8.DecodeRuneInString(ln[i+1 : hi]); isStyleSpace(r) {
		return false
	}
	if i == lo {
		return ch != parent
	}
	r, _ := utf8.DecodeLastRuneInString(ln[lo:i])
	return isStyleSpace(r)
}

// xepClosers returns, for every index p, the first index k >= p where ch
// could close a span (it follows a non-space), or -1.
func xepClosers(ln string, ch byte) []int32 {
	next := make([]int32, len(ln)+1)
	next[len(ln)] = -1
	for k := len(ln) - 1; k >= 0; k-- {
		next[k] = next[k+1]
		if ln[k] == ch && k > 0 {
			if r, _ := utf8.DecodeLastRuneInString(ln[:k]); !isStyleSpace(r) {
				next[k] = int32(k)
			}
		}
	}
	return next
}

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
	for j, n := i+1, 0; j < len(ln) && c.marks[j] == 0 && n < maxMentionRunes; n++ {
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
