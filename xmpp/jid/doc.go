// Package jid implements XMPP addresses (JIDs) as RFC 7622 defines them, and
// the JID Escaping of XEP-0106 for localparts built from other networks'
// addresses.
//
// # Form and parsing
//
// A JID is [localpart "@"] domainpart ["/" resourcepart]. Parse splits at the
// first "/" (everything after it is the resourcepart, which may hold "@" and
// "/") and then at the first "@" before it. Each part present must be 1 to
// 1023 bytes long after enforcement; an empty part after a separator ("@d",
// "d/") is an error, as is the empty string.
//
// # Enforcement and canonical form
//
// Each part is enforced on the way in, so a JID value always holds its
// canonical form and two JIDs are equal exactly when they are ==:
//
//   - the localpart by the PRECIS UsernameCaseMapped profile (RFC 8265:
//     width mapping, lowercasing, NFC, Bidi rule, IdentifierClass), and must
//     then not contain any of " & ' / : < > @;
//   - the domainpart, after its final label separator (if any) is removed,
//     is either an IPv6 address in brackets, written back in RFC 5952 form,
//     or a domain name run through IDNA2008 with the UTS #46 mapping
//     (lowercase, NFC, STD3 rules, hyphen and Bidi checks, DNS label and name
//     lengths) and kept in its Unicode form, A-labels converted to U-labels;
//     an IPv4 address is a valid domain name;
//   - the resourcepart by the PRECIS OpaqueString profile (non-ASCII spaces
//     mapped to U+0020, NFC, FreeformClass), case preserved.
//
// Parts that are plain lowercase ASCII skip PRECIS and IDNA through a fast
// path that returns exactly what the full enforcement would (a fuzz target,
// FuzzPrepareFastPath, holds the two side by side). Parse(j.String()) == j
// for every JID j.
//
// # Escaping
//
// Escape and Unescape implement XEP-0106 on a localpart: the nine characters
// a localpart cannot hold become \20 \22 \26 \27 \2f \3a \3c \3e \40, a
// backslash that would otherwise start such a sequence becomes \5c, and
// Unescape(Escape(s)) == s for every string. Escaping applies to localparts
// only, never to domainparts or resourceparts. Escaped text is still
// enforced when made into a JID (lowercased, for one), so a gateway that
// needs a reversible mapping checks that Unescape(j.Local()) gives back the
// remote name; see Escape.
//
// # Concurrency
//
// JID values are immutable: methods never modify their receiver (except
// UnmarshalText, which replaces it), so a JID may be copied and shared between
// goroutines freely, and used as a map key. All functions of the package are
// safe for concurrent use.
package jid // import "github.com/xgate-im/xgate/xmpp/jid"
