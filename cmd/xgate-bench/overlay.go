package main

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// benchHook is added to cmd/xgate when the bench builds it: see the file's
// comment. It costs nothing until the bench reads it (twice per window).
//
//go:embed overlay/benchhook.go.txt
var benchHook []byte

// buildXgate builds cmd/xgate of the module at root into dir, with the
// bench hook added through an overlay (xgate's sources are not touched),
// and returns the binary's path.
func buildXgate(root, dir string) (string, error) {
	hook := filepath.Join(dir, "benchhook.go")
	if err := os.WriteFile(hook, benchHook, 0o600); err != nil {
		return "", err
	}
	ov, err := json.Marshal(map[string]map[string]string{
		"Replace": {filepath.Join(root, "cmd", "xgate", "zz_benchhook.go"): hook},
	})
	if err != nil {
		return "", err
	}
	ovPath := filepath.Join(dir, "overlay.json")
	if err := os.WriteFile(ovPath, ov, 0o600); err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "xgate")
	cmd := exec.Command("go", "build", "-overlay", ovPath, "-o", bin, "./cmd/xgate")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/xgate: %w\n%s", err, out)
	}
	return bin, nil
}

// moduleRoot returns the directory of the xgate module containing dir.
func moduleRoot(dir string) (string, error) {
	cmd := exec.Command("go", "env", "GOMOD")
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", fmt.Errorf("%s is not inside the xgate module (use -src)", dir)
	}
	return filepath.Dir(mod), nil
}

// allocCounters are the Go runtime's cumulative allocation counters of a
// process.
type allocCounters struct {
	Bytes, Objects, GCs uint64
}

// readAllocs asks a hooked xgate for its counters.
func readAllocs(addr string) (allocCounters, error) {
	cl := http.Client{Timeout: 5 * time.Second}
	resp, err := cl.Get("http://" + addr + "/bench/allocs")
	if err != nil {
		return allocCounters{}, err
	}
	defer resp.Body.Close()
	var m map[string]uint64
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		return allocCounters{}, err
	}
	return allocCounters{Bytes: m["/gc/heap/allocs:bytes"], Objects: m["/gc/heap/allocs:objects"], GCs: m["/gc/cycles/total:gc-cycles"]}, nil
}
