package faults

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A store damaged while xgate was stopped (a full disk, a bad copy, a
// flipped block) must never crash xgate with a fault dump nor start it as
// if it were new. Where the damage hits what xgate reads, `xgate run`
// refuses the store at once with a message that says what to do, `xgate
// store check` says it is damaged, and `xgate store salvage` makes a store
// that xgate runs with again, alice's account in it. Damage to pages xgate
// does not use may go unnoticed, and then the store must check as sound
// and still hold alice's account.
func TestDamagedStore(t *testing.T) {
	r := newRig(t)
	ctx := bounded(t, 3*time.Minute)
	r.start(ctx)
	r.login(ctx)
	r.stop()
	dbPath := filepath.Join(r.dir, "xgate.db")
	sound, err := os.ReadFile(dbPath)
	if err != nil {
		t.Fatal(err)
	}
	pageSize := os.Getpagesize()
	tests := []struct {
		name    string
		damage  func([]byte) []byte
		refused bool // xgate must refuse it (else it may run, intact)
		// salvages: salvage gives a store that checks sound and runs;
		// keepsAlice: with alice's account in it (a truncation may
		// have cut the page her account was on, or not).
		salvages, keepsAlice bool
	}{
		{"truncated to three pages", func(b []byte) []byte { return b[:3*pageSize] }, true, true, false},
		{"empty file", func([]byte) []byte { return nil }, true, false, false},
		{"both meta pages zeroed", func(b []byte) []byte {
			c := bytes.Clone(b)
			clear(c[:2*pageSize])
			return c
		}, true, false, false},
		{"one meta page zeroed", func(b []byte) []byte {
			c := bytes.Clone(b)
			clear(c[:pageSize])
			return c
		}, false, true, true},
		{"garbage over every page after the meta pages", func(b []byte) []byte {
			c := bytes.Clone(b)
			for i := 2 * pageSize; i < len(c); i++ {
				c[i] = byte(i*7 + 3)
			}
			return c
		}, true, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := os.WriteFile(dbPath, tt.damage(sound), 0o600); err != nil {
				t.Fatal(err)
			}
			// xgate run refuses it, clearly, at once; or runs with what
			// the damage did not touch.
			runCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
			defer cancel()
			out, err := exec.CommandContext(runCtx, xgateBinary(t), "run", "-c", r.config).CombinedOutput()
			if runCtx.Err() != nil {
				if tt.refused {
					t.Fatalf("xgate run kept running on a damaged store:\n%s", out)
				}
				if !strings.Contains(string(out), "logged in") {
					t.Fatalf("xgate runs on the damaged store without alice's account:\n%s", out)
				}
				out, err := exec.CommandContext(ctx, xgateBinary(t), "store", "check", "-c", r.config).CombinedOutput()
				if err != nil || !strings.Contains(string(out), "accounts 1") {
					t.Fatalf("xgate ran on a store that does not check as sound: %v\n%s", err, out)
				}
			} else {
				if err == nil {
					t.Fatalf("xgate run exited 0 on a damaged store:\n%s", out)
				}
				for _, crash := range []string{"SIGBUS", "SIGSEGV", "goroutine ", "panic:"} {
					if strings.Contains(string(out), crash) {
						t.Fatalf("xgate run crashed (%q) instead of refusing the store:\n%s", crash, out)
					}
				}
				if !tt.refused {
					t.Logf("refused, where it may have run: %s", out)
				}
				if !strings.Contains(string(out), "damaged") {
					t.Errorf("xgate run does not say the store is damaged:\n%s", out)
				}
				// store check agrees.
				out, err = exec.CommandContext(ctx, xgateBinary(t), "store", "check", "-c", r.config).CombinedOutput()
				if err == nil {
					t.Errorf("xgate store check passed a damaged store:\n%s", out)
				}
			}
			// salvage what can be read, whether xgate refused the store
			// or ran on it.
			newPath := filepath.Join(t.TempDir(), "salvaged.db")
			salvaged, err := exec.CommandContext(ctx, xgateBinary(t), "store", "salvage", "-c", r.config, "-out", newPath).CombinedOutput()
			t.Logf("salvage: %v\n%s", err, salvaged)
			if !tt.salvages {
				return
			}
			if err != nil {
				t.Fatalf("salvage failed: %v\n%s", err, salvaged)
			}
			b, err := os.ReadFile(newPath)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(dbPath, b, 0o600); err != nil {
				t.Fatal(err)
			}
			// It checks as sound, or, where salvage said the schema
			// version was lost, as needing the migrations that xgate's
			// next start applies (a known gap: docs/admin.md says it
			// passes the check at once).
			lostVersion := strings.Contains(string(salvaged), "no schema version")
			out, err = exec.CommandContext(ctx, xgateBinary(t), "store", "check", "-c", r.config).CombinedOutput()
			if err != nil && !(lostVersion && strings.Contains(string(out), "needs migration")) {
				t.Errorf("the salvaged store does not check as sound: %v\n%s", err, out)
			}
			r.start(ctx)
			r.stop()
			out, err = exec.CommandContext(ctx, xgateBinary(t), "store", "check", "-c", r.config).CombinedOutput()
			if err != nil || tt.keepsAlice && !strings.Contains(string(out), "accounts 1") {
				t.Fatalf("the salvaged store, after xgate ran on it: %v\n%s", err, out)
			}
			t.Logf("the salvaged store, after xgate ran on it:\n%s", out)
		})
	}
}
