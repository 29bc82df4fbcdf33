package bridge

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// A sender's picture is fetched only when it is an image within the size
// limit; failures are cached too (a broken URL is not fetched for every
// vCard request).
func TestSenderAvatarFetch(t *testing.T) {
	var mu sync.Mutex
	hits := map[string]int{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		hits[r.URL.Path]++
		mu.Unlock()
		switch r.URL.Path {
		case "/ok.png":
			w.Header().Set("Content-Type", "image/png")
			w.Write([]byte("\x89PNG\r\n\x1a\nok"))
		case "/sniffed":
			w.Write([]byte("GIF89a-sniffed"))
		case "/page":
			w.Header().Set("Content-Type", "text/html")
			w.Write([]byte("<html>login</html>"))
		case "/chunked-huge":
			w.Header().Set("Content-Type", "image/png")
			for range 3 {
				w.Write(make([]byte, avatarMaxBytes/2+1))
				w.(http.Flusher).Flush()
			}
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	sc := newSenderCards(srv.Client())
	for _, tc := range []struct {
		path, wantType, wantErr string
	}{
		{"/ok.png", "image/png", ""},
		{"/sniffed", "image/gif", ""},
		{"/page", "", "not an image"},
		{"/chunked-huge", "", "more than"},
		{"/gone", "", "HTTP 404"},
	} {
		for range 2 {
			_, typ, err := sc.avatar(t.Context(), srv.URL+tc.path)
			if typ != tc.wantType || (err == nil) != (tc.wantErr == "") || err != nil && !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%s: type %q, err %v; want %q, %q", tc.path, typ, err, tc.wantType, tc.wantErr)
			}
		}
		mu.Lock()
		n := hits[tc.path]
		mu.Unlock()
		if n != 1 {
			t.Errorf("%s fetched %d times, want once", tc.path, n)
		}
	}
	if _, _, err := sc.avatar(t.Context(), "file:///etc/passwd"); err == nil {
		t.Error("a file: URL was fetched")
	}
}

// The default client does not fetch from the gateway's own host or
// network: the URL comes from the network.
func TestSenderAvatarDefaultClientRefusesLoopback(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Error("the default client reached a loopback server")
	}))
	t.Cleanup(srv.Close)
	_, _, err := newSenderCards(nil).avatar(t.Context(), srv.URL+"/a.png")
	if err == nil || !strings.Contains(err.Error(), "is not public") {
		t.Fatalf("got %v, want a refusal of the loopback address", err)
	}
}
