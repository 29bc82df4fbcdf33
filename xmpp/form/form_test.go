package form

import (
	"errors"
	"reflect"
	"testing"
)

func TestAccessors(t *testing.T) {
	f := mustParse(t, `<x xmlns='jabber:x:data' type='submit'>`+
		`<field var='FORM_TYPE'><value>jabber:iq:register</value></field>`+
		`<field var='multi'><value>a</value><value>b</value></field>`+
		`<field var='none'/></x>`)
	if got := f.Field("multi"); got == nil || got.Var != "multi" {
		t.Errorf("Field(multi) = %#v", got)
	}
	if got := f.Field("absent"); got != nil {
		t.Errorf("Field(absent) = %#v, want nil", got)
	}
	for name, want := range map[string]string{"multi": "a", "none": "", "absent": ""} {
		if got := f.Value(name); got != want {
			t.Errorf("Value(%s) = %q, want %q", name, got, want)
		}
	}
	vals := f.Values("multi")
	if !reflect.DeepEqual(vals, []string{"a", "b"}) {
		t.Errorf("Values(multi) = %q", vals)
	}
	vals[0] = "changed"
	if f.Value("multi") != "a" {
		t.Error("Values returned the field's own slice")
	}
	if got := f.Values("none"); got != nil {
		t.Errorf("Values(none) = %q, want nil", got)
	}
	if got := f.FormType(); got != "jabber:iq:register" {
		t.Errorf("FormType() = %q (untyped FORM_TYPE must count)", got)
	}
	f.Field("FORM_TYPE").Type = FieldTextSingle
	if got := f.FormType(); got != "" {
		t.Errorf("FormType() with a text-single FORM_TYPE = %q, want \"\"", got)
	}
	if got := (&Form{}).FormType(); got != "" {
		t.Errorf("FormType() without the field = %q", got)
	}
}

func TestSet(t *testing.T) {
	f := &Form{Type: TypeSubmit, Fields: []Field{{Var: "a", Type: FieldTextMulti, Values: []string{"old"}}}}
	in := []string{"x", "y"}
	f.Set("a", in...)
	in[0] = "changed"
	f.Set("b", "new")
	f.Set("c")
	want := &Form{Type: TypeSubmit, Fields: []Field{
		{Var: "a", Type: FieldTextMulti, Values: []string{"x", "y"}},
		{Var: "b", Values: []string{"new"}},
		{Var: "c"},
	}}
	if !reflect.DeepEqual(f, want) {
		t.Errorf("after Set\n got: %#v\nwant: %#v", f, want)
	}
	f.Set("a")
	if f.Field("a").Values != nil {
		t.Errorf("Set with no values left %q", f.Field("a").Values)
	}
}

func TestBool(t *testing.T) {
	tests := []struct {
		value   []string // nil: field absent
		want    bool
		wantErr bool
	}{
		{nil, false, false},
		{[]string{}, false, false},
		{[]string{""}, false, false},
		{[]string{"0"}, false, false},
		{[]string{"false"}, false, false},
		{[]string{"1"}, true, false},
		{[]string{"true"}, true, false},
		{[]string{" true\n"}, true, false},
		{[]string{"TRUE"}, false, true},
		{[]string{"yes"}, false, true},
		{[]string{"2"}, false, true},
	}
	for _, tt := range tests {
		f := &Form{Type: TypeSubmit}
		if tt.value != nil {
			f.Fields = []Field{{Var: "b", Type: FieldBoolean, Values: tt.value}}
		}
		got, err := f.Bool("b")
		if got != tt.want || (err != nil) != tt.wantErr {
			t.Errorf("Bool with values %q = %v, %v; want %v, error %v", tt.value, got, err, tt.want, tt.wantErr)
		}
		if err != nil && !errors.Is(err, ErrInvalid) {
			t.Errorf("Bool error %v does not wrap ErrInvalid", err)
		}
	}
}

func TestQuoteShortens(t *testing.T) {
	long := ""
	for range 100 {
		long += "é"
	}
	got := quote(long)
	if len(got) > 80 || got[len(got)-1] != '"' {
		t.Errorf("quote(100×é) = %q", got)
	}
	if quote("a\"b") != `"a\"b"` {
		t.Errorf("quote escapes wrongly: %s", quote("a\"b"))
	}
}
