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
// A Component owns four goroutines while connected: one reads the socket,
// one owns all writes, one watches the answers to barriers (keepalive), and
// one dispatches incoming stanzas to the Handler in order. Send,
// TrySendRaw, Flush and Request may be called from any goroutine; Send
// hands the encoded stanza to the writer through a bounded queue and
// blocks when it is full, which is how backpressure reaches the caller.
// Element values are not safe for concurrent mutation; once handed to Send
// they are encoded at once and may be reused.
//
// # Delivery and liveness
//
// The component confirms what it wrote with barriers, pings to its own
// domain that the server routes back after the stanzas before them (see
// barrier.go). Flush waits for that confirmation, so a caller can delete
// its durable copy of a stanza only once the server has it; stanzas still
// unconfirmed when a connection ends are written again on the next one.
// The answers to barriers are also the connection's only proof of life.
// TrySendRaw queues without blocking for stanzas that are worthless late
// (answers), and LimitSenders keeps one sender from monopolizing the
// handler.
//
// Sub-packages: jid (addresses and XEP-0106 escaping), form (XEP-0004 data
// forms), disco (XEP-0030 service discovery) and xmpptest (an in-process
// host server and a test client).
package xmpp
