package bridge

import (
	"reflect"
	"testing"

	"github.com/xgate-im/xgate/xmpp"
)

func TestParseUserMessage(t *testing.T) {
	all := Capabilities{Replies: true, Threads: true}
	tests := []struct {
		name       string
		xml        string
		caps       Capabilities
		want       toNetworkItem
		state, dsp string
	}{
		{"plain", `<message id='x1'><body>hi</body></message>`, all,
			toNetworkItem{Kind: kindMessage, ID: "x1", Text: "hi"}, "", ""},
		{"thread", `<message id='x1'><body>hi</body><thread>T1</thread></message>`, all,
			toNetworkItem{Kind: kindMessage, ID: "x1", Text: "hi", Thread: "T1"}, "", ""},
		{"thread without Threads", `<message id='x1'><body>hi</body><thread>T1</thread></message>`, Capabilities{},
			toNetworkItem{Kind: kindMessage, ID: "x1", Text: "hi"}, "", ""},
		{"correction", `<message id='x2'><body>the</body><replace xmlns='urn:xmpp:message-correct:0' id='x1'/></message>`, all,
			toNetworkItem{Kind: kindEdit, ID: "x2", Text: "the", Target: "x1"}, "", ""},
		{"retraction drops its fallback body", `<message id='x3'><body>gone</body><retract xmlns='urn:xmpp:message-retract:1' id='x1'/><fallback xmlns='urn:xmpp:fallback:0' for='urn:xmpp:message-retract:1'/></message>`, all,
			toNetworkItem{Kind: kindRetract, ID: "x3", Target: "x1"}, "", ""},
		{"reactions removed", `<message id='x4'><reactions xmlns='urn:xmpp:reactions:0' id='x1'/></message>`, all,
			toNetworkItem{Kind: kindReact, ID: "x4", Target: "x1", Emojis: []string{}}, "", ""},
		{"reply strips the quote", `<message id='x5'><body>&gt; a
ok</body><reply xmlns='urn:xmpp:reply:0' id='x1'/><fallback xmlns='urn:xmpp:fallback:0' for='urn:xmpp:reply:0'><body start='0' end='4'/></fallback></message>`, all,
			toNetworkItem{Kind: kindMessage, ID: "x5", Text: "ok", ReplyTo: "x1"}, "", ""},
		{"reply without Replies keeps the quote", `<message id='x5'><body>&gt; a
ok</body><reply xmlns='urn:xmpp:reply:0' id='x1'/><fallback xmlns='urn:xmpp:fallback:0' for='urn:xmpp:reply:0'><body start='0' end='4'/></fallback></message>`, Capabilities{},
			toNetworkItem{Kind: kindMessage, ID: "x5", Text: "> a\nok"}, "", ""},
		{"chat state only", `<message><composing xmlns='http://jabber.org/protocol/chatstates'/></message>`, all,
			toNetworkItem{}, "composing", ""},
		{"displayed marker", `<message><displayed xmlns='urn:xmpp:chat-markers:0' id='r9'/></message>`, all,
			toNetworkItem{}, "", "r9"},
		{"a link that is the attachment", `<message id='x6'><body>https://e.org/a.png</body><x xmlns='jabber:x:oob'><url>https://e.org/a.png</url><desc>a</desc></x><request xmlns='urn:xmpp:receipts'/></message>`, all,
			toNetworkItem{Kind: kindMessage, ID: "x6", Files: []Attachment{{URL: "https://e.org/a.png", Name: "a"}}, Receipt: true}, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			el, err := xmpp.ParseElement(tt.xml)
			if err != nil {
				t.Fatal(err)
			}
			s, err := xmpp.Parse(el)
			if err != nil {
				t.Fatal(err)
			}
			it, state, dsp := parseUserMessage(s.(*xmpp.Message), tt.caps)
			if !reflect.DeepEqual(it, tt.want) || state != tt.state || dsp != tt.dsp {
				t.Errorf("got %+v %q %q\nwant %+v %q %q", it, state, dsp, tt.want, tt.state, tt.dsp)
			}
		})
	}
}
