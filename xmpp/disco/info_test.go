package disco

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/xgate-im/xgate/xmpp"
	"github.com/xgate-im/xgate/xmpp/form"
)

// gateway is the disco#info of a Slack gateway component.
func gateway() *Info {
	return &Info{
		Identities: []Identity{
			{Category: "gateway", Type: "slack", Name: "Slack"},
			{Category: "gateway", Type: "slack", Name: "Slack auf Deutsch", Lang: "de"},
		},
		Features: []string{"jabber:iq:register", featInfo, "jabber:iq:gateway", featItems, "jabber:iq:register", "http://jabber.org/protocol/commands"},
		Forms: []*form.Form{{Type: form.TypeResult, Fields: []form.Field{
			{Var: "FORM_TYPE", Type: form.FieldHidden, Values: []string{"http://jabber.org/network/serverinfo"}},
			{Var: "admin-addresses", Type: form.FieldListMulti, Values: []string{"xmpp:admin@example.org", "mailto:a&b@example.org"}},
		}}},
	}
}

func TestInfoElement(t *testing.T) {
	i := gateway()
	i.Node = "http://jabber.org/protocol/commands"
	want := `<query xmlns="http://jabber.org/protocol/disco#info" node="http://jabber.org/protocol/commands">` +
		`<identity category="gateway" type="slack" name="Slack"/>` +
		`<identity category="gateway" type="slack" name="Slack auf Deutsch" xml:lang="de"/>` +
		`<feature var="http://jabber.org/protocol/commands"/><feature var="http://jabber.org/protocol/disco#info"/>` +
		`<feature var="http://jabber.org/protocol/disco#items"/><feature var="jabber:iq:gateway"/><feature var="jabber:iq:register"/>` +
		`<x xmlns="jabber:x:data" type="result"><field type="hidden" var="FORM_TYPE"><value>http://jabber.org/network/serverinfo</value></field>` +
		`<field type="list-multi" var="admin-addresses"><value>xmpp:admin@example.org</value><value>mailto:a&amp;b@example.org</value></field></x></query>`
	if got := wire(i.Element()); got != want {
		t.Errorf("Element() =\n%s\nwant\n%s", got, want)
	}
	if len(i.Features) != 6 || i.Features[0] != "jabber:iq:register" {
		t.Errorf("Element() changed Features: %q", i.Features)
	}
	if got := wire((&Info{}).Element()); got != `<query xmlns="http://jabber.org/protocol/disco#info"/>` {
		t.Errorf("empty Info: %s", got)
	}
}

func TestInfoRoundTrip(t *testing.T) {
	i := gateway()
	i.Node = "node"
	got, err := ParseInfo(mustDecode(t, wire(i.Element())))
	if err != nil {
		t.Fatal(err)
	}
	want := gateway()
	want.Node = "node"
	want.Features = normalFeatures(want.Features)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("round trip\n got: %#v\nwant: %#v", got, want)
	}
	if CapsVer(got) != CapsVer(i) {
		t.Error("CapsVer changed over the wire")
	}
}

func TestParseInfo(t *testing.T) {
	// A server's answer shaped like XEP-0030 §3.1 with a result set and
	// whitespace, which must be ignored.
	got, err := ParseInfo(mustDecode(t, `<query xmlns='http://jabber.org/protocol/disco#info'>
  <identity category='server' type='im' name='Prosody'/>
  <identity category='pubsub' type='pep'/>
  <feature var='http://jabber.org/protocol/disco#info'/>
  <feature var='urn:xmpp:ping'/>
  <feature var='urn:xmpp:ping'/>
  <set xmlns='http://jabber.org/protocol/rsm'><count>2</count></set>
</query>`))
	if err != nil {
		t.Fatal(err)
	}
	want := &Info{
		Identities: []Identity{{Category: "server", Type: "im", Name: "Prosody"}, {Category: "pubsub", Type: "pep"}},
		Features:   []string{featInfo, "urn:xmpp:ping", "urn:xmpp:ping"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ParseInfo\n got: %#v\nwant: %#v", got, want)
	}
	if !got.HasFeature("urn:xmpp:ping") || got.HasFeature("urn:xmpp:time") {
		t.Error("HasFeature wrong")
	}
	// A tree built in code with inherited namespaces parses too.
	hand := xmpp.NewElement(NSInfo, "query").Append(xmpp.NewElement("", "feature", "var", "f"))
	if got, err := ParseInfo(hand); err != nil || !got.HasFeature("f") {
		t.Errorf("ParseInfo(hand-built) = %#v, %v", got, err)
	}
}

func TestParseInfoErrors(t *testing.T) {
	tests := []struct{ name, xml, msg string }{
		{"items query", `<query xmlns='http://jabber.org/protocol/disco#items'/>`, "not a <query"},
		{"wrong element", `<info xmlns='http://jabber.org/protocol/disco#info'/>`, "not a <query"},
		{"identity without category", `<query xmlns='http://jabber.org/protocol/disco#info'><identity type='pc'/></query>`, "identity 1"},
		{"identity without type", `<query xmlns='http://jabber.org/protocol/disco#info'><identity category='client'/><identity category='client'/></query>`, "identity 1"},
		{"feature without var", `<query xmlns='http://jabber.org/protocol/disco#info'><feature var='a'/><feature/></query>`, "feature 2"},
		{"bad form", `<query xmlns='http://jabber.org/protocol/disco#info'><x xmlns='jabber:x:data'/></query>`, "extended form 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseInfo(mustDecode(t, tt.xml))
			if err == nil {
				t.Fatalf("ParseInfo succeeded: %#v", got)
			}
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error %q: want ErrInvalid mentioning %q", err, tt.msg)
			}
		})
	}
	_, err := ParseInfo(mustDecode(t, `<query xmlns='http://jabber.org/protocol/disco#info'><x xmlns='jabber:x:data'/></query>`))
	if !errors.Is(err, form.ErrInvalid) {
		t.Errorf("bad form error %v does not wrap form.ErrInvalid", err)
	}
	if _, err := ParseInfo(nil); !errors.Is(err, ErrInvalid) {
		t.Errorf("ParseInfo(nil) = %v", err)
	}
}
