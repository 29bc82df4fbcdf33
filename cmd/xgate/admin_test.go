package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/xgate-im/xgate/store"
	"github.com/xgate-im/xgate/xmpp"
)

// openTestStore opens a fresh store in a temporary directory.
func openTestStore(t *testing.T) (*store.DB, *store.Key) {
	t.Helper()
	key, err := store.ParseKey([]byte(testKey(t)))
	if err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(filepath.Join(t.TempDir(), "xgate.db"), store.Options{Key: key, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db, key
}

// brokenStore fails every read.
type brokenStore struct{}

func (brokenStore) Stats() (store.Stats, error) { return store.Stats{}, errors.New("disk on fire") }

func newTestAdmin(t *testing.T, db storeReader, gws ...gatewayStatus) (*admin, *bytes.Buffer) {
	var logs bytes.Buffer
	return &admin{
		log:      slog.New(slog.NewTextHandler(&logs, nil)),
		gateways: func() []gatewayStatus { return gws },
		db:       db,
		backup: func(context.Context) (string, int64, error) {
			return "", 0, errors.New("no backups here")
		},
		version: "v-test",
		start:   time.Now(),
	}, &logs
}

func do(t *testing.T, h http.Handler, method, path string) *httptest.ResponseRecorder {
	t.Helper()
	return doWith(t, h, method, path)
}

// doWith is do with request headers, given as name, value pairs.
func doWith(t *testing.T, h http.Handler, method, path string, header ...string) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	req := httptest.NewRequestWithContext(t.Context(), method, path, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	h.ServeHTTP(rec, req)
	return rec
}

func TestHealthz(t *testing.T) {
	db, _ := openTestStore(t)
	connected := gatewayStatus{Name: "slack", Domain: "slack.example.org", Network: "slack",
		Component: xmpp.Stats{State: xmpp.StateConnected, Reconnects: 2}, Outbox: 4}
	connecting := gatewayStatus{Name: "sms", Domain: "sms.example.org", Network: "sms",
		Component: xmpp.Stats{State: xmpp.StateConnecting}, Outbox: -1}
	// The host server does not read as fast as the gateway writes.
	full := gatewayStatus{Name: "discord", Domain: "discord.example.org", Network: "discord",
		Component: xmpp.Stats{State: xmpp.StateConnected, QueueLen: 8, QueueCap: 8, QueueFull: 5}, Outbox: 0}
	cases := []struct {
		name     string
		db       storeReader
		gws      []gatewayStatus
		code     int
		status   string
		states   []string
		outboxes []any
		outbox   any // the store's total
	}{
		{"no gateways", db, nil, 200, "ok", nil, nil, 0.0},
		{"all connected", db, []gatewayStatus{connected}, 200, "ok", []string{"connected"}, []any{4.0}, 0.0},
		{"one down", db, []gatewayStatus{connected, connecting}, 503, "degraded", []string{"connected", "connecting"}, []any{4.0, nil}, 0.0},
		{"store unreadable", brokenStore{}, []gatewayStatus{connected}, 200, "ok", []string{"connected"}, []any{4.0}, nil},
		{"send queue full", db, []gatewayStatus{connected, full}, 503, "degraded", []string{"connected", "connected"}, []any{4.0, 0.0}, 0.0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a, _ := newTestAdmin(t, tc.db, tc.gws...)
			rec := do(t, a.handler(), "GET", "/healthz")
			if rec.Code != tc.code || rec.Header().Get("Content-Type") != "application/json" {
				t.Fatalf("code %d, type %q, want %d", rec.Code, rec.Header().Get("Content-Type"), tc.code)
			}
			var got struct {
				Status   string           `json:"status"`
				Version  string           `json:"version"`
				Outbox   any              `json:"outbox"`
				Gateways []map[string]any `json:"gateways"`
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
				t.Fatal(err)
			}
			if got.Status != tc.status || got.Version != "v-test" || got.Gateways == nil || got.Outbox != tc.outbox {
				t.Errorf("got %+v", got)
			}
			if len(got.Gateways) != len(tc.states) {
				t.Fatalf("gateways %v", got.Gateways)
			}
			for i, g := range got.Gateways {
				if g["state"] != tc.states[i] || g["outbox"] != tc.outboxes[i] || g["name"] != tc.gws[i].Name ||
					g["domain"] != tc.gws[i].Domain || g["network"] != tc.gws[i].Network || g["reconnects"] != float64(tc.gws[i].Component.Reconnects) {
					t.Errorf("gateway %d: %v", i, g)
				}
				c := tc.gws[i].Component
				want := map[string]any{"length": float64(c.QueueLen), "capacity": float64(c.QueueCap),
					"full": c.QueueCap > 0 && c.QueueLen == c.QueueCap, "full_total": float64(c.QueueFull)}
				if q, _ := g["send_queue"].(map[string]any); !maps.Equal(q, want) {
					t.Errorf("gateway %d: send_queue %v, want %v", i, g["send_queue"], want)
				}
			}
		})
	}
}

func TestMetricsEndpoint(t *testing.T) {
	db, _ := openTestStore(t)
	if _, err := db.Enqueue("q", []byte("x")); err != nil {
		t.Fatal(err)
	}
	a, _ := newTestAdmin(t, db, gatewayStatus{Name: "slack", Network: "slack", Component: xmpp.Stats{State: xmpp.StateConnected}})
	rec := do(t, a.handler(), "GET", "/metrics")
	if rec.Code != 200 || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/plain; version=0.0.4") {
		t.Fatalf("code %d, type %q", rec.Code, rec.Header().Get("Content-Type"))
	}
	samples, err := parseExposition(rec.Body.String())
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		want float64
	}{{"xgate_store_up", 1}, {"xgate_store_outbox_items", 1}} {
		if v, ok := find(samples, c.name); !ok || v != c.want {
			t.Errorf("%s = %v %v, want %v", c.name, v, ok, c.want)
		}
	}
	if v, ok := find(samples, "go_goroutines"); !ok || v < 1 {
		t.Errorf("go_goroutines = %v", v)
	}

	a, logs := newTestAdmin(t, brokenStore{})
	rec = do(t, a.handler(), "GET", "/metrics")
	samples, err = parseExposition(rec.Body.String())
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := find(samples, "xgate_store_up"); v != 0 || !strings.Contains(logs.String(), "disk on fire") {
		t.Errorf("store_up %v, logs %s", v, logs)
	}
}

func TestBackupEndpoint(t *testing.T) {
	db, key := openTestStore(t)
	if err := db.KVPut("ns", "k", []byte("v")); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "backups")
	at := time.Date(2025, 3, 4, 5, 6, 7, 890_000_000, time.UTC)
	bk := &backups{db: db, dir: dir, now: func() time.Time { return at }}
	a, _ := newTestAdmin(t, db)
	a.backup = bk.run
	a.token = testAdminToken
	h := a.handler()

	var paths []string
	for range 2 {
		rec := doWith(t, h, "POST", "/backup", "Authorization", "Bearer "+testAdminToken)
		if rec.Code != 200 {
			t.Fatalf("code %d: %s", rec.Code, rec.Body)
		}
		var got struct {
			Path string `json:"path"`
			Size int64  `json:"size"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
			t.Fatal(err)
		}
		fi, err := os.Stat(got.Path)
		if err != nil || fi.Size() != got.Size || fi.Mode().Perm() != 0o600 {
			t.Fatalf("backup %+v: %v %v", got, fi, err)
		}
		paths = append(paths, got.Path)
	}
	want := []string{filepath.Join(dir, "xgate-20250304T050607.890Z.db"), filepath.Join(dir, "xgate-20250304T050607.890Z-2.db")}
	if paths[0] != want[0] || paths[1] != want[1] {
		t.Errorf("paths %q, want %q", paths, want)
	}
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("backup dir: %v %v", fi, err)
	}
	// The copy is a complete database with the same key.
	cp, err := store.Open(paths[0], store.Options{Key: key})
	if err != nil {
		t.Fatal(err)
	}
	defer cp.Close()
	if v, err := cp.KVGet("ns", "k"); err != nil || string(v) != "v" {
		t.Errorf("copy: %q %v", v, err)
	}
	if err := cp.Verify(); err != nil {
		t.Error(err)
	}

	if rec := do(t, h, "GET", "/backup"); rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("GET /backup: %d", rec.Code)
	}
	a, logs := newTestAdmin(t, db)
	a.token = testAdminToken
	rec := doWith(t, a.handler(), "POST", "/backup", "Authorization", "Bearer "+testAdminToken)
	if rec.Code != 500 || !strings.Contains(rec.Body.String(), "no backups here") || !strings.Contains(logs.String(), "online backup failed") {
		t.Errorf("failed backup: %d %s", rec.Code, rec.Body)
	}
}

func TestBackupsCancelled(t *testing.T) {
	db, _ := openTestStore(t)
	bk := &backups{db: db, dir: t.TempDir()}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, _, err := bk.run(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("got %v", err)
	}
}

func TestAdminRoutes(t *testing.T) {
	a, _ := newTestAdmin(t, brokenStore{})
	h := a.handler()
	for _, tc := range []struct {
		method, path string
		code         int
	}{
		{"GET", "/", 200},
		{"GET", "/nope", 404},
		{"POST", "/healthz", 405},
		{"DELETE", "/metrics", 405},
	} {
		if rec := do(t, h, tc.method, tc.path); rec.Code != tc.code {
			t.Errorf("%s %s: %d, want %d", tc.method, tc.path, rec.Code, tc.code)
		}
	}
	if body := do(t, h, "GET", "/").Body.String(); !strings.Contains(body, "POST /backup") {
		t.Errorf("index: %s", body)
	}
}

func TestRecoverPanics(t *testing.T) {
	cases := []struct {
		name     string
		handler  http.HandlerFunc
		code     int
		body     string
		repanics bool
	}{
		{"before writing", func(http.ResponseWriter, *http.Request) { panic("boom") }, 500, "internal error\n", false},
		{"after writing", func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(202)
			io.WriteString(w, "partial")
			panic("boom")
		}, 202, "partial", false},
		{"abort", func(http.ResponseWriter, *http.Request) { panic(http.ErrAbortHandler) }, 0, "", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var logs bytes.Buffer
			h := recoverPanics(slog.New(slog.NewTextHandler(&logs, nil)), tc.handler)
			rec := httptest.NewRecorder()
			func() {
				defer func() {
					if v := recover(); (v != nil) != tc.repanics {
						t.Errorf("recovered %v", v)
					}
				}()
				h.ServeHTTP(rec, httptest.NewRequestWithContext(t.Context(), "GET", "/x", nil))
			}()
			if tc.repanics {
				return
			}
			if rec.Code != tc.code || rec.Body.String() != tc.body {
				t.Errorf("got %d %q, want %d %q", rec.Code, rec.Body, tc.code, tc.body)
			}
			mustContain(t, logs.String(), "admin handler panicked", "panic=boom", "path=/x", "stack=")
		})
	}
	// A real server keeps serving after a handler panicked.
	mux := http.NewServeMux()
	mux.HandleFunc("/panic", func(http.ResponseWriter, *http.Request) { panic("boom") })
	mux.HandleFunc("/ok", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "fine") })
	srv := httptest.NewServer(recoverPanics(slog.New(slog.DiscardHandler), mux))
	defer srv.Close()
	for _, p := range []string{"/panic", "/ok"} {
		req, _ := http.NewRequestWithContext(t.Context(), "GET", srv.URL+p, nil)
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if want := map[string]int{"/panic": 500, "/ok": 200}[p]; resp.StatusCode != want {
			t.Errorf("%s: %d, want %d", p, resp.StatusCode, want)
		}
	}
}

func TestGatewayOutbox(t *testing.T) {
	if got := gatewayOutbox(struct{}{}); got != -1 {
		t.Errorf("no method: %d", got)
	}
	if got := gatewayOutbox(outboxer{n: 7}); got != 7 {
		t.Errorf("method: %d", got)
	}
	if got := gatewayOutbox(outboxer{err: errors.New("x")}); got != -1 {
		t.Errorf("error: %d", got)
	}
}

type outboxer struct {
	n   int
	err error
}

func (o outboxer) OutboxLen() (int, error) { return o.n, o.err }

func TestRedactSecrets(t *testing.T) {
	var b bytes.Buffer
	log := newLogger(&b, slog.LevelInfo, true)
	log.Info("x", "secret", "s1", "bot_token", "s2", "Password", "s3", "domain", "d.org")
	log.Debug("hidden")
	out := b.String()
	for _, s := range []string{"s1", "s2", "s3", "hidden"} {
		if strings.Contains(out, `"`+s+`"`) {
			t.Errorf("%s leaked: %s", s, out)
		}
	}
	mustContain(t, out, `"domain":"d.org"`, `"secret":"[redacted]"`)
}
