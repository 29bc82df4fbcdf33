package main

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// testAdminToken is the admin token of the endpoint tests.
const testAdminToken = "0123456789abcdef-token"

// TestBackupAuth checks who may start a backup: only a same-origin (or
// origin-less) request carrying the token.
func TestBackupAuth(t *testing.T) {
	db, _ := openTestStore(t)
	bk := &backups{db: db, dir: t.TempDir()}
	bearer := "Bearer " + testAdminToken
	tests := []struct {
		name   string
		token  string // configured
		header []string
		code   int
	}{
		{"no token configured", "", []string{"Authorization", bearer}, http.StatusForbidden},
		{"no Authorization", testAdminToken, nil, http.StatusUnauthorized},
		{"wrong token", testAdminToken, []string{"Authorization", "Bearer 0123456789abcdef-tokeN"}, http.StatusUnauthorized},
		{"token as a prefix", testAdminToken, []string{"Authorization", "Bearer " + testAdminToken[:10]}, http.StatusUnauthorized},
		{"other scheme", testAdminToken, []string{"Authorization", "Basic " + testAdminToken}, http.StatusUnauthorized},
		{"right token", testAdminToken, []string{"Authorization", bearer}, http.StatusOK},
		{"scheme in lower case", testAdminToken, []string{"Authorization", "bearer " + testAdminToken}, http.StatusOK},
		{"same origin", testAdminToken, []string{"Authorization", bearer, "Origin", "http://example.com"}, http.StatusOK},
		{"cross origin", testAdminToken, []string{"Authorization", bearer, "Origin", "http://evil.example"}, http.StatusForbidden},
		{"cross-site fetch", testAdminToken, []string{"Authorization", bearer, "Sec-Fetch-Site", "cross-site"}, http.StatusForbidden},
		{"cross-origin simple POST, no token", testAdminToken, []string{"Origin", "http://evil.example", "Content-Type", "text/plain"}, http.StatusForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, _ := newTestAdmin(t, db)
			a.backup, a.token = bk.run, tt.token
			rec := doWith(t, a.handler(), "POST", "/backup", tt.header...)
			if rec.Code != tt.code {
				t.Errorf("code %d, want %d: %s", rec.Code, tt.code, rec.Body)
			}
			if tt.code == http.StatusUnauthorized && rec.Header().Get("WWW-Authenticate") == "" {
				t.Error("401 without WWW-Authenticate")
			}
		})
	}
	// A browser's preflight for a cross-origin request with Authorization
	// is never granted.
	a, _ := newTestAdmin(t, db)
	a.token = testAdminToken
	rec := doWith(t, a.handler(), "OPTIONS", "/backup", "Origin", "http://evil.example",
		"Access-Control-Request-Method", "POST", "Access-Control-Request-Headers", "authorization")
	if rec.Code < 300 || rec.Header().Get("Access-Control-Allow-Origin") != "" || rec.Header().Get("Access-Control-Allow-Headers") != "" {
		t.Errorf("preflight answered %d with %v", rec.Code, rec.Header())
	}
	// Reads stay open, also cross-origin (they change nothing).
	if rec := doWith(t, a.handler(), "GET", "/healthz", "Origin", "http://evil.example"); rec.Code != http.StatusOK {
		t.Errorf("GET /healthz cross-origin: %d", rec.Code)
	}
}

// TestBackupOneAtATime checks that a backup requested while one runs is
// refused with 409, and allowed again afterwards.
func TestBackupOneAtATime(t *testing.T) {
	db, _ := openTestStore(t)
	bk := &backups{db: db, dir: t.TempDir()}
	a, _ := newTestAdmin(t, db)
	a.backup, a.token = bk.run, testAdminToken
	h := a.handler()
	bk.running.Lock() // a backup is running
	rec := doWith(t, h, "POST", "/backup", "Authorization", "Bearer "+testAdminToken)
	if rec.Code != http.StatusConflict || !strings.Contains(rec.Body.String(), "already running") {
		t.Errorf("while running: %d %s", rec.Code, rec.Body)
	}
	if _, _, err := bk.run(t.Context()); err != errBackupRunning {
		t.Errorf("run while running: %v", err)
	}
	bk.running.Unlock()
	if rec := doWith(t, h, "POST", "/backup", "Authorization", "Bearer "+testAdminToken); rec.Code != http.StatusOK {
		t.Errorf("after: %d %s", rec.Code, rec.Body)
	}
}

// TestBackupKeep checks that only the newest backups xgate made are kept
// and that nothing else in the directory is touched.
func TestBackupKeep(t *testing.T) {
	db, _ := openTestStore(t)
	dir := t.TempDir()
	others := []string{"notes.txt", "xgate-manual.db", "xgate-20200101T000000Z.db", "xgate-20200101T000000.000Z.db.tmp"}
	for _, name := range others {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	bk := &backups{db: db, dir: dir, keep: 3, now: func() time.Time { return at }}
	var made []string
	for i := range 6 {
		if i != 3 { // two backups within one millisecond: the second gets "-2"
			at = at.Add(time.Second)
		}
		path, _, err := bk.run(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		made = append(made, filepath.Base(path))
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	want := append(slices.Clone(others), made[3:]...)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("directory holds\n%q\nwant\n%q", got, want)
	}
	if made[3] != strings.TrimSuffix(made[2], ".db")+"-2.db" {
		t.Errorf("same-millisecond names %q, %q", made[2], made[3])
	}
}

// TestAdminConfig checks the [admin] options of this endpoint: the token
// from a value, a file or the environment, and backup_keep.
func TestAdminConfig(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("XGATE_TEST_KEY", testKey(t))
	t.Setenv("XGATE_ADMIN_TOKEN", "  "+testAdminToken+"\n")
	writeFile(t, dir, "admin.token", testAdminToken+"\n")
	tests := []struct {
		name, admin string
		token       string // after resolve
		keep        int
		problem     string // from readConfig or resolve
		warning     string
	}{
		{"defaults", `listen = "127.0.0.1:0"`, "", defaultBackupKeep, "", "POST /backup is disabled"},
		{"value", `token = "` + testAdminToken + `"` + "\nbackup_keep = 2", testAdminToken, 2, "", ""},
		{"file", `token_file = "admin.token"`, testAdminToken, defaultBackupKeep, "", ""},
		{"env", `token_env = "XGATE_ADMIN_TOKEN"`, testAdminToken, defaultBackupKeep, "", ""},
		{"two sources", `token = "` + testAdminToken + `"` + "\ntoken_env = \"X\"", "", 0, "set only one of token, token_file and token_env", ""},
		{"short", `token = "short"`, "", 0, "shorter than 16 characters", ""},
		{"short in a file", `token_file = "short.token"`, "", 0, "shorter than 16 characters", ""},
		{"missing file", `token_file = "none.token"`, "", 0, "token_file: open " + filepath.Join(dir, "none.token"), ""},
		{"unset env", `token_env = "XGATE_NO_SUCH_TOKEN"`, "", 0, "token_env: environment variable XGATE_NO_SUCH_TOKEN is not set", ""},
		{"negative keep", `backup_keep = -1`, "", 0, "admin.backup_keep: -1 is negative", ""},
		{"allow_remote", `listen = "0.0.0.0:0"` + "\nallow_remote = true\ntoken_file = \"admin.token\"", testAdminToken, defaultBackupKeep, "", "admin.allow_remote: is true"},
	}
	writeFile(t, dir, "short.token", "short\n")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := fmt.Sprintf("[store]\npath = \"xgate.db\"\nkey_env = \"XGATE_TEST_KEY\"\n[admin]\n%s\n", tt.admin)
			cfg, err := readConfig(writeFile(t, dir, "config.toml", doc), testKinds())
			if err == nil {
				err = cfg.resolve()
			}
			switch {
			case tt.problem != "":
				if err == nil || !strings.Contains(err.Error(), tt.problem) {
					t.Fatalf("error %v, want %q", err, tt.problem)
				}
				return
			case err != nil:
				t.Fatal(err)
			}
			if cfg.adminToken != tt.token || cfg.backupKeep != tt.keep {
				t.Errorf("token %q keep %d, want %q %d", cfg.adminToken, cfg.backupKeep, tt.token, tt.keep)
			}
			warnings := strings.Join(cfg.warnings, "\n")
			if tt.warning != "" && !strings.Contains(warnings, tt.warning) {
				t.Errorf("warnings %q, want %q", cfg.warnings, tt.warning)
			}
			if strings.Contains(warnings, testAdminToken) {
				t.Error("a warning shows the token")
			}
		})
	}
}
