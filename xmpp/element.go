package xmpp

import (
	"bytes"
	"encoding/xml"
	"strings"
	"unicode/utf8"
)

// Namespaces used across the package.
const (
	NSComponent = "jabber:component:accept"
	NSClient    = "jabber:client"
	NSStream    = "http://etherx.jabber.org/streams"
	NSStanzas   = "urn:ietf:params:xml:ns:xmpp-stanzas"
	NSStreams   = "urn:ietf:params:xml:ns:xmpp-streams"
	NSXML       = "http://www.w3.org/XML/1998/namespace"
	NSDelay     = "urn:xmpp:delay"
	NSStanzaID  = "urn:xmpp:sid:0"
	NSPing      = "urn:xmpp:ping"
)

// Element is a generic XML element: the in-memory form of a stanza or of any
// of its children. Name.Space is the namespace URI; an empty Space means the
// element inherits the namespace of its parent when written.
//
// Nodes keeps text and child elements in document order so that mixed
// content (for example XHTML-IM) round-trips unchanged.
type Element struct {
	Name  xml.Name
	Attr  []xml.Attr // never contains xmlns declarations
	Nodes []Node
}

// Node is one item of an element's content: either a child element or a run
// of character data.
type Node struct {
	Elem *Element // nil for text
	Text string
}

// NewElement returns an element with the given namespace, local name and
// attributes given as name, value pairs. Attribute names may be "xml:lang".
func NewElement(space, local string, attrs ...string) *Element {
	e := &Element{Name: xml.Name{Space: space, Local: local}}
	for i := 0; i+1 < len(attrs); i += 2 {
		e.SetAttr(attrs[i], attrs[i+1])
	}
	return e
}

// attrName turns "xml:lang" into the namespaced name the decoder produces.
func attrName(name string) xml.Name {
	if rest, ok := strings.CutPrefix(name, "xml:"); ok {
		return xml.Name{Space: NSXML, Local: rest}
	}
	return xml.Name{Local: name}
}

// AttrValue returns the value of the attribute with the given name ("id",
// "xml:lang") or "" when it is absent.
func (e *Element) AttrValue(name string) string {
	n := attrName(name)
	for _, a := range e.Attr {
		if a.Name == n {
			return a.Value
		}
	}
	return ""
}

// SetAttr sets or replaces an attribute; an empty value removes it.
func (e *Element) SetAttr(name, value string) *Element {
	n := attrName(name)
	for i, a := range e.Attr {
		if a.Name == n {
			if value == "" {
				e.Attr = append(e.Attr[:i], e.Attr[i+1:]...)
			} else {
				e.Attr[i].Value = value
			}
			return e
		}
	}
	if value != "" {
		e.Attr = append(e.Attr, xml.Attr{Name: n, Value: value})
	}
	return e
}

// Append adds child elements and returns e for chaining. Nil children are
// skipped.
func (e *Element) Append(children ...*Element) *Element {
	for _, c := range children {
		if c != nil {
			e.Nodes = append(e.Nodes, Node{Elem: c})
		}
	}
	return e
}

// AppendText adds character data and returns e for chaining.
func (e *Element) AppendText(s string) *Element {
	if s != "" {
		e.Nodes = append(e.Nodes, Node{Text: s})
	}
	return e
}

// TextElement returns <local xmlns=space>text</local>.
func TextElement(space, local, text string) *Element {
	return NewElement(space, local).AppendText(text)
}

// Text returns the concatenated character data directly inside e.
func (e *Element) Text() string {
	var b strings.Builder
	for _, n := range e.Nodes {
		if n.Elem == nil {
			b.WriteString(n.Text)
		}
	}
	return b.String()
}

// Children returns the child elements in document order.
func (e *Element) Children() []*Element {
	var out []*Element
	for _, n := range e.Nodes {
		if n.Elem != nil {
			out = append(out, n.Elem)
		}
	}
	return out
}

// Child returns the first child with the given namespace and local name. An
// empty space matches any namespace.
func (e *Element) Child(space, local string) *Element {
	for _, n := range e.Nodes {
		if n.Elem != nil && n.Elem.Name.Local == local && (space == "" || n.Elem.Name.Space == space) {
			return n.Elem
		}
	}
	return nil
}

// ChildText returns the text of Child(space, local), or "".
func (e *Element) ChildText(space, local string) string {
	if c := e.Child(space, local); c != nil {
		return c.Text()
	}
	return ""
}

// FirstChild returns the first child element or nil.
func (e *Element) FirstChild() *Element {
	for _, n := range e.Nodes {
		if n.Elem != nil {
			return n.Elem
		}
	}
	return nil
}

// Copy returns a deep copy of e.
func (e *Element) Copy() *Element {
	if e == nil {
		return nil
	}
	c := &Element{Name: e.Name, Attr: append([]xml.Attr(nil), e.Attr...)}
	if len(e.Nodes) > 0 {
		c.Nodes = make([]Node, len(e.Nodes))
		for i, n := range e.Nodes {
			c.Nodes[i] = Node{Elem: n.Elem.Copy(), Text: n.Text}
		}
	}
	return c
}

// String returns the XML of e as a standalone fragment: its namespace is
// declared when it has one.
func (e *Element) String() string {
	var b bytes.Buffer
	e.WriteXML(&b, "")
	return b.String()
}

// WriteXML appends the XML of e to b. parentSpace is the default namespace
// in scope: an xmlns declaration is written only when e's namespace differs.
func (e *Element) WriteXML(b *bytes.Buffer, parentSpace string) {
	b.WriteByte('<')
	b.WriteString(e.Name.Local)
	space := parentSpace
	if e.Name.Space != "" && e.Name.Space != parentSpace {
		space = e.Name.Space
		b.WriteString(` xmlns="`)
		escapeAttr(b, space)
		b.WriteByte('"')
	}
	prefixes := 0
	for _, a := range e.Attr {
		b.WriteByte(' ')
		switch a.Name.Space {
		case "":
		case NSXML, "xml":
			b.WriteString("xml:")
		default:
			// Rare: a namespaced attribute other than xml:*. Declare a
			// prefix on this element.
			prefixes++
			p := "ns" + string(rune('0'+prefixes%10))
			b.WriteString("xmlns:" + p + `="`)
			escapeAttr(b, a.Name.Space)
			b.WriteString(`" ` + p + ":")
		}
		b.WriteString(a.Name.Local)
		b.WriteString(`="`)
		escapeAttr(b, a.Value)
		b.WriteByte('"')
	}
	if len(e.Nodes) == 0 {
		b.WriteString("/>")
		return
	}
	b.WriteByte('>')
	for _, n := range e.Nodes {
		if n.Elem != nil {
			n.Elem.WriteXML(b, space)
		} else {
			escapeText(b, n.Text)
		}
	}
	b.WriteString("</")
	b.WriteString(e.Name.Local)
	b.WriteByte('>')
}

// validXMLChar reports whether r may appear in an XML 1.0 document.
func validXMLChar(r rune) bool {
	return r == 0x09 || r == 0x0A || r == 0x0D ||
		r >= 0x20 && r <= 0xD7FF ||
		r >= 0xE000 && r <= 0xFFFD ||
		r >= 0x10000 && r <= 0x10FFFF
}

func escapeText(b *bytes.Buffer, s string) { escapeInto(b, s, false) }

func escapeAttr(b *bytes.Buffer, s string) { escapeInto(b, s, true) }

// escapeInto writes s with the XML special characters escaped. Characters
// XML 1.0 forbids and invalid UTF-8 become U+FFFD, so the output is always
// well-formed.
func escapeInto(b *bytes.Buffer, s string, attr bool) {
	last := 0
	for i := 0; i < len(s); {
		r, width := utf8.DecodeRuneInString(s[i:])
		var esc string
		switch {
		case r == '&':
			esc = "&amp;"
		case r == '<':
			esc = "&lt;"
		case r == '>':
			esc = "&gt;"
		case r == '\r':
			esc = "&#xD;"
		case attr && r == '"':
			esc = "&quot;"
		case attr && r == '\t':
			esc = "&#x9;"
		case attr && r == '\n':
			esc = "&#xA;"
		case r == utf8.RuneError && width == 1, !validXMLChar(r):
			esc = "\uFFFD"
		}
		if esc != "" {
			b.WriteString(s[last:i])
			b.WriteString(esc)
			last = i + width
		}
		i += width
	}
	b.WriteString(s[last:])
}

// ParseElement decodes one XML element from a string, as if it arrived on
// a component stream. It is meant for tests and constants.
func ParseElement(s string) (*Element, error) {
	d := NewDecoder(strings.NewReader("<stream:stream xmlns='"+NSComponent+"' xmlns:stream='"+NSStream+"'>"+s), Limits{})
	if _, err := d.ReadHeader(); err != nil {
		return nil, err
	}
	return d.Next()
}
