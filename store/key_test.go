package store

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseKey(t *testing.T) {
	raw, _ := hex.DecodeString(testKeyHex)
	tests := []struct {
		name     string
		material string
		want     error
	}{
		{"hex", testKeyHex, nil},
		{"hex upper", strings.ToUpper(testKeyHex), nil},
		{"hex with whitespace", "  \t" + testKeyHex + "\r\n", nil},
		{"base64 std", base64.StdEncoding.EncodeToString(raw), nil},
		{"base64 raw", base64.RawStdEncoding.EncodeToString(raw), nil},
		{"base64 with newline", base64.StdEncoding.EncodeToString(raw) + "\n", nil},
		{"empty", "", ErrBadKey},
		{"whitespace only", " \n ", ErrBadKey},
		{"hex 63", testKeyHex[:63], ErrBadKey},
		{"hex 65", testKeyHex + "0", ErrBadKey},
		{"hex 62 (31 bytes)", testKeyHex[:62], ErrBadKey},
		{"not hex, 64 chars", strings.Repeat("zz", 32), ErrBadKey},
		{"base64 of 31 bytes", base64.StdEncoding.EncodeToString(raw[:31]), ErrBadKey},
		{"base64 of 33 bytes", base64.StdEncoding.EncodeToString(append(raw, 1)), ErrBadKey},
		{"base64 url alphabet", strings.Repeat("-_", 21) + "AA=", ErrBadKey},
		{"inner space", testKeyHex[:32] + " " + testKeyHex[32:], ErrBadKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := ParseKey([]byte(tt.material))
			wantErr(t, "ParseKey", err, tt.want)
			if err != nil {
				if len(strings.TrimSpace(tt.material)) > 8 && strings.Contains(err.Error(), strings.TrimSpace(tt.material)) {
					t.Errorf("error %q reveals the material", err)
				}
				return
			}
			// Every accepted form is the same key: it opens what the hex key sealed.
			ref := mustKey(t, testKeyHex)
			sealed, err := ref.seal([]byte("x"), []byte("ad"))
			if err != nil {
				t.Fatal(err)
			}
			if pt, err := k.open(sealed, []byte("ad")); err != nil || string(pt) != "x" {
				t.Errorf("parsed key differs from the reference: %v", err)
			}
		})
	}
}

func TestLoadKey(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil { // umask
			t.Fatal(err)
		}
		return p
	}
	good := write("good.key", testKeyHex+"\n", 0o600)
	readOnly := write("ro.key", testKeyHex, 0o400)
	groupReadable := write("group.key", testKeyHex, 0o640)
	worldReadable := write("world.key", testKeyHex, 0o644)
	bad := write("bad.key", "not a key", 0o600)
	t.Setenv("XGATE_TEST_KEY", testKeyHex)
	t.Setenv("XGATE_TEST_EMPTY", "")
	t.Setenv("XGATE_TEST_BAD", "nope")

	tests := []struct {
		name        string
		file, env   string
		want        error
		wantMessage string
	}{
		{"file", good, "", nil, ""},
		{"file 0400", readOnly, "", nil, ""},
		{"env", "", "XGATE_TEST_KEY", nil, ""},
		{"neither", "", "", ErrNoKey, ""},
		{"both", good, "XGATE_TEST_KEY", ErrInvalid, "use one"},
		{"env empty", "", "XGATE_TEST_EMPTY", ErrNoKey, "XGATE_TEST_EMPTY"},
		{"env unset", "", "XGATE_TEST_UNSET_VARIABLE", ErrNoKey, "XGATE_TEST_UNSET_VARIABLE"},
		{"env bad", "", "XGATE_TEST_BAD", ErrBadKey, "XGATE_TEST_BAD"},
		{"group readable", groupReadable, "", ErrInvalid, "chmod 600"},
		{"world readable", worldReadable, "", ErrInvalid, "chmod 600"},
		{"bad content", bad, "", ErrBadKey, bad},
		{"missing file", filepath.Join(dir, "missing.key"), "", fs.ErrNotExist, ""},
		{"directory", dir, "", ErrInvalid, "regular"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := LoadKey(tt.file, tt.env)
			wantErr(t, "LoadKey", err, tt.want)
			if err != nil && !strings.Contains(err.Error(), tt.wantMessage) {
				t.Errorf("error %q does not mention %q", err, tt.wantMessage)
			}
			if err == nil && k == nil {
				t.Error("nil key without error")
			}
		})
	}
}

func TestGenerateKey(t *testing.T) {
	a, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	b, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	if len(a) != 64 || a == b {
		t.Errorf("GenerateKey: %q, %q: want two different 64-digit keys", a, b)
	}
	if _, err := hex.DecodeString(a); err != nil {
		t.Errorf("not hex: %v", err)
	}
	if _, err := ParseKey([]byte(a)); err != nil {
		t.Errorf("ParseKey(GenerateKey()): %v", err)
	}
}

func TestKeyRedacted(t *testing.T) {
	k := mustKey(t, testKeyHex)
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("x", "key", k)
	slog.New(slog.NewTextHandler(&logged, nil)).Info("x", "key", k)
	outputs := []string{k.String(), k.GoString(), logged.String(), fmt.Sprint(struct{ K *Key }{k}), fmt.Sprintf("%+v", struct{ K Key }{*k})}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%x", "%X", "%d", "%q", "%10.3v"} {
		outputs = append(outputs, fmt.Sprintf(verb, k), fmt.Sprintf(verb, *k))
	}
	raw, _ := hex.DecodeString(testKeyHex)
	for _, out := range outputs {
		if strings.Contains(strings.ToLower(out), testKeyHex[:16]) || bytes.Contains([]byte(out), raw[:8]) {
			t.Errorf("output reveals the key: %q", out)
		}
		if !strings.Contains(out, "store.Key(redacted)") {
			t.Errorf("output %q does not say store.Key(redacted)", out)
		}
	}
}

func TestSealOpen(t *testing.T) {
	k := mustKey(t, testKeyHex)
	sealed, err := k.seal([]byte("hunter2"), []byte("ad"))
	if err != nil {
		t.Fatal(err)
	}
	again, _ := k.seal([]byte("hunter2"), []byte("ad"))
	if bytes.Equal(sealed, again) {
		t.Error("two seals of the same value are equal: nonce reused")
	}
	flip := func(i int) []byte {
		b := bytes.Clone(sealed)
		b[i] ^= 1
		return b
	}
	tests := []struct {
		name   string
		key    *Key
		sealed []byte
		ad     string
		want   error
	}{
		{"ok", k, sealed, "ad", nil},
		{"other ad", k, sealed, "ae", errOpen},
		{"other key", mustKey(t, otherKeyHex), sealed, "ad", errOpen},
		{"version flipped", k, flip(0), "ad", errOpen},
		{"nonce flipped", k, flip(1), "ad", errOpen},
		{"tag flipped", k, flip(len(sealed) - 1), "ad", errOpen},
		{"truncated", k, sealed[:len(sealed)-1], "ad", errOpen},
		{"empty", k, nil, "ad", errOpen},
		{"nil key", nil, sealed, "ad", ErrNoKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pt, err := tt.key.open(tt.sealed, []byte(tt.ad))
			wantErr(t, "open", err, tt.want)
			if err == nil && string(pt) != "hunter2" {
				t.Errorf("open = %q", pt)
			}
		})
	}
	if _, err := (*Key)(nil).seal([]byte("x"), nil); !errors.Is(err, ErrNoKey) {
		t.Errorf("nil key seal: %v", err)
	}
}
