package styling

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Fence opens and closes preformatted blocks.
const Fence = "```"

// Kind says what a line is.
type Kind uint8

// The kinds of lines.
const (
	// Plain is a line outside preformatted blocks; it may hold spans.
	Plain Kind = iota
	// PreOpen is the line that opens a preformatted block ("```" and an
	// optional info string, ignored).
	PreOpen
	// PreText is a line inside a preformatted block.
	PreText
	// PreClose is the line "```" that closes a preformatted block.
	PreClose
)

// Style is the style of a span.
type Style uint8

// The styles of spans, one per directive character.
const (
	Strong   Style = iota + 1 // *strong*
	Emphasis                  // _emphasis_
	Strike                    // ~strike~
	Code                      // `code` (a preformatted span)
)

// directives lists the directive characters in Style order.
const directives = "*_~`"

// Directive returns the character that opens and closes spans of s.
func (s Style) Directive() byte { return directives[s-1] }

// styleOf returns the style a directive character opens, or 0.
func styleOf(b byte) Style { return Style(strings.IndexByte(directives, b) + 1) }

// IsDirective reports whether b is a span directive character: * _ ~ `.
func IsDirective(b byte) bool { return styleOf(b) != 0 }

// IsSpace reports XEP-0393 white space: Unicode White_Space or category Z.
func IsSpace(r rune) bool { return unicode.IsSpace(r) || unicode.Is(unicode.Z, r) }

// Document is a parsed text.
type Document struct {
	// Text is the parsed text, as given.
	Text string
	// Lines are the lines of Text, in order: Text split at "\n".
	Lines []Line
}

// Line is one line of a Document. Start <= Body <= End are byte offsets
// into the Text: Text[Start:Body] holds the quotation markers (and the
// white space each level trims), Text[Body:End] the content, and End is
// the index of the line's "\n" or len(Text).
type Line struct {
	Start, Body, End int
	// Depth is how many quotations the line is in.
	Depth int
	// Kind says what the line is.
	Kind Kind
	// Closed tells, on a PreOpen line, whether a PreClose line ends its
	// block.
	Closed bool
	// Spans are the spans of a Plain line, ordered by Start: a span comes
	// before the spans nested in it.
	Spans []Span
}

// Span is a styled run of a line: Text[Start] is its opening directive and
// Text[End-1] its closing one.
type Span struct {
	Style      Style
	Start, End int
}

// Parse parses text. Invalid UTF-8 is kept and counts as non-space.
func Parse(text string) *Document {
	d := &Document{Text: text}
	n := strings.Count(text, "\n") + 1
	d.Lines = make([]Line, 0, n)
	idx := make([]int, 0, n)
	for start := 0; ; {
		end := strings.IndexByte(text[start:], '\n')
		if end < 0 {
			end = len(text)
		} else {
			end += start
		}
		idx = append(idx, len(d.Lines))
		d.Lines = append(d.Lines, Line{Start: start, Body: start, End: end})
		if end == len(text) {
			break
		}
		start = end + 1
	}
	p := parser{d: d}
	p.blocks(idx)
	return d
}

type parser struct {
	d       *Document
	closers [4][]int32 // reused per line: see closersOf
}

func (p *parser) body(i int) string {
	l := &p.d.Lines[i]
	return p.d.Text[l.Body:l.End]
}

// blocks parses the lines whose indexes are idx, the content of one block.
func (p *parser) blocks(idx []int) {
	for i := 0; i < len(idx); {
		switch body := p.body(idx[i]); {
		case strings.HasPrefix(body, Fence):
			j := i + 1
			for j < len(idx) && p.body(idx[j]) != Fence {
				p.d.Lines[idx[j]].Kind = PreText
				j++
			}
			open := &p.d.Lines[idx[i]]
			open.Kind = PreOpen
			if j < len(idx) {
				open.Closed = true
				p.d.Lines[idx[j]].Kind = PreClose
			}
			i = j + 1
		case strings.HasPrefix(body, ">"):
			j := i
			for j < len(idx) && strings.HasPrefix(p.body(idx[j]), ">") {
				l := &p.d.Lines[idx[j]]
				l.Body++
				l.Depth++
				if r, size := utf8.DecodeRuneInString(p.d.Text[l.Body:l.End]); r != utf8.RuneError && IsSpace(r) {
					l.Body += size
				}
				j++
			}
			p.blocks(idx[i:j])
			i = j
		default:
			l := &p.d.Lines[idx[i]]
			l.Kind = Plain
			l.Spans = p.spans(body, l.Body)
			i++
		}
	}
}
