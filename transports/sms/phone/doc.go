// Package phone turns what people type into phone numbers the SMS transport
// can address, and maps those numbers to and from XMPP localparts.
//
// All parsing goes through github.com/nyaruka/phonenumbers (a port of
// Google's libphonenumber); this package only adds the gateway's rules:
//
//   - Input: national format in the configured default region, spaces,
//     dashes, dots, slashes and parentheses as separators, a leading "+",
//     the "00" international prefix (accepted in every region, since users
//     type it everywhere), and RFC 3966 "tel:" URIs (parameters dropped; a
//     local number's phone-context that is a "+" prefix is honoured).
//     Letters (vanity numbers), extensions and anything else are refused.
//   - Gate: a number is accepted when libphonenumber calls it possible
//     (IsPossibleNumberWithReason == IS_POSSIBLE: right country code and a
//     length that country uses), not when it is "valid": validity depends on
//     allocated ranges, rejects fictional 555 numbers and goes stale as
//     ranges change. Numbers that are possible only for local dialling (a
//     US number without its area code) are refused with ErrLocalOnly,
//     because E.164 needs the full number.
//   - Short codes: digits that are not a possible full number but are a
//     possible short number of the default region (e.g. "12345" in the US)
//     stay bare digits without "+". A short code has no country of its own:
//     it is scoped to the gateway's default region, the region of the
//     provider numbers that send to it. Its localpart is the digits
//     ("12345@sms.example.org"), which cannot collide with an E.164
//     localpart because those always start with "+". Emergency numbers
//     of the region (911, 112, …) are refused with ErrEmergency.
//   - Localparts follow the JMP/Cheogram convention: the E.164 number with
//     its "+" ("+15551234567@sms.example.org"). ParseLocalpart accepts only
//     the canonical form, so each number has exactly one JID.
//
// Errors are *NumberError values wrapping one of the sentinels in
// errors.go, so callers can use errors.Is for the reason and show
// Error() to the user. Everything here is pure and safe for concurrent use.
package phone
