package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// dist/xgate.service runs commands and flags that exist, on the default
// paths, and keeps the store in the directory it makes writable.
func TestSystemdUnit(t *testing.T) {
	data, err := os.ReadFile("../../dist/xgate.service")
	if err != nil {
		t.Fatal(err)
	}
	execs := 0
	state := ""
	for _, l := range strings.Split(string(data), "\n") {
		key, value, ok := strings.Cut(l, "=")
		if !ok || strings.HasPrefix(l, "#") {
			continue
		}
		switch key {
		case "ExecStart", "ExecStartPre":
			f := strings.Fields(value)
			if len(f) < 2 || filepath.Base(f[0]) != "xgate" {
				t.Fatalf("%s runs %q", key, value)
			}
			flags, ok := commandFlags(f[1])
			if !ok {
				t.Errorf("%s: no command %q", key, f[1])
				continue
			}
			for i, tok := range f[2:] {
				if strings.HasPrefix(tok, "-") && !flags[strings.TrimLeft(tok, "-")] {
					t.Errorf("%s: %s has no flag %s", key, f[1], tok)
				}
				if tok == "-c" && (i+3 >= len(f) || f[i+3] != defaultConfigPath) {
					t.Errorf("%s: -c is not %s", key, defaultConfigPath)
				}
			}
			execs++
		case "StateDirectory":
			state = "/var/lib/" + value
		}
	}
	if execs != 2 {
		t.Errorf("%d xgate commands, want check-config and run", execs)
	}
	if state != filepath.Dir(defaultStorePath) {
		t.Errorf("StateDirectory makes %s writable, the store defaults to %s", state, defaultStorePath)
	}
	// systemd's own check, where systemd is installed.
	if analyze, err := exec.LookPath("systemd-analyze"); err == nil {
		out, err := exec.CommandContext(t.Context(), analyze, "verify", "--man=no", "../../dist/xgate.service").CombinedOutput()
		for _, l := range strings.Split(string(out), "\n") {
			// The binary and user need not exist on the test machine.
			if l == "" || strings.Contains(l, "/usr/local/bin/xgate") || strings.Contains(l, "not executable") || strings.Contains(l, "No such file") {
				continue
			}
			t.Errorf("systemd-analyze verify: %s (%v)", l, err)
		}
	}
}
