package jid

import (
	"fmt"
	"net/netip"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/idna"
	"golang.org/x/text/secure/bidirule"
	"golang.org/x/text/secure/precis"
	"golang.org/x/text/unicode/bidi"
	"golang.org/x/text/unicode/norm"
)

// maxPart is the largest size in bytes of an enforced localpart, domainpart
// or resourcepart (RFC 7622, section 3.1).
const maxPart = 1023

// maxRawPart bounds the input handed to PRECIS or IDNA, so that hostile input
// costs little. PRECIS drops no code point and none of its mappings shrinks
// text by four to one (NFC composing Hangul jamo, three to one, comes
// closest), so no local- or resourcepart refused here could have been
// enforced to a legal size. IDNA drops the code points it ignores (soft
// hyphens, variation selectors); a domainpart padded with thousands of them
// is refused on purpose.
const maxRawPart = 4 * maxPart

// maxDNSName is the longest domain name in its ASCII form, without the root
// label, that DNS allows (RFC 1034, section 3.1); RFC 7622 applies DNS's
// limits on top of its own.
const maxDNSName = 253

// domainProfile is the IDNA2008 profile (with UTS #46 mapping, as RFC 7622
// section 3.2.2 points to RFC 5895) used to validate and canonicalize
// domainparts: non-transitional mapping, STD3 ASCII rules, hyphen and joiner
// checks, the Bidi rule, and DNS length limits. Profiles are safe for
// concurrent use.
var domainProfile = idna.New(
	idna.MapForLookup(),
	idna.Transitional(false),
	idna.BidiRule(),
	idna.VerifyDNSLength(true),
)

// localProfile is the PRECIS UsernameCaseMapped profile of RFC 8265 without
// its directionality rule, which checkLocalBidi applies instead.
// precis.UsernameCaseMapped runs the Bidi rule on every string that is not
// pure ASCII, so that it refuses "1é", "josé_" or "\40ñ" (none starts and
// ends with a left-to-right letter) while it accepts "1e"; RFC 8265 section
// 3.3.2 applies the rule only to strings that contain right-to-left code
// points (see golang.org/issue/17383). Every string precis.UsernameCaseMapped
// accepts, this profile accepts with the same result (FuzzLocalProfile checks
// it). Profiles are safe for concurrent use.
var localProfile = precis.NewIdentifier(
	precis.FoldWidth,
	precis.LowerCase(),
	precis.Norm(norm.NFC),
)

// checkLocalBidi applies the Bidi rule of RFC 5893 to an enforced localpart
// that contains a right-to-left code point (RFC 8265 section 3.3.2).
func checkLocalBidi(s string) error {
	if bidirule.DirectionString(s) == bidi.RightToLeft && !bidirule.ValidString(s) {
		return bidirule.ErrInvalid
	}
	return nil
}

// malformed returns an error wrapping ErrMalformed for the named part and,
// when cause is not nil, cause as well.
func malformed(part, reason string, cause error) error {
	return &partError{part: part, reason: reason, cause: cause}
}

// partError is the error behind every ErrMalformed. Its message shortens the
// cause's, which from IDNA quotes the whole (possibly huge) input.
type partError struct {
	part, reason string
	cause        error
}

// maxCauseMsg is the longest cause message an error message repeats.
const maxCauseMsg = 80

func (e *partError) Error() string {
	msg := ErrMalformed.Error() + ": " + e.part + ": " + e.reason
	if e.cause == nil {
		return msg
	}
	cause := e.cause.Error()
	if len(cause) > maxCauseMsg {
		cut := maxCauseMsg
		for cut > 0 && !utf8.RuneStart(cause[cut]) {
			cut--
		}
		cause = cause[:cut] + "…"
	}
	return msg + ": " + cause
}

func (e *partError) Unwrap() []error {
	if e.cause == nil {
		return []error{ErrMalformed}
	}
	return []error{ErrMalformed, e.cause}
}

// isLocalForbidden reports whether c is one of the eight ASCII characters that
// RFC 7622 section 3.3.1 forbids in a localpart on top of the
// UsernameCaseMapped profile.
func isLocalForbidden(c byte) bool {
	switch c {
	case '"', '&', '\'', '/', ':', '<', '>', '@':
		return true
	}
	return false
}

// prepareLocal enforces RFC 7622's rules for a non-empty localpart and
// returns its canonical form.
func prepareLocal(s string) (string, error) {
	if isFastLocal(s) {
		return s, nil
	}
	return prepareLocalSlow(s)
}

// isFastLocal reports whether s is a localpart that the UsernameCaseMapped
// profile leaves unchanged and accepts, and that RFC 7622 accepts too: 1 to
// maxPart bytes of printable ASCII (U+0021 to U+007E, all in the
// IdentifierClass's ASCII7 category) with no uppercase letter (the only ASCII
// the profile maps) and none of the forbidden characters. Width mapping and
// NFC do nothing to ASCII and the Bidi rule does not apply to a string with no
// right-to-left character. FuzzPrepareFastPath checks the equivalence.
func isFastLocal(s string) bool {
	if len(s) == 0 || len(s) > maxPart {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || ('A' <= c && c <= 'Z') || isLocalForbidden(c) {
			return false
		}
	}
	return true
}

// prepareLocalSlow is prepareLocal without the ASCII fast path.
func prepareLocalSlow(s string) (string, error) {
	if s == "" {
		return "", malformed("localpart", "empty", nil)
	}
	if len(s) > maxRawPart {
		return "", malformed("localpart", "too long", nil)
	}
	if !utf8.ValidString(s) {
		return "", malformed("localpart", "invalid UTF-8", nil)
	}
	out, err := localProfile.String(s)
	if err == nil {
		err = checkLocalBidi(out)
	}
	if err != nil {
		return "", malformed("localpart", "not allowed by UsernameCaseMapped", err)
	}
	switch {
	case out == "":
		return "", malformed("localpart", "empty", nil)
	case len(out) > maxPart:
		return "", malformed("localpart", "longer than 1023 bytes", nil)
	}
	// Width mapping turns FULLWIDTH COMMERCIAL AT and friends into the ASCII
	// characters checked here, so check after enforcement.
	for i := 0; i < len(out); i++ {
		if isLocalForbidden(out[i]) {
			return "", malformed("localpart", fmt.Sprintf("contains %q", out[i]), nil)
		}
	}
	return out, nil
}

// prepareResource enforces RFC 7622's rules for a non-empty resourcepart and
// returns its canonical form.
func prepareResource(s string) (string, error) {
	if isFastResource(s) {
		return s, nil
	}
	return prepareResourceSlow(s)
}

// isFastResource reports whether s is a resourcepart that the OpaqueString
// profile leaves unchanged and accepts: 1 to maxPart bytes of ASCII from
// U+0020 to U+007E, which the FreeformClass allows (ASCII7 and the space).
// The profile maps only non-ASCII spaces and applies NFC, a no-op on ASCII.
// FuzzPrepareFastPath checks the equivalence.
func isFastResource(s string) bool {
	if len(s) == 0 || len(s) > maxPart {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < ' ' || c >= 0x7f {
			return false
		}
	}
	return true
}

// prepareResourceSlow is prepareResource without the ASCII fast path.
func prepareResourceSlow(s string) (string, error) {
	if s == "" {
		return "", malformed("resourcepart", "empty", nil)
	}
	if len(s) > maxRawPart {
		return "", malformed("resourcepart", "too long", nil)
	}
	// OpaqueString would quietly turn invalid bytes into U+FFFD.
	if !utf8.ValidString(s) {
		return "", malformed("resourcepart", "invalid UTF-8", nil)
	}
	out, err := precis.OpaqueString.String(s)
	if err != nil {
		return "", malformed("resourcepart", "not allowed by OpaqueString", err)
	}
	switch {
	case out == "":
		return "", malformed("resourcepart", "empty", nil)
	case len(out) > maxPart:
		return "", malformed("resourcepart", "longer than 1023 bytes", nil)
	}
	return out, nil
}

// prepareDomain enforces RFC 7622's rules for a domainpart and returns its
// canonical form: a lowercase domain name of NR-LDH labels and U-labels
// without a final dot, or a bracketed IPv6 address in RFC 5952 form. IPv4
// addresses are valid domain names and pass unchanged.
func prepareDomain(s string) (string, error) {
	// RFC 7622 section 3.2: a final label separator is stripped before any
	// other canonicalization.
	s = trimFinalDot(s)
	if isFastDomain(s) {
		return s, nil
	}
	return prepareDomainSlow(s)
}

// trimFinalDot removes one final label separator (RFC 3490 section 3.1: the
// full stop and its ideographic, fullwidth and halfwidth forms) from s.
func trimFinalDot(s string) string {
	for _, dot := range [...]string{".", "\u3002", "\uff0e", "\uff61"} {
		if rest, ok := strings.CutSuffix(s, dot); ok {
			return rest
		}
	}
	return s
}

// isFastDomain reports whether s, already without its final dot, is a
// domainpart that the IDNA profile leaves unchanged and accepts: lowercase
// ASCII letters, digits, hyphens and dots, at most maxDNSName bytes, in
// labels of 1 to 63 bytes that neither start nor end with a hyphen nor have
// hyphens in both the third and fourth position (which also sends every
// "xn--" label to the slow path). UTS #46 maps none of these characters and
// the Bidi rule does not apply without a right-to-left character.
// FuzzPrepareFastPath checks the equivalence.
func isFastDomain(s string) bool {
	if len(s) == 0 || len(s) > maxDNSName {
		return false
	}
	start := 0
	for i := 0; i <= len(s); i++ {
		if i < len(s) && s[i] != '.' {
			c := s[i]
			if !('a' <= c && c <= 'z') && !('0' <= c && c <= '9') && c != '-' {
				return false
			}
			continue
		}
		label := s[start:i]
		n := len(label)
		switch {
		case n == 0 || n > 63:
			return false
		case label[0] == '-' || label[n-1] == '-':
			return false
		case n >= 4 && label[2] == '-' && label[3] == '-':
			return false
		}
		start = i + 1
	}
	return true
}

// prepareDomainSlow is prepareDomain, after the final dot was removed,
// without the ASCII fast path.
func prepareDomainSlow(s string) (string, error) {
	if s == "" {
		return "", malformed("domainpart", "empty", nil)
	}
	if len(s) > maxRawPart {
		return "", malformed("domainpart", "too long", nil)
	}
	if !utf8.ValidString(s) {
		return "", malformed("domainpart", "invalid UTF-8", nil)
	}
	if s[0] == '[' {
		return prepareIPLiteral(s)
	}
	ascii, err := domainProfile.ToASCII(s)
	if err != nil {
		return "", malformed("domainpart", "not a valid domain name", err)
	}
	// The profile lets one empty final label through; only one final dot may
	// be stripped, so "example.com.." stays invalid.
	if strings.HasSuffix(ascii, ".") {
		return "", malformed("domainpart", "empty label", nil)
	}
	// RFC 7622 section 3.2.1: A-labels are converted to U-labels.
	out, err := domainProfile.ToUnicode(ascii)
	if err != nil {
		return "", malformed("domainpart", "not a valid domain name", err)
	}
	switch {
	case out == "":
		return "", malformed("domainpart", "empty", nil)
	case len(out) > maxPart:
		return "", malformed("domainpart", "longer than 1023 bytes", nil)
	}
	return out, nil
}

// prepareIPLiteral checks an IP-literal domainpart, "[" IPv6address "]" as in
// RFC 3986 (IPvFuture and zones are not accepted), and returns it with the
// address in RFC 5952 canonical text form.
func prepareIPLiteral(s string) (string, error) {
	inner, ok := strings.CutPrefix(s, "[")
	if ok {
		inner, ok = strings.CutSuffix(inner, "]")
	}
	if !ok {
		return "", malformed("domainpart", "unterminated IP literal", nil)
	}
	addr, err := netip.ParseAddr(inner)
	if err != nil {
		return "", malformed("domainpart", "bad IPv6 literal", err)
	}
	if !addr.Is6() || addr.Zone() != "" {
		return "", malformed("domainpart", "IP literal is not a plain IPv6 address", nil)
	}
	return "[" + addr.String() + "]", nil
}
