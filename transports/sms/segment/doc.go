// Package segment tells how a text travels as SMS: which alphabet it needs
// (GSM 03.38 7-bit or UCS-2), how many segments it costs, and where a long
// text is cut into concatenated parts.
//
// Rules (3GPP TS 23.038 and 23.040):
//   - A text whose every character is in the GSM 7-bit default alphabet or
//     its extension table is sent as GSM-7. Extension characters
//     (^ { } \ [ ~ ] | € and form feed) are sent as ESC + character and
//     cost two septets. Any other character makes the whole text UCS-2,
//     counted in UTF-16 code units (characters outside the Basic
//     Multilingual Plane, such as most emoji, cost two).
//   - One segment holds 160 septets (GSM-7) or 70 code units (UCS-2). A
//     longer text is concatenated: each part carries a 6-byte user data
//     header, leaving 153 septets or 67 code units per part.
//   - Split never cuts an escape sequence or a surrogate pair: a character
//     that does not fit whole moves to the next part. Parts are cut at
//     character boundaries of the input, so joining them gives the input
//     back byte for byte.
//   - Invalid UTF-8 bytes count as U+FFFD (UCS-2, one unit each).
//   - An empty text still costs one segment, as sending it would.
//
// Concatenation references are 8 bits, so a text may have at most
// MaxSegments parts; Count reports longer texts honestly and callers decide
// (Twilio, for one, refuses bodies over 1600 characters).
//
// Everything here is pure and safe for concurrent use.
package segment
