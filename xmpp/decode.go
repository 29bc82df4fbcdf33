package xmpp

import (
	"bufio"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Limits bound what a peer may send on a stream. Zero fields take defaults.
type Limits struct {
	// MaxStanzaBytes is the largest top-level element accepted, counted in
	// bytes on the wire. Default DefaultMaxStanzaBytes.
	MaxStanzaBytes int
	// MaxDepth is the deepest element nesting accepted inside a stanza
	// (the stanza itself is depth 1). Default DefaultMaxDepth.
	MaxDepth int
}

// Defaults for Limits.
const (
	DefaultMaxStanzaBytes = 512 << 10
	DefaultMaxDepth       = 48
)

func (l Limits) withDefaults() Limits {
	if l.MaxStanzaBytes <= 0 {
		l.MaxStanzaBytes = DefaultMaxStanzaBytes
	}
	if l.MaxDepth <= 0 {
		l.MaxDepth = DefaultMaxDepth
	}
	return l
}

// StreamHeader is the opening <stream:stream> element of a stream.
type StreamHeader struct {
	ID, From, To, Version, Lang string
	// Namespace is the stream's default namespace (jabber:component:accept
	// or jabber:client).
	Namespace string
}

// Decoder reads a stream: its header, then one top-level element at a time.
// It is hardened against hostile input: DOCTYPE, entity declarations,
// processing instructions and comments are refused, and every top-level
// element is bounded in size and depth. A Decoder is not safe for
// concurrent use; one goroutine owns it.
type Decoder struct {
	in     *limitedReader
	x      *xml.Decoder
	limits Limits
	space  string
	header []byte // a copy of the stream header's namespace context
	skip   func(start *Element) bool
}

// SetSkip installs a filter that Next consults with the start tag of each
// top-level element (its name and attributes, no children) before reading
// its content. When f returns true, the rest of the element is consumed
// without being decoded and Next goes on with the next element. f runs on
// the goroutine that calls Next. Nil removes the filter.
//
// A skipped element is still held to the Limits (a larger one yields a
// *TooLargeError with its start tag, as any other) and refused if it holds
// a comment, processing instruction or declaration; its content is not
// otherwise checked, since it is never interpreted.
func (d *Decoder) SetSkip(f func(start *Element) bool) { d.skip = f }

// NewDecoder returns a Decoder reading from r.
func NewDecoder(r io.Reader, limits Limits) *Decoder {
	limits = limits.withDefaults()
	br, ok := r.(*bufio.Reader)
	if !ok {
		br = bufio.NewReaderSize(r, 16<<10)
	}
	in := &limitedReader{r: br}
	x := xml.NewDecoder(in)
	x.Strict = true
	return &Decoder{in: in, x: x, limits: limits}
}

var errTooLarge = errors.New("xmpp: stanza too large")

// limitedReader counts the bytes read since the last reset and refuses to
// read past the budget, so that no single element can make the XML decoder
// buffer without bound.
//
// Every byte it delivers is fed to a lexer that follows the element
// structure (decode_skip.go). Bytes in pre are delivered first, neither
// counted nor lexed.
type limitedReader struct {
	r      *bufio.Reader
	n, max int
	lex    lexer
	pre    []byte
}

func (l *limitedReader) ReadByte() (byte, error) {
	if len(l.pre) > 0 {
		c := l.pre[0]
		l.pre = l.pre[1:]
		return c, nil
	}
	if l.max > 0 && l.n >= l.max {
		return 0, errTooLarge
	}
	c, err := l.r.ReadByte()
	if err == nil {
		l.n++
		l.lex.feed(c)
	}
	return c, err
}

func (l *limitedReader) Read(p []byte) (int, error) {
	if len(l.pre) > 0 {
		n := copy(p, l.pre)
		l.pre = l.pre[n:]
		return n, nil
	}
	if l.max > 0 {
		if l.n >= l.max {
			return 0, errTooLarge
		}
		if len(p) > l.max-l.n {
			p = p[:l.max-l.n]
		}
	}
	n, err := l.r.Read(p)
	l.n += n
	for _, c := range p[:n] {
		l.lex.feed(c)
	}
	return n, err
}

func (l *limitedReader) reset(max int) { l.n, l.max = 0, max }

// ReadHeader reads up to and including the peer's <stream:stream> opening
// tag. A stream error sent instead of a header is returned as *StreamError.
func (d *Decoder) ReadHeader() (StreamHeader, error) {
	d.in.reset(d.limits.MaxStanzaBytes)
	seenDecl := false
	for {
		tok, err := d.x.Token()
		if err != nil {
			return StreamHeader{}, d.convert(err)
		}
		switch t := tok.(type) {
		case xml.ProcInst:
			if t.Target != "xml" || seenDecl {
				return StreamHeader{}, &StreamError{Condition: CondRestrictedXML, Text: "processing instruction"}
			}
			seenDecl = true
		case xml.CharData:
			if strings.TrimSpace(string(t)) != "" {
				return StreamHeader{}, &StreamError{Condition: CondNotWellFormed, Text: "text before stream header"}
			}
		case xml.StartElement:
			if t.Name.Space != NSStream || t.Name.Local != "stream" {
				if t.Name.Local == "stream" {
					return StreamHeader{}, &StreamError{Condition: CondInvalidNamespace, Text: "stream namespace " + Truncate(t.Name.Space, maxRemoteText)}
				}
				return StreamHeader{}, &StreamError{Condition: CondNotWellFormed, Text: "expected <stream:stream>, got <" + Truncate(t.Name.Local, maxRemoteText) + ">"}
			}
			h := StreamHeader{}
			for _, a := range t.Attr {
				switch {
				case a.Name.Space == "" && a.Name.Local == "xmlns":
					h.Namespace = a.Value
				case a.Name.Space == "" && a.Name.Local == "id":
					h.ID = a.Value
				case a.Name.Space == "" && a.Name.Local == "from":
					h.From = a.Value
				case a.Name.Space == "" && a.Name.Local == "to":
					h.To = a.Value
				case a.Name.Space == "" && a.Name.Local == "version":
					h.Version = a.Value
				case a.Name.Space == NSXML && a.Name.Local == "lang":
					h.Lang = a.Value
				}
			}
			d.space = h.Namespace
			d.header = []byte(headerCopy(t))
			return h, nil
		default:
			return StreamHeader{}, &StreamError{Condition: CondRestrictedXML, Text: fmt.Sprintf("%T before stream header", tok)}
		}
	}
}

// Next returns the next top-level element of the stream (a stanza, a
// handshake, stream features, ...). Whitespace between elements is skipped.
// The peer's </stream:stream> yields ErrStreamClosed; a <stream:error> yields
// a *StreamError with Remote set; hostile or malformed input yields a
// *StreamError whose condition should be sent back before closing.
func (d *Decoder) Next() (*Element, error) {
	for {
		d.in.reset(d.limits.MaxStanzaBytes)
		tok, err := d.x.Token()
		if err != nil {
			return nil, d.tooLarge(nil, err)
		}
		switch t := tok.(type) {
		case xml.CharData:
			if strings.TrimSpace(string(t)) != "" {
				return nil, &StreamError{Condition: CondBadFormat, Text: "text between stanzas"}
			}
		case xml.EndElement:
			return nil, ErrStreamClosed
		case xml.StartElement:
			root, err := newDecoded(t)
			if err != nil {
				return nil, err
			}
			if d.skip != nil && d.skip(root) {
				if err := d.skipRest(root); err != nil {
					return nil, err
				}
				continue
			}
			el, err := d.readElement(root)
			if err != nil {
				return nil, err
			}
			if el.Name.Space == NSStream && el.Name.Local == "error" {
				se := parseStreamError(el)
				se.Remote = true
				return nil, se
			}
			return el, nil
		case xml.ProcInst:
			return nil, &StreamError{Condition: CondRestrictedXML, Text: "processing instruction"}
		case xml.Comment:
			return nil, &StreamError{Condition: CondRestrictedXML, Text: "comment"}
		case xml.Directive:
			return nil, &StreamError{Condition: CondRestrictedXML, Text: "DTD or entity declaration"}
		}
	}
}

// readElement reads the rest of the element whose start tag made root,
// iteratively, enforcing the depth limit.
func (d *Decoder) readElement(root *Element) (*Element, error) {
	stack := []*Element{root}
	for len(stack) > 0 {
		tok, err := d.x.Token()
		if err != nil {
			return nil, d.tooLarge(root, err)
		}
		top := stack[len(stack)-1]
		switch t := tok.(type) {
		case xml.StartElement:
			if len(stack) >= d.limits.MaxDepth {
				return nil, &StreamError{Condition: CondPolicyViolation, Text: fmt.Sprintf("element nesting deeper than %d", d.limits.MaxDepth)}
			}
			child, err := newDecoded(t)
			if err != nil {
				return nil, err
			}
			top.Nodes = append(top.Nodes, Node{Elem: child})
			stack = append(stack, child)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if n := len(top.Nodes); n > 0 && top.Nodes[n-1].Elem == nil {
				top.Nodes[n-1].Text += string(t)
			} else {
				top.Nodes = append(top.Nodes, Node{Text: string(t)})
			}
		case xml.Comment:
			return nil, &StreamError{Condition: CondRestrictedXML, Text: "comment"}
		case xml.ProcInst:
			return nil, &StreamError{Condition: CondRestrictedXML, Text: "processing instruction"}
		case xml.Directive:
			return nil, &StreamError{Condition: CondRestrictedXML, Text: "DTD or entity declaration"}
		}
	}
	return root, nil
}

// newDecoded makes an Element of a start tag. encoding/xml splits a
// prefixed name at its colon without checking that the local part is a
// name by itself ("a:0"); such a name could not be written back, so it is
// refused here.
func newDecoded(t xml.StartElement) (*Element, error) {
	if !isNCName(t.Name.Local) {
		return nil, &StreamError{Condition: CondNotWellFormed, Text: fmt.Sprintf("invalid element name %q", Truncate(t.Name.Local, maxRemoteText))}
	}
	e := &Element{Name: t.Name}
	for _, a := range t.Attr {
		if a.Name.Space == "xmlns" || (a.Name.Space == "" && a.Name.Local == "xmlns") {
			continue
		}
		if !isNCName(a.Name.Local) {
			return nil, &StreamError{Condition: CondNotWellFormed, Text: fmt.Sprintf("invalid attribute name %q", Truncate(a.Name.Local, maxRemoteText))}
		}
		e.Attr = append(e.Attr, a)
	}
	if dup, ok := duplicateAttr(t.Attr); ok {
		return nil, &StreamError{Condition: CondNotWellFormed, Text: fmt.Sprintf("duplicate attribute %q", Truncate(dup, maxRemoteText))}
	}
	return e, nil
}

// duplicateAttr returns the name of an attribute that appears twice
// (after namespace resolution: Namespaces in XML 1.0 §6.3), which
// encoding/xml accepts.
func duplicateAttr(attrs []xml.Attr) (string, bool) {
	if len(attrs) <= 8 {
		for i := range attrs {
			for j := range i {
				if attrs[i].Name == attrs[j].Name {
					return attrs[i].Name.Local, true
				}
			}
		}
		return "", false
	}
	seen := make(map[xml.Name]bool, len(attrs))
	for _, a := range attrs {
		if seen[a.Name] {
			return a.Name.Local, true
		}
		seen[a.Name] = true
	}
	return "", false
}

// isNCName reports whether s is an XML name without a colon (Namespaces in
// XML 1.0, NCName; the character classes of XML 1.0 fifth edition).
func isNCName(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		if r == ':' || !isNameChar(r, i == 0) {
			return false
		}
	}
	return true
}

func isNameChar(r rune, first bool) bool {
	switch {
	case r == '_' || r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z',
		r >= 0xC0 && r <= 0xD6, r >= 0xD8 && r <= 0xF6, r >= 0xF8 && r <= 0x2FF,
		r >= 0x370 && r <= 0x37D, r >= 0x37F && r <= 0x1FFF, r >= 0x200C && r <= 0x200D,
		r >= 0x2070 && r <= 0x218F, r >= 0x2C00 && r <= 0x2FEF, r >= 0x3001 && r <= 0xD7FF,
		r >= 0xF900 && r <= 0xFDCF, r >= 0xFDF0 && r <= 0xFFFD, r >= 0x10000 && r <= 0xEFFFF:
		return true
	case first:
		return false
	}
	return r == '-' || r == '.' || r >= '0' && r <= '9' || r == 0xB7 ||
		r >= 0x300 && r <= 0x36F || r >= 0x203F && r <= 0x2040
}

// convert maps decoder errors to stream errors.
func (d *Decoder) convert(err error) error {
	var syn *xml.SyntaxError
	switch {
	case errors.Is(err, errTooLarge):
		return &StreamError{Condition: CondPolicyViolation, Text: fmt.Sprintf("stanza larger than %d bytes", d.limits.MaxStanzaBytes)}
	case errors.Is(err, io.EOF):
		return fmt.Errorf("xmpp: connection closed without </stream:stream>: %w", io.ErrUnexpectedEOF)
	case errors.As(err, &syn):
		if strings.Contains(syn.Msg, "unexpected EOF") {
			// encoding/xml says so for any EOF while the stream element
			// is open; only the lexer knows if a stanza was cut.
			if d.in.lex.insideStanza() || d.in.lex.state == lexLT {
				return fmt.Errorf("xmpp: connection closed mid-element: %w", io.ErrUnexpectedEOF)
			}
			return fmt.Errorf("xmpp: connection closed without </stream:stream>: %w", io.ErrUnexpectedEOF)
		}
		return &StreamError{Condition: CondNotWellFormed, Text: Truncate(syn.Msg, maxRemoteText)}
	}
	return fmt.Errorf("xmpp: read: %w", err)
}
