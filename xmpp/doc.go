// Package xmpp speaks the XMPP protocol as an external component
// (XEP-0114): the stream and its handshake, a hardened stream decoder,
// stanzas with their errors, and the connection that keeps a component
// attached to its host server.
//
// It is written directly on encoding/xml and imports nothing else of xgate;
// it knows nothing of accounts, networks or storage, and it never logs:
// everything it has to say is returned as an error or reported through
// callbacks and Stats.
//
// # Elements and stanzas
//
// Element is a generic XML tree that keeps text and children in order, so
// unknown extensions pass through unchanged. Parse turns a top-level
// element into a *Message, *Presence or *IQ, whose well-known children are
// typed fields and whose other children are kept verbatim.
//
// # Concurrency
//
// A Component owns three goroutines while connected: one reads the socket,
// one owns all writes, and one dispatches incoming stanzas to the Handler in
// order. Send and Request may be called from any goroutine; Send hands the
// encoded stanza to the writer through a bounded queue and blocks when it is
// full, which is how backpressure reaches the caller. Element values are not
// safe for concurrent mutation; once handed to Send they are encoded at once
// and may be reused.
//
// Sub-packages: jid (addresses and XEP-0106 escaping), form (XEP-0004 data
// forms), disco (XEP-0030 service discovery) and xmpptest (an in-process
// host server and a test client).
package xmpp
