package disco

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/xgate-im/xgate/xmpp/form"
)

const (
	featCaps  = "http://jabber.org/protocol/caps"
	featInfo  = "http://jabber.org/protocol/disco#info"
	featItems = "http://jabber.org/protocol/disco#items"
	featMUC   = "http://jabber.org/protocol/muc"
)

// exodus is the entity of the simple generation example, XEP-0115 §5.2,
// with its features out of order and one listed twice to exercise sorting.
func exodus() *Info {
	return &Info{
		Identities: []Identity{{Category: "client", Type: "pc", Name: "Exodus 0.9.1"}},
		Features:   []string{featMUC, featInfo, featCaps, featItems, featMUC},
	}
}

// psi is the entity of the complex generation example, XEP-0115 §5.3, built
// in code with every list out of order.
func psi() *Info {
	return &Info{
		Identities: []Identity{
			{Category: "client", Type: "pc", Name: "Psi 0.11", Lang: "en"},
			{Category: "client", Type: "pc", Name: "Ψ 0.11", Lang: "el"},
		},
		Features: []string{featMUC, featItems, featInfo, featCaps},
		Forms: []*form.Form{{
			Type: form.TypeResult,
			Fields: []form.Field{
				{Var: "software_version", Values: []string{"0.11"}},
				{Var: "os", Values: []string{"Mac"}},
				{Var: "FORM_TYPE", Type: form.FieldHidden, Values: []string{"urn:xmpp:dataforms:softwareinfo"}},
				{Var: "ip_version", Values: []string{"ipv6", "ipv4"}},
				{Var: "software", Values: []string{"Psi"}},
				{Var: "os_version", Values: []string{"10.5.1"}},
			},
		}},
	}
}

const (
	simpleS = "client/pc//Exodus 0.9.1<http://jabber.org/protocol/caps<http://jabber.org/protocol/disco#info<" +
		"http://jabber.org/protocol/disco#items<http://jabber.org/protocol/muc<"
	simpleVer = "QgayPKawpkPSDYmwT/WM94uAlu0="
	complexS  = "client/pc/el/Ψ 0.11<client/pc/en/Psi 0.11<http://jabber.org/protocol/caps<http://jabber.org/protocol/disco#info<" +
		"http://jabber.org/protocol/disco#items<http://jabber.org/protocol/muc<urn:xmpp:dataforms:softwareinfo<" +
		"ip_version<ipv4<ipv6<os<Mac<os_version<10.5.1<software<Psi<software_version<0.11<"
	complexVer = "q07IKJEyjvHSyhy//CH0CxmKi8w="
)

func TestCapsVerSimpleExample(t *testing.T) {
	i := exodus()
	if got := capsInput(i); got != simpleS {
		t.Errorf("S =\n%s\nwant\n%s", got, simpleS)
	}
	if got := CapsVer(i); got != simpleVer {
		t.Errorf("CapsVer = %s, want %s", got, simpleVer)
	}
	// The verification string of what goes on the wire is the same.
	back, err := ParseInfo(mustDecode(t, wire(i.Element())))
	if err != nil {
		t.Fatal(err)
	}
	if got := CapsVer(back); got != simpleVer {
		t.Errorf("CapsVer after a round trip = %s, want %s", got, simpleVer)
	}
}

func TestCapsVerComplexExample(t *testing.T) {
	if got := capsInput(psi()); got != complexS {
		t.Errorf("S =\n%s\nwant\n%s", got, complexS)
	}
	if got := CapsVer(psi()); got != complexVer {
		t.Errorf("CapsVer(built in code) = %s, want %s", got, complexVer)
	}
	src, err := os.ReadFile(filepath.Join("testdata", "caps-complex.xml"))
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := ParseInfo(mustDecode(t, string(src)))
	if err != nil {
		t.Fatal(err)
	}
	if got := CapsVer(parsed); got != complexVer {
		t.Errorf("CapsVer(the XEP's XML) = %s, want %s", got, complexVer)
	}
	if err := VerifyCaps(Caps{Hash: "sha-1", Node: "http://psi-im.org", Ver: complexVer}, parsed); err != nil {
		t.Errorf("VerifyCaps = %v", err)
	}
}

func TestCapsVerRules(t *testing.T) {
	tests := []struct {
		name string
		info *Info
		want string
	}{
		{"empty", &Info{}, ""},
		{"identities sorted field by field, not as strings",
			&Info{Identities: []Identity{{Category: "a-b", Type: "x"}, {Category: "a", Type: "y"}, {Category: "a", Type: "x", Lang: "fr"}, {Category: "a", Type: "x"}}},
			"a/x//<a/x/fr/<a/y//<a-b/x//<"},
		{"identical identities but for the name",
			&Info{Identities: []Identity{{Category: "c", Type: "t", Name: "b"}, {Category: "c", Type: "t", Name: "a"}}},
			"c/t//a<c/t//b<"},
		{"features by byte value, empty ones dropped",
			&Info{Features: []string{"b", "B", "", "a", "b"}}, "B<a<b<"},
		{"forms sorted by FORM_TYPE; forms without a hidden FORM_TYPE left out",
			&Info{Forms: []*form.Form{
				{Type: form.TypeResult, Fields: []form.Field{{Var: "FORM_TYPE", Type: form.FieldHidden, Values: []string{"urn:z"}}, {Var: "k", Values: []string{"v"}}}},
				{Type: form.TypeResult, Fields: []form.Field{{Var: "FORM_TYPE", Values: []string{"urn:untyped"}}, {Var: "k"}}},
				{Type: form.TypeResult, Fields: []form.Field{{Var: "no_form_type", Values: []string{"x"}}}},
				nil,
				{Type: form.TypeResult, Fields: []form.Field{{Var: "empty"}, {Var: "FORM_TYPE", Type: form.FieldHidden, Values: []string{"urn:a"}}}},
			}},
			"urn:a<empty<urn:z<k<v<"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := capsInput(tt.info); got != tt.want {
				t.Errorf("S = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestCapsElement(t *testing.T) {
	got := wire(CapsElement("http://code.google.com/p/exodus", exodus()))
	want := `<c xmlns="http://jabber.org/protocol/caps" hash="sha-1" node="http://code.google.com/p/exodus" ver="QgayPKawpkPSDYmwT/WM94uAlu0="/>`
	if got != want {
		t.Errorf("CapsElement =\n%s\nwant\n%s", got, want)
	}
	c, err := ParseCaps(mustDecode(t, got))
	if err != nil {
		t.Fatal(err)
	}
	if c != (Caps{Hash: "sha-1", Node: "http://code.google.com/p/exodus", Ver: simpleVer}) {
		t.Errorf("ParseCaps = %#v", c)
	}
	if got, want := c.InfoNode(), "http://code.google.com/p/exodus#"+simpleVer; got != want {
		t.Errorf("InfoNode = %q, want %q", got, want)
	}
}

func TestParseCaps(t *testing.T) {
	tests := []struct {
		xml     string
		want    Caps
		wantErr bool
	}{
		{xml: `<c xmlns='http://jabber.org/protocol/caps' hash='sha-1' node='https://conversations.im' ver='abc='/>`,
			want: Caps{Hash: "sha-1", Node: "https://conversations.im", Ver: "abc="}},
		{xml: `<c xmlns='http://jabber.org/protocol/caps' node='http://exodus.jabberstudio.org/caps' ver='0.9' ext='xhtml'/>`,
			want: Caps{Node: "http://exodus.jabberstudio.org/caps", Ver: "0.9"}},
		{xml: `<c xmlns='http://jabber.org/protocol/caps' hash='sha-1' ver='abc='/>`, wantErr: true},
		{xml: `<c xmlns='http://jabber.org/protocol/caps' hash='sha-1' node='n'/>`, wantErr: true},
		{xml: `<c xmlns='urn:xmpp:caps' hash='sha-1' node='n' ver='v'/>`, wantErr: true},
	}
	for _, tt := range tests {
		got, err := ParseCaps(mustDecode(t, tt.xml))
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("ParseCaps(%s) = %#v, %v; want %#v, error %v", tt.xml, got, err, tt.want, tt.wantErr)
		}
		if err != nil && !errors.Is(err, ErrInvalid) {
			t.Errorf("ParseCaps error %v does not wrap ErrInvalid", err)
		}
	}
}

func TestVerifyCaps(t *testing.T) {
	good := Caps{Hash: "sha-1", Node: "http://code.google.com/p/exodus", Ver: simpleVer}
	softwareInfo := func(values ...string) *form.Form {
		return &form.Form{Type: form.TypeResult, Fields: []form.Field{{Var: "FORM_TYPE", Type: form.FieldHidden, Values: values}}}
	}
	with := func(change func(*Info)) *Info {
		i := exodus()
		i.Features = []string{featCaps, featInfo, featItems, featMUC}
		change(i)
		return i
	}
	tests := []struct {
		name string
		caps Caps
		info *Info
		want error
	}{
		{"matches", good, with(func(*Info) {}), nil},
		{"other hash", Caps{Hash: "sha-256", Node: good.Node, Ver: good.Ver}, with(func(*Info) {}), ErrUnsupportedHash},
		{"legacy", Caps{Node: good.Node, Ver: "0.9"}, with(func(*Info) {}), ErrUnsupportedHash},
		{"other ver", Caps{Hash: "sha-1", Node: good.Node, Ver: complexVer}, with(func(*Info) {}), ErrCapsMismatch},
		{"feature missing", good, with(func(i *Info) { i.Features = i.Features[1:] }), ErrCapsMismatch},
		{"identity twice", good, with(func(i *Info) { i.Identities = append(i.Identities, i.Identities[0]) }), ErrInvalid},
		{"feature twice", good, with(func(i *Info) { i.Features = append(i.Features, featMUC) }), ErrInvalid},
		{"FORM_TYPE twice", good, with(func(i *Info) { i.Forms = []*form.Form{softwareInfo("urn:a"), softwareInfo("urn:a")} }), ErrInvalid},
		{"FORM_TYPE with differing values", good, with(func(i *Info) { i.Forms = []*form.Form{softwareInfo("urn:a", "urn:b")} }), ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := VerifyCaps(tt.caps, tt.info)
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Errorf("VerifyCaps = %v, want %v", err, tt.want)
			}
		})
	}
}
