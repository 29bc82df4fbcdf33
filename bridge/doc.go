// Package bridge is the gateway core: it connects one transport (a remote
// network) to one XEP-0114 component and keeps the two sides consistent.
//
// It owns accounts and registration (XEP-0077, XEP-0050 ad-hoc commands,
// chat commands, XEP-0100), the mapping between remote IDs and JIDs, the
// roster and presence of contacts and of the gateway itself, message-ID
// mapping for edits and reactions, and delivery: anything that cannot be
// delivered now is kept in the store's durable outbox and retried in order.
//
// A Gateway is assembled from parts with one job each (see Gateway):
// stanza routing, delivery to XMPP, the per-chat queues to the network,
// event → stanza conversion (plain functions in stanzas.go), accounts,
// roster and presence, registration and commands. A chat key (chatkey.go)
// names each chat's queue, message-ID scope and dedupe scope.
//
// Transports see the bridge only through the interfaces and normalized
// events of this package (transport.go, events.go), and, for one
// connection serving every account, Fanout (fanout.go) and Webhooks; they
// never import xmpp or store (internal/archtest). Capabilities are data (Capabilities), optional features are
// small interfaces found by type assertion (Editor, Reactor, Typer, ...).
//
// # Concurrency
//
// A Gateway's Run owns every goroutine it starts and waits for them. Stanzas
// from the host server arrive in order on one dispatcher goroutine and are
// handed to per-chat ordered queues, so one slow chat never blocks another.
// Sink.Emit may be called from any goroutine; it returns once the event's
// stanza is stored or confirmed. For a message with files from a
// FileSource that includes copying them to the upload service (rehost.go,
// at most two minutes, four files at a time per gateway). Fanout's work belongs to the context given
// to Dispatch, and Fanout.Wait waits for it.
package bridge
