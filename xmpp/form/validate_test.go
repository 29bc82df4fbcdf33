package form

import (
	"errors"
	"testing"

	"github.com/xgate-im/xgate/xmpp"
)

// offeredForm is a registration form using every field type.
func offeredForm() *Form {
	return &Form{
		Type:  TypeForm,
		Title: "Link a Slack workspace",
		Fields: []Field{
			{Var: FormTypeVar, Type: FieldHidden, Values: []string{"jabber:iq:register"}},
			{Type: FieldFixed, Values: []string{"Account"}},
			{Var: "workspace", Label: "Workspace", Type: FieldTextSingle, Required: true},
			{Var: "token", Label: "Token", Type: FieldTextPrivate, Required: true},
			{Var: "bio", Type: FieldTextMulti},
			{Var: "carbons", Label: "Carbons", Type: FieldBoolean},
			{Var: "forward", Label: "Forward to", Type: FieldJIDSingle},
			{Var: "admins", Label: "Admins", Type: FieldJIDMulti},
			{Var: "presence", Label: "Presence", Type: FieldListSingle,
				Options: []Option{{Label: "Online", Value: "online"}, {Label: "Away", Value: "away"}}},
			{Var: "networks", Label: "Networks", Type: FieldListMulti,
				Options: []Option{{Value: "slack"}, {Value: "discord"}, {Value: "sms"}}},
			{Var: "session", Type: FieldHidden, Values: []string{"s1"}},
			{Var: "when", Type: "datetime"},
		},
	}
}

// submit builds a submission with no field types, as Conversations sends,
// from var/values pairs.
func submit(fields ...Field) *Form { return &Form{Type: TypeSubmit, Fields: fields} }

func fld(v string, values ...string) Field { return Field{Var: v, Values: values} }

func TestValidate(t *testing.T) {
	required := []Field{fld("workspace", "capulet"), fld("token", "xoxp")}
	with := func(extra ...Field) *Form { return submit(append(append([]Field(nil), required...), extra...)...) }
	tests := []struct {
		name      string
		submitted *Form
		wantVar   string // "" with wantMsg "" means valid
		wantLabel string
		wantMsg   string
	}{
		{name: "minimal", submitted: with()},
		{name: "everything", submitted: with(fld(FormTypeVar, "jabber:iq:register"), fld("bio", "line 1", "line 2"),
			fld("carbons", "true"), fld("forward", "romeo@montague.lit/orchard"), fld("admins", "a@b", "c@d", "a@b"),
			fld("presence", "away"), fld("networks", "sms", "slack"), fld("session", "s1"), fld("when", "2024-01-01"))},
		{name: "empty values count as none", submitted: with(fld("presence", ""), fld("carbons", ""), fld("forward", ""), fld("networks", ""))},
		{name: "fixed field echoed back", submitted: with(Field{Type: FieldFixed, Values: []string{"Account"}})},
		{name: "submitted type not trusted", submitted: with(Field{Var: "presence", Type: FieldTextSingle, Values: []string{"busy"}}),
			wantVar: "presence", wantLabel: "Presence", wantMsg: `"busy" is not one of the choices for "Presence".`},
		{name: "empty FORM_TYPE", submitted: with(fld(FormTypeVar, ""))},
		{name: "required missing", submitted: submit(fld("token", "xoxp")),
			wantVar: "workspace", wantLabel: "Workspace", wantMsg: `"Workspace" is required.`},
		{name: "required empty", submitted: submit(fld("workspace"), fld("token", "x")),
			wantVar: "workspace", wantLabel: "Workspace", wantMsg: `"Workspace" is required.`},
		{name: "required blank", submitted: submit(fld("workspace", "capulet"), fld("token", " \t")),
			wantVar: "token", wantLabel: "Token", wantMsg: `"Token" is required.`},
		{name: "two values in text-single", submitted: submit(fld("workspace", "a", "b"), fld("token", "x")),
			wantVar: "workspace", wantLabel: "Workspace", wantMsg: `"Workspace" takes one value, not 2.`},
		{name: "two values in unknown type", submitted: with(fld("when", "a", "b")),
			wantVar: "when", wantMsg: `"when" takes one value, not 2.`},
		{name: "bad boolean", submitted: with(fld("carbons", "yes")),
			wantVar: "carbons", wantLabel: "Carbons", wantMsg: `"Carbons" must be true or false, not "yes".`},
		{name: "two booleans", submitted: with(fld("carbons", "1", "0")),
			wantVar: "carbons", wantLabel: "Carbons", wantMsg: `"Carbons" takes one value, not 2.`},
		{name: "bad jid-single", submitted: with(fld("forward", "romeo@")),
			wantVar: "forward", wantLabel: "Forward to", wantMsg: `"romeo@" in "Forward to" is not a valid XMPP address.`},
		{name: "two jid-single", submitted: with(fld("forward", "a@b", "c@d")),
			wantVar: "forward", wantLabel: "Forward to", wantMsg: `"Forward to" takes one value, not 2.`},
		{name: "bad jid in jid-multi", submitted: with(fld("admins", "a@b", "@d")),
			wantVar: "admins", wantLabel: "Admins", wantMsg: `"@d" in "Admins" is not a valid XMPP address.`},
		{name: "list-single not an option", submitted: with(fld("presence", "Online")),
			wantVar: "presence", wantLabel: "Presence", wantMsg: `"Online" is not one of the choices for "Presence".`},
		{name: "list-single two options", submitted: with(fld("presence", "online", "away")),
			wantVar: "presence", wantLabel: "Presence", wantMsg: `"Presence" takes one value, not 2.`},
		{name: "list-multi not an option", submitted: with(fld("networks", "slack", "irc")),
			wantVar: "networks", wantLabel: "Networks", wantMsg: `"irc" is not one of the choices for "Networks".`},
		{name: "unknown field", submitted: with(fld("password", "x")),
			wantVar: "password", wantMsg: `The form has no field "password".`},
		{name: "FORM_TYPE mismatch", submitted: with(fld(FormTypeVar, "jabber:iq:search")),
			wantVar: FormTypeVar, wantMsg: `The answer belongs to another form ("jabber:iq:search", not "jabber:iq:register").`},
		{name: "field twice", submitted: with(fld("carbons", "1"), fld("carbons", "0")),
			wantVar: "carbons", wantLabel: "Carbons", wantMsg: `"Carbons" was filled in twice.`},
		{name: "cancel", submitted: &Form{Type: TypeCancel}, wantMsg: "The form was cancelled."},
		{name: "result instead of submit", submitted: &Form{Type: TypeResult, Fields: required},
			wantMsg: `The form came back as "result" instead of being submitted.`},
		{name: "nil", submitted: nil, wantMsg: "No form was submitted."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := offeredForm().Validate(tt.submitted)
			if tt.wantVar == "" && tt.wantMsg == "" {
				if err != nil {
					t.Fatalf("Validate = %v, want nil", err)
				}
				return
			}
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("Validate = %v, want a *ValidationError", err)
			}
			if ve.Var != tt.wantVar || ve.Label != tt.wantLabel || ve.Message != tt.wantMsg {
				t.Errorf("Validate = {Var: %q, Label: %q, Message: %q}\n           want {Var: %q, Label: %q, Message: %q}",
					ve.Var, ve.Label, ve.Message, tt.wantVar, tt.wantLabel, tt.wantMsg)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("%v does not wrap ErrInvalid", err)
			}
		})
	}
}

func TestValidateDoesNotModify(t *testing.T) {
	offered, submitted := offeredForm(), submit(fld("workspace", "", "capulet"), fld("token", "x"), fld("admins", "a@b", ""))
	before, beforeSub := wire(offered.Element()), wire(submitted.Element())
	if err := offered.Validate(submitted); err != nil {
		t.Fatal(err)
	}
	if wire(offered.Element()) != before || wire(submitted.Element()) != beforeSub {
		t.Error("Validate changed a form")
	}
}

func TestValidationErrorWire(t *testing.T) {
	err := offeredForm().Validate(submit(fld("token", "x")))
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("Validate = %v", err)
	}
	if got, want := err.Error(), `form: field "workspace": "Workspace" is required.`; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	se := ve.StanzaError()
	if se.Condition != xmpp.CondNotAcceptable || se.Type != xmpp.ErrorModify || se.Text != `"Workspace" is required.` {
		t.Errorf("StanzaError() = %#v", se)
	}
	formLevel := &ValidationError{Message: "The form was cancelled."}
	if got := formLevel.Error(); got != "form: The form was cancelled." {
		t.Errorf("Error() = %q", got)
	}
}

// TestValidateParsedSubmission runs the whole path: an offered form goes out
// on the wire, a client-shaped answer comes back and is parsed, validated
// and read.
func TestValidateParsedSubmission(t *testing.T) {
	offered := mustParse(t, wire(offeredForm().Element()))
	answer := mustParse(t, `<x xmlns='jabber:x:data' type='submit'>`+
		`<field var='FORM_TYPE' type='hidden'><value>jabber:iq:register</value></field>`+
		`<field var='workspace'><value>capulet</value></field>`+
		`<field var='token' type='text-private'><value>xoxp-1</value></field>`+
		`<field var='carbons' type='boolean'><value>1</value></field>`+
		`<field var='networks' type='list-multi'><value>slack</value><value>discord</value></field></x>`)
	if err := offered.Validate(answer); err != nil {
		t.Fatalf("Validate = %v", err)
	}
	if on, err := answer.Bool("carbons"); !on || err != nil {
		t.Errorf("Bool(carbons) = %v, %v", on, err)
	}
	if got := answer.Values("networks"); len(got) != 2 || got[1] != "discord" {
		t.Errorf("Values(networks) = %q", got)
	}
}
