package bridge

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
)

// Webhooks is the one HTTP listener's handler that the bridge owns for
// transports whose network calls them (SMS delivery webhooks, Discord
// interactions). Each gateway's transport that implements WebhookReceiver
// mounts its handlers under /NAME/, NAME being the gateway's instance name,
// when the gateway is created; the process serves the result on the
// address configured as [webhooks] listen. Safe for concurrent use.
type Webhooks struct {
	mu      sync.Mutex
	mux     *http.ServeMux
	mounted []string // instance names
}

// NewWebhooks returns an empty Webhooks.
func NewWebhooks() *Webhooks { return &Webhooks{mux: http.NewServeMux()} }

// ServeHTTP implements http.Handler.
func (w *Webhooks) ServeHTTP(rw http.ResponseWriter, r *http.Request) { w.mux.ServeHTTP(rw, r) }

// Mounted returns the instance names that mounted handlers.
func (w *Webhooks) Mounted() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.mounted...)
}

// WebhookMux is where a transport mounts its handlers. Patterns are those
// of http.ServeMux, without host, relative to the gateway's prefix:
// "POST /sms/inbound" is served at /NAME/sms/inbound.
type WebhookMux interface {
	Handle(pattern string, h http.Handler)
}

// WebhookReceiver is implemented by transports that receive their
// network's events over HTTP. The bridge calls MountWebhooks once, from
// New, before Run.
type WebhookReceiver interface {
	MountWebhooks(m WebhookMux)
}

// prefixed mounts handlers under /name/.
type prefixed struct {
	w    *Webhooks
	name string
}

// Handle implements WebhookMux.
func (p prefixed) Handle(pattern string, h http.Handler) {
	method, path, found := strings.Cut(pattern, " ")
	if !found {
		method, path = "", pattern
	}
	prefix := "/" + p.name
	full := prefix + "/" + strings.TrimPrefix(path, "/")
	if method != "" {
		full = method + " " + full
	}
	p.w.mux.Handle(full, http.StripPrefix(prefix, h))
}

// mount lets a transport mount its handlers under /name/.
func (w *Webhooks) mount(name string, r WebhookReceiver) error {
	if strings.ContainsAny(name, "/ {}") {
		return fmt.Errorf("bridge: %s: an instance name with webhooks must not contain '/', ' ', '{' or '}'", name)
	}
	r.MountWebhooks(prefixed{w: w, name: name})
	w.mu.Lock()
	w.mounted = append(w.mounted, name)
	w.mu.Unlock()
	return nil
}
