package store

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
)

// keySize is the length of a secrets encryption key: AES-256.
const keySize = 32

// sealVersion is the first byte of every sealed value, so that the format
// can change later without guessing.
const sealVersion = 1

// redactedKey is what a Key prints as, whatever the verb.
const redactedKey = "store.Key(redacted)"

// Key is a secrets encryption key (AES-256-GCM). It never prints or logs its
// material: String, GoString, Format and LogValue all give
// "store.Key(redacted)". A Key is immutable and safe for concurrent use.
type Key struct {
	aead cipher.AEAD // built once from the 32 key bytes, which are not kept
}

// ParseKey parses key material: surrounding whitespace is trimmed, then it
// must be 64 hex digits or standard base64 (padded or not) of exactly 32
// bytes. Anything else returns an error wrapping ErrBadKey; the error never
// contains the material.
func ParseKey(material []byte) (*Key, error) {
	s := bytes.TrimSpace(material)
	raw, ok := decodeKeyMaterial(s)
	if !ok {
		return nil, fmt.Errorf("store: parse key: want 64 hex digits or base64 of 32 bytes (got %d characters): %w", len(s), ErrBadKey)
	}
	k, err := newKey(raw)
	clear(raw)
	return k, err
}

// decodeKeyMaterial decodes trimmed key material into 32 raw bytes.
func decodeKeyMaterial(s []byte) ([]byte, bool) {
	if len(s) == 2*keySize {
		raw := make([]byte, keySize)
		if _, err := hex.Decode(raw, s); err == nil {
			return raw, true
		}
		clear(raw)
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding} {
		raw := make([]byte, enc.DecodedLen(len(s)))
		n, err := enc.Decode(raw, s)
		if err == nil && n == keySize {
			return raw[:n], true
		}
		clear(raw)
	}
	return nil, false
}

// newKey builds a Key from 32 raw bytes.
func newKey(raw []byte) (*Key, error) {
	if len(raw) != keySize {
		return nil, fmt.Errorf("store: key: %d bytes, want %d: %w", len(raw), keySize, ErrBadKey)
	}
	block, err := aes.NewCipher(raw)
	if err != nil {
		return nil, fmt.Errorf("store: key: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("store: key: %w", err)
	}
	return &Key{aead: aead}, nil
}

// LoadKey loads the secrets encryption key from a file or from an
// environment variable; exactly one of file and envVar must be non-empty.
// The file must not be readable or writable by group or others (mode&0o077
// must be 0, fix with chmod 600). An unset or empty environment variable
// returns an error wrapping ErrNoKey that names the variable.
func LoadKey(file, envVar string) (*Key, error) {
	switch {
	case file == "" && envVar == "":
		return nil, fmt.Errorf("store: load key: neither a key file nor an environment variable given: %w", ErrNoKey)
	case file != "" && envVar != "":
		return nil, fmt.Errorf("store: load key: both key file %s and environment variable %s given, use one: %w", file, envVar, ErrInvalid)
	case envVar != "":
		v := os.Getenv(envVar)
		if v == "" {
			return nil, fmt.Errorf("store: load key: environment variable %s is not set or empty: %w", envVar, ErrNoKey)
		}
		k, err := ParseKey([]byte(v))
		if err != nil {
			return nil, fmt.Errorf("store: load key from environment variable %s: %w", envVar, err)
		}
		return k, nil
	}
	// Stat before opening: opening a FIFO by mistake would block.
	fi, err := os.Stat(file)
	if err != nil {
		return nil, fmt.Errorf("store: load key: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("store: load key: %s is not a regular file: %w", file, ErrInvalid)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return nil, fmt.Errorf("store: load key: key file %s has mode %04o and is accessible to group or others; run chmod 600 %s: %w", file, perm, file, ErrInvalid)
	}
	f, err := os.Open(file)
	if err != nil {
		return nil, fmt.Errorf("store: load key: %w", err)
	}
	defer f.Close()
	// A key is 64 characters; a little room for whitespace, and refuse to
	// read a huge file by mistake.
	material, err := io.ReadAll(io.LimitReader(f, 4096))
	if err != nil {
		return nil, fmt.Errorf("store: load key: %w", err)
	}
	defer clear(material)
	k, err := ParseKey(material)
	if err != nil {
		return nil, fmt.Errorf("store: load key from %s: %w", file, err)
	}
	return k, nil
}

// GenerateKey returns a new random key as 64 hex digits, suitable for a key
// file or environment variable (xgate genkey).
func GenerateKey() (string, error) {
	raw := make([]byte, keySize)
	if _, err := rand.Read(raw); err != nil {
		return "", fmt.Errorf("store: generate key: %w", err)
	}
	s := hex.EncodeToString(raw)
	clear(raw)
	return s, nil
}

// String returns "store.Key(redacted)".
func (k Key) String() string { return redactedKey }

// GoString returns "store.Key(redacted)", so %#v does not reveal the key.
func (k Key) GoString() string { return redactedKey }

// Format prints "store.Key(redacted)" for every verb.
func (k Key) Format(f fmt.State, _ rune) { io.WriteString(f, redactedKey) }

// LogValue implements slog.LogValuer: a Key logs as "store.Key(redacted)".
func (k Key) LogValue() slog.Value { return slog.StringValue(redactedKey) }

// The methods have value receivers so that a dereferenced Key is redacted
// too (its cipher state holds the expanded key).
var (
	_ fmt.Stringer   = Key{}
	_ fmt.Formatter  = Key{}
	_ slog.LogValuer = Key{}
	_ fmt.Formatter  = (*Key)(nil)
)

// errOpen is the internal result of a failed decryption; callers turn it
// into ErrWrongKey or ErrCorrupt depending on context.
var errOpen = errors.New("decryption failed")

// seal encrypts plaintext: version byte, random 12-byte nonce, then the GCM
// ciphertext and tag. ad is authenticated but not stored.
func (k *Key) seal(plaintext, ad []byte) ([]byte, error) {
	if k == nil || k.aead == nil {
		return nil, ErrNoKey
	}
	ns := k.aead.NonceSize()
	out := make([]byte, 1+ns, 1+ns+len(plaintext)+k.aead.Overhead())
	out[0] = sealVersion
	if _, err := rand.Read(out[1:]); err != nil {
		return nil, err
	}
	return k.aead.Seal(out, out[1:1+ns], plaintext, ad), nil
}

// open decrypts a value made by seal with the same ad. It returns errOpen
// for anything that does not authenticate, including malformed input.
func (k *Key) open(sealed, ad []byte) ([]byte, error) {
	if k == nil || k.aead == nil {
		return nil, ErrNoKey
	}
	ns := k.aead.NonceSize()
	if len(sealed) < 1+ns+k.aead.Overhead() || sealed[0] != sealVersion {
		return nil, errOpen
	}
	pt, err := k.aead.Open(nil, sealed[1:1+ns], sealed[1+ns:], ad)
	if err != nil {
		return nil, errOpen
	}
	return pt, nil
}

// secretAD is the additional data binding a sealed value to where it is
// stored: bucket, record key and field name (the secret's name inside an
// account, "" for values that are a whole record). Moving a ciphertext to
// another record or field makes it fail to decrypt.
func secretAD(bucket string, recordKey []byte, field string) []byte {
	ad := make([]byte, 0, len("xgate-store-v1")+len(bucket)+len(recordKey)+len(field)+3)
	ad = append(ad, "xgate-store-v1"...)
	ad = append(ad, 0)
	ad = append(ad, bucket...)
	ad = append(ad, 0)
	ad = append(ad, recordKey...)
	ad = append(ad, 0)
	ad = append(ad, field...)
	return ad
}
