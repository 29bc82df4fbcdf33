package jid

import (
	"testing"
	"unicode/utf8"
)

// TestEveryRuneIdempotent runs Unicode scalar values (all of the BMP and of
// plane 14 except a sample of the large uniform blocks, a sample of planes 1
// to 3; the rest is unassigned or private use) through all three parts and checks that what Parse accepts is canonical: a
// cheap, deterministic complement to FuzzParse, which rarely invents a valid
// internationalized domain. -short skips it.
func TestEveryRuneIdempotent(t *testing.T) {
	if testing.Short() {
		t.Skip("walks about 50,000 code points")
	}
	ranges := []struct{ lo, hi, step rune }{
		{0, 0x4E00, 1},
		{0x4E00, 0xA000, 17}, // CJK unified ideographs
		{0xA000, 0xAC00, 1},
		{0xAC00, 0xD7A4, 17}, // Hangul syllables
		{0xD7A4, 0xE000, 1},
		{0xE000, 0xF900, 17}, // private use
		{0xF900, 0x10000, 1},
		{0x10000, 0x40000, 11},
		{0xE0000, 0xE1000, 1},
	}
	for _, rg := range ranges {
		for r := rg.lo; r < rg.hi; r += rg.step {
			if !utf8.ValidRune(r) {
				continue
			}
			c := string(r)
			for _, s := range []string{c + "@" + c + ".example/" + c, "a" + c + "@x" + c + "/a" + c, "x." + c + "a"} {
				j, err := Parse(s)
				if err != nil {
					continue
				}
				again, err := Parse(j.String())
				if err != nil || again != j {
					t.Errorf("U+%04X: Parse(%q) = %#v; Parse(%q) = %#v, %v", r, s, j, j.String(), again, err)
				}
			}
		}
	}
}
