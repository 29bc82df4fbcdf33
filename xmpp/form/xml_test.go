package form

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/xgate-im/xgate/xmpp"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// TestGolden parses every example under testdata/xep0004 (the XEP-0004
// examples, which between them use every field type, plus two of ours),
// compares the re-encoded form with NAME.golden, and checks that the golden
// output parses back to the same Form.
func TestGolden(t *testing.T) {
	inputs, err := filepath.Glob(filepath.Join("testdata", "xep0004", "*.xml"))
	if err != nil || len(inputs) == 0 {
		t.Fatalf("no test data: %v", err)
	}
	types := map[FieldType]bool{}
	for _, in := range inputs {
		name := strings.TrimSuffix(filepath.Base(in), ".xml")
		t.Run(name, func(t *testing.T) {
			src, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			f := mustParse(t, string(src))
			got := wire(f.Element()) + "\n"
			golden := strings.TrimSuffix(in, ".xml") + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("Element() mismatch\n got: %s\nwant: %s", got, want)
			}
			again := mustParse(t, got)
			if !reflect.DeepEqual(again, f) {
				t.Errorf("round trip changed the form\nfirst:  %#v\nsecond: %#v", f, again)
			}
			for _, fld := range f.Fields {
				types[fld.Type] = true
			}
			for _, fld := range f.Reported {
				types[fld.Type] = true
			}
		})
	}
	for _, typ := range []FieldType{FieldBoolean, FieldFixed, FieldHidden, FieldJIDMulti, FieldJIDSingle,
		FieldListMulti, FieldListSingle, FieldTextMulti, FieldTextPrivate, FieldTextSingle} {
		if !types[typ] {
			t.Errorf("no golden example uses field type %s", typ)
		}
	}
}

// TestParseBotCreationForm checks what Parse makes of the richest XEP-0004
// example, field by field.
func TestParseBotCreationForm(t *testing.T) {
	src, err := os.ReadFile(filepath.Join("testdata", "xep0004", "bot-creation-form.xml"))
	if err != nil {
		t.Fatal(err)
	}
	got := mustParse(t, string(src))
	fixed := func(v string) Field { return Field{Type: FieldFixed, Values: []string{v}} }
	opt := func(label, value string) Option { return Option{Label: label, Value: value} }
	want := &Form{
		Type:         TypeForm,
		Title:        "Bot Configuration",
		Instructions: []string{"Fill out this form to configure your new bot!"},
		Fields: []Field{
			{Var: "FORM_TYPE", Type: FieldHidden, Values: []string{"jabber:bot"}},
			fixed("Section 1: Bot Info"),
			{Var: "botname", Label: "The name of your bot", Type: FieldTextSingle},
			{Var: "description", Label: "Helpful description of your bot", Type: FieldTextMulti},
			{Var: "public", Label: "Public bot?", Type: FieldBoolean, Required: true},
			{Var: "password", Label: "Password for special access", Type: FieldTextPrivate},
			fixed("Section 2: Features"),
			{Var: "features", Label: "What features will the bot support?", Type: FieldListMulti,
				Values: []string{"news", "search"},
				Options: []Option{opt("Contests", "contests"), opt("News", "news"), opt("Polls", "polls"),
					opt("Reminders", "reminders"), opt("Search", "search")}},
			fixed("Section 3: Subscriber List"),
			{Var: "maxsubs", Label: "Maximum number of subscribers", Type: FieldListSingle,
				Values: []string{"20"},
				Options: []Option{opt("10", "10"), opt("20", "20"), opt("30", "30"), opt("50", "50"),
					opt("100", "100"), opt("None", "none")}},
			fixed("Section 4: Invitations"),
			{Var: "invitelist", Label: "People to invite", Type: FieldJIDMulti,
				Desc: "Tell all your friends about your new bot!"},
		},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Parse mismatch\n got: %#v\nwant: %#v", got, want)
	}
	if ft := got.FormType(); ft != "jabber:bot" {
		t.Errorf("FormType() = %q, want jabber:bot", ft)
	}
}

// TestParseSearchResult checks the result table of XEP-0004 §5.2.
func TestParseSearchResult(t *testing.T) {
	src, err := os.ReadFile(filepath.Join("testdata", "xep0004", "search-result.xml"))
	if err != nil {
		t.Fatal(err)
	}
	got := mustParse(t, string(src))
	if got.Title != "Joogle Search: verona" || len(got.Fields) != 0 {
		t.Errorf("title %q, %d fields", got.Title, len(got.Fields))
	}
	if want := []Field{{Var: "name"}, {Var: "url"}}; !reflect.DeepEqual(got.Reported, want) {
		t.Errorf("Reported = %#v, want %#v", got.Reported, want)
	}
	if len(got.Items) != 5 {
		t.Fatalf("%d items, want 5", len(got.Items))
	}
	row := got.Items[2]
	want := []Field{
		{Var: "name", Values: []string{"Universita degli Studi di Verona - Home Page"}},
		{Var: "url", Values: []string{"http://www.univr.it/"}},
	}
	if !reflect.DeepEqual(row, want) {
		t.Errorf("Items[2] = %#v, want %#v", row, want)
	}
}

// TestParseClientSubmissions parses submissions shaped like those real
// clients send: Conversations leaves out field types, Gajim echoes types
// and labels and pretty-prints, Dino sends empty values for untouched
// fields, and some libraries use a namespace prefix.
func TestParseClientSubmissions(t *testing.T) {
	tests := []struct {
		name, xml string
		want      *Form
	}{{
		name: "conversations register, no types",
		xml: `<x xmlns="jabber:x:data" type="submit"><field var="FORM_TYPE"><value>jabber:iq:register</value></field>` +
			`<field var="workspace"><value>capulet</value></field><field var="token"><value>xoxp-1-secret</value></field>` +
			`<field var="carbons"><value>1</value></field></x>`,
		want: &Form{Type: TypeSubmit, Fields: []Field{
			{Var: "FORM_TYPE", Values: []string{"jabber:iq:register"}},
			{Var: "workspace", Values: []string{"capulet"}},
			{Var: "token", Values: []string{"xoxp-1-secret"}},
			{Var: "carbons", Values: []string{"1"}},
		}},
	}, {
		name: "gajim ad-hoc, typed and indented",
		xml: "<x xmlns='jabber:x:data' type='submit'>\n" +
			"  <field type='hidden' var='FORM_TYPE'>\n    <value>http://jabber.org/protocol/admin</value>\n  </field>\n" +
			"  <field type='jid-single' label='The Jabber ID' var='accountjid'>\n    <value>juliet@capulet.lit</value>\n  </field>\n" +
			"  <field type='boolean' var='notify'><value>true</value></field>\n" +
			"  <field type='list-multi' var='networks'><value>slack</value><value>discord</value></field>\n" +
			"</x>",
		want: &Form{Type: TypeSubmit, Fields: []Field{
			{Var: "FORM_TYPE", Type: FieldHidden, Values: []string{"http://jabber.org/protocol/admin"}},
			{Var: "accountjid", Label: "The Jabber ID", Type: FieldJIDSingle, Values: []string{"juliet@capulet.lit"}},
			{Var: "notify", Type: FieldBoolean, Values: []string{"true"}},
			{Var: "networks", Type: FieldListMulti, Values: []string{"slack", "discord"}},
		}},
	}, {
		name: "dino muc config, empty values",
		xml: `<x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE' type='hidden'><value>http://jabber.org/protocol/muc#roomconfig</value></field>` +
			`<field var='muc#roomconfig_roomname' type='text-single'><value/></field>` +
			`<field var='muc#roomconfig_roomdesc' type='text-single'><value></value></field>` +
			`<field var='muc#roomconfig_persistentroom' type='boolean'><value>false</value></field></x>`,
		want: &Form{Type: TypeSubmit, Fields: []Field{
			{Var: "FORM_TYPE", Type: FieldHidden, Values: []string{"http://jabber.org/protocol/muc#roomconfig"}},
			{Var: "muc#roomconfig_roomname", Type: FieldTextSingle, Values: []string{""}},
			{Var: "muc#roomconfig_roomdesc", Type: FieldTextSingle, Values: []string{""}},
			{Var: "muc#roomconfig_persistentroom", Type: FieldBoolean, Values: []string{"false"}},
		}},
	}, {
		name: "prefixed namespace",
		xml: `<d:x xmlns:d='jabber:x:data' type='submit'><d:field var='search_request'><d:value>verona</d:value></d:field>` +
			`<d:field var='x'><validate xmlns='http://jabber.org/protocol/xdata-validate'/><d:value>1</d:value></d:field></d:x>`,
		want: &Form{Type: TypeSubmit, Fields: []Field{
			{Var: "search_request", Values: []string{"verona"}},
			{Var: "x", Values: []string{"1"}},
		}},
	}, {
		name: "cancel",
		xml:  `<x xmlns='jabber:x:data' type='cancel'/>`,
		want: &Form{Type: TypeCancel},
	}, {
		name: "value text kept verbatim",
		xml:  "<x xmlns='jabber:x:data' type='submit'><field var='note'><value>  two  spaces &amp; &lt;tags&gt; ☃ </value></field></x>",
		want: &Form{Type: TypeSubmit, Fields: []Field{{Var: "note", Values: []string{"  two  spaces & <tags> ☃ "}}}},
	}, {
		name: "unknown field type kept, other-namespace children ignored",
		xml: `<x xmlns='jabber:x:data' type='form'><field var='when' type='datetime'><desc>first</desc><desc>second</desc></field>` +
			`<media xmlns='urn:xmpp:media-element'/><title>A</title><title>B</title></x>`,
		want: &Form{Type: TypeForm, Title: "A", Fields: []Field{{Var: "when", Type: "datetime", Desc: "first"}}},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := mustParse(t, tt.xml)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Parse mismatch\n got: %#v\nwant: %#v", got, tt.want)
			}
		})
	}
}

// TestParseErrors checks what Parse refuses; every error wraps ErrInvalid.
func TestParseErrors(t *testing.T) {
	tests := []struct{ name, xml, msg string }{
		{"wrong namespace", `<x xmlns='jabber:x:oob' type='form'/>`, "is not <x"},
		{"wrong name", `<form xmlns='jabber:x:data' type='form'/>`, "is not <x"},
		{"no type", `<x xmlns='jabber:x:data'/>`, "no type"},
		{"unknown type", `<x xmlns='jabber:x:data' type='draft'/>`, `unknown form type "draft"`},
		{"field without var", `<x xmlns='jabber:x:data' type='submit'><field><value>a</value></field></x>`, "without var"},
		{"duplicate var", `<x xmlns='jabber:x:data' type='submit'><field var='a'/><field var='a'/></x>`, `two fields named "a"`},
		{"option without value", `<x xmlns='jabber:x:data' type='form'><field var='a' type='list-single'><option label='A'/></field></x>`, "has 0 values"},
		{"option with two values", `<x xmlns='jabber:x:data' type='form'><field var='a' type='list-single'><option><value>1</value><value>2</value></option></field></x>`, "has 2 values"},
		{"two reported", `<x xmlns='jabber:x:data' type='result'><reported/><reported/></x>`, "more than one <reported/>"},
		{"bad reported field", `<x xmlns='jabber:x:data' type='result'><reported><field/></reported></x>`, "reported: field without var"},
		{"duplicate var in item", `<x xmlns='jabber:x:data' type='result'><item><field var='a'/></item><item><field var='b'/><field var='b'/></item></x>`, `item 2: two fields named "b"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Parse(mustDecode(t, tt.xml))
			if err == nil {
				t.Fatalf("Parse succeeded: %#v", f)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("error %v does not wrap ErrInvalid", err)
			}
			if !strings.Contains(err.Error(), tt.msg) || !strings.HasPrefix(err.Error(), "form: parse: ") {
				t.Errorf("error %q does not start with \"form: parse: \" and mention %q", err, tt.msg)
			}
		})
	}
	if _, err := Parse(nil); !errors.Is(err, ErrInvalid) {
		t.Errorf("Parse(nil) = %v, want ErrInvalid", err)
	}
}

// TestElementExact pins the wire form of a form built in code, including
// the rules for empty strings.
func TestElementExact(t *testing.T) {
	f := &Form{
		Type:         TypeForm,
		Instructions: []string{"", "a < b"},
		Fields: []Field{
			{Var: "a", Type: FieldListSingle, Label: `say "hi"`, Desc: "d", Required: true,
				Values: []string{""}, Options: []Option{{Value: ""}, {Label: "One", Value: "1"}}},
			{Var: "b"},
		},
		Reported: []Field{{Var: "c", Type: FieldJIDSingle}},
		Items:    [][]Field{nil, {{Var: "c", Values: []string{"x@y"}}}},
	}
	want := `<x xmlns="jabber:x:data" type="form"><instructions/><instructions>a &lt; b</instructions>` +
		`<field type="list-single" label="say &quot;hi&quot;" var="a"><desc>d</desc><required/><value/>` +
		`<option><value/></option><option label="One"><value>1</value></option></field><field var="b"/>` +
		`<reported><field type="jid-single" var="c"/></reported><item/><item><field var="c"><value>x@y</value></field></item></x>`
	if got := wire(f.Element()); got != want {
		t.Errorf("Element()\n got: %s\nwant: %s", got, want)
	}
	// Children carry the namespace explicitly, so lookups with it work on
	// a tree that never went through the wire.
	el := f.Element()
	if el.Child(NS, "field") == nil {
		t.Error("Element().Child(NS, \"field\") = nil")
	}
	// A tree built by hand with inherited (empty) namespaces parses too.
	hand := xmpp.NewElement(NS, "x", "type", "submit").Append(
		xmpp.NewElement("", "field", "var", "a").Append(xmpp.TextElement("", "value", "1")))
	got, err := Parse(hand)
	if err != nil {
		t.Fatal(err)
	}
	if want := (&Form{Type: TypeSubmit, Fields: []Field{{Var: "a", Values: []string{"1"}}}}); !reflect.DeepEqual(got, want) {
		t.Errorf("Parse(hand-built) = %#v, want %#v", got, want)
	}
}
