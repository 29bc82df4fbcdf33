package form

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// FuzzParse feeds arbitrary XML through the stream decoder into Parse.
// Parse must never panic, every error must wrap ErrInvalid, and a form it
// accepts must survive Element, the wire and Parse again unchanged. Validate
// and the accessors must not panic on it either.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "xep0004", "*.xml"))
	for _, name := range files {
		src, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(src))
	}
	for _, s := range []string{
		`<x xmlns='jabber:x:data' type='submit'/>`,
		`<x xmlns='jabber:x:data' type='submit'><field var='a'><value>1</value><value/></field></x>`,
		`<x xmlns='jabber:x:data' type='form'><field var='a' type='list-single'><option label='L'><value>v</value></option></field></x>`,
		`<x xmlns='jabber:x:data' type='result'><reported><field var='a'/></reported><item><field var='a'><value>&#x9;&#xD;&amp;</value></field></item></x>`,
		`<x xmlns='jabber:x:data' type='form'><field type='fixed'/><field var=' &quot;' label='&#xA;'><desc/><required/></field></x>`,
		`<d:x xmlns:d='jabber:x:data' type='cancel'><d:title>t</d:title><d:instructions/></d:x>`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, snippet string) {
		el, err := decodeElement(snippet)
		if err != nil {
			return
		}
		form, err := Parse(el)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("Parse error %v does not wrap ErrInvalid", err)
			}
			return
		}
		out := wire(form.Element())
		el2, err := decodeElement(out)
		if err != nil {
			t.Fatalf("Element() output does not decode: %v\n%s", err, out)
		}
		again, err := Parse(el2)
		if err != nil {
			t.Fatalf("Parse(Element()) = %v\n%s", err, out)
		}
		if !reflect.DeepEqual(form, again) {
			t.Fatalf("round trip changed the form\nfirst:  %#v\nsecond: %#v\nwire: %s", form, again, out)
		}
		_ = form.Validate(again)
		_ = again.Validate(&Form{Type: TypeSubmit, Fields: form.Fields})
		for _, fld := range form.Fields {
			_, _ = form.Bool(fld.Var)
		}
		_ = form.FormType()
	})
}
