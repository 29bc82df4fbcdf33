package disco

import (
	"bytes"
	"strings"
	"testing"

	"github.com/xgate-im/xgate/xmpp"
)

// streamHeader opens a client stream so that a snippet can be decoded by
// the real stream decoder, which is what feeds the parsers in production.
const streamHeader = "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>"

// decodeElement decodes the first element of snippet.
func decodeElement(snippet string) (*xmpp.Element, error) {
	d := xmpp.NewDecoder(strings.NewReader(streamHeader+snippet), xmpp.Limits{})
	if _, err := d.ReadHeader(); err != nil {
		return nil, err
	}
	return d.Next()
}

// mustDecode is decodeElement for snippets that must be well-formed.
func mustDecode(t testing.TB, snippet string) *xmpp.Element {
	t.Helper()
	el, err := decodeElement(snippet)
	if err != nil {
		t.Fatalf("decode %q: %v", snippet, err)
	}
	return el
}

// wire returns the XML of el as written inside a jabber:client stream, so
// that its own xmlns declaration shows (Element.String leaves out the
// namespace of the root, taking it as the stream's).
func wire(el *xmpp.Element) string {
	var b bytes.Buffer
	el.WriteXML(&b, xmpp.NSClient)
	return b.String()
}
