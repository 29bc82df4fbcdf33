package xmpp_test

import (
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/xgate-im/xgate/xmpp"
	"github.com/xgate-im/xgate/xmpp/xmpptest"
)

// skipGroupchat is the filter of the skip tests: groupchat messages to
// puppet@gw.example.
func skipGroupchat(start *xmpp.Element) bool {
	return start.Name.Local == "message" && start.AttrValue("type") == "groupchat" && start.AttrValue("to") == "puppet@gw.example"
}

func TestDecoderSetSkip(t *testing.T) {
	const gc = "<message type='groupchat' to='puppet@gw.example' id='s'"
	big := strings.Repeat("x", 3000)
	tests := []struct {
		name, input string
		wantIDs     []string // the ids of the elements Next returns, in order
		wantErr     string   // the error that ends the stream, "" for </stream:stream>
		tooLarge    string   // the start tag of a *TooLargeError met on the way
	}{
		{name: "kept and skipped",
			input:   gc + "><body>hi</body></message><message type='groupchat' to='listener@gw.example' id='l'><body>hi</body></message><message type='chat' to='puppet@gw.example' id='c'/>" + gc + "/><presence to='puppet@gw.example' id='p'/>",
			wantIDs: []string{"l", "c", "p"}},
		{name: "markup characters, CDATA and prefixes in the skipped element",
			input:   gc + " xmlns:e='urn:e'><body a='&gt; /&gt; &lt;' b=\"'>\"><![CDATA[</message> ]] > ]]></body><e:x><e:y/>text</e:x></message><iq type='get' id='after'/>",
			wantIDs: []string{"after"}},
		{name: "prefixed skipped element",
			input:   "<c:message xmlns:c='jabber:component:accept' type='groupchat' to='puppet@gw.example'><c:body>hi</c:body></c:message><message id='after'/>" + gc + "><body/></message><iq id='last'/>",
			wantIDs: []string{"after", "last"}},
		{name: "oversize skipped element is reported as any other",
			input:    gc + "><body>" + big + "</body></message><message id='next'/>",
			wantIDs:  []string{"next"},
			tooLarge: `<message type="groupchat" to="puppet@gw.example" id="s"/>`},
		{name: "comment inside",
			input:   gc + "><body><!-- no --></body></message><message id='never'/>",
			wantErr: "restricted-xml"},
		{name: "processing instruction inside",
			input:   gc + "><?pi x?></message>",
			wantErr: "restricted-xml"},
		{name: "too deep",
			input:   gc + ">" + strings.Repeat("<a>", 8) + strings.Repeat("</a>", 8) + "</message>",
			wantErr: "policy-violation"},
		{name: "deep enough",
			input:   gc + ">" + strings.Repeat("<a>", 7) + strings.Repeat("</a>", 7) + "</message><message id='ok'/>",
			wantIDs: []string{"ok"}},
		{name: "an invalid start tag is refused, not skipped",
			input:   "<message type='groupchat' to='puppet@gw.example' id='a' id='b'/>",
			wantErr: "not-well-formed"},
		{name: "connection closed inside",
			input:   gc + "><body>hi",
			wantErr: "closed mid-element"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := streamHeader + tt.input
			if tt.wantErr == "" {
				in += "</stream:stream>"
			}
			d := xmpp.NewDecoder(strings.NewReader(in), xmpp.Limits{MaxStanzaBytes: 1000, MaxDepth: 8})
			if _, err := d.ReadHeader(); err != nil {
				t.Fatal(err)
			}
			d.SetSkip(skipGroupchat)
			var ids []string
			var err error
			tooLarge := ""
			for {
				var el *xmpp.Element
				el, err = d.Next()
				var big *xmpp.TooLargeError
				if errors.As(err, &big) {
					tooLarge = encode(big.Start)
					continue
				}
				if err != nil {
					break
				}
				if el.Name.Space != xmpp.NSComponent {
					t.Fatalf("element %s in namespace %q", el, el.Name.Space)
				}
				ids = append(ids, el.AttrValue("id"))
			}
			if strings.Join(ids, " ") != strings.Join(tt.wantIDs, " ") {
				t.Errorf("ids %q, want %q", ids, tt.wantIDs)
			}
			if tooLarge != tt.tooLarge {
				t.Errorf("too large %q, want %q", tooLarge, tt.tooLarge)
			}
			if tt.wantErr == "" {
				if !errors.Is(err, xmpp.ErrStreamClosed) {
					t.Errorf("end %v, want ErrStreamClosed", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("end %v, want %q", err, tt.wantErr)
			}
			var se *xmpp.StreamError
			if tt.wantErr == "closed mid-element" && !errors.Is(err, io.ErrUnexpectedEOF) || tt.wantErr != "closed mid-element" && !errors.As(err, &se) {
				t.Errorf("end %T %v", err, err)
			}
		})
	}
}

// A component's filters drop what they match before the handler, count
// it, and let the rest through in order.
func TestComponentSkipStanzas(t *testing.T) {
	srv := xmpptest.NewServer(t, "s3cret")
	h := startComponentOn(t, srv, "s3cret", nil)
	h.comp.SkipStanzas(skipGroupchat)
	h.comp.SkipStanzas(func(start *xmpp.Element) bool { return start.AttrValue("id") == "drop" })
	ctx := ctxTimeout(t)
	conn, err := h.srv.Accept(ctx)
	if err != nil {
		t.Fatal(err)
	}
	h.waitState(t, xmpp.StateConnected)
	conn.Send("<message from='room@muc.example/bob' to='puppet@gw.example' type='groupchat' id='g1'><body>hi</body></message>" +
		"<presence from='room@muc.example/bob' to='puppet@gw.example' id='drop'/>" +
		"<message from='room@muc.example/bob' to='listener@gw.example' type='groupchat' id='g2'><body>hi</body></message>" +
		"<presence from='room@muc.example/bob' to='puppet@gw.example' id='p1'/>")
	for _, want := range []string{"g2", "p1"} {
		if s := h.next(t); s.Head().ID != want {
			t.Fatalf("got %s, want %s", s.Head().ID, want)
		}
	}
	if n := h.comp.Stats().Skipped; n != 2 {
		t.Fatalf("Skipped = %d, want 2", n)
	}
}
