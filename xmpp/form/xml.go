package form

import (
	"errors"
	"fmt"

	"github.com/xgate-im/xgate/xmpp"
)

// Element returns the form as <x xmlns="jabber:x:data" type="...">, ready
// to be appended to a stanza payload. Children come in the order of
// XEP-0004's examples: title, instructions, fields, reported, items; inside
// a field: desc, required, values, options. Empty strings produce no
// attribute and no title, desc or type; every value and every option is
// written, empty or not.
func (f *Form) Element() *xmpp.Element {
	x := xmpp.NewElement(NS, "x", "type", string(f.Type))
	if f.Title != "" {
		x.Append(xmpp.TextElement(NS, "title", f.Title))
	}
	for _, in := range f.Instructions {
		x.Append(xmpp.TextElement(NS, "instructions", in))
	}
	for i := range f.Fields {
		x.Append(f.Fields[i].element())
	}
	if len(f.Reported) > 0 {
		x.Append(fieldsElement("reported", f.Reported))
	}
	for _, row := range f.Items {
		x.Append(fieldsElement("item", row))
	}
	return x
}

func fieldsElement(local string, fields []Field) *xmpp.Element {
	el := xmpp.NewElement(NS, local)
	for i := range fields {
		el.Append(fields[i].element())
	}
	return el
}

func (fld *Field) element() *xmpp.Element {
	el := xmpp.NewElement(NS, "field", "type", string(fld.Type), "label", fld.Label, "var", fld.Var)
	if fld.Desc != "" {
		el.Append(xmpp.TextElement(NS, "desc", fld.Desc))
	}
	if fld.Required {
		el.Append(xmpp.NewElement(NS, "required"))
	}
	for _, v := range fld.Values {
		el.Append(xmpp.TextElement(NS, "value", v))
	}
	for _, o := range fld.Options {
		el.Append(xmpp.NewElement(NS, "option", "label", o.Label).
			Append(xmpp.TextElement(NS, "value", o.Value)))
	}
	return el
}

// Parse reads a data form from its <x xmlns="jabber:x:data"/> element.
//
// Parse is strict where a mistake would make the form ambiguous and lenient
// elsewhere. It refuses (with an error wrapping ErrInvalid) an element that
// is not a data form, a missing or unknown form type, a field without a var
// (unless it is fixed), two fields with the same var in the form or in one
// table row, an option without exactly one value, and a second <reported/>.
// It accepts fields without a type (see FieldType), unknown field types,
// several values in a single-valued field (Validate catches those in
// submissions) and result tables in any form type. A second <title/> or
// <desc/> is ignored, as are children in other namespaces (such as XEP-0122
// validation hints) and white space between elements.
func Parse(el *xmpp.Element) (*Form, error) {
	f, err := parse(el)
	if err != nil {
		return nil, invalid("parse: %v", err)
	}
	return f, nil
}

// parse does the work of Parse; its errors are plain, Parse wraps them.
func parse(el *xmpp.Element) (*Form, error) {
	if el == nil {
		return nil, errors.New("no element")
	}
	if el.Name.Space != NS || el.Name.Local != "x" {
		return nil, fmt.Errorf("element <%s xmlns=%s> is not <x xmlns=%s>", el.Name.Local, quote(el.Name.Space), NS)
	}
	f := &Form{Type: Type(el.AttrValue("type"))}
	switch f.Type {
	case TypeForm, TypeSubmit, TypeCancel, TypeResult:
	case "":
		return nil, errors.New("form has no type")
	default:
		return nil, fmt.Errorf("unknown form type %s", quote(string(f.Type)))
	}
	var seenTitle, seenReported bool
	for _, c := range el.Children() {
		if !inNS(c) {
			continue
		}
		switch c.Name.Local {
		case "title":
			if !seenTitle {
				f.Title, seenTitle = c.Text(), true
			}
		case "instructions":
			f.Instructions = append(f.Instructions, c.Text())
		case "field":
			fld, err := parseField(c)
			if err != nil {
				return nil, err
			}
			f.Fields = append(f.Fields, fld)
		case "reported":
			if seenReported {
				return nil, errors.New("more than one <reported/>")
			}
			seenReported = true
			fields, err := parseFields(c)
			if err != nil {
				return nil, fmt.Errorf("reported: %w", err)
			}
			f.Reported = fields
		case "item":
			fields, err := parseFields(c)
			if err != nil {
				return nil, fmt.Errorf("item %d: %w", len(f.Items)+1, err)
			}
			f.Items = append(f.Items, fields)
		}
	}
	if v := duplicateVar(f.Fields); v != "" {
		return nil, fmt.Errorf("two fields named %s", quote(v))
	}
	return f, nil
}

// inNS reports whether a child of <x/> belongs to the data forms namespace.
// Trees built in code may leave the namespace empty to inherit it.
func inNS(c *xmpp.Element) bool { return c.Name.Space == NS || c.Name.Space == "" }

// parseFields reads the <field/> children of <reported/> or <item/>.
func parseFields(el *xmpp.Element) ([]Field, error) {
	var fields []Field
	for _, c := range el.Children() {
		if !inNS(c) || c.Name.Local != "field" {
			continue
		}
		fld, err := parseField(c)
		if err != nil {
			return nil, err
		}
		fields = append(fields, fld)
	}
	if v := duplicateVar(fields); v != "" {
		return nil, fmt.Errorf("two fields named %s", quote(v))
	}
	return fields, nil
}

func parseField(el *xmpp.Element) (Field, error) {
	fld := Field{
		Var:   el.AttrValue("var"),
		Label: el.AttrValue("label"),
		Type:  FieldType(el.AttrValue("type")),
	}
	if fld.Var == "" && fld.Type != FieldFixed {
		return Field{}, errors.New("field without var")
	}
	seenDesc := false
	for _, c := range el.Children() {
		if !inNS(c) {
			continue
		}
		switch c.Name.Local {
		case "desc":
			if !seenDesc {
				fld.Desc, seenDesc = c.Text(), true
			}
		case "required":
			fld.Required = true
		case "value":
			fld.Values = append(fld.Values, c.Text())
		case "option":
			o, err := parseOption(c)
			if err != nil {
				return Field{}, fmt.Errorf("field %s: %w", quote(fld.Var), err)
			}
			fld.Options = append(fld.Options, o)
		}
	}
	return fld, nil
}

func parseOption(el *xmpp.Element) (Option, error) {
	o := Option{Label: el.AttrValue("label")}
	n := 0
	for _, c := range el.Children() {
		if inNS(c) && c.Name.Local == "value" {
			o.Value = c.Text()
			n++
		}
	}
	if n != 1 {
		return Option{}, fmt.Errorf("option %s has %d values, want 1", quote(o.Label), n)
	}
	return o, nil
}

// duplicateVar returns a var that two of fields share, or "".
func duplicateVar(fields []Field) string {
	if len(fields) < 2 {
		return ""
	}
	seen := make(map[string]bool, len(fields))
	for _, fld := range fields {
		if fld.Var == "" {
			continue
		}
		if seen[fld.Var] {
			return fld.Var
		}
		seen[fld.Var] = true
	}
	return ""
}
