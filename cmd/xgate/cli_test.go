package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/xgate-im/xgate/store"
)

// result is what a run of the binary produced.
type result struct {
	code           int
	stdout, stderr string
}

// xgate runs the built binary with args and extra environment variables,
// bounded in time.
func xgate(t *testing.T, env []string, args ...string) result {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), xgateBin(t), args...)
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.WaitDelay = 10 * time.Second
	err := cmd.Run()
	var exit *exec.ExitError
	code := 0
	switch {
	case errors.As(err, &exit):
		code = exit.ExitCode()
	case err != nil:
		t.Fatalf("xgate %q: %v", args, err)
	}
	return result{code, stdout.String(), stderr.String()}
}

func (r result) expect(t *testing.T, code int) {
	t.Helper()
	if r.code != code {
		t.Fatalf("exit code %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, code, r.stdout, r.stderr)
	}
}

func TestCLIVersion(t *testing.T) {
	r := xgate(t, nil, "version")
	r.expect(t, 0)
	want := "xgate " + testVersion + " (" + runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH + ")\n"
	if r.stdout != want {
		t.Errorf("got %q, want %q", r.stdout, want)
	}
	// Without -ldflags the version comes from the build information.
	old := version
	version = ""
	defer func() { version = old }()
	if v := versionString(); v == "" || strings.Contains(v, " ") {
		t.Errorf("derived version %q", v)
	}
}

func TestCLIUsage(t *testing.T) {
	cases := []struct {
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{nil, 2, "", "Commands:"},
		{[]string{"help"}, 0, "check-config", ""},
		{[]string{"--help"}, 0, "genkey", ""},
		{[]string{"help", "backup"}, 0, "Usage: xgate backup [-c FILE | --db PATH] [-f] OUT", ""},
		{[]string{"help", "frob"}, 2, "", `unknown command "frob"`},
		{[]string{"frob"}, 2, "", `unknown command "frob"`},
		{[]string{"run", "-h"}, 0, "", "Usage: xgate run [-c FILE]"},
		{[]string{"check-config", "--nope"}, 2, "", "flag provided but not defined: -nope"},
		{[]string{"version", "extra"}, 2, "", `xgate version: unexpected argument "extra"`},
		{[]string{"genkey", "extra"}, 2, "", "unexpected argument"},
		{[]string{"backup"}, 2, "", "need exactly one OUT argument"},
		{[]string{"backup", "-c", "x.toml", "--db", "x.db", "out"}, 2, "", "use either -c or --db, not both"},
	}
	for _, tc := range cases {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			r := xgate(t, nil, tc.args...)
			r.expect(t, tc.code)
			mustContain(t, r.stdout, tc.stdout)
			mustContain(t, r.stderr, tc.stderr)
		})
	}
}

func TestCLIGenkey(t *testing.T) {
	var keys []string
	for range 2 {
		r := xgate(t, nil, "genkey")
		r.expect(t, 0)
		if _, err := store.ParseKey([]byte(r.stdout)); err != nil || strings.Count(r.stdout, "\n") != 1 {
			t.Fatalf("stdout %q is not one key: %v", r.stdout, err)
		}
		mustContain(t, r.stderr, "key_file", "key_env", "umask 077")
		keys = append(keys, r.stdout)
	}
	if keys[0] == keys[1] {
		t.Error("two keys are equal")
	}
}

func TestCLICheckConfig(t *testing.T) {
	dir := t.TempDir()
	key := testKey(t)
	env := []string{"XGATE_CLI_KEY=" + key}
	good := writeFile(t, dir, "good.toml", "[store]\npath = \"x.db\"\nkey_env = \"XGATE_CLI_KEY\"\n[admin]\nlisten = \"127.0.0.1:8088\"\nadmins = [\"root@example.org\"]\n")
	cases := []struct {
		name   string
		file   string
		env    []string
		code   int
		stdout []string
		stderr []string
	}{
		{"good", good, env, 0,
			[]string{"config OK: 0 transports\n", "store: " + filepath.Join(dir, "x.db") + ", key: set (from env XGATE_CLI_KEY)", "admin: http://127.0.0.1:8088", "admins: root@example.org"},
			[]string{"warning: config: no transports configured"}},
		{"key missing", good, nil, 1, nil, []string{"xgate: " + good + ":3:1: store.key_env: environment variable XGATE_CLI_KEY is not set"}},
		{"unknown key", writeFile(t, dir, "typo.toml", "[store]\nkey_env = \"XGATE_CLI_KEY\"\n[admin]\nlisen = \"x\"\n"), env, 1, nil,
			[]string{":4:1: unknown key admin.lisen (did you mean \"listen\"?)", "4| lisen"}},
		{"wrong type", writeFile(t, dir, "type.toml", "[store]\nkey_env = 7\n"), env, 1, nil,
			[]string{":2:11: store.key_env: wrong type: expected a string, found an integer"}},
		{"missing file", filepath.Join(dir, "none.toml"), env, 1, nil, []string{"config file " + filepath.Join(dir, "none.toml") + " does not exist"}},
		{"unreadable file", dir, env, 1, nil, []string{"xgate: reading config: "}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := xgate(t, tc.env, "check-config", "-c", tc.file)
			r.expect(t, tc.code)
			mustContain(t, r.stdout, tc.stdout...)
			mustContain(t, r.stderr, tc.stderr...)
			if strings.Contains(r.stdout+r.stderr, key) {
				t.Error("the key was printed")
			}
		})
	}
}

// TestCheckConfigDescribe runs check-config in process with the test
// transport table, which the binary does not have.
func TestCheckConfigDescribe(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("XGATE_TEST_KEY", testKey(t))
	t.Setenv("XGATE_TEST_SECRET", "very-secret-value")
	writeFile(t, dir, "work.secret", "another-secret-value\n")
	path := writeFile(t, dir, "config.toml", minimal+slackInstance+"[[slack]]\nname = \"work\"\ndomain = \"work.example.org\"\nsecret_file = \"work.secret\"\n[access]\nallow = [\"example.org\"]\n")
	var stdout, stderr bytes.Buffer
	c := &cli{stdout: &stdout, stderr: &stderr, kinds: testKinds()}
	if code := c.main([]string{"check-config", "-c", path}); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	mustContain(t, stdout.String(),
		"config OK: 2 transports (slack: slack.example.org, work: work.example.org)\n",
		"  slack: slack transport, domain slack.example.org, server 127.0.0.1:5347, secret: set (from env XGATE_TEST_SECRET), delivery timeout 24h0m0s, allow: example.org\n",
		"  work: slack transport, domain work.example.org, server 127.0.0.1:5347, secret: set (from file "+filepath.Join(dir, "work.secret")+")",
		"admins: (none)")
	if stderr.Len() > 0 {
		t.Errorf("stderr: %s", stderr.String())
	}
	if out := stdout.String() + stderr.String(); strings.Contains(out, "secret-value") {
		t.Errorf("a secret was printed:\n%s", out)
	}
}

// makeStore creates a store holding one value and returns its path.
func makeStore(t *testing.T, dir, key string) string {
	t.Helper()
	k, err := store.ParseKey([]byte(key))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "xgate.db")
	db, err := store.Open(path, store.Options{Key: k, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.KVPut("test", "k", []byte("v")); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// checkBackup opens a backup and checks the value makeStore put.
func checkBackup(t *testing.T, path, key string) {
	t.Helper()
	k, _ := store.ParseKey([]byte(key))
	db, err := store.Open(path, store.Options{Key: k, ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if v, err := db.KVGet("test", "k"); err != nil || string(v) != "v" {
		t.Errorf("backup holds %q, %v", v, err)
	}
}

func TestCLIBackup(t *testing.T) {
	dir := t.TempDir()
	key := testKey(t)
	dbPath := makeStore(t, dir, key)
	cfg := writeFile(t, dir, "config.toml", "[store]\npath = \"xgate.db\"\nkey_env = \"UNUSED\"\n")
	outDir := filepath.Join(dir, "out")
	if err := os.Mkdir(outDir, 0o700); err != nil {
		t.Fatal(err)
	}

	out := filepath.Join(dir, "copy.db")
	r := xgate(t, nil, "backup", "--db", dbPath, out)
	r.expect(t, 0)
	mustContain(t, r.stdout, "backup written to "+out+" (")
	checkBackup(t, out, key)

	r = xgate(t, nil, "backup", "--db", dbPath, out)
	r.expect(t, 1)
	mustContain(t, r.stderr, out+" exists; choose another name or pass -f")
	xgate(t, nil, "backup", "-f", "--db", dbPath, out).expect(t, 0)

	// With the configuration, flags after the argument, into a directory.
	r = xgate(t, nil, "backup", outDir, "-c", cfg)
	r.expect(t, 0)
	m := regexp.MustCompile(`backup written to (\S+) \(\d+ bytes\)`).FindStringSubmatch(r.stdout)
	if m == nil || filepath.Dir(m[1]) != outDir {
		t.Fatalf("stdout %q", r.stdout)
	}
	checkBackup(t, m[1], key)

	r = xgate(t, nil, "backup", "--db", filepath.Join(dir, "none.db"), filepath.Join(dir, "x.db"))
	r.expect(t, 1)
	mustContain(t, r.stderr, "store "+filepath.Join(dir, "none.db")+": no such file")
	r = xgate(t, nil, "backup", "-c", filepath.Join(dir, "none.toml"), filepath.Join(dir, "x.db"))
	r.expect(t, 1)
	mustContain(t, r.stderr, "does not exist", "use --db PATH")
}

// TestCLIBackupLocked backs up a store another process holds, as a running
// xgate would.
func TestCLIBackupLocked(t *testing.T) {
	dir := t.TempDir()
	key := testKey(t)
	dbPath := makeStore(t, dir, key)
	cfg := writeFile(t, dir, "config.toml", "[store]\npath = \"xgate.db\"\nkey_env = \"UNUSED\"\n[admin]\nlisten = \"127.0.0.1:8088\"\n")

	holder := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^$")
	holder.Env = append(os.Environ(), helperEnv+"="+dbPath, "XGATE_STORE_KEY="+key)
	stdin, err := holder.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := holder.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	holder.Stderr = os.Stderr
	if err := holder.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		stdin.Close()
		if err := holder.Wait(); err != nil {
			t.Errorf("helper: %v", err)
		}
	}()
	if line, err := bufio.NewReader(stdout).ReadString('\n'); err != nil || line != "ready\n" {
		t.Fatalf("helper said %q, %v", line, err)
	}

	r := xgate(t, nil, "backup", "-c", cfg, filepath.Join(dir, "copy.db"))
	r.expect(t, 1)
	mustContain(t, r.stderr, "the store "+dbPath+" is in use: xgate is probably running",
		`online backup instead: curl -X POST -H "Authorization: Bearer $TOKEN" http://127.0.0.1:8088/backup`, `"Backup" admin command`)
	if strings.Count(r.stderr, "\n") != 1 {
		t.Errorf("not one line: %q", r.stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "copy.db")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a copy was written: %v", err)
	}
	r = xgate(t, nil, "backup", "--db", dbPath, filepath.Join(dir, "copy.db"))
	r.expect(t, 1)
	mustContain(t, r.stderr, "the admin endpoint's POST /backup")
}

// TestCLIRun runs the binary without transports: it serves the admin
// endpoint and stops cleanly on SIGTERM.
func TestCLIRun(t *testing.T) {
	dir := t.TempDir()
	key := testKey(t)
	cfg := writeFile(t, dir, "config.toml", `[log]
format = "json"
level = "debug"
[store]
path = "xgate.db"
key_env = "XGATE_CLI_KEY"
[admin]
listen = "127.0.0.1:0"
`)
	cmd := exec.CommandContext(t.Context(), xgateBin(t), "run", "-c", cfg)
	cmd.Env = append(os.Environ(), "XGATE_CLI_KEY="+key)
	cmd.WaitDelay = 5 * time.Second
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan map[string]any, 100)
	var logText bytes.Buffer
	logDone := make(chan struct{})
	go func() {
		defer close(logDone)
		defer close(lines)
		sc := bufio.NewScanner(io.TeeReader(stderr, &logText))
		for sc.Scan() {
			var m map[string]any
			if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
				m = map[string]any{"msg": "not json: " + sc.Text()}
			}
			lines <- m
		}
	}()
	addr := ""
	timeout := time.After(10 * time.Second)
	for addr == "" {
		select {
		case m, ok := <-lines:
			if !ok {
				t.Fatalf("xgate exited early: %v", cmd.Wait())
			}
			if m["msg"] == "admin endpoint listening" {
				addr, _ = m["addr"].(string)
			}
		case <-timeout:
			t.Fatal("no admin endpoint")
		}
	}
	code, body := httpDo(t, "GET", addr+"/healthz")
	var h health
	if err := json.Unmarshal(body, &h); err != nil || code != 200 || h.Status != "ok" || len(h.Gateways) != 0 || h.Version != testVersion {
		t.Errorf("healthz %d %s %v", code, body, err)
	}
	code, body = httpDo(t, "GET", addr+"/metrics")
	if _, err := parseExposition(string(body)); err != nil || code != 200 {
		t.Errorf("metrics %d: %v", code, err)
	}

	// The store is in use: offline backups are refused.
	r := xgate(t, nil, "backup", "-c", cfg, filepath.Join(dir, "copy.db"))
	r.expect(t, 1)
	mustContain(t, r.stderr, "is in use")

	start := time.Now()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	for range lines {
	}
	<-logDone
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit: %v\n%s", err, logText.String())
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("shutdown took %v", d)
	}
	mustContain(t, logText.String(), `"msg":"xgate starting"`, `"msg":"shutting down"`, `"msg":"xgate stopped"`, `"version":"`+testVersion+`"`)
	if strings.Contains(logText.String(), key) {
		t.Error("the key was logged")
	}
	// The lock is released.
	xgate(t, nil, "backup", "-c", cfg, filepath.Join(dir, "copy.db")).expect(t, 0)
}

func TestCLIRunErrors(t *testing.T) {
	dir := t.TempDir()
	key := testKey(t)
	cfg := writeFile(t, dir, "config.toml", "[store]\npath = \"xgate.db\"\nkey_env = \"XGATE_CLI_KEY\"\n")
	makeStore(t, dir, key)

	r := xgate(t, nil, "run", "-c", cfg)
	r.expect(t, 1)
	if want := "xgate: " + cfg + ":3:1: store.key_env: environment variable XGATE_CLI_KEY is not set; put a key made with `xgate genkey` in it\n"; r.stderr != want {
		t.Errorf("stderr %q, want %q", r.stderr, want)
	}
	r = xgate(t, []string{"XGATE_CLI_KEY=" + testKey(t)}, "run", "-c", cfg)
	r.expect(t, 1)
	mustContain(t, r.stderr, "xgate: the store key (from env XGATE_CLI_KEY) is not the key "+filepath.Join(dir, "xgate.db")+" was created with")
	r = xgate(t, nil, "run", "-c", filepath.Join(dir, "none.toml"))
	r.expect(t, 1)
	mustContain(t, r.stderr, "does not exist")
}
