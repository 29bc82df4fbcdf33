package main

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
)

// schema is the Go type a configuration file is decoded into: the fixed
// sections of document plus one array of tables per network. For a network
// with a row in the transport table the array's element type holds the
// fields of instanceConfig and of the transport's options side by side, so
// one strict decode checks every key of the file, with positions. The
// element type is built with reflect.StructOf because Go cannot embed a type
// parameter.
type schema struct {
	typ      reflect.Type
	sections int // fields 0..sections-1 of typ are document's fields
	networks []schemaNetwork
}

// schemaNetwork is the [[network]] array of one network.
type schemaNetwork struct {
	name  string
	kind  *transportKind // nil when not in this build
	field int            // index in schema.typ
	elem  *flatStruct    // element type when kind is set
}

// buildSchema returns the document type for a transport table.
func buildSchema(kinds []transportKind) (*schema, error) {
	docType := reflect.TypeFor[document]()
	s := &schema{sections: docType.NumField()}
	var fields []reflect.StructField
	sectionKeys := map[string]bool{}
	for i := range docType.NumField() {
		f := docType.Field(i)
		fields = append(fields, f)
		sectionKeys[strings.ToLower(tomlName(f))] = true
	}
	for _, name := range networkNames(kinds) {
		if sectionKeys[strings.ToLower(name)] {
			return nil, fmt.Errorf("network %q clashes with a section of the file", name)
		}
		n := schemaNetwork{name: name, kind: kindOf(kinds, name), field: len(fields)}
		// A network not in this build is decoded loosely: its tables are
		// rejected as a whole, so their keys do not matter.
		elemType := reflect.TypeFor[map[string]any]()
		if n.kind != nil {
			elem, err := flatten(reflect.TypeFor[instanceConfig](), n.kind.options)
			if err != nil {
				return nil, fmt.Errorf("transport %s: %w", name, err)
			}
			n.elem, elemType = elem, elem.typ
		}
		fields = append(fields, reflect.StructField{
			Name: fmt.Sprintf("Network%d", len(s.networks)),
			Type: reflect.SliceOf(elemType),
			Tag:  reflect.StructTag(fmt.Sprintf("toml:%q", name)),
		})
		s.networks = append(s.networks, n)
	}
	s.typ = reflect.StructOf(fields)
	return s, nil
}

// decodedInstance is one [[network]] table as decoded, before validation.
type decodedInstance struct {
	network string
	index   int // position in its array
	kind    *transportKind
	common  instanceConfig
	options any // pointer to the kind's options type
}

// split takes a decoded value of s.typ apart.
func (s *schema) split(v reflect.Value) (doc document, insts []decodedInstance, unavailable map[string]int) {
	dv := reflect.ValueOf(&doc).Elem()
	for i := range s.sections {
		dv.Field(i).Set(v.Field(i))
	}
	unavailable = map[string]int{}
	for _, n := range s.networks {
		list := v.Field(n.field)
		if n.kind == nil {
			if list.Len() > 0 {
				unavailable[n.name] = list.Len()
			}
			continue
		}
		for i := range list.Len() {
			parts := n.elem.split(list.Index(i))
			insts = append(insts, decodedInstance{
				network: n.name,
				index:   i,
				kind:    n.kind,
				common:  *parts[0].Interface().(*instanceConfig),
				options: parts[1].Interface(),
			})
		}
	}
	return doc, insts, unavailable
}

// keysAt returns the keys of the table at a key path of the document (for
// "did you mean" hints), or nil if the path does not lead to a table of
// known keys.
func (s *schema) keysAt(path []string) []string {
	t := s.typ
	for _, part := range path {
		f, ok := fieldByKey(t, part)
		if !ok {
			return nil
		}
		t = f.typ
		for t.Kind() == reflect.Slice || t.Kind() == reflect.Pointer || t.Kind() == reflect.Array {
			t = t.Elem()
		}
	}
	if t.Kind() != reflect.Struct {
		return nil
	}
	fields, err := tomlFields(t)
	if err != nil {
		return nil
	}
	keys := make([]string, len(fields))
	for i, f := range fields {
		keys[i] = f.key
	}
	return keys
}

func fieldByKey(t reflect.Type, key string) (tomlField, bool) {
	if t.Kind() != reflect.Struct {
		return tomlField{}, false
	}
	fields, err := tomlFields(t)
	if err != nil {
		return tomlField{}, false
	}
	for _, f := range fields {
		if f.key == key {
			return f, true
		}
	}
	for _, f := range fields {
		if strings.EqualFold(f.key, key) {
			return f, true
		}
	}
	return tomlField{}, false
}

// tomlField is a field go-toml decodes a key into.
type tomlField struct {
	key   string
	index []int // reflect index path from the struct
	typ   reflect.Type
}

// tomlFields lists the keys of a struct as go-toml sees them: exported
// fields named by their toml tag or Go name, "-" skipped, and the fields of
// embedded structs without a tag name promoted. Embedded pointers and two
// fields with the same key (case-insensitively) are refused, since they
// would make copying values or matching keys ambiguous.
func tomlFields(t reflect.Type) ([]tomlField, error) {
	var out []tomlField
	seen := map[string]bool{}
	var walk func(t reflect.Type, prefix []int) error
	walk = func(t reflect.Type, prefix []int) error {
		for i := range t.NumField() {
			f := t.Field(i)
			tag, _ := f.Tag.Lookup("toml")
			if tag == "-" {
				continue
			}
			name, _, _ := strings.Cut(tag, ",")
			index := append(append([]int(nil), prefix...), i)
			if f.Anonymous && name == "" {
				switch {
				case f.Type.Kind() == reflect.Struct:
					if err := walk(f.Type, index); err != nil {
						return err
					}
					continue
				case f.Type.Kind() == reflect.Pointer && f.Type.Elem().Kind() == reflect.Struct:
					return fmt.Errorf("%s: embedded pointer %s is not supported; embed the struct", t, f.Type)
				}
			}
			if !f.IsExported() {
				continue
			}
			if name == "" {
				name = f.Name
			}
			if seen[strings.ToLower(name)] {
				return fmt.Errorf("%s: key %q is declared twice", t, name)
			}
			seen[strings.ToLower(name)] = true
			out = append(out, tomlField{key: name, index: index, typ: f.Type})
		}
		return nil
	}
	if err := walk(t, nil); err != nil {
		return nil, err
	}
	return out, nil
}

// tomlName is the key of a struct field.
func tomlName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("toml"), ",")
	if name == "" {
		return f.Name
	}
	return name
}

// flatStruct is a struct type that holds the fields of several struct types
// side by side, for decoding one TOML table into all of them.
type flatStruct struct {
	typ    reflect.Type
	srcs   []reflect.Type
	fields []flatField // one per field of typ, in order
}

// flatField says where a field of a flatStruct comes from.
type flatField struct {
	src   int   // index in srcs
	index []int // reflect index path in srcs[src]
}

// errKeyClash is returned by flatten when two source structs declare the
// same key.
var errKeyClash = errors.New("key declared by two structs")

// flatten builds a flatStruct of the given struct types. Keys must be
// unique across all of them, case-insensitively.
func flatten(srcs ...reflect.Type) (*flatStruct, error) {
	fs := &flatStruct{srcs: srcs}
	var fields []reflect.StructField
	owner := map[string]reflect.Type{}
	for si, src := range srcs {
		tf, err := tomlFields(src)
		if err != nil {
			return nil, err
		}
		for _, f := range tf {
			lk := strings.ToLower(f.key)
			if prev, ok := owner[lk]; ok {
				return nil, fmt.Errorf("%w: %q in %s and %s", errKeyClash, f.key, prev, src)
			}
			owner[lk] = src
			fields = append(fields, reflect.StructField{
				Name: fmt.Sprintf("F%d", len(fields)),
				Type: f.typ,
				Tag:  reflect.StructTag(fmt.Sprintf("toml:%q", f.key)),
			})
			fs.fields = append(fs.fields, flatField{src: si, index: f.index})
		}
	}
	fs.typ = reflect.StructOf(fields)
	return fs, nil
}

// split copies a value of fs.typ into new values of the source types and
// returns pointers to them, in the order of fs.srcs.
func (fs *flatStruct) split(v reflect.Value) []reflect.Value {
	out := make([]reflect.Value, len(fs.srcs))
	for i, t := range fs.srcs {
		out[i] = reflect.New(t)
	}
	for i, f := range fs.fields {
		out[f.src].Elem().FieldByIndex(f.index).Set(v.Field(i))
	}
	return out
}
