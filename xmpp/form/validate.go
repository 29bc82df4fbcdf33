package form

import (
	"fmt"
	"slices"
	"strings"

	"github.com/xgate-im/xgate/xmpp/jid"
)

// Validate checks a submitted form against offered, the form it answers,
// and returns nil or a *ValidationError about the first problem found: the
// form type, then fields in the offered order, then fields the offer lacks.
//
// The submission must be of type submit. Each field is checked against the
// offered field of the same var, by the offered type (a submitted type is
// not trusted): a required field must have a value that is not blank;
// boolean values must parse (see Form.Bool); list-single and list-multi
// values must be among the offered options; jid-single and jid-multi values
// must be valid JIDs; and every type but hidden, jid-multi, list-multi and
// text-multi takes at most one value. Empty values count as no value. A
// FORM_TYPE in the submission must match the offered one. Fields the offer
// lacks are refused, except FORM_TYPE; submitted fields of type fixed are
// ignored, and so are offered ones. Validate reads both forms and changes
// neither.
func (offered *Form) Validate(submitted *Form) error {
	if submitted == nil {
		return &ValidationError{Message: "No form was submitted."}
	}
	switch submitted.Type {
	case TypeSubmit:
	case TypeCancel:
		return &ValidationError{Message: "The form was cancelled."}
	default:
		return &ValidationError{Message: fmt.Sprintf("The form came back as %s instead of being submitted.", quote(string(submitted.Type)))}
	}
	if v := duplicateVar(submitted.Fields); v != "" {
		return &ValidationError{Var: v, Label: offeredLabel(offered, v),
			Message: fmt.Sprintf("%s was filled in twice.", fieldName(offered, v))}
	}
	if want := offered.FormType(); want != "" {
		if s := submitted.Field(FormTypeVar); s != nil {
			if got := nonEmpty(s.Values); len(got) > 0 && !slices.Equal(got, []string{want}) {
				return &ValidationError{Var: FormTypeVar,
					Message: fmt.Sprintf("The answer belongs to another form (%s, not %s).", quote(got[0]), quote(want))}
			}
		}
	}
	for i := range offered.Fields {
		o := &offered.Fields[i]
		if o.Var == "" || o.Type == FieldFixed {
			continue
		}
		if err := checkField(o, submitted.Field(o.Var)); err != nil {
			return err
		}
	}
	for _, s := range submitted.Fields {
		if s.Type == FieldFixed || s.Var == "" || s.Var == FormTypeVar {
			continue
		}
		if offered.Field(s.Var) == nil {
			return &ValidationError{Var: s.Var,
				Message: fmt.Sprintf("The form has no field %s.", quote(s.Var))}
		}
	}
	return nil
}

// checkField checks the submitted field s (nil when absent) against the
// offered field o.
func checkField(o *Field, s *Field) error {
	fail := func(format string, args ...any) error {
		return &ValidationError{Var: o.Var, Label: o.Label, Message: fmt.Sprintf(format, args...)}
	}
	name := displayName(o)
	var values []string
	if s != nil {
		values = nonEmpty(s.Values)
	}
	if o.Required && !slices.ContainsFunc(values, func(v string) bool { return strings.TrimSpace(v) != "" }) {
		return fail("%s is required.", name)
	}
	typ := o.Type
	switch typ {
	case FieldBoolean, FieldHidden, FieldJIDMulti, FieldJIDSingle, FieldListMulti,
		FieldListSingle, FieldTextMulti, FieldTextPrivate, FieldTextSingle:
	default:
		typ = FieldTextSingle
	}
	if !typ.multi() && len(values) > 1 {
		return fail("%s takes one value, not %d.", name, len(values))
	}
	for _, v := range values {
		switch typ {
		case FieldBoolean:
			if _, err := parseBool(v); err != nil {
				return fail("%s must be true or false, not %s.", name, quote(v))
			}
		case FieldListSingle, FieldListMulti:
			if !slices.ContainsFunc(o.Options, func(opt Option) bool { return opt.Value == v }) {
				return fail("%s is not one of the choices for %s.", quote(v), name)
			}
		case FieldJIDSingle, FieldJIDMulti:
			if _, err := jid.Parse(v); err != nil {
				return fail("%s in %s is not a valid XMPP address.", quote(v), name)
			}
		}
	}
	return nil
}

// nonEmpty returns values without the empty strings.
func nonEmpty(values []string) []string {
	return slices.DeleteFunc(slices.Clone(values), func(v string) bool { return v == "" })
}

// displayName names a field for a user: its label, else its var, quoted.
func displayName(f *Field) string {
	if f.Label != "" {
		return quote(f.Label)
	}
	return quote(f.Var)
}

// fieldName names the field var of offered for a user, whether or not the
// offer has it.
func fieldName(offered *Form, v string) string {
	if o := offered.Field(v); o != nil {
		return displayName(o)
	}
	return quote(v)
}

func offeredLabel(offered *Form, v string) string {
	if o := offered.Field(v); o != nil {
		return o.Label
	}
	return ""
}
