package discord

import (
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/xgate-im/xgate/bridge"
	"github.com/xgate-im/xgate/kit/split"
	"github.com/xgate-im/xgate/kit/styling"
)

// Conversion between Discord's markdown and XEP-0393 styling, and between
// Discord's tokens (<@id>, <#id>, <:name:id>, <t:…>) and readable text.
// Pure functions, safe for concurrent use.
//
// Towards Discord: *strong* becomes **strong**, _emphasis_ stays, ~strike~
// becomes ~~strike~~, code spans, preformatted blocks and quotations keep
// their form; plain text is escaped wherever Discord would read markup
// that XEP-0393 does not (a lone "*", "__", "||", a heading "# " at the
// start of a line).
//
// From Discord: **strong** becomes *strong*, *emphasis*, _emphasis_ and
// __underline__ become _emphasis_, ~~strike~~ becomes ~strike~, code is
// kept, a ```block``` is put on lines of its own, backslash escapes are
// undone; ||spoilers|| are kept as they are. A user mention becomes
// "@Name" with a XEP-0372 reference to the user, a channel "#name", a
// role "@role", a custom emoji ":name:", a timestamp the time in UTC.

// ToDiscord converts XEP-0393 styled text to Discord markdown.
func ToDiscord(text string) string {
	var r toMarkdown
	styling.Render(styling.Parse(text), &r)
	return r.b.String()
}

// toDiscordParts converts text and cuts it into messages of at most max
// runes each, every one starting with prefix. It cuts the XEP-0393 text
// with kit/split (keeping spans and blocks whole where it can) and cuts
// again, smaller, a part that conversion made too long.
func toDiscordParts(text, prefix string, maxRunes int) []string {
	room := maxRunes - utf8.RuneCountInString(prefix)
	if room < 1 {
		room = 1
	}
	var out []string
	var cut func(s string, limit int)
	cut = func(s string, limit int) {
		for _, p := range split.Split(s, limit, nil) {
			conv := ToDiscord(p.Text)
			n := utf8.RuneCountInString(conv)
			if n <= room || limit <= 1 || utf8.RuneCountInString(p.Text) <= 1 {
				if n > room { // a single rune whose escape does not fit: cut the markdown
					conv = string([]rune(conv)[:room])
				}
				out = append(out, prefix+conv)
				continue
			}
			cut(p.Text, max(1, limit*room/n-1))
		}
	}
	cut(text, room)
	return out
}

// toMarkdown renders a styling.Document as Discord markdown.
type toMarkdown struct {
	b     strings.Builder
	lines int
}

func (r *toMarkdown) newLine() {
	if r.lines > 0 {
		r.b.WriteByte('\n')
	}
	r.lines++
}

func (r *toMarkdown) quote(depth int) {
	for range depth {
		r.b.WriteString("> ")
	}
}

// StartLine implements styling.Renderer.
func (r *toMarkdown) StartLine(d *styling.Document, l *styling.Line) {
	r.newLine()
	r.quote(l.Depth)
}

// Plain implements styling.Renderer.
func (r *toMarkdown) Plain(d *styling.Document, l *styling.Line, lo, hi int) {
	r.b.WriteString(escapeAt(d.Text[lo:hi], lo == l.Body))
}

// Directive implements styling.Renderer.
func (r *toMarkdown) Directive(_ *styling.Document, s *styling.Span, _ bool) {
	switch s.Style {
	case styling.Strong:
		r.b.WriteString("**")
	case styling.Emphasis:
		r.b.WriteString("_")
	case styling.Strike:
		r.b.WriteString("~~")
	case styling.Code:
		r.b.WriteString("`")
	}
}

// Code implements styling.Renderer.
func (r *toMarkdown) Code(d *styling.Document, s *styling.Span) {
	r.b.WriteString(d.Text[s.Start+1 : s.End-1])
}

// PreBlock implements styling.Renderer.
func (r *toMarkdown) PreBlock(d *styling.Document, lines []styling.Line) {
	for _, l := range lines {
		r.newLine()
		r.quote(l.Depth)
		r.b.WriteString(d.Text[l.Body:l.End])
	}
	if !lines[0].Closed {
		r.newLine()
		r.quote(lines[0].Depth)
		r.b.WriteString(styling.Fence)
	}
}

// escapeAt escapes what Discord would read as markup in plain text;
// lineStart says the text starts a line (where "#", "-" and ">" mean
// something).
func escapeAt(s string, lineStart bool) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '*', '_', '~', '`', '|', '\\', '<':
			b.WriteByte('\\')
		case '#', '-', '>':
			if lineStart && i == 0 {
				b.WriteByte('\\')
			}
		}
		b.WriteByte(c)
	}
	return b.String()
}

// escapeMarkdown escapes a name put inside markup.
func escapeMarkdown(s string) string { return escapeAt(s, false) }

// Names resolves what Discord's tokens point at, for FromDiscord. Any
// function may be nil, and may answer "" when it does not know.
type Names struct {
	User    func(id string) string
	Channel func(id string) string
	Role    func(id string) string
}

// tokenRE matches Discord's tokens in a message.
var tokenRE = regexp.MustCompile(`^<(@!?|#|@&)(\d{1,20})>|^<(a?):([A-Za-z0-9_~]{1,32}):(\d{1,20})>|^<t:(-?\d{1,13})(?::([tTdDfFR]))?>`)

// FromDiscord converts a message's content to XEP-0393 styled text, with
// the mentions of users in it.
func FromDiscord(content string, names Names) (string, []bridge.Mention) {
	var c fromMarkdown
	c.names = names
	// Code blocks first: their content is kept as is.
	parts := strings.Split(content, "```")
	for i, p := range parts {
		if i%2 == 1 && i < len(parts)-1 {
			c.block(p)
			continue
		}
		if i%2 == 1 { // an unclosed fence: plain text
			c.write("```")
		}
		c.inline(p, 0)
	}
	return c.b.String(), c.mentions
}

// fromMarkdown builds the XEP-0393 text, counting runes for mentions.
type fromMarkdown struct {
	names    Names
	b        strings.Builder
	runes    int
	mentions []bridge.Mention
}

func (c *fromMarkdown) write(s string) {
	c.b.WriteString(s)
	c.runes += utf8.RuneCountInString(s)
}

// block writes a code block on lines of its own.
func (c *fromMarkdown) block(p string) {
	if c.b.Len() > 0 && !strings.HasSuffix(c.b.String(), "\n") {
		c.write("\n")
	}
	c.write("```")
	if !strings.HasPrefix(p, "\n") {
		// "```go\ncode": the first line names the language; "```code": none.
		if nl := strings.IndexByte(p, '\n'); nl >= 0 && !strings.ContainsAny(p[:nl], " \t") {
			c.write(p[:nl])
			p = p[nl:]
		} else {
			p = "\n" + p
		}
	}
	c.write(strings.TrimSuffix(p, "\n"))
	c.write("\n```\n")
}

// markers are Discord's inline markers and what they become.
var markers = []struct{ from, open, close string }{
	{"***", "*_", "_*"}, {"**", "*", "*"}, {"__", "_", "_"}, {"~~", "~", "~"}, {"||", "||", "||"}, {"*", "_", "_"}, {"_", "_", "_"},
}

// inline converts text outside code blocks. depth bounds nesting.
func (c *fromMarkdown) inline(s string, depth int) {
	for i := 0; i < len(s); {
		rest := s[i:]
		switch {
		case rest[0] == '\\' && len(rest) > 1 && strings.IndexByte("*_~`|\\<>#-:", rest[1]) >= 0:
			c.write(rest[1:2])
			i += 2
			continue
		case rest[0] == '<':
			if n := c.token(rest); n > 0 {
				i += n
				continue
			}
		case rest[0] == '`':
			if end := strings.IndexByte(rest[1:], '`'); end > 0 && !strings.Contains(rest[1:1+end], "\n") {
				c.write(rest[:end+2])
				i += end + 2
				continue
			}
		}
		if depth < 8 {
			if n := c.span(rest, depth); n > 0 {
				i += n
				continue
			}
		}
		_, size := utf8.DecodeRuneInString(rest)
		c.write(rest[:size])
		i += size
	}
}

// span converts a marked span at the start of s and returns its length,
// or 0 when s does not start one.
func (c *fromMarkdown) span(s string, depth int) int {
	for _, m := range markers {
		if !strings.HasPrefix(s, m.from) || len(s) <= len(m.from) {
			continue
		}
		body := s[len(m.from):]
		if body[0] == ' ' || body[0] == '\n' || strings.HasPrefix(body, m.from[:1]) {
			continue
		}
		end := strings.Index(body, m.from)
		if nl := strings.IndexByte(body, '\n'); end <= 0 || (nl >= 0 && nl < end) || body[end-1] == ' ' {
			continue
		}
		c.write(m.open)
		c.inline(body[:end], depth+1)
		c.write(m.close)
		return len(m.from) + end + len(m.from)
	}
	return 0
}

// token converts a Discord token at the start of s and returns its
// length, or 0 when s does not start one.
func (c *fromMarkdown) token(s string) int {
	m := tokenRE.FindStringSubmatch(s)
	if m == nil {
		return 0
	}
	lookup := func(f func(string) string, id string) string {
		if f == nil {
			return ""
		}
		return f(id)
	}
	switch {
	case m[1] == "@" || m[1] == "@!":
		name := lookup(c.names.User, m[2])
		if name == "" {
			name = m[2]
		}
		begin := c.runes
		c.write("@" + name)
		c.mentions = append(c.mentions, bridge.Mention{User: bridge.UserID(m[2]), Begin: begin, End: c.runes})
	case m[1] == "#":
		name := lookup(c.names.Channel, m[2])
		if name == "" {
			name = m[2]
		}
		c.write("#" + name)
	case m[1] == "@&":
		name := lookup(c.names.Role, m[2])
		if name == "" {
			name = "role"
		}
		c.write("@" + name)
	case m[4] != "":
		c.write(":" + m[4] + ":")
	default:
		secs, err := strconv.ParseInt(m[6], 10, 64)
		if err != nil {
			return 0
		}
		c.write(formatTime(time.Unix(secs, 0).UTC(), m[7]))
	}
	return len(m[0])
}

// formatTime writes a <t:…> timestamp in UTC, as precisely as its style
// asks (relative times are written absolute: the reader may read later).
func formatTime(t time.Time, style string) string {
	switch style {
	case "t":
		return t.Format("15:04 UTC")
	case "T":
		return t.Format("15:04:05 UTC")
	case "d", "D":
		return t.Format("2006-01-02")
	default:
		return t.Format("2006-01-02 15:04 UTC")
	}
}

// itoa formats an int.
func itoa(n int) string { return strconv.Itoa(n) }
