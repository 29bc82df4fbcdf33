package disco

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// FuzzParseInfo checks that ParseInfo never panics, that its errors wrap
// ErrInvalid, that a result it accepts survives Element, the wire and
// ParseInfo again (with features normalized), and that the verification
// string is the same on both sides of the wire.
func FuzzParseInfo(f *testing.F) {
	src, err := os.ReadFile(filepath.Join("testdata", "caps-complex.xml"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(string(src))
	f.Add(wire(gateway().Element()))
	f.Add(wire(exodus().Element()))
	f.Add(`<query xmlns='http://jabber.org/protocol/disco#info' node='n'><identity category='c' type='t' xml:lang='en' name='&lt;'/><feature var='b'/><feature var='a'/><feature var='a'/></query>`)
	f.Fuzz(func(t *testing.T, snippet string) {
		el, err := decodeElement(snippet)
		if err != nil {
			return
		}
		info, err := ParseInfo(el)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("ParseInfo error %v does not wrap ErrInvalid", err)
			}
			return
		}
		ver := CapsVer(info)
		_ = VerifyCaps(Caps{Hash: HashSHA1, Node: "n", Ver: ver}, info)
		out := wire(info.Element())
		el2, err := decodeElement(out)
		if err != nil {
			t.Fatalf("Element() output does not decode: %v\n%s", err, out)
		}
		again, err := ParseInfo(el2)
		if err != nil {
			t.Fatalf("ParseInfo(Element()) = %v\n%s", err, out)
		}
		want := *info
		want.Features = normalFeatures(info.Features)
		if !reflect.DeepEqual(&want, again) {
			t.Fatalf("round trip changed the result\nfirst:  %#v\nsecond: %#v\nwire: %s", &want, again, out)
		}
		if v := CapsVer(again); v != ver {
			t.Fatalf("CapsVer changed over the wire: %s, then %s", ver, v)
		}
	})
}

// FuzzParseItems checks ParseItems the same way.
func FuzzParseItems(f *testing.F) {
	f.Add(`<query xmlns='http://jabber.org/protocol/disco#items' node='n'><item jid='a@b/c' node='x' name='y'/></query>`)
	f.Add(`<query xmlns='http://jabber.org/protocol/disco#items'><item jid='Conference.Example.ORG'/><item jid='a@b@c'/></query>`)
	f.Add(`<query xmlns='http://jabber.org/protocol/disco#items'><item jid='\5c@x'/><set xmlns='http://jabber.org/protocol/rsm'/></query>`)
	f.Fuzz(func(t *testing.T, snippet string) {
		el, err := decodeElement(snippet)
		if err != nil {
			return
		}
		its, err := ParseItems(el)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("ParseItems error %v does not wrap ErrInvalid", err)
			}
			return
		}
		out := wire(its.Element())
		el2, err := decodeElement(out)
		if err != nil {
			t.Fatalf("Element() output does not decode: %v\n%s", err, out)
		}
		again, err := ParseItems(el2)
		if err != nil {
			t.Fatalf("ParseItems(Element()) = %v\n%s", err, out)
		}
		if !reflect.DeepEqual(its, again) {
			t.Fatalf("round trip changed the result\nfirst:  %#v\nsecond: %#v\nwire: %s", its, again, out)
		}
	})
}

// FuzzParseCaps checks ParseCaps the same way.
func FuzzParseCaps(f *testing.F) {
	f.Add(`<c xmlns='http://jabber.org/protocol/caps' hash='sha-1' node='http://code.google.com/p/exodus' ver='QgayPKawpkPSDYmwT/WM94uAlu0='/>`)
	f.Add(`<c xmlns='http://jabber.org/protocol/caps' node='n' ver='0.9' ext='a b'/>`)
	f.Add(`<c xmlns='http://jabber.org/protocol/caps' hash='sha-1'/>`)
	f.Fuzz(func(t *testing.T, snippet string) {
		el, err := decodeElement(snippet)
		if err != nil {
			return
		}
		c, err := ParseCaps(el)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("ParseCaps error %v does not wrap ErrInvalid", err)
			}
			return
		}
		out := wire(c.Element())
		el2, err := decodeElement(out)
		if err != nil {
			t.Fatalf("Element() output does not decode: %v\n%s", err, out)
		}
		again, err := ParseCaps(el2)
		if err != nil || again != c {
			t.Fatalf("round trip: %#v, %v; want %#v\nwire: %s", again, err, c, out)
		}
	})
}
