package store

import (
	"bytes"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func FuzzParseKey(f *testing.F) {
	for _, s := range []string{
		testKeyHex, " " + testKeyHex + "\n", strings.ToUpper(otherKeyHex),
		"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8",
		"", "zz", strings.Repeat("0", 63), strings.Repeat("=", 44),
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, material []byte) {
		k, err := ParseKey(material)
		if err != nil {
			if !errorsIs(err, ErrBadKey) {
				t.Fatalf("error %v does not wrap ErrBadKey", err)
			}
			if trimmed := bytes.TrimSpace(material); len(trimmed) > 8 && strings.Contains(err.Error(), string(trimmed)) {
				t.Fatalf("error reveals the material: %v", err)
			}
			return
		}
		sealed, err := k.seal(material, []byte("ad"))
		if err != nil {
			t.Fatal(err)
		}
		if pt, err := k.open(sealed, []byte("ad")); err != nil || !bytes.Equal(pt, material) {
			t.Fatalf("round trip: %q, %v", pt, err)
		}
	})
}

// FuzzOpenSealed feeds arbitrary bytes to decryption: it must fail cleanly.
func FuzzOpenSealed(f *testing.F) {
	k := mustKey(f, testKeyHex)
	good, _ := k.seal([]byte("secret"), []byte("ad"))
	f.Add(good, []byte("ad"))
	f.Add([]byte{1}, []byte{})
	f.Add([]byte{}, []byte("ad"))
	f.Add(bytes.Repeat([]byte{1}, 29), []byte("ad"))
	f.Fuzz(func(t *testing.T, sealed, ad []byte) {
		pt, err := k.open(sealed, ad)
		// Only genuine seals of the seed open (each process seals its own).
		if err == nil && (string(ad) != "ad" || string(pt) != "secret") {
			t.Fatalf("forged value opened: %q", pt)
		}
	})
}

// Record kinds for FuzzDecodeRecord.
const (
	recAccount = iota
	recRoster
	recOutbox
	recRefValue
	recRefTimeKey
	recKinds
)

// FuzzDecodeRecord feeds arbitrary keys and values to every decoder of
// stored keys and records. None may panic; whatever decodes must encode
// back to the same key.
func FuzzDecodeRecord(f *testing.F) {
	k := mustKey(f, testKeyHex)
	ak := AccountKey{"alice@x", "slack", "T1.U1"}
	acct, _ := encodeAccount(k, Account{AccountKey: ak, Settings: map[string]string{"a": "b"}, Secrets: map[string]string{"token": "t"}, Created: time.Unix(1, 0).UTC()})
	roster, _ := json.Marshal(rosterRecord{Name: "Bob", Groups: []string{"g"}, Subscription: "both"})
	outbox, _ := json.Marshal(outboxRecord{Payload: []byte("p"), Attempts: 1, Enqueued: time.Unix(2, 0).UTC()})
	f.Add(uint8(recAccount), ak.key(), acct)
	f.Add(uint8(recAccount), []byte("a\x00b\x00c"), []byte(`{"secrets":{"x":"AQ=="}}`))
	f.Add(uint8(recAccount), []byte("a\x00b"), []byte(`{}`))
	f.Add(uint8(recRoster), joinKey("a@x", "slack", "c@slack.x"), roster)
	f.Add(uint8(recRoster), joinKey("a", "b", "c"), []byte(`{"subscription":"x"}`))
	f.Add(uint8(recOutbox), outboxKey("q", 7), outbox)
	f.Add(uint8(recOutbox), []byte("q\x00\x00\x00\x00\x00\x00\x00\x00"), []byte(`{"payload":"!"}`))
	f.Add(uint8(recRefValue), []byte{}, refValue(timeKey(time.Unix(3, 0)), 9))
	f.Add(uint8(recRefTimeKey), refTimeKey(timeKey(time.Unix(3, 0)), "s", "x", "r"), []byte{})
	f.Add(uint8(recRefTimeKey), []byte("\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"), []byte{})
	f.Fuzz(func(t *testing.T, kind uint8, key, value []byte) {
		switch kind % recKinds {
		case recAccount:
			a, err := decodeAccount(k, key, value)
			if err == nil && !bytes.Equal(a.key(), key) {
				t.Fatalf("account key %q re-encodes as %q", key, a.key())
			}
			if err == nil {
				if _, err := encodeAccount(k, a); err != nil {
					t.Fatalf("decoded account does not encode: %v", err)
				}
			}
		case recRoster:
			it, err := decodeRosterItem(key, value)
			if err == nil && !bytes.Equal(joinKey(it.User, it.Transport, it.Contact), key) {
				t.Fatalf("roster key %q re-encodes differently", key)
			}
		case recOutbox:
			it, err := decodeOutboxItem(key, value)
			if err == nil && !bytes.Equal(outboxKey(it.Queue, it.Seq), key) {
				t.Fatalf("outbox key %q re-encodes as %q", key, outboxKey(it.Queue, it.Seq))
			}
		case recRefValue:
			at, seq, err := decodeRefValue(value)
			if err == nil && !bytes.Equal(refValue(at, seq), value) {
				t.Fatalf("ref value %x re-encodes differently", value)
			}
		case recRefTimeKey:
			at, s, x, r, err := splitRefTimeKey(key)
			if err == nil && !bytes.Equal(refTimeKey(at, s, x, r), key) {
				t.Fatalf("time key %q re-encodes differently", key)
			}
		}
	})
}

// FuzzSplitKey checks that splitKey inverts joinKey.
func FuzzSplitKey(f *testing.F) {
	f.Add([]byte("a\x00b\x00c"), uint8(3))
	f.Add([]byte("a\x00\x00c"), uint8(3))
	f.Add([]byte(""), uint8(1))
	f.Add([]byte("\x00"), uint8(2))
	f.Fuzz(func(t *testing.T, k []byte, n uint8) {
		parts, err := splitKey(k, int(n%8)+1)
		if err != nil {
			return
		}
		if !bytes.Equal(joinKey(parts...), k) {
			t.Fatalf("joinKey(splitKey(%q)) = %q", k, joinKey(parts...))
		}
		for _, p := range parts {
			if checkID("part", p) != nil {
				t.Fatalf("split part %q would not pass checkID", p)
			}
		}
	})
}

// fixMetaChecksums recomputes the checksum of each meta page of data that
// has bbolt's magic, so that mutated meta fields reach the code past the
// checksum.
func fixMetaChecksums(data []byte, pageSize int) {
	for _, off := range []int{0, pageSize} {
		m := off + pageHeaderSize
		if m+metaChecksumOff+8 > len(data) || ne.Uint32(data[m:]) != boltMagic {
			continue
		}
		h := fnv.New64a()
		h.Write(data[m : m+metaChecksumOff])
		ne.PutUint64(data[m+metaChecksumOff:], h.Sum64())
	}
}

// FuzzRawFile feeds damaged files to the bounds-checked reader that Open,
// CheckFile and Salvage use before (or instead of) bbolt: it must never
// panic, and its work must stay proportional to the file's size.
func FuzzRawFile(f *testing.F) {
	path := filepath.Join(f.TempDir(), "seed.db")
	db, err := Open(path, testOptions(f))
	if err != nil {
		f.Fatal(err)
	}
	for i := range 40 {
		if err := db.KVPut("ns", fmt.Sprint("key", i), bytes.Repeat([]byte("v"), 100)); err != nil {
			f.Fatal(err)
		}
	}
	db.Close()
	seed, err := os.ReadFile(path)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(seed, false)
	f.Add(seed[:len(seed)/2], true)
	f.Fuzz(func(t *testing.T, data []byte, truncatedOK bool) {
		fixMetaChecksums(data, os.Getpagesize())
		rf, err := readRawFile(bytes.NewReader(data), int64(len(data)), truncatedOK)
		if err != nil {
			return
		}
		_, _ = rf.freelist()
		calls := 0
		count := func() { calls++ }
		rf.walk(&rawVisitor{
			bucket:  func([][]byte) { count() },
			kv:      func([][]byte, []byte, []byte) { count() },
			problem: func([][]byte, error) { count() },
		})
		// Each page is read once; each element takes 16 bytes of it, and
		// an inline bucket nests inside its parent's bytes at most 64 deep.
		if limit := maxWalkDepth*len(data)/elemSize + 1; calls > limit {
			t.Fatalf("%d calls for %d bytes", calls, len(data))
		}
	})
}
