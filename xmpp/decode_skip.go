package xmpp

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Skipping an oversize stanza.
//
// encoding/xml cannot resume after its reader failed, and it buffers a
// whole text node before returning it, so an element larger than the limit
// cannot be read to its end through it. Instead, a small lexer watches every
// byte the XML decoder reads (it reads byte by byte, without read-ahead,
// because limitedReader is an io.ByteReader) and knows the element depth
// and whether it is inside a tag, an attribute value or a CDATA section.
// When the limit is hit inside a stanza, the rest of the stanza is consumed
// by the lexer alone, in constant memory, and a fresh XML decoder takes
// over behind it, primed with a copy of the stream header so that the
// namespace prefixes declared there still resolve.

// TooLargeError is returned by Decoder.Next for a top-level element larger
// than Limits.MaxStanzaBytes. The rest of the element was skipped and the
// stream is still usable. Start holds the element's name and attributes
// (no children) for a bounce, or is nil when the start tag itself was too
// large.
type TooLargeError struct {
	Start *Element
	Limit int
}

// Error implements error.
func (e *TooLargeError) Error() string {
	name := "element"
	if e.Start != nil {
		name = "<" + Truncate(e.Start.Name.Local, maxRemoteText) + "/>"
	}
	return fmt.Sprintf("xmpp: %s larger than %d bytes skipped", name, e.Limit)
}

// maxSkipFactor bounds how much of one oversize element is skipped, in
// multiples of the limit, before the stream is given up.
const maxSkipFactor = 64

// Lexer states.
const (
	lexText       = iota
	lexLT         // after '<'
	lexStart      // in a start tag
	lexStartSlash // after '/' in a start tag
	lexQuoteD     // in a "…" attribute value
	lexQuoteS     // in a '…' attribute value
	lexEnd        // in an end tag
	lexBang       // after "<!", matching "[CDATA["
	lexCDATA      // in a CDATA section
	lexMarkup     // in a declaration, comment or processing instruction
)

const cdataOpen = "[CDATA["

// lexer follows the element structure of a byte stream.
type lexer struct {
	state int
	depth int // open elements, the stream element included
	n     int // bytes of "[CDATA[" matched, or ']' seen in CDATA
	// markup is set when a declaration, comment or processing instruction
	// was seen (refused while skipping).
	markup bool
}

func (x *lexer) feed(c byte) {
	switch x.state {
	case lexText:
		if c == '<' {
			x.state = lexLT
		}
	case lexLT:
		switch c {
		case '/':
			x.state = lexEnd
		case '!':
			x.state, x.n = lexBang, 0
		case '?':
			x.state, x.markup = lexMarkup, true
		default:
			x.state = lexStart
		}
	case lexStart, lexStartSlash:
		switch c {
		case '"':
			x.state = lexQuoteD
		case '\'':
			x.state = lexQuoteS
		case '/':
			x.state = lexStartSlash
		case '>':
			if x.state == lexStart {
				x.depth++
			}
			x.state = lexText
		default:
			x.state = lexStart
		}
	case lexQuoteD:
		if c == '"' {
			x.state = lexStart
		}
	case lexQuoteS:
		if c == '\'' {
			x.state = lexStart
		}
	case lexEnd:
		if c == '>' {
			x.depth--
			x.state = lexText
		}
	case lexBang:
		if c == cdataOpen[x.n] {
			x.n++
			if x.n == len(cdataOpen) {
				x.state, x.n = lexCDATA, 0
			}
			return
		}
		x.state, x.markup = lexMarkup, true
		if c == '>' {
			x.state = lexText
		}
	case lexCDATA:
		switch {
		case c == ']':
			x.n++
		case c == '>' && x.n >= 2:
			x.state, x.n = lexText, 0
		default:
			x.n = 0
		}
	case lexMarkup:
		if c == '>' {
			x.state = lexText
		}
	}
}

// insideStanza reports whether the lexer is inside a top-level element
// (or its start tag).
func (x *lexer) insideStanza() bool {
	return x.depth >= 2 || x.depth == 1 && x.state != lexText && x.state != lexLT
}

// tooLarge turns a read error into the error Next returns. When the limit
// was hit inside a stanza, it skips the rest of the stanza and returns a
// *TooLargeError; otherwise the stream error of convert.
func (d *Decoder) tooLarge(start *Element, err error) error {
	if !errors.Is(err, errTooLarge) || !d.in.lex.insideStanza() {
		return d.convert(err)
	}
	if err := d.in.skip(d.limits.MaxStanzaBytes * maxSkipFactor); err != nil {
		return err
	}
	d.restart()
	if start != nil {
		start = &Element{Name: start.Name, Attr: start.Attr}
	}
	return &TooLargeError{Start: start, Limit: d.limits.MaxStanzaBytes}
}

// skip consumes bytes until the stanza the lexer is in has ended, reading
// at most max bytes.
func (l *limitedReader) skip(max int) error {
	l.lex.markup = false
	for n := 0; l.lex.insideStanza(); n++ {
		if n >= max {
			return &StreamError{Condition: CondPolicyViolation, Text: fmt.Sprintf("element larger than %d bytes", max)}
		}
		c, err := l.r.ReadByte()
		if errors.Is(err, io.EOF) {
			return fmt.Errorf("xmpp: connection closed mid-element: %w", io.ErrUnexpectedEOF)
		}
		if err != nil {
			return fmt.Errorf("xmpp: read: %w", err)
		}
		l.lex.feed(c)
		if l.lex.markup {
			return &StreamError{Condition: CondRestrictedXML, Text: "markup declaration inside a stanza"}
		}
	}
	return nil
}

// skipRest consumes the rest of the top-level element whose start tag the
// XML decoder just returned (start), with the lexer alone, under the same
// size and depth limits and refusing the same markup as Next. The XML
// decoder, which still has the element open, is then shown an end tag of
// the element's local name (it closes a self-closing one by itself); if
// that does not close it (the start tag had a prefix), it is restarted.
func (d *Decoder) skipRest(start *Element) error {
	l := d.in
	l.lex.markup = false
	selfClosing := !l.lex.insideStanza()
	for l.lex.insideStanza() {
		_, err := l.ReadByte()
		if errors.Is(err, io.EOF) {
			return fmt.Errorf("xmpp: connection closed mid-element: %w", io.ErrUnexpectedEOF)
		}
		if err != nil {
			return d.tooLarge(start, err)
		}
		if l.lex.markup {
			return &StreamError{Condition: CondRestrictedXML, Text: "markup declaration inside a stanza"}
		}
		if l.lex.depth-1 > d.limits.MaxDepth {
			return &StreamError{Condition: CondPolicyViolation, Text: fmt.Sprintf("element nesting deeper than %d", d.limits.MaxDepth)}
		}
	}
	if !selfClosing {
		l.pre = []byte("</" + start.Name.Local + ">")
	}
	if tok, err := d.x.Token(); err != nil || len(l.pre) > 0 {
		d.restart()
	} else if _, ok := tok.(xml.EndElement); !ok {
		d.restart()
	}
	return nil
}

// restart replaces the XML decoder after a skip with one that first reads
// a copy of the stream header, which is consumed here.
func (d *Decoder) restart() {
	d.in.pre = d.header
	d.x = xml.NewDecoder(d.in)
	d.x.Strict = true
	_, _ = d.x.Token() // the copy of the header cannot fail
}

// headerCopy returns a stream header start tag with the namespace
// declarations of t, for restart.
func headerCopy(t xml.StartElement) string {
	var b strings.Builder
	prefix := ""
	for _, a := range t.Attr {
		if a.Name.Space == "xmlns" && a.Value == NSStream {
			prefix = a.Name.Local + ":"
		}
	}
	b.WriteString("<" + prefix + "stream")
	for _, a := range t.Attr {
		v := strings.NewReplacer("&", "&amp;", "'", "&apos;", "<", "&lt;").Replace(a.Value)
		switch {
		case a.Name.Space == "xmlns":
			b.WriteString(" xmlns:" + a.Name.Local + "='" + v + "'")
		case a.Name.Space == "" && a.Name.Local == "xmlns":
			b.WriteString(" xmlns='" + v + "'")
		}
	}
	b.WriteString(">")
	return b.String()
}
