// Package form reads, writes and checks XEP-0004 data forms: the
// <x xmlns="jabber:x:data"/> element that registration (XEP-0077), ad-hoc
// commands (XEP-0050), room configuration and extended service discovery
// (XEP-0128) carry.
//
// # Model
//
// A Form holds what the wire holds, in order: type, title, instructions,
// fields and, for results, a table (Reported and Items). Parse keeps field
// types as sent, including none at all, which submitting clients often do;
// the empty FieldType then means text-single. Parse(f.Element()) gives back
// an equal Form for every form Parse accepted, except that children in
// other namespaces (such as XEP-0122 validation hints) are dropped.
//
// # Offering and checking a form
//
// The entity that offers a form keeps it and checks the answer with
// offered.Validate(submitted): required fields, the offered options, JIDs,
// booleans, value counts and unknown fields. The *ValidationError it returns
// carries a sentence for the user and maps to a not-acceptable stanza
// error. Read the answer with Value, Values and Bool, which go by the field
// var and so work whatever types the client sent.
//
// # Concurrency
//
// The package has no state. A Form is a plain value: any number of
// goroutines may read one, but changing it (Set, or through Field) needs
// the caller to keep others away.
package form
