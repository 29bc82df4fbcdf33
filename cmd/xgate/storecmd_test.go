package main

import (
	"os"
	"path/filepath"
	"testing"
)

// TestCLIRunDamagedStore runs xgate on a truncated store and on an empty
// one: it must exit 1 with the store's damage error, not crash and not start
// with an empty store.
func TestCLIRunDamagedStore(t *testing.T) {
	for _, tt := range []struct {
		name   string
		damage func(data []byte) []byte
		detail string
	}{
		{"truncated", func(d []byte) []byte { return d[:len(d)/2] }, "truncated"},
		{"empty", func([]byte) []byte { return nil }, "0 bytes"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			key := testKey(t)
			path := makeStore(t, dir, key)
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, tt.damage(data), 0o600); err != nil {
				t.Fatal(err)
			}
			cfg := writeFile(t, dir, "config.toml", "[store]\npath = \"xgate.db\"\nkey_env = \"XGATE_CLI_KEY\"\n")
			r := xgate(t, []string{"XGATE_CLI_KEY=" + key}, "run", "-c", cfg)
			r.expect(t, 1)
			mustContain(t, r.stderr, tt.detail, "store damaged: restore from backup (xgate backup / POST /backup made none in "+filepath.Join(dir, "backups"))
		})
	}
}
