package form

import (
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// NS is the namespace of data forms.
const NS = "jabber:x:data"

// FormTypeVar is the var of the hidden field that names the kind of form
// (XEP-0068), for example "jabber:iq:register".
const FormTypeVar = "FORM_TYPE"

// Type is the type attribute of a form: what the form is for (XEP-0004
// §3.1).
type Type string

// Form types.
const (
	// TypeForm is a form offered to be filled in.
	TypeForm Type = "form"
	// TypeSubmit is a filled-in form sent back to the entity that offered it.
	TypeSubmit Type = "submit"
	// TypeCancel says the submitter gave up on the form.
	TypeCancel Type = "cancel"
	// TypeResult carries data: the outcome of a submission, a search
	// result table, or extended service discovery information.
	TypeResult Type = "result"
)

// FieldType is the type attribute of a field (XEP-0004 §3.3). The empty
// FieldType means the attribute was absent, which forms of type submit
// commonly do; text-single is then assumed wherever the type matters.
// Types this package does not know are kept verbatim and are also treated as
// text-single, as XEP-0004 requires.
type FieldType string

// Field types.
const (
	// FieldBoolean is an either-or choice; see Form.Bool.
	FieldBoolean FieldType = "boolean"
	// FieldFixed is text for display (section headers), not data.
	FieldFixed FieldType = "fixed"
	// FieldHidden is returned unchanged with the form, never shown.
	FieldHidden FieldType = "hidden"
	// FieldJIDMulti is zero or more JIDs.
	FieldJIDMulti FieldType = "jid-multi"
	// FieldJIDSingle is one JID.
	FieldJIDSingle FieldType = "jid-single"
	// FieldListMulti is any number of choices among the field's options.
	FieldListMulti FieldType = "list-multi"
	// FieldListSingle is one choice among the field's options.
	FieldListSingle FieldType = "list-single"
	// FieldTextMulti is several lines of text, one value per line.
	FieldTextMulti FieldType = "text-multi"
	// FieldTextPrivate is one line of text to be obscured when typed
	// (a password).
	FieldTextPrivate FieldType = "text-private"
	// FieldTextSingle is one line of text; the default type.
	FieldTextSingle FieldType = "text-single"
)

// multi reports whether a field of type t may carry more than one value.
func (t FieldType) multi() bool {
	switch t {
	case FieldHidden, FieldJIDMulti, FieldListMulti, FieldTextMulti:
		return true
	}
	return false
}

// Option is one of the choices of a list-single or list-multi field.
type Option struct {
	// Label is the human-readable name of the choice; it may be empty.
	Label string
	// Value is what a submitted form carries when the choice is made.
	Value string
}

// Field is one field of a form, of the table header (Form.Reported) or of a
// table row (Form.Items).
type Field struct {
	// Var names the field; it is unique within its form (or row) and
	// required for every type but fixed.
	Var string
	// Label is the human-readable name of the field.
	Label string
	// Desc is a longer description, shown as a tool-tip or help text.
	Desc string
	// Type is the field's type; see FieldType for the empty value.
	Type FieldType
	// Required marks a field that must be filled in for the form to be
	// valid.
	Required bool
	// Values holds the field's value or values, in order. In a form of
	// type form they are the defaults.
	Values []string
	// Options holds the choices of a list field, in order.
	Options []Option
}

// Form is a data form (XEP-0004): a form to fill in, its submission, its
// cancellation or a result. A Form is a plain value: it is not safe for
// concurrent mutation, but any number of goroutines may read one.
type Form struct {
	// Type is what the form is for.
	Type Type
	// Title is the form's title, or "".
	Title string
	// Instructions are paragraphs of instructions, in order.
	Instructions []string
	// Fields are the form's fields, in the order they are to be shown.
	Fields []Field
	// Reported is the header of a result table (XEP-0004 §3.4): one field
	// per column, usually with a type and a label and no value.
	Reported []Field
	// Items are the rows of a result table, each holding one field per
	// column of Reported.
	Items [][]Field
}

// Field returns the field named name, or nil. The pointer is into
// f.Fields, so changes through it change the form.
func (f *Form) Field(name string) *Field {
	for i := range f.Fields {
		if f.Fields[i].Var == name {
			return &f.Fields[i]
		}
	}
	return nil
}

// Value returns the first value of the field named name, or "" when the
// field is absent or has no value.
func (f *Form) Value(name string) string {
	if fld := f.Field(name); fld != nil && len(fld.Values) > 0 {
		return fld.Values[0]
	}
	return ""
}

// Values returns a copy of the values of the field named name, or nil when
// the field is absent or has no value.
func (f *Form) Values(name string) []string {
	if fld := f.Field(name); fld != nil && len(fld.Values) > 0 {
		return slices.Clone(fld.Values)
	}
	return nil
}

// Bool returns the value of the boolean field named name: true for "1" or
// "true", false for "0" or "false" (XML Schema's lexical forms, surrounding
// white space allowed). An absent field, a field without a value and an
// empty value are false, the default XEP-0004 gives booleans. Anything
// else is an error wrapping ErrInvalid.
func (f *Form) Bool(name string) (bool, error) {
	v, err := parseBool(f.Value(name))
	if err != nil {
		return false, invalid("field %q: %v", name, err)
	}
	return v, nil
}

// notBoolError is returned by parseBool; callers add the field's name.
type notBoolError string

func (e notBoolError) Error() string {
	return "boolean value " + quote(string(e)) + " is not 1, 0, true or false"
}

func parseBool(s string) (bool, error) {
	switch strings.TrimSpace(s) {
	case "", "0", "false":
		return false, nil
	case "1", "true":
		return true, nil
	}
	return false, notBoolError(s)
}

// FormType returns the value of the FORM_TYPE field (XEP-0068), which names
// the kind of form, or "" when the form has none. The field counts when its
// type is hidden or absent (submitting clients often leave types out); a
// FORM_TYPE field of any other type is not a form type and is ignored.
func (f *Form) FormType() string {
	fld := f.Field(FormTypeVar)
	if fld == nil || fld.Type != FieldHidden && fld.Type != "" {
		return ""
	}
	if len(fld.Values) == 0 {
		return ""
	}
	return fld.Values[0]
}

// Set replaces the values of the field named name, adding the field (with
// no type) at the end of the form when it is absent. Set with no values
// leaves the field without a value.
func (f *Form) Set(name string, values ...string) {
	values = slices.Clone(values)
	if len(values) == 0 {
		values = nil
	}
	if fld := f.Field(name); fld != nil {
		fld.Values = values
		return
	}
	f.Fields = append(f.Fields, Field{Var: name, Values: values})
}

// quote quotes s for an error message, shortening very long values so that
// a hostile peer cannot make messages arbitrarily large.
func quote(s string) string {
	const max = 64
	if len(s) > max {
		cut := max
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return strconv.Quote(s)
}
