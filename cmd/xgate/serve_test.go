package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/xgate-im/xgate/store"
	"github.com/xgate-im/xgate/xmpp"
	"github.com/xgate-im/xgate/xmpp/xmpptest"
)

// serveConfig writes a configuration for serve tests and returns it
// resolved, with the store in dir. extra is appended to the file.
func serveConfig(t *testing.T, dir, server, extra string) *config {
	t.Helper()
	t.Setenv("XGATE_TEST_KEY", testKey(t))
	doc := fmt.Sprintf(`[store]
path = "xgate.db"
key_env = "XGATE_TEST_KEY"
[admin]
listen = "127.0.0.1:0"
[access]
allow = ["*"]
[xmpp]
server = %q
min_backoff = "10ms"
max_backoff = "50ms"
%s`, server, extra)
	cfg, err := readConfig(writeFile(t, dir, "config.toml", doc), testKinds())
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.resolve(); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// started is a serve call running in the background.
type started struct {
	addr string
	done chan error
	logs *syncBuffer
}

// syncBuffer is a bytes.Buffer safe for the logger and the test at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startServe runs serve until ctx is done and waits until it is ready.
func startServe(t *testing.T, ctx context.Context, cfg *config) *started {
	t.Helper()
	s := &started{done: make(chan error, 1), logs: &syncBuffer{}}
	ready := make(chan string, 1)
	go func() {
		s.done <- serve(ctx, cfg, newLogger(s.logs, slog.LevelDebug, false), "v-test", func(a string) { ready <- a })
	}()
	select {
	case s.addr = <-ready:
	case err := <-s.done:
		t.Fatalf("serve returned before it was ready: %v\n%s", err, s.logs)
	case <-time.After(10 * time.Second):
		t.Fatal("serve not ready")
	}
	return s
}

func (s *started) wait(t *testing.T) error {
	t.Helper()
	select {
	case err := <-s.done:
		return err
	case <-time.After(15 * time.Second):
		t.Fatalf("serve did not return\n%s", s.logs)
		return nil
	}
}

func httpDo(t *testing.T, method, url string, header ...string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, body
}

// answerClose makes a fake host server connection behave like a real
// server at the end of the stream: it reads until the component closes its
// stream and answers with its own closing tag, so the component need not
// wait for its close grace period.
func answerClose(ctx context.Context, conn *xmpptest.Conn) {
	for {
		if _, err := conn.Next(ctx); err != nil {
			conn.CloseStream()
			return
		}
	}
}

// acceptAll answers the close of every connection srv accepts until ctx is
// done.
func acceptAll(ctx context.Context, srv *xmpptest.Server) {
	for {
		conn, err := srv.Accept(ctx)
		if err != nil {
			return
		}
		go answerClose(ctx, conn)
	}
}

func TestServeGateway(t *testing.T) {
	srv := xmpptest.NewServer(t, "s3cret")
	dir := t.TempDir()
	cfg := serveConfig(t, dir, srv.Addr(), "[[slack]]\ndomain = \"slack.example.org\"\nsecret = \"s3cret\"\n")
	cfg.adminToken = "admin-token-0123456789"
	connected := make(chan struct{})
	var once sync.Once
	cfg.instances[0].component.OnState = func(s xmpp.State, _ error) {
		if s == xmpp.StateConnected {
			once.Do(func() { close(connected) })
		}
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	s := startServe(t, ctx, cfg)

	actx, acancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer acancel()
	conn, err := srv.Accept(actx)
	if err != nil {
		t.Fatal(err)
	}
	if conn.Domain != "slack.example.org" {
		t.Errorf("component asked for %q", conn.Domain)
	}
	go answerClose(t.Context(), conn)
	select {
	case <-connected:
	case <-actx.Done():
		t.Fatal("component never connected")
	}

	code, body := httpDo(t, "GET", "http://"+s.addr+"/healthz")
	var h health
	if err := json.Unmarshal(body, &h); err != nil {
		t.Fatal(err)
	}
	if code != 200 || h.Status != "ok" || len(h.Gateways) != 1 || h.Gateways[0].State != "connected" ||
		h.Gateways[0].Domain != "slack.example.org" || h.Gateways[0].Network != "slack" || h.Gateways[0].Name != "slack" {
		t.Errorf("healthz %d %s", code, body)
	}
	code, body = httpDo(t, "GET", "http://"+s.addr+"/metrics")
	samples, err := parseExposition(string(body))
	if err != nil || code != 200 {
		t.Fatalf("metrics %d: %v", code, err)
	}
	if v, ok := find(samples, "xgate_component_up", "gateway", "slack", "network", "slack"); !ok || v != 1 {
		t.Errorf("component_up = %v %v", v, ok)
	}
	if code, _ = httpDo(t, "POST", "http://"+s.addr+"/backup"); code != http.StatusUnauthorized {
		t.Errorf("backup without the token: %d", code)
	}
	code, body = httpDo(t, "POST", "http://"+s.addr+"/backup", "Authorization", "Bearer "+cfg.adminToken)
	if code != 200 || !strings.Contains(string(body), filepath.Join(dir, "backups", "xgate-")) {
		t.Errorf("backup %d %s", code, body)
	}

	cancel()
	if err := s.wait(t); err != nil {
		t.Fatalf("serve: %v\n%s", err, s.logs)
	}
	mustContain(t, s.logs.String(), "gateway configured", "admin endpoint listening", "shutting down", "gateway stopped")
	if strings.Contains(s.logs.String(), "s3cret") {
		t.Error("the secret was logged")
	}
	// The store was closed: it opens again at once.
	db, err := store.Open(cfg.storePath, store.Options{Key: cfg.key, Timeout: -1})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
}

func TestServeSecretRefused(t *testing.T) {
	srv := xmpptest.NewServer(t, "right")
	cfg := serveConfig(t, t.TempDir(), srv.Addr(),
		"[[slack]]\ndomain = \"slack.example.org\"\nsecret = \"left\"\n[[slack]]\nname = \"b\"\ndomain = \"b.example.org\"\nsecret = \"right\"\n")
	go acceptAll(t.Context(), srv)
	var logs syncBuffer
	done := make(chan error, 1)
	go func() { done <- serve(t.Context(), cfg, newLogger(&logs, slog.LevelInfo, false), "v", nil) }()
	var err error
	select {
	case err = <-done:
	case <-time.After(15 * time.Second):
		t.Fatal("serve did not fail")
	}
	if !errors.Is(err, xmpp.ErrNotAuthorized) {
		t.Fatalf("got %v, want ErrNotAuthorized", err)
	}
	msg := err.Error()
	mustContain(t, msg, "slack: the host server at "+srv.Addr()+" refused the component secret for slack.example.org",
		"must match the one in the server's Component config for slack.example.org", "from the config file")
	if strings.Contains(msg, "\n") || strings.Contains(msg, "left") {
		t.Errorf("message is not one line or shows the secret: %q", msg)
	}
	mustContain(t, logs.String(), "shutting down after a failure")
	db, err := store.Open(cfg.storePath, store.Options{Key: cfg.key, Timeout: -1})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
}

// A host server that does not serve the domain answers the stream with
// host-unknown: "xgate run" stops at once, exits non-zero with an error
// naming the domain, after one attempt (before, it retried every 1.5 s
// forever).
func TestRunHostUnknown(t *testing.T) {
	srv := xmpptest.NewServer(t, "s3cret")
	srv.Declare("other.example.org")
	cfg := serveConfig(t, t.TempDir(), srv.Addr(), "[[slack]]\ndomain = \"slack.example.org\"\nsecret = \"s3cret\"\n")
	var stdout, stderr syncBuffer
	c := &cli{stdout: &stdout, stderr: &stderr, kinds: testKinds()}
	done := make(chan int, 1)
	go func() { done <- c.main([]string{"run", "-c", cfg.file}) }()
	var code int
	select {
	case code = <-done:
	case <-time.After(15 * time.Second):
		t.Fatalf("run did not stop; %d streams opened", srv.Streams())
	}
	if code != exitFailure {
		t.Errorf("exit code %d, want %d", code, exitFailure)
	}
	mustContain(t, stderr.String(), "slack: the host server at "+srv.Addr()+" does not serve slack.example.org (host-unknown)",
		"shutting down after a failure")
	if n := srv.Streams(); n != 1 {
		t.Errorf("%d streams opened, want 1 (no retry)", n)
	}
}

func TestServeStartupErrors(t *testing.T) {
	old := storeLockTimeout
	storeLockTimeout = 50 * time.Millisecond
	t.Cleanup(func() { storeLockTimeout = old })

	t.Run("locked", func(t *testing.T) {
		cfg := serveConfig(t, t.TempDir(), "127.0.0.1:1", "")
		db, err := store.Open(cfg.storePath, store.Options{Key: cfg.key, NoSync: true})
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		err = serve(t.Context(), cfg, slog.New(slog.DiscardHandler), "v", nil)
		if err == nil || err.Error() != "the store "+cfg.storePath+" is locked: another xgate is probably running with it" {
			t.Errorf("got %v", err)
		}
	})
	t.Run("wrong key", func(t *testing.T) {
		cfg := serveConfig(t, t.TempDir(), "127.0.0.1:1", "")
		other, _ := store.ParseKey([]byte(testKey(t)))
		db, err := store.Open(cfg.storePath, store.Options{Key: other, NoSync: true})
		if err != nil {
			t.Fatal(err)
		}
		db.Close()
		err = serve(t.Context(), cfg, slog.New(slog.DiscardHandler), "v", nil)
		if err == nil || !strings.Contains(err.Error(), "the store key (from env XGATE_TEST_KEY) is not the key "+cfg.storePath+" was created with") {
			t.Errorf("got %v", err)
		}
	})
	t.Run("admin address taken", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		cfg := serveConfig(t, t.TempDir(), "127.0.0.1:1", "")
		cfg.adminListen = ln.Addr().String()
		err = serve(t.Context(), cfg, slog.New(slog.DiscardHandler), "v", nil)
		if err == nil || !strings.HasPrefix(err.Error(), "admin.listen: ") {
			t.Errorf("got %v", err)
		}
	})
	t.Run("webhooks address taken", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		cfg := serveConfig(t, t.TempDir(), "127.0.0.1:1", "")
		cfg.webhooksListen = ln.Addr().String()
		err = serve(t.Context(), cfg, slog.New(slog.DiscardHandler), "v", nil)
		if err == nil || !strings.HasPrefix(err.Error(), "webhooks.listen: ") {
			t.Errorf("got %v", err)
		}
	})
	t.Run("webhooks listen validated", func(t *testing.T) {
		c, err := parseConfig("x.toml", []byte(minimal+"[webhooks]\nlisten = \"0.0.0.0:8089\"\n"), transportKinds)
		if err != nil || c.webhooksListen != "0.0.0.0:8089" {
			t.Errorf("parsed %q, %v", c.webhooksListen, err)
		}
		if _, err := parseConfig("x.toml", []byte(minimal+"[webhooks]\nlisten = \"8089\"\n"), transportKinds); err == nil || !strings.Contains(err.Error(), "webhooks.listen") {
			t.Errorf("bad listen: %v", err)
		}
	})
	t.Run("no transports", func(t *testing.T) {
		cfg := serveConfig(t, t.TempDir(), "127.0.0.1:1", "")
		ctx, cancel := context.WithCancel(t.Context())
		s := startServe(t, ctx, cfg)
		code, body := httpDo(t, "GET", "http://"+s.addr+"/healthz")
		if code != 200 || !strings.Contains(string(body), `"gateways": []`) {
			t.Errorf("healthz %d %s", code, body)
		}
		cancel()
		if err := s.wait(t); err != nil {
			t.Fatal(err)
		}
	})
}
