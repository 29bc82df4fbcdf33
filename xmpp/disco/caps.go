package disco

import (
	"cmp"
	"crypto/sha1"
	"encoding/base64"
	"slices"
	"strings"

	"github.com/xgate-im/xgate/xmpp"
	"github.com/xgate-im/xgate/xmpp/form"
)

// HashSHA1 is the name of the caps hash function this package computes and
// verifies, the one XEP-0115 makes mandatory to implement.
const HashSHA1 = "sha-1"

// Caps is an entity capabilities annotation (XEP-0115 §4), carried in
// presence: the software's node and the verification string of its
// disco#info.
type Caps struct {
	// Hash names the hash function of Ver ("sha-1"); "" marks the legacy
	// format of XEP-0115 before version 1.4, where Ver is a version
	// number rather than a hash.
	Hash string
	// Node identifies the software, usually its web site URL.
	Node string
	// Ver is the verification string.
	Ver string
}

// Element returns <c xmlns="http://jabber.org/protocol/caps" hash node ver/>.
func (c Caps) Element() *xmpp.Element {
	return xmpp.NewElement(NSCaps, "c", "hash", c.Hash, "node", c.Node, "ver", c.Ver)
}

// InfoNode returns the disco#info node to query for the capabilities c
// announces: node "#" ver (XEP-0115 §6.2).
func (c Caps) InfoNode() string { return c.Node + "#" + c.Ver }

// ParseCaps reads a <c xmlns="http://jabber.org/protocol/caps"/> element.
// Node and ver are required; a missing hash is the legacy format and is
// returned with Hash "". The deprecated ext attribute is ignored. Errors
// wrap ErrInvalid.
func ParseCaps(el *xmpp.Element) (Caps, error) {
	if el == nil || el.Name.Space != NSCaps || el.Name.Local != "c" {
		return Caps{}, invalid(nil, "parse caps: not a <c xmlns=%q/>", NSCaps)
	}
	c := Caps{Hash: el.AttrValue("hash"), Node: el.AttrValue("node"), Ver: el.AttrValue("ver")}
	if c.Node == "" || c.Ver == "" {
		return Caps{}, invalid(nil, "parse caps: node or ver missing")
	}
	return c, nil
}

// CapsElement returns the capabilities annotation for presence sent by an
// entity whose disco#info is i: <c xmlns="http://jabber.org/protocol/caps"
// hash="sha-1" node=node ver=CapsVer(i)/>.
func CapsElement(node string, i *Info) *xmpp.Element {
	return Caps{Hash: HashSHA1, Node: node, Ver: CapsVer(i)}.Element()
}

// CapsVer computes the XEP-0115 verification string of i with SHA-1,
// following the generation method of §5.1: identities sorted by category,
// type, xml:lang (and name, to break ties) and written
// category/type/lang/name; then the features sorted; then each extended
// form, sorted by FORM_TYPE, as its FORM_TYPE and its other fields sorted
// by var, each with its values sorted; every item followed by '<'; the
// whole hashed and base64-encoded. All sorting is by byte value ("i;octet").
//
// Features are taken without duplicates or empty strings, as Element writes
// them, so CapsVer(i) always matches what i.Element() advertises. Extended
// forms without a hidden FORM_TYPE field are left out, as §5.4 says
// receivers do. CapsVer does not refuse a result §5.4 calls ill-formed;
// VerifyCaps does.
func CapsVer(i *Info) string {
	sum := sha1.Sum([]byte(capsInput(i)))
	return base64.StdEncoding.EncodeToString(sum[:])
}

// capsInput builds the string S of XEP-0115 §5.1 that CapsVer hashes.
func capsInput(i *Info) string {
	var s strings.Builder
	ids := slices.Clone(i.Identities)
	slices.SortFunc(ids, compareIdentity)
	for _, id := range ids {
		s.WriteString(id.Category + "/" + id.Type + "/" + id.Lang + "/" + id.Name + "<")
	}
	for _, f := range normalFeatures(i.Features) {
		s.WriteString(f + "<")
	}
	type extended struct {
		formType string
		form     *form.Form
	}
	var forms []extended
	for _, f := range i.Forms {
		if ft, ok := capsFormType(f); ok {
			forms = append(forms, extended{ft, f})
		}
	}
	slices.SortStableFunc(forms, func(a, b extended) int { return strings.Compare(a.formType, b.formType) })
	for _, ext := range forms {
		s.WriteString(ext.formType + "<")
		fields := slices.DeleteFunc(slices.Clone(ext.form.Fields), func(f form.Field) bool { return f.Var == form.FormTypeVar })
		slices.SortStableFunc(fields, func(a, b form.Field) int { return strings.Compare(a.Var, b.Var) })
		for _, fld := range fields {
			s.WriteString(fld.Var + "<")
			values := slices.Clone(fld.Values)
			slices.Sort(values)
			for _, v := range values {
				s.WriteString(v + "<")
			}
		}
	}
	return s.String()
}

func compareIdentity(a, b Identity) int {
	return cmp.Or(
		strings.Compare(a.Category, b.Category),
		strings.Compare(a.Type, b.Type),
		strings.Compare(a.Lang, b.Lang),
		strings.Compare(a.Name, b.Name),
	)
}

// capsFormType returns the FORM_TYPE of an extended form, and whether the
// form takes part in the verification string: it must have a FORM_TYPE
// field of type hidden with a value.
func capsFormType(f *form.Form) (string, bool) {
	if f == nil {
		return "", false
	}
	fld := f.Field(form.FormTypeVar)
	if fld == nil || fld.Type != form.FieldHidden || len(fld.Values) == 0 {
		return "", false
	}
	return fld.Values[0], true
}

// VerifyCaps checks a disco#info result i against the capabilities c that
// announced it, following the processing method of XEP-0115 §5.4. It
// returns ErrUnsupportedHash when c.Hash is not sha-1 (including the legacy
// format); an error wrapping ErrInvalid when i is ill-formed (two identical
// identities, two identical features, two extended forms with the same
// FORM_TYPE, or a FORM_TYPE with differing values); ErrCapsMismatch when
// CapsVer(i) differs from c.Ver; and nil when the result may be cached
// under c.Ver for every entity announcing it.
func VerifyCaps(c Caps, i *Info) error {
	if c.Hash != HashSHA1 {
		return ErrUnsupportedHash
	}
	ids := slices.Clone(i.Identities)
	slices.SortFunc(ids, compareIdentity)
	for k := 1; k < len(ids); k++ {
		if ids[k] == ids[k-1] {
			return invalid(nil, "verify caps: identity %s/%s listed twice", ids[k].Category, ids[k].Type)
		}
	}
	features := slices.Clone(i.Features)
	slices.Sort(features)
	for k := 1; k < len(features); k++ {
		if features[k] == features[k-1] {
			return invalid(nil, "verify caps: feature %q listed twice", features[k])
		}
	}
	seen := map[string]bool{}
	for _, f := range i.Forms {
		if f == nil {
			continue
		}
		fld := f.Field(form.FormTypeVar)
		if fld == nil || len(fld.Values) == 0 {
			continue
		}
		for _, v := range fld.Values[1:] {
			if v != fld.Values[0] {
				return invalid(nil, "verify caps: FORM_TYPE has differing values %q and %q", fld.Values[0], v)
			}
		}
		if ft, ok := capsFormType(f); ok {
			if seen[ft] {
				return invalid(nil, "verify caps: two extended forms of FORM_TYPE %q", ft)
			}
			seen[ft] = true
		}
	}
	if CapsVer(i) != c.Ver {
		return ErrCapsMismatch
	}
	return nil
}
