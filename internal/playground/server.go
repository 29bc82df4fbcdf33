package playground

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"regexp"
	"time"
)

//go:embed web
var webFiles embed.FS

// maxBody bounds a POST's JSON body.
const maxBody = 64 << 10

// emojiName is what a reaction may be: a Slack-style emoji name.
var emojiName = regexp.MustCompile(`^[a-z0-9_+\-]{1,64}$`)

// Server is the playground's HTTP handler.
type Server struct {
	networks []Network
	byID     map[string]Network
	mux      *http.ServeMux
}

// New returns the playground of networks, shown in that order.
func New(networks ...Network) *Server {
	s := &Server{networks: networks, byID: map[string]Network{}, mux: http.NewServeMux()}
	for _, n := range networks {
		s.byID[n.ID()] = n
	}
	web, _ := fs.Sub(webFiles, "web") // the directory is embedded
	s.mux.Handle("GET /", http.FileServerFS(web))
	s.mux.HandleFunc("GET /api/networks", s.listNetworks)
	s.mux.HandleFunc("GET /api/events", s.events)
	s.mux.HandleFunc("GET /api/{net}/people", s.withNetwork(func(n Network, r *http.Request) (any, error) {
		return n.People(), nil
	}))
	s.mux.HandleFunc("GET /api/{net}/conversations", s.withNetwork(func(n Network, r *http.Request) (any, error) {
		return orEmpty(n.Conversations(r.URL.Query().Get("as"))), nil
	}))
	s.mux.HandleFunc("GET /api/{net}/messages", s.withNetwork(func(n Network, r *http.Request) (any, error) {
		m, err := n.Messages(r.URL.Query().Get("conv"))
		return orEmpty(m), err
	}))
	s.mux.HandleFunc("GET /api/{net}/typing", s.withNetwork(func(n Network, r *http.Request) (any, error) {
		if tv, ok := n.(TypingViewer); ok {
			return orEmpty(tv.TypingNow(r.URL.Query().Get("conv"))), nil
		}
		return []string{}, nil
	}))
	s.mux.HandleFunc("POST /api/{net}/send", s.action(func(n Network, a actionRequest) error {
		if a.Text == "" {
			return ErrNotAllowed
		}
		return n.Send(a.As, a.Conv, a.Text)
	}))
	s.mux.HandleFunc("POST /api/{net}/edit", s.action(func(n Network, a actionRequest) error {
		if a.Text == "" {
			return ErrNotAllowed
		}
		return n.Edit(a.As, a.Conv, a.ID, a.Text)
	}))
	s.mux.HandleFunc("POST /api/{net}/react", s.action(func(n Network, a actionRequest) error {
		return n.React(a.As, a.Conv, a.ID, a.Emoji)
	}))
	s.mux.HandleFunc("POST /api/{net}/typing", s.action(func(n Network, a actionRequest) error {
		t, ok := n.(Typer)
		if !ok {
			return ErrNotAllowed
		}
		return t.Typing(a.As, a.Conv)
	}))
	return s
}

// ServeHTTP serves the page and its API.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Security-Policy", "default-src 'self'")
	s.mux.ServeHTTP(w, r)
}

func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// networkInfo describes a network to the page: what it is and what its
// people can do.
type networkInfo struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	Edits     bool   `json:"edits"`
	Reactions bool   `json:"reactions"`
	Typing    bool   `json:"typing"`
}

func (s *Server) listNetworks(w http.ResponseWriter, r *http.Request) {
	out := []networkInfo{}
	for _, n := range s.networks {
		ni := networkInfo{ID: n.ID(), Name: n.Name(), Edits: true, Reactions: true}
		if l, ok := n.(Limited); ok {
			ni.Edits, ni.Reactions = l.CanEdit(), l.CanReact()
		}
		_, ni.Typing = n.(Typer)
		out = append(out, ni)
	}
	writeJSON(w, out, nil)
}

// withNetwork serves a GET of the network named in the path.
func (s *Server) withNetwork(f func(Network, *http.Request) (any, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		n, ok := s.byID[r.PathValue("net")]
		if !ok {
			http.Error(w, "no such network", http.StatusNotFound)
			return
		}
		v, err := f(n, r)
		writeJSON(w, v, err)
	}
}

// actionRequest is the body of send, edit and react.
type actionRequest struct {
	As    string `json:"as"`
	Conv  string `json:"conv"`
	ID    string `json:"id"`
	Text  string `json:"text"`
	Emoji string `json:"emoji"`
}

// action serves a POST acting as a person.
func (s *Server) action(f func(Network, actionRequest) error) http.HandlerFunc {
	return s.withNetwork(func(n Network, r *http.Request) (any, error) {
		var a actionRequest
		if err := json.NewDecoder(http.MaxBytesReader(nil, r.Body, maxBody)).Decode(&a); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrNotAllowed, err)
		}
		return map[string]bool{"ok": true}, f(n, a)
	})
}

func writeJSON(w http.ResponseWriter, v any, err error) {
	switch {
	case errors.Is(err, ErrNotFound):
		http.Error(w, err.Error(), http.StatusNotFound)
		return
	case err != nil:
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v) // the client went away
}

// keepAlive is how often an idle event stream gets a comment line, so
// proxies and browsers keep it open.
const keepAlive = 25 * time.Second

// events streams a "change" event naming a network each time its state
// changes. One goroutine per network waits for changes; this request's
// goroutine alone writes.
func (s *Server) events(w http.ResponseWriter, r *http.Request) {
	flusher, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming unsupported", http.StatusInternalServerError)
		return
	}
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	changes := make(chan string)
	done := make(chan struct{})
	defer func() { cancel(); <-done }()
	go func() {
		defer close(done)
		waiters := make(chan struct{}, len(s.networks))
		for _, n := range s.networks {
			go func() {
				defer func() { waiters <- struct{}{} }()
				var since string
				for {
					st, err := n.Changed(ctx, since)
					if err != nil {
						return
					}
					if since != "" {
						select {
						case changes <- n.ID():
						case <-ctx.Done():
							return
						}
					}
					since = st
				}
			}()
		}
		for range s.networks {
			<-waiters
		}
	}()
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	fmt.Fprint(w, ": playground events\n\n")
	flusher.Flush()
	tick := time.NewTicker(keepAlive)
	defer tick.Stop()
	for {
		select {
		case id := <-changes:
			fmt.Fprintf(w, "event: change\ndata: %s\n\n", id)
		case <-tick.C:
			fmt.Fprint(w, ": keep-alive\n\n")
		case <-ctx.Done():
			return
		}
		flusher.Flush()
	}
}
