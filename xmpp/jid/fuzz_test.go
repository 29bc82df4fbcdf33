package jid

import (
	"strings"
	"testing"
	"unicode/utf8"

	"golang.org/x/text/secure/precis"
)

// seedStrings returns the inputs of the table tests, as seeds for the fuzz
// targets.
func seedStrings() []string {
	var seeds []string
	for _, tc := range validJIDs {
		seeds = append(seeds, tc.in, tc.local, tc.domain, tc.resource)
	}
	seeds = append(seeds, invalidJIDs...)
	for _, tc := range escapeTests {
		seeds = append(seeds, tc.raw, tc.escaped)
	}
	seeds = append(seeds,
		"xn--bcher-kva", "XN--BCHER-KVA.example", "a-b.c-d", "a--b", "ab--", "0.0.0.0",
		"İ", "ﬀ", "Ⅸ", "ǅ", "ß", "ẞ", "K", "e\u0301", "\u1100\u1161\u11a8",
		"\u05d0\u05d1", "\u0627\u0661", "a\u200db", "\u00ad", "Ａ", "＼２ｆ",
	)
	return seeds
}

// FuzzParse checks that Parse never panics and that whatever it accepts is
// canonical: it comes back from Parse(String()) and from New unchanged, and
// its parts are valid UTF-8 of legal length.
func FuzzParse(f *testing.F) {
	for _, s := range seedStrings() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		j, err := Parse(s)
		if err != nil {
			if !j.IsZero() {
				t.Fatalf("Parse(%q) returned %#v with error %v", s, j, err)
			}
			return
		}
		str := j.String()
		if !utf8.ValidString(str) {
			t.Fatalf("Parse(%q).String() = %q, not UTF-8", s, str)
		}
		for _, p := range []string{j.Local(), j.Domain(), j.Resource()} {
			if len(p) > maxPart {
				t.Fatalf("Parse(%q) has a part of %d bytes", s, len(p))
			}
		}
		if j.Domain() == "" || strings.ContainsAny(j.Local(), `"&'/:<>@`) ||
			strings.ContainsAny(j.Domain(), "/@") || strings.HasSuffix(j.Domain(), ".") {
			t.Fatalf("Parse(%q) = %#v, not a canonical JID", s, j)
		}
		again, err := Parse(str)
		if err != nil || again != j {
			t.Fatalf("Parse(%q) = %#v; Parse(%q) = %#v, %v", s, j, str, again, err)
		}
		built, err := New(j.Local(), j.Domain(), j.Resource())
		if err != nil || built != j {
			t.Fatalf("New(parts of %q) = %#v, %v; want %#v", s, built, err, j)
		}
		var un JID
		if b, _ := j.MarshalText(); un.UnmarshalText(b) != nil || un != j {
			t.Fatalf("text round trip of %#v gave %#v", j, un)
		}
	})
}

// FuzzEscapeRoundTrip checks XEP-0106 escaping: Unescape inverts Escape for
// every string, Escape leaves none of the nine characters behind, and an
// escaped string that the localpart rules accept makes a JID.
func FuzzEscapeRoundTrip(f *testing.F) {
	for _, s := range seedStrings() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		esc := Escape(s)
		if got := Unescape(esc); got != s {
			t.Fatalf("Unescape(Escape(%q)) = %q (escaped %q)", s, got, esc)
		}
		if strings.ContainsAny(esc, ` "&'/:<>@`) {
			t.Fatalf("Escape(%q) = %q keeps a character it must escape", s, esc)
		}
		if !utf8.ValidString(s) {
			return
		}
		if !utf8.ValidString(esc) {
			t.Fatalf("Escape(%q) = %q, not UTF-8", s, esc)
		}
		// RFC 7622's own check of an enforced localpart: the profile may map
		// characters into forbidden ones ("＠" to "@"), which Escape cannot
		// prevent without breaking the round trip.
		enforced, err := localProfile.String(esc)
		if err == nil {
			err = checkLocalBidi(enforced)
		}
		if err != nil || enforced == "" || len(enforced) > maxPart ||
			strings.ContainsAny(enforced, `"&'/:<>@`) {
			return
		}
		j, err := New(esc, "example.com", "")
		if err != nil {
			t.Fatalf("New(Escape(%q) = %q) failed though its enforced form %q is a valid localpart: %v",
				s, esc, enforced, err)
		}
		if j.Local() != enforced {
			t.Fatalf("New(%q).Local() = %q, want %q", esc, j.Local(), enforced)
		}
		if enforced == esc && Unescape(j.Local()) != s {
			t.Fatalf("Unescape(New(Escape(%q)).Local()) = %q", s, Unescape(j.Local()))
		}
	})
}

// FuzzPrepareFastPath checks that the ASCII fast paths accept only strings
// that full enforcement accepts unchanged.
func FuzzPrepareFastPath(f *testing.F) {
	for _, s := range seedStrings() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if isFastLocal(s) {
			if got, err := prepareLocalSlow(s); err != nil || got != s {
				t.Errorf("localpart %q: fast path accepts it as is, slow path gives %q, %v", s, got, err)
			}
			if got, err := precis.UsernameCaseMapped.String(s); err != nil || got != s {
				t.Errorf("localpart %q: fast path accepts it as is, UsernameCaseMapped gives %q, %v", s, got, err)
			}
		}
		if isFastResource(s) {
			if got, err := prepareResourceSlow(s); err != nil || got != s {
				t.Errorf("resourcepart %q: fast path accepts it as is, slow path gives %q, %v", s, got, err)
			}
		}
		if isFastDomain(s) {
			if got, err := prepareDomainSlow(s); err != nil || got != s {
				t.Errorf("domainpart %q: fast path accepts it as is, slow path gives %q, %v", s, got, err)
			}
		}
	})
}

// FuzzLocalProfile checks that the localpart profile, which applies the Bidi
// rule only to right-to-left strings as RFC 8265 says, accepts everything
// precis.UsernameCaseMapped accepts, with the same result.
func FuzzLocalProfile(f *testing.F) {
	for _, s := range seedStrings() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, err := precis.UsernameCaseMapped.String(s)
		if err != nil || !utf8.ValidString(s) {
			return
		}
		got, err := localProfile.String(s)
		if err == nil {
			err = checkLocalBidi(got)
		}
		if err != nil || got != want {
			t.Fatalf("localProfile(%q) = %q, %v; UsernameCaseMapped gives %q", s, got, err, want)
		}
	})
}
