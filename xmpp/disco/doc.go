// Package disco builds and reads service discovery (XEP-0030) results,
// their extended information forms (XEP-0128), and entity capabilities
// (XEP-0115): the verification string that lets a contact's client cache
// what xgate's puppets and gateways support instead of asking each one.
//
// # Answering and asking
//
// A component answers a disco#info query with Info.Element and a
// disco#items query with Items.Element, and reads other entities' answers
// with ParseInfo and ParseItems. Element writes features sorted and
// without duplicates; the parsers keep what they receive.
//
// # Capabilities
//
// CapsVer computes the SHA-1 verification string of an Info exactly as
// XEP-0115 §5.1 defines it, and CapsElement wraps it in the <c/> element to
// put in presence. Because both use the same features Element writes,
// CapsVer(i) always matches i.Element(). To trust another entity's
// announcement, read it with ParseCaps, query its Caps.InfoNode, and check
// the answer with VerifyCaps (§5.4) before caching it under the
// verification string. Only sha-1 is computed; an xml:lang an identity
// inherits from an enclosing element is not applied.
//
// # Concurrency
//
// The package has no state. Info, Items and Caps are plain values: any
// number of goroutines may read one, none may change it meanwhile.
package disco
