package attach

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const token = "xoxp-secret-token"

var pngData = append([]byte("\x89PNG\r\n\x1a\n"), bytes.Repeat([]byte{7}, 100)...)

// network is an httptest server standing for a network's file host.
func network(t *testing.T, hits *atomic.Int32) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	authed := func(h http.HandlerFunc) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			hits.Add(1)
			if r.Header.Get("Authorization") != "Bearer "+token {
				http.Error(w, "no", http.StatusUnauthorized)
				return
			}
			h(w, r)
		}
	}
	mux.HandleFunc("/img.png", authed(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Write(pngData)
	}))
	mux.HandleFunc("/download", authed(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Disposition", `attachment; filename="../report.pdf"`)
		w.Write([]byte("%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"))
	}))
	mux.HandleFunc("/notes", authed(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/markdown; charset=utf-8")
		w.Write([]byte("# notes\n"))
	}))
	mux.HandleFunc("/login", authed(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("<!DOCTYPE html><html><body>Sign in</body></html>"))
	}))
	mux.HandleFunc("/gone", authed(func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) }))
	mux.HandleFunc("/private", authed(func(w http.ResponseWriter, r *http.Request) { http.Error(w, "no", http.StatusForbidden) }))
	mux.HandleFunc("/busy", authed(func(w http.ResponseWriter, r *http.Request) { http.Error(w, "later", http.StatusServiceUnavailable) }))
	mux.HandleFunc("/big", authed(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "5000")
		w.Write(make([]byte, 5000))
	}))
	mux.HandleFunc("/stream", authed(func(w http.ResponseWriter, r *http.Request) {
		for range 10 { // no Content-Length: chunked
			w.Write(make([]byte, 500))
			w.(http.Flusher).Flush()
		}
	}))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func fetcher(srv *httptest.Server) *Fetcher {
	return &Fetcher{
		Client:    srv.Client(),
		Authorize: func(r *http.Request) error { r.Header.Set("Authorization", "Bearer "+token); return nil },
		MaxSize:   1000,
	}
}

func TestFetch(t *testing.T) {
	var hits atomic.Int32
	srv := network(t, &hits)
	for _, tc := range []struct {
		name    string
		src     Source
		noAuth  bool
		want    File  // Data compared by length
		wantErr error // matched with errors.Is
		status  int
	}{
		{name: "sniffed over header", src: Source{URL: "/img.png"}, want: File{Name: "img.png", MIME: "image/png", Data: pngData}},
		{name: "declared name wins", src: Source{URL: "/img.png", Name: "cat.png", MIME: "image/png", Size: 108}, want: File{Name: "cat.png", MIME: "image/png", Data: pngData}},
		{name: "content disposition", src: Source{URL: "/download"}, want: File{Name: "report.pdf", MIME: "application/pdf", Data: make([]byte, 15)}},
		{name: "header when sniffing is vague", src: Source{URL: "/notes"}, want: File{Name: "notes", MIME: "text/markdown", Data: make([]byte, 8)}},
		{name: "unauthorized", src: Source{URL: "/img.png"}, noAuth: true, wantErr: ErrUnauthorized, status: 401},
		{name: "login page", src: Source{URL: "/login", MIME: "image/jpeg"}, wantErr: ErrUnauthorized, status: 200},
		{name: "not found", src: Source{URL: "/gone"}, wantErr: ErrNotFound, status: 404},
		{name: "forbidden", src: Source{URL: "/private"}, wantErr: ErrForbidden, status: 403},
		{name: "temporary", src: Source{URL: "/busy"}, wantErr: ErrTemporary, status: 503},
		{name: "too large by length", src: Source{URL: "/big"}, wantErr: ErrTooLarge, status: 200},
		{name: "too large while reading", src: Source{URL: "/stream"}, wantErr: ErrTooLarge, status: 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := fetcher(srv)
			if tc.noAuth {
				f.Authorize = nil
			}
			src := tc.src
			src.URL = srv.URL + src.URL + "?t=" + token
			got, err := f.Fetch(t.Context(), src)
			if tc.wantErr != nil {
				var e *Error
				if !errors.Is(err, tc.wantErr) || !errors.As(err, &e) || e.Status != tc.status {
					t.Fatalf("error %v, want %v with status %d", err, tc.wantErr, tc.status)
				}
				if strings.Contains(err.Error(), token) || !strings.Contains(err.Error(), srv.URL+tc.src.URL) {
					t.Errorf("error %q shows the token or lacks the URL", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Name != tc.want.Name || got.MIME != tc.want.MIME || len(got.Data) != len(tc.want.Data) {
				t.Errorf("got %s %s %d bytes, want %s %s %d", got.Name, got.MIME, len(got.Data), tc.want.Name, tc.want.MIME, len(tc.want.Data))
			}
		})
	}
}

// TestFetchDeclaredTooLarge: a file declared too large is not asked for.
func TestFetchDeclaredTooLarge(t *testing.T) {
	var hits atomic.Int32
	srv := network(t, &hits)
	_, err := fetcher(srv).Fetch(t.Context(), Source{URL: srv.URL + "/img.png", Size: 1001})
	if !errors.Is(err, ErrTooLarge) || hits.Load() != 0 {
		t.Fatalf("error %v after %d requests, want ErrTooLarge and none", err, hits.Load())
	}
}

// TestFetchUnreachable: a refused connection is temporary.
func TestFetchUnreachable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	addr := srv.URL
	srv.Close()
	_, err := (&Fetcher{}).Fetch(t.Context(), Source{URL: addr + "/x?t=" + token})
	if !errors.Is(err, ErrTemporary) || strings.Contains(err.Error(), token) {
		t.Fatalf("error %v, want ErrTemporary without the token", err)
	}
}

// TestFetchCanceled: the context bounds the fetch.
func TestFetchCanceled(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	_, err := (&Fetcher{Client: srv.Client()}).Fetch(ctx, Source{URL: srv.URL})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("error %v, want DeadlineExceeded", err)
	}
}

// uploadService stands for an XEP-0363 HTTP upload service: PUT stores a
// file under a slot path, GET serves it.
type uploadService struct {
	mu    sync.Mutex
	files map[string][]byte
	types map[string]string
}

func (s *uploadService) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch r.Method {
	case http.MethodPut:
		b, err := io.ReadAll(r.Body)
		if err != nil || int64(len(b)) != r.ContentLength {
			http.Error(w, "bad length", http.StatusBadRequest)
			return
		}
		s.files[r.URL.Path], s.types[r.URL.Path] = b, r.Header.Get("Content-Type")
		w.WriteHeader(http.StatusCreated)
	case http.MethodGet:
		b, ok := s.files[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", s.types[r.URL.Path])
		w.Write(b)
	}
}

// putUploader uploads with a PUT to base/slot/<n>/<name>, as a client does
// with an XEP-0363 slot.
type putUploader struct {
	base   string
	client *http.Client
	n      atomic.Int32
}

func (u *putUploader) Upload(ctx context.Context, f *File) (string, error) {
	url := fmt.Sprintf("%s/slot/%d/%s", u.base, u.n.Add(1), f.Name)
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, url, bytes.NewReader(f.Data))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", f.MIME)
	resp, err := u.client.Do(req)
	if err != nil {
		return "", &Error{Op: "upload", URL: redact(url), Err: err}
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		return "", &Error{Op: "upload", URL: redact(url), Status: resp.StatusCode, Err: statusError(resp.StatusCode)}
	}
	return url, nil
}

func TestRehost(t *testing.T) {
	var hits atomic.Int32
	net := network(t, &hits)
	svc := &uploadService{files: map[string][]byte{}, types: map[string]string{}}
	up := httptest.NewServer(svc)
	defer up.Close()
	u := &putUploader{base: up.URL, client: up.Client()}

	h, err := Rehost(t.Context(), fetcher(net), u, Source{URL: net.URL + "/img.png", Name: "cat.png"})
	if err != nil {
		t.Fatal(err)
	}
	if h.Name != "cat.png" || h.MIME != "image/png" || h.Size != int64(len(pngData)) || !strings.HasPrefix(h.URL, up.URL+"/slot/") {
		t.Fatalf("hosted %+v", h)
	}
	resp, err := up.Client().Get(h.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	got, _ := io.ReadAll(resp.Body)
	if !bytes.Equal(got, pngData) || resp.Header.Get("Content-Type") != "image/png" {
		t.Errorf("served %d bytes of %s, want the PNG", len(got), resp.Header.Get("Content-Type"))
	}

	// A fetch error stops before the upload.
	if _, err := Rehost(t.Context(), fetcher(net), u, Source{URL: net.URL + "/gone"}); !errors.Is(err, ErrNotFound) || u.n.Load() != 1 {
		t.Errorf("error %v after %d uploads, want ErrNotFound after 1", err, u.n.Load())
	}
	// An upload error is wrapped with the file name.
	up.Close()
	if _, err := Rehost(t.Context(), fetcher(net), u, Source{URL: net.URL + "/img.png"}); err == nil || !strings.Contains(err.Error(), "rehost img.png") {
		t.Errorf("error %v, want the upload failure", err)
	}
}

func TestDetectMIME(t *testing.T) {
	for _, tc := range []struct {
		data                   string
		header, declared, name string
		want                   string
	}{
		{"\x89PNG\r\n\x1a\n....", "text/plain", "", "x.txt", "image/png"},
		{"plain words", "", "", "", "text/plain"},
		{"plain words", "text/csv; charset=utf-8", "", "", "text/csv"},
		{"a,b\n", "", "", "t.csv", "text/csv"},
		{"\x00\x01\x02", "", "", "", "application/octet-stream"},
		{"\x00\x01\x02", "", "application/zip", "", "application/zip"},
		{"\x00\x01\x02", "bad;;type", "", "", "application/octet-stream"},
	} {
		if got := detectMIME([]byte(tc.data), tc.header, tc.declared, tc.name); got != tc.want {
			t.Errorf("detectMIME(%q, %q, %q, %q) = %q, want %q", tc.data, tc.header, tc.declared, tc.name, got, tc.want)
		}
	}
}
