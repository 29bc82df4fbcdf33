package xmpp_test

import (
	"bytes"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xgate-im/xgate/xmpp"
)

var update = flag.Bool("update", false, "rewrite golden files")

const streamHeader = "<stream:stream xmlns='jabber:component:accept' xmlns:stream='http://etherx.jabber.org/streams' id='x' from='gw.example'>"

// decodeOne decodes the first top-level element of a snippet as if it came
// from a component stream.
func decodeOne(t testing.TB, snippet string) (*xmpp.Element, error) {
	t.Helper()
	d := xmpp.NewDecoder(strings.NewReader(streamHeader+snippet), xmpp.Limits{})
	if _, err := d.ReadHeader(); err != nil {
		t.Fatalf("header: %v", err)
	}
	return d.Next()
}

func encode(el *xmpp.Element) string {
	var b bytes.Buffer
	el.WriteXML(&b, xmpp.NSComponent)
	return b.String()
}

// TestGoldenStanzas decodes each testdata/stanzas/*.xml, parses it into a
// typed stanza, encodes it again and compares with the .golden file. A
// malformed stanza is compared through the bounce it earns.
func TestGoldenStanzas(t *testing.T) {
	files, err := filepath.Glob("testdata/stanzas/*.xml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden inputs: %v", err)
	}
	for _, in := range files {
		name := strings.TrimSuffix(filepath.Base(in), ".xml")
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			el, err := decodeOne(t, strings.TrimSpace(string(raw)))
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			var got string
			s, err := xmpp.Parse(el)
			var bad *xmpp.MalformedError
			switch {
			case errors.As(err, &bad):
				got = "BOUNCE " + encode(xmpp.BounceElement(el, bad.Reply)) + "\n"
			case err != nil:
				t.Fatalf("parse: %v", err)
			default:
				got = encode(s.Element()) + "\n"
				// Encoding is stable: decoding our own output gives the same.
				el2, err := decodeOne(t, got)
				if err != nil {
					t.Fatalf("re-decode: %v", err)
				}
				s2, err := xmpp.Parse(el2)
				if err != nil {
					t.Fatalf("re-parse: %v", err)
				}
				if again := encode(s2.Element()) + "\n"; again != got {
					t.Errorf("not stable:\n%s\n%s", got, again)
				}
			}
			golden := strings.TrimSuffix(in, ".xml") + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create)", err)
			}
			if got != string(want) {
				t.Errorf("got:\n%s\nwant:\n%s", got, want)
			}
		})
	}
}

func TestDecoderRejects(t *testing.T) {
	deep := strings.Repeat("<a>", 60) + strings.Repeat("</a>", 60)
	tests := []struct {
		name  string
		input string
		limit xmpp.Limits
		cond  xmpp.Condition
	}{
		{"doctype", "<!DOCTYPE foo [<!ENTITY x 'y'>]><message/>", xmpp.Limits{}, xmpp.CondRestrictedXML},
		{"entity declaration", "<!ENTITY x 'y'>", xmpp.Limits{}, xmpp.CondRestrictedXML},
		{"processing instruction", "<?php echo 1 ?><message/>", xmpp.Limits{}, xmpp.CondRestrictedXML},
		{"comment", "<!-- hi --><message/>", xmpp.Limits{}, xmpp.CondRestrictedXML},
		{"comment inside stanza", "<message><!-- hi --></message>", xmpp.Limits{}, xmpp.CondRestrictedXML},
		{"pi inside stanza", "<message><?x y?></message>", xmpp.Limits{}, xmpp.CondRestrictedXML},
		{"unknown entity", "<message><body>&lol;</body></message>", xmpp.Limits{}, xmpp.CondNotWellFormed},
		{"mismatched tag", "<message><body></message>", xmpp.Limits{}, xmpp.CondNotWellFormed},
		{"bad attribute", "<message to=x/>", xmpp.Limits{}, xmpp.CondNotWellFormed},
		{"text between stanzas", "hello<message/>", xmpp.Limits{}, xmpp.CondBadFormat},
		{"too deep", "<message>" + deep + "</message>", xmpp.Limits{MaxDepth: 48}, xmpp.CondPolicyViolation},
		{"huge text between stanzas", strings.Repeat(" ", 5000) + "<message/>", xmpp.Limits{MaxStanzaBytes: 1000}, xmpp.CondPolicyViolation},
		{"oversize stanza beyond the skip bound", "<message>" + strings.Repeat("y", 70000) + "</message>", xmpp.Limits{MaxStanzaBytes: 1000}, xmpp.CondPolicyViolation},
		{"comment in a skipped stanza", "<message>" + strings.Repeat("y", 2000) + "<!-- x --></message>", xmpp.Limits{MaxStanzaBytes: 1000}, xmpp.CondRestrictedXML},
		{"duplicate attribute", "<message id='a' id='b'/>", xmpp.Limits{}, xmpp.CondNotWellFormed},
		{"duplicate attribute through two prefixes", "<message xmlns:a='urn:x' xmlns:b='urn:x' a:k='1' b:k='2'/>", xmpp.Limits{}, xmpp.CondNotWellFormed},
		{"duplicate attribute among many", "<message a1='' a2='' a3='' a4='' a5='' a6='' a7='' a8='' a9='' a3=''/>", xmpp.Limits{}, xmpp.CondNotWellFormed},
		{"duplicate attribute in a child", "<message><body xml:lang='en' xml:lang='de'>x</body></message>", xmpp.Limits{}, xmpp.CondNotWellFormed},
		{"invalid utf-8", "<message><body>\xff\xfe</body></message>", xmpp.Limits{}, xmpp.CondNotWellFormed},
		{"control character", "<message><body>\x01</body></message>", xmpp.Limits{}, xmpp.CondNotWellFormed},
		{"prefixed name with a bad local part", "<message><a:0 xmlns:a='urn:a'/></message>", xmpp.Limits{}, xmpp.CondNotWellFormed},
		{"prefixed attribute with a bad local part", "<message xmlns:a='urn:a' a:1x='v'/>", xmpp.Limits{}, xmpp.CondNotWellFormed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := xmpp.NewDecoder(strings.NewReader(streamHeader+tt.input), tt.limit)
			if _, err := d.ReadHeader(); err != nil {
				t.Fatalf("header: %v", err)
			}
			var err error
			for range 3 {
				if _, err = d.Next(); err != nil {
					break
				}
			}
			var se *xmpp.StreamError
			if !errors.As(err, &se) {
				t.Fatalf("got %v, want stream error %s", err, tt.cond)
			}
			if se.Condition != tt.cond || se.Remote {
				t.Fatalf("got %v, want local %s", se, tt.cond)
			}
		})
	}
}

func TestDecoderStream(t *testing.T) {
	in := "<?xml version='1.0'?>" + streamHeader + " \n <message to='a@b'/> <iq/>\t<stream:error><conflict xmlns='urn:ietf:params:xml:ns:xmpp-streams'/><text xmlns='urn:ietf:params:xml:ns:xmpp-streams'>Replaced</text></stream:error>"
	d := xmpp.NewDecoder(strings.NewReader(in), xmpp.Limits{})
	h, err := d.ReadHeader()
	if err != nil {
		t.Fatal(err)
	}
	if h.ID != "x" || h.From != "gw.example" || h.Namespace != xmpp.NSComponent {
		t.Fatalf("header %+v", h)
	}
	for _, want := range []string{"message", "iq"} {
		el, err := d.Next()
		if err != nil || el.Name.Local != want || el.Name.Space != xmpp.NSComponent {
			t.Fatalf("got %v %v, want %s", el, err, want)
		}
	}
	_, err = d.Next()
	var se *xmpp.StreamError
	if !errors.As(err, &se) || !se.Remote || se.Condition != xmpp.CondConflict || se.Text != "Replaced" {
		t.Fatalf("got %v", err)
	}

	d = xmpp.NewDecoder(strings.NewReader(streamHeader+"<message/></stream:stream>"), xmpp.Limits{})
	d.ReadHeader()
	d.Next()
	if _, err := d.Next(); !errors.Is(err, xmpp.ErrStreamClosed) {
		t.Fatalf("got %v, want ErrStreamClosed", err)
	}
}

func TestDecoderBadHeader(t *testing.T) {
	tests := []struct{ in string }{
		{"<stream xmlns='urn:other'/>"},
		{"<message/>"},
		{"text"},
		{"<!DOCTYPE x><stream:stream xmlns:stream='http://etherx.jabber.org/streams'>"},
		{"<?xml version='1.0'?><?xml version='1.0'?>"},
	}
	for _, tt := range tests {
		d := xmpp.NewDecoder(strings.NewReader(tt.in), xmpp.Limits{})
		if _, err := d.ReadHeader(); err == nil {
			t.Errorf("%q: accepted", tt.in)
		}
	}
}

func TestEscapingProducesWellFormedXML(t *testing.T) {
	tests := []struct{ text, want string }{
		{"a<b>&c", "a&lt;b&gt;&amp;c"},
		{"ctl\x00\x01x", "ctl\uFFFD\uFFFDx"},
		{"bad\xffutf8", "bad\uFFFDutf8"},
		{"cr\rlf\n", "cr&#xD;lf\n"},
		{"real \uFFFD kept", "real \uFFFD kept"},
		{"emoji 👋", "emoji 👋"},
	}
	for _, tt := range tests {
		el := xmpp.TextElement("", "body", tt.text)
		got := el.String()
		if want := "<body>" + tt.want + "</body>"; got != want {
			t.Errorf("%q: got %q want %q", tt.text, got, want)
		}
	}
	el := xmpp.NewElement("", "x", "a", "q\"<>&\t\n")
	if got, want := el.String(), `<x a="q&quot;&lt;&gt;&amp;&#x9;&#xA;"/>`; got != want {
		t.Errorf("attr: got %s want %s", got, want)
	}
}

func TestStanzaErrorRoundTrip(t *testing.T) {
	for _, cond := range []xmpp.Condition{xmpp.CondItemNotFound, xmpp.CondServiceUnavailable, xmpp.CondFeatureNotImplemented, xmpp.CondBadRequest, xmpp.CondResourceConstraint} {
		e := xmpp.NewStanzaError(cond, "because")
		e.App = xmpp.NewElement("urn:xgate:errors", "rate-limited")
		back := xmpp.ParseStanzaError(e.Element())
		if back.Condition != cond || back.Text != "because" || back.Type != e.Type || back.App == nil || !errors.Is(back, e) {
			t.Errorf("%s: got %+v", cond, back)
		}
	}
}

func TestBounceNeverAnswersErrors(t *testing.T) {
	e := xmpp.NewStanzaError(xmpp.CondItemNotFound, "")
	if xmpp.Bounce(&xmpp.Message{Header: xmpp.Header{Type: "error"}}, e) != nil {
		t.Error("bounced an error message")
	}
	if xmpp.Bounce(&xmpp.IQ{Header: xmpp.Header{Type: xmpp.IQResult, ID: "1"}}, e) != nil {
		t.Error("bounced an iq result")
	}
	if b := xmpp.Bounce(&xmpp.Message{Header: xmpp.Header{ID: "m", Type: "chat"}, Body: "x"}, e); b == nil || b.Head().Type != "error" || b.Head().ID != "m" {
		t.Errorf("message bounce %v", b)
	}
}

func FuzzDecoder(f *testing.F) {
	files, _ := filepath.Glob("testdata/stanzas/*.xml")
	for _, in := range files {
		b, _ := os.ReadFile(in)
		f.Add(string(b))
	}
	f.Add("<message><body>&amp;&#x1F44B;</body></message>")
	f.Add("<a xmlns:p='urn:p' p:x='1'><p:b/></a>")
	f.Add("<message id='x'><body a='>'><![CDATA[<]]>" + strings.Repeat("y", 600) + "</body></message><iq id='n'/>")
	f.Add("<message type='groupchat' id='g'><body>a</body></message><message type='groupchat'/><iq id='n'/></stream:stream>")
	f.Fuzz(func(t *testing.T, input string) {
		// A small limit, so that skipping oversize stanzas is exercised.
		d := xmpp.NewDecoder(strings.NewReader(streamHeader+input), xmpp.Limits{MaxStanzaBytes: 512, MaxDepth: 16})
		if _, err := d.ReadHeader(); err != nil {
			t.Fatal(err)
		}
		for range 8 {
			el, err := d.Next()
			var big *xmpp.TooLargeError
			if errors.As(err, &big) {
				if big.Start != nil {
					_ = encode(big.Start)
				}
				continue
			}
			if err != nil {
				return
			}
			// Whatever we accept, we can write, and what we write reads
			// back as the same tree.
			out := encode(el)
			el2, err := decodeOne(t, out)
			if err != nil {
				t.Fatalf("re-decode of %q: %v", out, err)
			}
			if out2 := encode(el2); out2 != out {
				t.Fatalf("unstable:\n%s\n%s", out, out2)
			}
			if s, err := xmpp.Parse(el); err == nil {
				_ = s.Element().String()
			}
		}
		checkSkip(t, input)
	})
}

// checkSkip decodes input with and without a filter (Decoder.SetSkip) and
// checks that the filter only takes away the elements it skips: where the
// plain decoder accepts the stream, the filtered one returns the same
// elements less the skipped ones, and ends the same way.
func checkSkip(t *testing.T, input string) {
	skip := func(start *xmpp.Element) bool {
		return start.Name.Local == "message" && start.AttrValue("type") == "groupchat"
	}
	run := func(filter bool) (got []string, end error) {
		d := xmpp.NewDecoder(strings.NewReader(streamHeader+input), xmpp.Limits{MaxStanzaBytes: 512, MaxDepth: 16})
		if _, err := d.ReadHeader(); err != nil {
			t.Fatal(err)
		}
		if filter {
			d.SetSkip(skip)
		}
		for range 8 {
			el, err := d.Next()
			var big *xmpp.TooLargeError
			switch {
			case errors.As(err, &big):
				start := "-"
				if big.Start != nil {
					start = encode(big.Start)
				}
				got = append(got, "too large "+start)
			case err != nil:
				return got, err
			case filter || !skip(el):
				got = append(got, encode(el))
			}
		}
		return got, nil
	}
	plain, plainEnd := run(false)
	filtered, filteredEnd := run(true)
	n := min(len(plain), len(filtered))
	if plainEnd != nil {
		n = len(plain)
	}
	if n > len(filtered) {
		t.Fatalf("filtered decoder stopped early (%v) after %q; plain decoder returned %q", filteredEnd, filtered, plain)
	}
	for i := range n {
		if plain[i] != filtered[i] {
			t.Fatalf("element %d: filtered %s, plain %s", i, filtered[i], plain[i])
		}
	}
	if errors.Is(plainEnd, xmpp.ErrStreamClosed) && (len(filtered) != len(plain) || !errors.Is(filteredEnd, xmpp.ErrStreamClosed)) {
		t.Fatalf("filtered %q (%v), plain %q (%v)", filtered, filteredEnd, plain, plainEnd)
	}
}

func BenchmarkDecodeMessage(b *testing.B) {
	raw, _ := os.ReadFile("testdata/stanzas/message-chat.xml")
	one := strings.TrimSpace(string(raw))
	stream := streamHeader + strings.Repeat(one, b.N)
	b.SetBytes(int64(len(one)))
	b.ReportAllocs()
	b.ResetTimer()
	d := xmpp.NewDecoder(strings.NewReader(stream), xmpp.Limits{})
	d.ReadHeader()
	for range b.N {
		el, err := d.Next()
		if err != nil {
			b.Fatal(err)
		}
		if _, err := xmpp.Parse(el); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodeMessage(b *testing.B) {
	raw, _ := os.ReadFile("testdata/stanzas/message-chat.xml")
	el, err := decodeOne(b, strings.TrimSpace(string(raw)))
	if err != nil {
		b.Fatal(err)
	}
	s, _ := xmpp.Parse(el)
	b.ReportAllocs()
	for range b.N {
		_ = xmpp.Encode(s)
	}
}

// An oversize stanza is skipped in constant memory and reported with its
// start tag; the stream goes on with the next stanza. (Before, it ended
// the stream.)
func TestDecoderSkipsOversize(t *testing.T) {
	big := strings.Repeat("x", 3000)
	tests := []struct {
		name, input string
		start       string // the reported start tag, "" for none
	}{
		{"long text", "<message from='a@b.c/r' to='gw.example' id='m1' type='chat'><body>" + big + "</body></message>", `<message from="a@b.c/r" to="gw.example" id="m1" type="chat"/>`},
		{"many children", "<iq type='set' id='i1'>" + strings.Repeat("<item a='1'/>", 500) + "</iq>", `<iq type="set" id="i1"/>`},
		{"huge attribute", "<message id='" + big + "'><body>x</body></message>", ""},
		{"huge self-closing start tag", "<presence id='" + big + "'/>", ""},
		{"markup characters in attribute values and CDATA", "<message id='q'><body a='&gt; /&gt; &lt;' b=\"'>\">" + big + "<![CDATA[</message> ]] > ]]>" + big + "</body></message>", `<message id="q"/>`},
		{"prefixed elements", "<message id='p' xmlns:e='urn:e'><e:x><e:y>" + big + "</e:y></e:x></message>", `<message id="p"/>`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := xmpp.NewDecoder(strings.NewReader(streamHeader+tt.input+"\n<message id='next'><body>after</body></message><stream:error><conflict xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error></stream:stream>"), xmpp.Limits{MaxStanzaBytes: 1000})
			if _, err := d.ReadHeader(); err != nil {
				t.Fatal(err)
			}
			_, err := d.Next()
			var big *xmpp.TooLargeError
			if !errors.As(err, &big) || big.Limit != 1000 {
				t.Fatalf("got %v, want *TooLargeError", err)
			}
			got := ""
			if big.Start != nil {
				got = encode(big.Start)
			}
			if got != tt.start {
				t.Fatalf("start %s, want %s", got, tt.start)
			}
			el, err := d.Next()
			if err != nil || el.AttrValue("id") != "next" || el.ChildText("", "body") != "after" || el.Name.Space != xmpp.NSComponent {
				t.Fatalf("next element %v (%s), %v", el, el.Name.Space, err)
			}
			// The stream prefix still resolves after the skip.
			var se *xmpp.StreamError
			if _, err := d.Next(); !errors.As(err, &se) || se.Condition != xmpp.CondConflict || !se.Remote {
				t.Fatalf("stream error after skip: %v", err)
			}
			if _, err := d.Next(); !errors.Is(err, xmpp.ErrStreamClosed) {
				t.Fatalf("end after skip: %v", err)
			}
		})
	}
}

// A connection that ends between stanzas is told apart from one that ends
// inside a stanza. (Before, both read "closed mid-element", which sent a
// flaky ejabberd test looking for a cut stanza that never was.)
func TestDecoderEOF(t *testing.T) {
	tests := []struct{ input, want string }{
		{"<message/>", "connection closed without </stream:stream>"},
		{"<message/>\n  ", "connection closed without </stream:stream>"},
		{"<message><body>hi", "connection closed mid-element"},
		{"<message id='x", "connection closed mid-element"},
		{"<message/><", "connection closed mid-element"},
	}
	for _, tt := range tests {
		d := xmpp.NewDecoder(strings.NewReader(streamHeader+tt.input), xmpp.Limits{})
		if _, err := d.ReadHeader(); err != nil {
			t.Fatal(err)
		}
		var err error
		for range 3 {
			if _, err = d.Next(); err != nil {
				break
			}
		}
		if !errors.Is(err, io.ErrUnexpectedEOF) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: got %v, want %q", tt.input, err, tt.want)
		}
	}
}
