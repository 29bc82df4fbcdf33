// Package store owns xgate's single database file (bbolt): gateway accounts
// and their encrypted credentials, contact ID mappings, roster state,
// message-ID mappings, durable outbound queues and a small generic key/value
// space, plus the schema version, migrations, verification and backups.
// It imports nothing of xgate's, never logs (every failure is a returned
// error, prefixed "store:", wrapping a sentinel from errors.go) and never
// puts a secret in an error or a printed value.
//
// # Opening
//
// Open takes an exclusive lock on the file (a read-only Open a shared one).
// A second Open from this or another process waits at most Options.Timeout
// (default one second) and fails with an error wrapping ErrLocked that says
// another xgate process is probably using the file. A read-write Open
// applies pending migrations and checks the key.
//
// # Damage
//
// bbolt reads the file through a memory map without bounds checks, so a
// damaged file (truncated, overwritten, bit rot) makes it fault (SIGBUS) or
// panic, which would kill the whole process. The store keeps that from
// happening: before bbolt maps a file, Open reads its meta pages, free list
// and root page with ordinary bounds-checked reads and compares the file
// size with the meta page's high-water mark; an existing 0-byte file is
// refused rather than initialized as a new store. Every transaction then
// runs with faults turned into panics, and a panic from bbolt becomes an
// error wrapping ErrDamaged; the handle refuses further writes and closes
// Damaged(). The error names the newest backups found (Options.BackupDir
// and the file's directory). CheckFile inspects a file page by page and
// Salvage copies what is readable into a new file.
//
// # Schema
//
// The schema version is decimal ASCII under meta/"schema". Migrations are
// numbered 1, 2, 3, ...; each runs in its own write transaction that also
// records its version, so a crash leaves the file at a whole version. A file
// newer than the last migration fails with ErrTooNew. Migration 1 creates
// the buckets below up to kv_secret; migration 2 adds rooms_by_chat,
// rooms_by_local, seen and seen_by_time.
//
// # Buckets and keys
//
// All buckets are top-level. Composite keys join their parts with a NUL
// byte (0x00), so identifiers must be non-empty and free of NUL (ErrInvalid
// otherwise); since NUL sorts before every other byte, key order is the
// order of the parts compared one after another. Records are JSON unless
// stated; times are RFC 3339 in UTC. "seq8" and "time8" are 8-byte
// big-endian integers; time8 is Unix nanoseconds with the sign bit flipped
// so byte order is time order.
//
//	meta                 "schema" -> version; "keycheck" -> sealed constant;
//	                     "outbox_len" -> uint64 (8 bytes) count of outbox items
//	accounts             transport NUL user NUL remote -> {settings, secrets, disabled,
//	                     last_error, created, updated}; each secret is sealed (below),
//	                     base64 in the JSON
//	contacts_by_remote   transport NUL remoteID  -> localpart (raw string)
//	contacts_by_local    transport NUL localpart -> remoteID (raw string)
//	roster               user NUL transport NUL contactJID -> {name, groups,
//	                     subscription, asked_at}
//	msg_by_xmpp          scope NUL xmppID NUL remoteID -> time8 seq8
//	msg_by_remote        scope NUL remoteID NUL xmppID -> time8 seq8 (same value)
//	msg_by_time          time8 scope NUL xmppID NUL remoteID -> empty
//	outbox               queue NUL seq8 -> {payload (base64), attempts, not_before,
//	                     enqueued, last_error}
//	outbox_seq           queue -> last assigned seq (8 bytes); kept when the queue
//	                     empties, so sequence numbers are never reused
//	kv                   namespace NUL key -> raw value
//	kv_secret            namespace NUL key -> sealed value
//	rooms_by_chat        transport NUL chat -> {local, parent, name, topic}
//	rooms_by_local       transport NUL localpart -> chat (raw string)
//	seen                 scope NUL remoteID -> time8 (a delivered remote event)
//	seen_by_time         time8 scope NUL remoteID -> empty
//
// A message ref is a pair (XMPP ID, remote ID) in a scope; both directions
// are sets, so one ID may be linked to several on the other side, and a
// lookup returns the pair stored first (lowest seq8, from msg_by_xmpp's
// sequence). msg_by_time lets PruneMessageRefs drop old pairs without
// scanning the others.
//
// Lookups of a missing record return ErrNotFound, and so do deletes of one
// (DeleteAccount, DeleteContact, DeleteRosterItem, KVDelete), so callers
// can tell "already gone" with errors.Is; OutboxAck alone ignores missing
// sequence numbers.
//
// Outbox payloads are stored in plain text: they may contain message bodies
// but must never contain credentials.
//
// # Encryption
//
// Account secrets, KV secrets and the key-check record are sealed with
// AES-256-GCM under the 32-byte Key: one version byte (1), a random 12-byte
// nonce, then the ciphertext and 16-byte tag. The additional data is
// "xgate-store-v1" NUL bucket NUL recordKey NUL field (field is the secret's
// name in an account, empty otherwise), so a sealed value moved to another
// record or field fails to decrypt (ErrCorrupt). The first read-write Open
// seals a constant under meta/"keycheck"; later Opens must decrypt it or fail
// with ErrWrongKey, before anything else is read.
//
// # Concurrency
//
// A DB is safe for concurrent use by many goroutines. Only managed bbolt
// transactions are used (Update, View, and the store's own batcher, which
// has bbolt's Batch semantics but runs every transaction under the damage
// guard); bbolt runs one writer at a time and readers in parallel. The
// record counts of Stats and OutboxCount are kept in memory and updated
// when a transaction commits (bbolt's Tx.OnCommit). Every byte slice taken out of a transaction
// is copied before it is returned. Each method is one transaction, so both
// directions of a mapping and the outbox counter always change together.
// PutMessageRefs and Enqueue go through the batcher: concurrent calls
// share one transaction (and one fsync): a call commits at once when no
// commit runs, and the calls arriving during a commit share the next one.
// No method takes a context: none blocks longer than the lock wait of
// Open (Options.Timeout) or two commits.
// Close waits for running transactions; methods called after Close return
// ErrClosed.
package store
