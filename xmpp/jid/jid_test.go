package jid

import (
	"encoding/json"
	"encoding/xml"
	"errors"
	"strings"
	"sync"
	"testing"

	"golang.org/x/text/secure/bidirule"
)

// validJIDs are inputs Parse accepts, with the canonical parts it must
// return. The first block is the list of valid examples of RFC 7622 section
// 3.5.1.
var validJIDs = []struct {
	in                      string
	local, domain, resource string
}{
	{"juliet@example.com", "juliet", "example.com", ""},
	{"juliet@example.com/foo", "juliet", "example.com", "foo"},
	{"juliet@example.com/foo bar", "juliet", "example.com", "foo bar"},
	{"juliet@example.com/foo@bar", "juliet", "example.com", "foo@bar"},
	{`foo\20bar@example.com`, `foo\20bar`, "example.com", ""},
	{"fussball@example.com", "fussball", "example.com", ""},
	{"fußball@example.com", "fußball", "example.com", ""},
	{"π@example.com", "π", "example.com", ""},
	{"Σ@example.com/foo", "σ", "example.com", "foo"},
	{"σ@example.com/foo", "σ", "example.com", "foo"},
	{"ς@example.com/foo", "ς", "example.com", "foo"},
	{"king@example.com/♚", "king", "example.com", "♚"},
	{"example.com", "", "example.com", ""},
	{"example.com/foobar", "", "example.com", "foobar"},
	{"a.example.com/b@example.net", "", "a.example.com", "b@example.net"},

	// Case: localpart and domainpart are lowered, the resourcepart is kept.
	{"Juliet@Example.COM/Balcony", "juliet", "example.com", "Balcony"},
	{"ROMEO@montague.lit", "romeo", "montague.lit", ""},
	// Splitting: the resource starts at the first slash.
	{"a@b/c/d", "a", "b", "c/d"},
	{"a/b@c", "", "a", "b@c"},
	{"d/@", "", "d", "@"},
	{"d//", "", "d", "/"},
	// Final dot stripped (RFC 7622 section 3.2), in any of its forms.
	{"juliet@example.com.", "juliet", "example.com", ""},
	{"example.com./r", "", "example.com", "r"},
	{"x@example\u3002com\u3002", "x", "example.com", ""},
	// Width mapping in all three parts (the resourcepart keeps its form).
	{"ｊｕｌｉｅｔ@ｅｘａｍｐｌｅ．ｃｏｍ/ｒ", "juliet", "example.com", "ｒ"},
	// Internationalized domains, A-labels to U-labels.
	{"a@Bücher.example", "a", "bücher.example", ""},
	{"a@xn--bcher-kva.example", "a", "bücher.example", ""},
	{"пример@пример.рф/ресурс", "пример", "пример.рф", "ресурс"},
	{"ñ@ñ.example/ñ", "ñ", "ñ.example", "ñ"},
	{"用户@例子.中国", "用户", "例子.中国", ""},
	// Right-to-left localpart that satisfies the Bidi rule.
	{"אבג@example.com", "אבג", "example.com", ""},
	// No Bidi rule without right-to-left characters (RFC 8265 3.3.2).
	{"1é@example.com", "1é", "example.com", ""},
	{"josé_@example.com", "josé_", "example.com", ""},
	{`\40ñ@example.com`, `\40ñ`, "example.com", ""},
	// Escaped localparts are ordinary localparts.
	{`d\27artagnan@musketeers.lit`, `d\27artagnan`, "musketeers.lit", ""},
	{`treville\40musketeers.lit@smtp.gascon.fr`, `treville\40musketeers.lit`, "smtp.gascon.fr", ""},
	// IP literals.
	{"127.0.0.1", "", "127.0.0.1", ""},
	{"user@192.168.0.1/r", "user", "192.168.0.1", "r"},
	{"[::1]", "", "[::1]", ""},
	{"u@[FE80:0:0::1]/r", "u", "[fe80::1]", "r"},
	{"u@[::ffff:1.2.3.4]", "u", "[::ffff:1.2.3.4]", ""},
	// Resourcepart: non-ASCII spaces mapped, NFC applied.
	{"a@b/x\u00a0y", "a", "b", "x y"},
	{"a@b/e\u0301", "a", "b", "é"},
	{"a@b/ ", "a", "b", " "},
	// Printable ASCII symbols are allowed in localparts.
	{"!#$%*+-.=?^_`{|}~@x", "!#$%*+-.=?^_`{|}~", "x", ""},
	// Longest parts.
	{strings.Repeat("a", 1023) + "@x/" + strings.Repeat("r", 1023), strings.Repeat("a", 1023), "x", strings.Repeat("r", 1023)},
	{strings.Repeat("ñ", 511) + "@x", strings.Repeat("ñ", 511), "x", ""},
	{strings.Repeat("a", 63) + ".x", "", strings.Repeat("a", 63) + ".x", ""},
}

// invalidJIDs are inputs Parse must reject. The first block is the list of
// invalid examples of RFC 7622 section 3.5.2.
var invalidJIDs = []string{
	`"juliet"@example.com`,
	"foo bar@example.com",
	"@example.com/",
	"henryⅣ@example.com",
	"♚@example.com",
	"juliet@",
	"/foobar",

	"",
	"@",
	"/",
	"@d",
	"d/",
	"a@",
	"/r",
	"a@/r",
	"@d/r",
	"juliet@@example.com",
	"a@b@c",
	// Forbidden characters, also after width mapping.
	"a&b@x", "a'b@x", "a:b@x", "a<b@x", "a>b@x",
	"a＠b@x", "a／b@x",
	// Spaces and controls.
	"a\tb@x", "a\u3000b@x", "a\u00a0b@x", "a@x/\x00", "a@x/a\x7fb", "a@x/\n",
	// Invalid UTF-8 in each part.
	"\xff@x", "a@\xff", "a@x/\xff",
	// Bidi rule for right-to-left strings.
	"\u05d0a@example.com",
	// Domain names.
	"a@b..c", "a@.b", "a@b..", ".", "a@-b.com", "a@b-.com", "a@ab--c.com",
	"a@under_score.com", "a@exa mple.com", "a@xn--zz.com", "a@xn--abc-.com",
	"a@" + strings.Repeat("a", 64) + ".x",
	strings.Repeat("abcdefghi.", 26),
	"a@\u05d0.\u0030a",
	// IP literals.
	"[1.2.3.4]", "[fe80::1%eth0]", "[::1", "::1", "[]", "[zz::1]", "[::1]x",
	// Too long after enforcement.
	strings.Repeat("a", 1024) + "@x",
	strings.Repeat("ñ", 512) + "@x",
	"a@x/" + strings.Repeat("r", 1024),
	strings.Repeat("A", 5000) + "@x",
}

func TestParseValid(t *testing.T) {
	for _, tc := range validJIDs {
		name := tc.in
		if len(name) > 40 {
			name = name[:40]
		}
		t.Run(name, func(t *testing.T) {
			j, err := Parse(tc.in)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tc.in, err)
			}
			if j.Local() != tc.local || j.Domain() != tc.domain || j.Resource() != tc.resource {
				t.Errorf("Parse(%q) = (%q, %q, %q), want (%q, %q, %q)", tc.in,
					j.Local(), j.Domain(), j.Resource(), tc.local, tc.domain, tc.resource)
			}
			again, err := Parse(j.String())
			if err != nil || again != j {
				t.Errorf("Parse(%q) = %v, %v; want the same JID", j.String(), again, err)
			}
			built, err := New(tc.local, tc.domain, tc.resource)
			if err != nil || built != j {
				t.Errorf("New(%q, %q, %q) = %v, %v; want %v", tc.local, tc.domain, tc.resource, built, err, j)
			}
		})
	}
}

func TestParseInvalid(t *testing.T) {
	for _, in := range invalidJIDs {
		j, err := Parse(in)
		if err == nil {
			t.Errorf("Parse(%q) = %q, want an error", in, j)
			continue
		}
		if !errors.Is(err, ErrMalformed) {
			t.Errorf("Parse(%q) error %v does not wrap ErrMalformed", in, err)
		}
		if !j.IsZero() {
			t.Errorf("Parse(%q) returned %v with its error", in, j)
		}
	}
}

func TestErrorWrapsCause(t *testing.T) {
	_, err := Parse("\u05d0a@example.com")
	if !errors.Is(err, ErrMalformed) || !errors.Is(err, bidirule.ErrInvalid) {
		t.Fatalf("error %v does not wrap both ErrMalformed and the Bidi rule's error", err)
	}
	if !strings.Contains(err.Error(), "localpart") {
		t.Fatalf("error %v does not name the localpart", err)
	}
	_, err = Parse(strings.Repeat("ä", 2000))
	if !errors.Is(err, ErrMalformed) || len(err.Error()) > 200 {
		t.Fatalf("error for a 4000-byte domain is %d bytes long: %v", len(err.Error()), err)
	}
}

func TestString(t *testing.T) {
	tests := []struct {
		j    JID
		want string
	}{
		{JID{}, ""},
		{MustParse("d"), "d"},
		{MustParse("l@d"), "l@d"},
		{MustParse("d/r"), "d/r"},
		{MustParse("L@D/R"), "l@d/R"},
		{MustParse("[::1]/r"), "[::1]/r"},
	}
	for _, tc := range tests {
		if got := tc.j.String(); got != tc.want {
			t.Errorf("%#v.String() = %q, want %q", tc.j, got, tc.want)
		}
	}
}

func TestNew(t *testing.T) {
	tests := []struct {
		local, domain, resource string
		want                    string // "" means an error
	}{
		{"", "example.com", "", "example.com"},
		{"Juliet", "Example.com.", "Balcony", "juliet@example.com/Balcony"},
		{"", "example.com", "a/b@c", "example.com/a/b@c"},
		{"a", "", "", ""},
		{"a@b", "x", "", ""},
		{"a/b", "x", "", ""},
		{"a", "x/y", "", ""},
		{"a", "x@y", "", ""},
		{"a", "x", "\x00", ""},
		{" ", "x", "", ""},
	}
	for _, tc := range tests {
		j, err := New(tc.local, tc.domain, tc.resource)
		switch {
		case tc.want == "" && err == nil:
			t.Errorf("New(%q, %q, %q) = %v, want an error", tc.local, tc.domain, tc.resource, j)
		case tc.want == "" && !errors.Is(err, ErrMalformed):
			t.Errorf("New(%q, %q, %q) error %v does not wrap ErrMalformed", tc.local, tc.domain, tc.resource, err)
		case tc.want != "" && (err != nil || j.String() != tc.want):
			t.Errorf("New(%q, %q, %q) = %v, %v; want %s", tc.local, tc.domain, tc.resource, j, err, tc.want)
		}
	}
}

func TestMustParsePanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("MustParse(\"@\") did not panic")
		}
	}()
	MustParse("@")
}

func TestDerived(t *testing.T) {
	full := MustParse("Romeo@Montague.lit/Orchard")
	if got, want := full.Bare(), MustParse("romeo@montague.lit"); got != want {
		t.Errorf("Bare() = %v, want %v", got, want)
	}
	if got, want := full.Domainpart(), MustParse("montague.lit"); got != want {
		t.Errorf("Domainpart() = %v, want %v", got, want)
	}
	if full.IsBare() || !full.Bare().IsBare() || full.IsZero() {
		t.Error("IsBare/IsZero wrong for a full JID")
	}
	if z := (JID{}); !z.IsZero() || !z.IsBare() || !z.Bare().IsZero() || !z.Domainpart().IsZero() {
		t.Error("the zero JID is not zero and bare")
	}

	withRes, err := full.WithResource("Balcony ")
	if err != nil || withRes.String() != "romeo@montague.lit/Balcony " {
		t.Errorf("WithResource = %v, %v", withRes, err)
	}
	if got, err := full.WithResource(""); err != nil || got != full.Bare() {
		t.Errorf(`WithResource("") = %v, %v; want the bare JID`, got, err)
	}
	if _, err := full.WithResource("\x00"); !errors.Is(err, ErrMalformed) {
		t.Errorf("WithResource(NUL) error = %v", err)
	}
	if _, err := (JID{}).WithResource("r"); !errors.Is(err, ErrMalformed) {
		t.Errorf("zero.WithResource error = %v", err)
	}

	withLocal, err := full.WithLocal("Juliet")
	if err != nil || withLocal.String() != "juliet@montague.lit/Orchard" {
		t.Errorf("WithLocal = %v, %v", withLocal, err)
	}
	if got, err := full.WithLocal(""); err != nil || got.String() != "montague.lit/Orchard" {
		t.Errorf(`WithLocal("") = %v, %v`, got, err)
	}
	if _, err := full.WithLocal("a@b"); !errors.Is(err, ErrMalformed) {
		t.Errorf("WithLocal(a@b) error = %v", err)
	}
	if _, err := (JID{}).WithLocal("l"); !errors.Is(err, ErrMalformed) {
		t.Errorf("zero.WithLocal error = %v", err)
	}
	if full.String() != "romeo@montague.lit/Orchard" {
		t.Errorf("receiver modified: %v", full)
	}
}

func TestComparableAndMapKey(t *testing.T) {
	m := map[JID]int{MustParse("A@B/c"): 1}
	if m[MustParse("a@b./c")] != 1 {
		t.Error("equal JIDs are not the same map key")
	}
	if MustParse("a@b/c") == MustParse("a@b/C") {
		t.Error("resourceparts differing in case compare equal")
	}
}

func TestText(t *testing.T) {
	j := MustParse("Juliet@Capulet.lit/Balcony")
	b, err := j.MarshalText()
	if err != nil || string(b) != "juliet@capulet.lit/Balcony" {
		t.Fatalf("MarshalText = %q, %v", b, err)
	}
	var back JID
	if err := back.UnmarshalText(b); err != nil || back != j {
		t.Fatalf("UnmarshalText(%q) = %v, %v", b, back, err)
	}
	if err := back.UnmarshalText(nil); err != nil || !back.IsZero() {
		t.Fatalf("UnmarshalText(empty) = %v, %v; want the zero JID", back, err)
	}
	if b, err := (JID{}).MarshalText(); err != nil || len(b) != 0 {
		t.Fatalf("zero MarshalText = %q, %v", b, err)
	}
	keep := MustParse("keep@x")
	if err := keep.UnmarshalText([]byte("@x")); !errors.Is(err, ErrMalformed) || keep.String() != "keep@x" {
		t.Fatalf("UnmarshalText(bad) = %v, left %v", err, keep)
	}
}

func TestEncodingPackages(t *testing.T) {
	type msg struct {
		XMLName xml.Name `xml:"message" json:"-"`
		To      JID      `xml:"to,attr" json:"to"`
		From    JID      `xml:"from,attr" json:"from,omitzero"`
	}
	in := msg{To: MustParse("Romeo@Montague.lit/Orchard")}

	x, err := xml.Marshal(in)
	if err != nil || string(x) != `<message to="romeo@montague.lit/Orchard" from=""></message>` {
		t.Fatalf("xml.Marshal = %s, %v", x, err)
	}
	var xout msg
	if err := xml.Unmarshal(x, &xout); err != nil || xout.To != in.To || !xout.From.IsZero() {
		t.Fatalf("xml.Unmarshal = %+v, %v", xout, err)
	}

	js, err := json.Marshal(in)
	if err != nil || string(js) != `{"to":"romeo@montague.lit/Orchard"}` {
		t.Fatalf("json.Marshal = %s, %v", js, err)
	}
	var jout msg
	if err := json.Unmarshal(js, &jout); err != nil || jout.To != in.To {
		t.Fatalf("json.Unmarshal = %+v, %v", jout, err)
	}
	if err := json.Unmarshal([]byte(`{"to":"a@@b"}`), &jout); !errors.Is(err, ErrMalformed) {
		t.Fatalf("json.Unmarshal(bad) error = %v", err)
	}
}

func TestFastPathAllocs(t *testing.T) {
	for _, s := range []string{"juliet@example.com/balcony", "example.com", "juliet@example.com/Balcony Two"} {
		if n := testing.AllocsPerRun(100, func() { _, _ = Parse(s) }); n != 0 {
			t.Errorf("Parse(%q) allocates %v times; the ASCII fast path should not allocate", s, n)
		}
	}
}

func TestConcurrentParse(t *testing.T) {
	inputs := []string{"Σ@example.com/foo", "a@Bücher.example", "u@[FE80::1]/r", "juliet@example.com/balcony", "אבג@example.com"}
	want := make([]JID, len(inputs))
	for i, s := range inputs {
		want[i] = MustParse(s)
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 50 {
				for i, s := range inputs {
					if j, err := Parse(s); err != nil || j != want[i] {
						t.Errorf("Parse(%q) = %v, %v; want %v", s, j, err, want[i])
						return
					}
				}
			}
		})
	}
	wg.Wait()
}

func BenchmarkParse(b *testing.B) {
	for _, bc := range []struct{ name, in string }{
		{"ascii-fast", "juliet@example.com/balcony"},
		{"ascii-upper", "Juliet@Example.com/balcony"},
		{"unicode", "Σπύρος@bücher.example/ресурс"},
		{"ipv6", "user@[2001:db8::1]/r"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Parse(bc.in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
