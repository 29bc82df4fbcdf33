package main

import (
	"cmp"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/xgate-im/xgate/bridge"
	"github.com/xgate-im/xgate/internal/procs"
	"github.com/xgate-im/xgate/store"
	"github.com/xgate-im/xgate/xmpp"
)

// storeReader is what the admin endpoint reads from the store.
type storeReader interface {
	Stats() (store.Stats, error)
}

// admin serves the admin HTTP endpoint: health, metrics and online
// backups. Health and metrics are open (they listen on loopback unless the
// configuration explicitly allows otherwise); POST /backup needs the admin
// token as "Authorization: Bearer TOKEN" and is disabled without one.
// Cross-origin requests that change state are refused, so a web page in an
// operator's browser cannot trigger backups.
type admin struct {
	log      *slog.Logger
	gateways func() []gatewayStatus
	// groups returns the bridge groups' counters; nil when there are none.
	groups func() []groupStatus
	db     storeReader
	backup func(ctx context.Context) (path string, size int64, err error)
	// token guards POST /backup; "" disables it.
	token   string
	version string
	start   time.Time
}

// handler returns the endpoint's routes, each protected from panics, with
// cross-origin requests refused for every method but GET and HEAD.
func (a *admin) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", a.healthz)
	mux.HandleFunc("GET /metrics", a.metrics)
	mux.Handle("POST /backup", a.requireToken(http.HandlerFunc(a.postBackup)))
	mux.HandleFunc("GET /{$}", a.index)
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.log.Warn("admin: cross-origin request refused", "method", r.Method, "path", r.URL.Path, "origin", r.Header.Get("Origin"))
		writeJSON(w, http.StatusForbidden, map[string]string{"error": "cross-origin request refused"})
	}))
	return recoverPanics(a.log, cop.Handler(mux))
}

// requireToken lets a request through only with "Authorization: Bearer
// TOKEN" matching the admin token. The comparison takes the same time
// whatever the guess.
func (a *admin) requireToken(h http.Handler) http.Handler {
	want := sha256.Sum256([]byte(a.token))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if a.token == "" {
			writeJSON(w, http.StatusForbidden, map[string]string{"error": "disabled: set [admin] token_file, token_env or token to enable it"})
			return
		}
		scheme, got, ok := strings.Cut(r.Header.Get("Authorization"), " ")
		gotSum := sha256.Sum256([]byte(strings.TrimSpace(got)))
		if !ok || !strings.EqualFold(scheme, "Bearer") || subtle.ConstantTimeCompare(gotSum[:], want[:]) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="xgate admin"`)
			writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "missing or wrong admin token (Authorization: Bearer TOKEN)"})
			return
		}
		h.ServeHTTP(w, r)
	})
}

// recoverPanics turns a panic in h into a logged error and a 500 answer,
// so a bug in one handler never takes the gateways down.
func recoverPanics(log *slog.Logger, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rw := &trackingWriter{ResponseWriter: w}
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if v == http.ErrAbortHandler {
				panic(v)
			}
			log.Error("admin handler panicked", "method", r.Method, "path", r.URL.Path, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			if !rw.wrote {
				http.Error(rw, "internal error", http.StatusInternalServerError)
			}
		}()
		h.ServeHTTP(rw, r)
	})
}

// trackingWriter records whether a response was started.
type trackingWriter struct {
	http.ResponseWriter
	wrote bool
}

func (w *trackingWriter) WriteHeader(code int) {
	w.wrote = true
	w.ResponseWriter.WriteHeader(code)
}

func (w *trackingWriter) Write(b []byte) (int, error) {
	w.wrote = true
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *trackingWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (a *admin) index(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprintf(w, "xgate %s\n\nGET  /healthz  gateway health (JSON; 503 unless every component is connected and its send queue not full)\nGET  /metrics  Prometheus metrics\nPOST /backup   online backup of the store (Authorization: Bearer TOKEN)\n", a.version)
}

// health is the /healthz answer.
type health struct {
	Status   string          `json:"status"`
	Version  string          `json:"version"`
	Outbox   *int            `json:"outbox,omitempty"` // all queues of the store
	Gateways []gatewayHealth `json:"gateways"`
}

// gatewayHealth is one gateway in the /healthz answer.
type gatewayHealth struct {
	Name       string `json:"name"`
	Domain     string `json:"domain"`
	Network    string `json:"network"`
	State      string `json:"state"`
	Reconnects uint64 `json:"reconnects"`
	Outbox     *int   `json:"outbox,omitempty"`
	// SendQueue is the component's outgoing queue: a queue that stays
	// full means the host server does not take stanzas as fast as the
	// gateway produces them.
	SendQueue sendQueueHealth `json:"send_queue"`
}

// sendQueueHealth describes a component's outgoing queue in /healthz.
type sendQueueHealth struct {
	Length   int    `json:"length"`
	Capacity int    `json:"capacity"`
	Full     bool   `json:"full"`
	FullSeen uint64 `json:"full_total"` // times a sender found it full
}

func (a *admin) healthz(w http.ResponseWriter, _ *http.Request) {
	h := health{Status: "ok", Version: a.version, Gateways: []gatewayHealth{}}
	for _, g := range a.gateways() {
		gh := gatewayHealth{
			Name:       g.Name,
			Domain:     g.Domain,
			Network:    g.Network,
			State:      g.Component.State.String(),
			Reconnects: g.Component.Reconnects,
			SendQueue: sendQueueHealth{
				Length:   g.Component.QueueLen,
				Capacity: g.Component.QueueCap,
				Full:     g.Component.QueueCap > 0 && g.Component.QueueLen >= g.Component.QueueCap,
				FullSeen: g.Component.QueueFull,
			},
		}
		if g.Outbox >= 0 {
			gh.Outbox = &g.Outbox
		}
		// Degraded while a component is down, or while its send queue
		// is full: the host server does not take stanzas as fast as the
		// gateway makes them (answers are dropped, stored stanzas wait).
		if g.Component.State != xmpp.StateConnected || gh.SendQueue.Full {
			h.Status = "degraded"
		}
		h.Gateways = append(h.Gateways, gh)
	}
	if st, err := a.db.Stats(); err == nil {
		h.Outbox = &st.OutboxItems
	} else {
		a.log.Error("reading store statistics", "err", err)
	}
	code := http.StatusOK
	if h.Status != "ok" {
		code = http.StatusServiceUnavailable
	}
	writeJSON(w, code, h)
}

func (a *admin) metrics(w http.ResponseWriter, _ *http.Request) {
	d := metricsData{gateways: a.gateways(), version: a.version, start: a.start}
	if a.groups != nil {
		d.groups = a.groups()
	}
	if st, err := a.db.Stats(); err == nil {
		d.store = &st
	} else {
		a.log.Error("reading store statistics", "err", err)
	}
	d.goroutines, d.heapBytes = processMetrics()
	d.procs = runtime.GOMAXPROCS(0)
	d.narrowed = procs.Narrowed()
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	_, _ = w.Write(writeMetrics(d))
}

func (a *admin) postBackup(w http.ResponseWriter, r *http.Request) {
	path, size, err := a.backup(r.Context())
	if errors.Is(err, errBackupRunning) {
		writeJSON(w, http.StatusConflict, map[string]string{"error": err.Error()})
		return
	}
	if err != nil {
		a.log.Error("online backup failed", "err", err)
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": err.Error()})
		return
	}
	a.log.Info("online backup written", "path", path, "bytes", size)
	writeJSON(w, http.StatusOK, map[string]any{"path": path, "size": size})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// gatewayStatuses returns a function reading the status of gateways.
func gatewayStatuses(gws []*bridge.Gateway) func() []gatewayStatus {
	return func() []gatewayStatus {
		out := make([]gatewayStatus, 0, len(gws))
		for _, g := range gws {
			out = append(out, gatewayStatus{
				Name:      g.Name(),
				Domain:    g.Domain().String(),
				Network:   g.Info().Network,
				Component: g.Component().Stats(),
				Bridge:    g.Metrics().Snapshot(),
				Limits:    g.SenderLimits(),
				Outbox:    gatewayOutbox(g),
				Transport: g.TransportStats(),
			})
		}
		return out
	}
}

// gatewayOutbox returns the number of items a gateway has queued, or -1:
// the bridge does not count them per gateway yet, and this picks the
// count up as soon as it does.
func gatewayOutbox(g any) int {
	o, ok := g.(interface{ OutboxLen() (int, error) })
	if !ok {
		return -1
	}
	n, err := o.OutboxLen()
	if err != nil {
		return -1
	}
	return n
}

// defaultBackupKeep is how many online backups are kept when [admin]
// backup_keep is not set.
const defaultBackupKeep = 7

// errBackupRunning is returned by backups.run while another backup runs.
var errBackupRunning = errors.New("a backup is already running; try again when it is done")

// backupName matches the files backups.run writes; only those are ever
// deleted.
var backupName = regexp.MustCompile(`^xgate-(\d{8}T\d{6}\.\d{3}Z)(?:-(\d+))?\.db$`)

// backups writes online backups of the store into a directory, one file
// per backup named by its time, one at a time, and keeps the newest keep
// of them.
type backups struct {
	db   *store.DB
	dir  string
	keep int              // backups kept; <= 0 keeps all
	now  func() time.Time // time.Now when nil
	log  *slog.Logger     // for pruning failures; nil discards

	running sync.Mutex // held while a backup runs
}

// run writes a backup and returns its path and size, then deletes the
// backups it made beyond the newest keep. While another backup runs it
// fails at once with errBackupRunning. It is what POST /backup and the
// admin ad-hoc command (bridge.Config.Backup) call.
func (b *backups) run(ctx context.Context) (string, int64, error) {
	if !b.running.TryLock() {
		return "", 0, errBackupRunning
	}
	defer b.running.Unlock()
	if err := ctx.Err(); err != nil {
		return "", 0, err
	}
	if err := os.MkdirAll(b.dir, 0o700); err != nil {
		return "", 0, fmt.Errorf("backup directory: %w", err)
	}
	now := time.Now
	if b.now != nil {
		now = b.now
	}
	stamp := now().UTC().Format("20060102T150405.000Z")
	path := filepath.Join(b.dir, "xgate-"+stamp+".db")
	for i := 2; fileExists(path); i++ {
		path = filepath.Join(b.dir, fmt.Sprintf("xgate-%s-%d.db", stamp, i))
	}
	n, err := b.db.BackupFile(path)
	if err != nil {
		return "", 0, fmt.Errorf("backup: %w", err)
	}
	if err := b.prune(); err != nil && b.log != nil {
		b.log.Warn("deleting old backups", "dir", b.dir, "err", err)
	}
	return path, n, nil
}

// prune deletes the backups run made, oldest first, until keep are left.
// Other files in the directory are never touched.
func (b *backups) prune() error {
	if b.keep <= 0 {
		return nil
	}
	entries, err := os.ReadDir(b.dir)
	if err != nil {
		return err
	}
	type made struct {
		name, stamp string
		n           int
	}
	var list []made
	for _, e := range entries {
		m := backupName.FindStringSubmatch(e.Name())
		if m == nil || !e.Type().IsRegular() {
			continue
		}
		n := 1
		if m[2] != "" {
			n, _ = strconv.Atoi(m[2])
		}
		list = append(list, made{e.Name(), m[1], n})
	}
	slices.SortFunc(list, func(x, y made) int {
		return cmp.Or(strings.Compare(x.stamp, y.stamp), cmp.Compare(x.n, y.n))
	})
	var errs []error
	for _, old := range list[:max(0, len(list)-b.keep)] {
		if err := os.Remove(filepath.Join(b.dir, old.name)); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func fileExists(path string) bool {
	_, err := os.Lstat(path)
	return !errors.Is(err, os.ErrNotExist)
}
