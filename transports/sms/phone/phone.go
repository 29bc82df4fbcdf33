package phone

import (
	"errors"
	"strings"

	"github.com/nyaruka/phonenumbers"
)

// maxInput bounds the text handed to libphonenumber; nothing longer is a
// phone number (E.164 allows 15 digits) even with generous separators.
const maxInput = 64

// Number is a normalized number: "+" and the E.164 digits for a full
// number, or bare digits for a short code of the gateway's default region.
// Only Normalizer.Normalize and ParseLocalpart make valid Numbers; the zero
// value is no number.
type Number string

// IsShortCode reports whether n is a short code (bare digits, no "+").
func (n Number) IsShortCode() bool { return n != "" && n[0] != '+' }

// String returns the number as stored: "+15551234567" or "12345".
func (n Number) String() string { return string(n) }

// Localpart returns the XMPP localpart of n: the number itself, with its
// "+" for E.164 numbers (the JMP/Cheogram convention).
func (n Number) Localpart() string { return string(n) }

// ParseLocalpart maps a JID localpart back to a Number. It accepts only
// canonical forms: "+" followed by the E.164 digits of a possible number,
// or 3 to 8 digits (a short code, taken to belong to the gateway's region;
// see the package doc). Anything else, including a possible number written
// with separators, is refused, so every number has exactly one JID.
func ParseLocalpart(local string) (Number, error) {
	if local == "" {
		return "", refuse(local, ErrEmpty)
	}
	digits := strings.TrimPrefix(local, "+")
	if digits == "" || len(digits) > 15 || !allDigits(digits) {
		return "", refuse(local, ErrNotCanonical)
	}
	if digits == local { // no "+": a short code
		if len(digits) < 3 || len(digits) > 8 {
			return "", refuse(local, ErrNotCanonical)
		}
		return Number(local), nil
	}
	n, err := phonenumbers.Parse(local, "ZZ")
	if err != nil {
		return "", refuse(local, parseReason(err))
	}
	if err := possible(n); err != nil {
		return "", refuse(local, err)
	}
	if e164 := phonenumbers.Format(n, phonenumbers.E164); e164 != local {
		return "", refuse(local, ErrNotCanonical)
	}
	return Number(local), nil
}

// Normalizer turns typed numbers into Numbers, reading national numbers and
// short codes as numbers of its default region. It is immutable and safe
// for concurrent use.
type Normalizer struct {
	region string
}

// NewNormalizer returns a Normalizer for defaultRegion, an ISO 3166-1
// alpha-2 code such as "US" or "DE" (case-insensitive).
func NewNormalizer(defaultRegion string) (*Normalizer, error) {
	region := strings.ToUpper(strings.TrimSpace(defaultRegion))
	if !phonenumbers.GetSupportedRegions()[region] {
		return nil, refuse(defaultRegion, ErrRegion)
	}
	return &Normalizer{region: region}, nil
}

// Region returns the default region, upper case.
func (z *Normalizer) Region() string { return z.region }

// Normalize reads what a user typed and returns its Number, or a
// *NumberError saying why it is no number. See the package doc for what
// is accepted.
func (z *Normalizer) Normalize(raw string) (Number, error) {
	if len(raw) > maxInput {
		return "", refuse(raw, ErrTooLong)
	}
	text, err := clean(raw)
	if err != nil {
		return "", err
	}
	n, err := phonenumbers.Parse(text, z.region)
	if err != nil {
		return "", refuse(raw, parseReason(err))
	}
	reason := possible(n)
	if reason == nil {
		// libphonenumber strips national prefixes while parsing, so a few
		// odd inputs format to an E.164 string that reads back as another
		// number; those are refused rather than given two JIDs.
		e164 := phonenumbers.Format(n, phonenumbers.E164)
		if _, err := ParseLocalpart(e164); err != nil {
			return "", refuse(raw, ErrLength)
		}
		return Number(e164), nil
	}
	if text[0] != '+' && len(text) >= 3 && len(text) <= 8 &&
		phonenumbers.IsPossibleShortNumberForRegion(n, z.region) {
		if phonenumbers.IsEmergencyNumber(text, z.region) {
			return "", refuse(raw, ErrEmergency)
		}
		return Number(text), nil
	}
	return "", refuse(raw, reason)
}

// clean strips a tel: scheme, separators and the "00" prefix, leaving an
// optional "+" and digits.
func clean(raw string) (string, error) {
	s := strings.TrimSpace(raw)
	if len(s) >= 4 && strings.EqualFold(s[:4], "tel:") {
		var err error
		if s, err = telURI(raw, s[4:]); err != nil {
			return "", err
		}
	}
	var b strings.Builder
	for i, r := range s {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == '+' && i == 0:
			b.WriteRune(r)
		case r == ' ' || r == '-' || r == '.' || r == '(' || r == ')' || r == '/' ||
			r == '\t' || r == '\u00a0':
		default:
			return "", refuse(raw, ErrNotANumber)
		}
	}
	out := b.String()
	if strings.HasPrefix(out, "00") {
		out = "+" + out[2:]
	}
	if out == "" || out == "+" {
		return "", refuse(raw, ErrEmpty)
	}
	return out, nil
}

// telURI returns the number of an RFC 3966 URI body. A local number whose
// phone-context is a global number prefix ("+1") gets that prefix; other
// parameters (ext, isub, domain contexts) are refused or dropped: an
// extension cannot be texted.
func telURI(raw, body string) (string, error) {
	number, params, _ := strings.Cut(body, ";")
	prefix := ""
	for p := range strings.SplitSeq(params, ";") {
		name, value, _ := strings.Cut(p, "=")
		switch strings.ToLower(name) {
		case "ext", "isub":
			return "", refuse(raw, ErrNotANumber)
		case "phone-context":
			if strings.HasPrefix(value, "+") && !strings.HasPrefix(number, "+") {
				prefix = value
			}
		}
	}
	return prefix + number, nil
}

// possible reports why n is not a possible full number, or nil.
func possible(n *phonenumbers.PhoneNumber) error {
	switch phonenumbers.IsPossibleNumberWithReason(n) {
	case phonenumbers.IS_POSSIBLE:
		return nil
	case phonenumbers.IS_POSSIBLE_LOCAL_ONLY:
		return ErrLocalOnly
	case phonenumbers.INVALID_COUNTRY_CODE:
		return ErrCountryCode
	case phonenumbers.TOO_SHORT:
		return ErrTooShort
	case phonenumbers.TOO_LONG:
		return ErrTooLong
	default:
		return ErrLength
	}
}

// parseReason maps libphonenumber's parse errors to this package's.
func parseReason(err error) error {
	switch {
	case errors.Is(err, phonenumbers.ErrInvalidCountryCode):
		return ErrCountryCode
	case errors.Is(err, phonenumbers.ErrTooShortNSN), errors.Is(err, phonenumbers.ErrTooShortAfterIDD):
		return ErrTooShort
	case errors.Is(err, phonenumbers.ErrNumTooLong):
		return ErrTooLong
	default:
		return ErrNotANumber
	}
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// ParseWire reads a number as a provider reports it in a webhook: E.164
// with its "+", E.164 digits without it or after "00" (SMSCs differ), or a
// short code of up to 8 digits. Providers give no region to read national
// numbers in, so those, and alphanumeric sender IDs, are refused.
func ParseWire(s string) (Number, error) {
	v := strings.TrimSpace(s)
	if v == "" {
		return "", refuse(s, ErrEmpty)
	}
	if !strings.HasPrefix(v, "+") && len(v) <= 8 {
		if n, err := ParseLocalpart(v); err == nil {
			return n, nil
		}
	}
	digits := strings.TrimPrefix(v, "+")
	if !strings.HasPrefix(v, "+") {
		digits = strings.TrimPrefix(digits, "00")
	}
	n, err := ParseLocalpart("+" + digits)
	if err != nil {
		var ne *NumberError
		if errors.As(err, &ne) {
			return "", refuse(s, ne.Reason)
		}
		return "", refuse(s, ErrNotANumber)
	}
	return n, nil
}
