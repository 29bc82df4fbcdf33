package store

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strings"
	"time"
)

// Bucket names. See doc.go for what each holds.
const (
	bucketMeta             = "meta"
	bucketAccounts         = "accounts"
	bucketContactsByRemote = "contacts_by_remote"
	bucketContactsByLocal  = "contacts_by_local"
	bucketRoster           = "roster"
	bucketMsgByXMPP        = "msg_by_xmpp"
	bucketMsgByRemote      = "msg_by_remote"
	bucketMsgByTime        = "msg_by_time"
	bucketOutbox           = "outbox"
	bucketOutboxSeq        = "outbox_seq"
	bucketKV               = "kv"
	bucketKVSecret         = "kv_secret"
	bucketRoomsByChat      = "rooms_by_chat"  // schema 2
	bucketRoomsByLocal     = "rooms_by_local" // schema 2
	bucketSeen             = "seen"           // schema 2
	bucketSeenByTime       = "seen_by_time"   // schema 2
)

// schema1Buckets are the buckets migration 1 creates. Never change it.
var schema1Buckets = []string{
	bucketMeta, bucketAccounts, bucketContactsByRemote, bucketContactsByLocal,
	bucketRoster, bucketMsgByXMPP, bucketMsgByRemote, bucketMsgByTime,
	bucketOutbox, bucketOutboxSeq, bucketKV, bucketKVSecret,
}

// schema2Buckets are the buckets migration 2 adds: rooms and the dedupe of
// delivered remote events. Never change it.
var schema2Buckets = []string{bucketRoomsByChat, bucketRoomsByLocal, bucketSeen, bucketSeenByTime}

// allBuckets lists every top-level bucket of the current schema.
var allBuckets = append(append([]string(nil), schema1Buckets...), schema2Buckets...)

// Keys in the meta bucket.
const (
	metaSchema    = "schema"     // decimal ASCII schema version
	metaKeyCheck  = "keycheck"   // sealed keyCheckPlaintext
	metaOutboxLen = "outbox_len" // uint64 big-endian item count
	metaSeenSince = "seen_since" // RFC 3339 time: when records of delivered events began (schema 2)
	metaSeenUpTo  = "seen_up_to" // uint64 big-endian Unix nanoseconds: the latest network time of an event recorded in seen
)

// keyCheckPlaintext is sealed into meta/keycheck when a file is created.
const keyCheckPlaintext = "xgate key check v1"

// sep separates the parts of a composite key.
const sep = 0x00

// checkID validates one identifier that becomes part of a key: it must be
// non-empty and contain no NUL byte.
func checkID(what, s string) error {
	if s == "" {
		return fmt.Errorf("%s is empty: %w", what, ErrInvalid)
	}
	if strings.IndexByte(s, sep) >= 0 {
		return fmt.Errorf("%s %q contains a NUL byte: %w", what, s, ErrInvalid)
	}
	return nil
}

// checkIDs validates pairs of (name, value).
func checkIDs(pairs ...string) error {
	for i := 0; i+1 < len(pairs); i += 2 {
		if err := checkID(pairs[i], pairs[i+1]); err != nil {
			return err
		}
	}
	return nil
}

// joinKey builds a composite key: the parts separated by NUL.
func joinKey(parts ...string) []byte {
	n := len(parts) - 1
	for _, p := range parts {
		n += len(p)
	}
	k := make([]byte, 0, n)
	for i, p := range parts {
		if i > 0 {
			k = append(k, sep)
		}
		k = append(k, p...)
	}
	return k
}

// prefixKey builds the prefix matching every composite key that starts
// with parts: the parts each followed by NUL.
func prefixKey(parts ...string) []byte {
	return append(joinKey(parts...), sep)
}

// splitKey splits a composite key into exactly n non-empty parts.
func splitKey(k []byte, n int) ([]string, error) {
	parts := bytes.Split(k, []byte{sep})
	if len(parts) != n {
		return nil, fmt.Errorf("key %q: %d parts, want %d: %w", k, len(parts), n, ErrCorrupt)
	}
	out := make([]string, n)
	for i, p := range parts {
		if len(p) == 0 {
			return nil, fmt.Errorf("key %q: empty part %d: %w", k, i, ErrCorrupt)
		}
		out[i] = string(p)
	}
	return out, nil
}

// u64 encodes v as 8 bytes big-endian.
func u64(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }

// timeKey encodes t so that byte order is time order: Unix nanoseconds with
// the sign bit flipped, big-endian. Valid for years 1678 to 2262.
func timeKey(t time.Time) uint64 { return uint64(t.UnixNano()) ^ (1 << 63) }

// outboxKey is queue NUL seq(8 bytes big-endian).
func outboxKey(queue string, seq uint64) []byte {
	return binary.BigEndian.AppendUint64(prefixKey(queue), seq)
}

// splitOutboxKey parses an outbox key.
func splitOutboxKey(k []byte) (queue string, seq uint64, err error) {
	if len(k) < 10 || k[len(k)-9] != sep {
		return "", 0, fmt.Errorf("outbox key %q: %w", k, ErrCorrupt)
	}
	q := k[:len(k)-9]
	if bytes.IndexByte(q, sep) >= 0 {
		return "", 0, fmt.Errorf("outbox key %q: NUL in queue name: %w", k, ErrCorrupt)
	}
	return string(q), binary.BigEndian.Uint64(k[len(k)-8:]), nil
}

// clone copies a byte slice taken out of a transaction; nil stays nil.
func clone(b []byte) []byte {
	if b == nil {
		return nil
	}
	return append(make([]byte, 0, len(b)), b...)
}
