package attach

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"path"
	"strings"
	"unicode/utf8"
)

// DefaultMaxSize is the size limit of a Fetcher whose MaxSize is 0.
const DefaultMaxSize = 64 << 20

// Fetcher downloads files with a session's credentials.
type Fetcher struct {
	// Client makes the requests; nil means http.DefaultClient. Its
	// redirect policy applies (Go's client drops the Authorization header
	// on a redirect to another host).
	Client *http.Client
	// Authorize, if set, adds the session's credentials to each request
	// (for Slack: an "Authorization: Bearer" header).
	Authorize func(*http.Request) error
	// MaxSize bounds a file, in bytes; 0 means DefaultMaxSize.
	MaxSize int64
}

// Source is a file to fetch, with what the network says about it.
type Source struct {
	URL  string
	Name string // file name; "" to take it from the response or the URL
	MIME string // type the network declares; "" if unknown
	Size int64  // size the network declares; 0 if unknown
}

// File is a fetched file.
type File struct {
	Name string
	MIME string // detected (see Fetch)
	Data []byte
}

// Fetch downloads src. It refuses, with an *Error, a file declared larger
// than MaxSize before asking for it, a response whose Content-Length is
// too large before reading it, and a body that turns out too large while
// reading it (ErrTooLarge); HTTP 401, 403, 404/410, 429 and 5xx map to
// ErrUnauthorized, ErrForbidden, ErrNotFound and ErrTemporary, and so does
// an HTML page served in place of a file of another declared type (how
// some networks answer a refused token) to ErrUnauthorized.
//
// The MIME type is the one sniffed from the content when that is
// specific, else the response's Content-Type, else src.MIME, else by the
// name's extension, else application/octet-stream.
func (f *Fetcher) Fetch(ctx context.Context, src Source) (*File, error) {
	fail := func(status int, err error) error {
		return &Error{Op: "fetch", URL: redact(src.URL), Status: status, Err: err}
	}
	limit := f.MaxSize
	if limit <= 0 {
		limit = DefaultMaxSize
	}
	if src.Size > limit {
		return nil, fail(0, fmt.Errorf("%w: %d bytes declared, the limit is %d", ErrTooLarge, src.Size, limit))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, src.URL, nil)
	if err != nil {
		return nil, fail(0, err)
	}
	if f.Authorize != nil {
		if err := f.Authorize(req); err != nil {
			return nil, fail(0, fmt.Errorf("authorize: %w", err))
		}
	}
	client := f.Client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, fail(0, ctx.Err())
		}
		return nil, fail(0, fmt.Errorf("%w: %w", ErrTemporary, stripURL(err)))
	}
	defer resp.Body.Close()
	if err := statusError(resp.StatusCode); err != nil {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10)) // let the connection be reused
		return nil, fail(resp.StatusCode, err)
	}
	if resp.ContentLength > limit {
		return nil, fail(resp.StatusCode, fmt.Errorf("%w: %d bytes, the limit is %d", ErrTooLarge, resp.ContentLength, limit))
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		if ctx.Err() != nil {
			return nil, fail(resp.StatusCode, ctx.Err())
		}
		return nil, fail(resp.StatusCode, fmt.Errorf("%w: reading: %w", ErrTemporary, stripURL(err)))
	}
	if int64(len(data)) > limit {
		return nil, fail(resp.StatusCode, fmt.Errorf("%w: more than %d bytes", ErrTooLarge, limit))
	}
	file := &File{Name: fileName(src, resp), Data: data}
	file.MIME = detectMIME(data, resp.Header.Get("Content-Type"), src.MIME, file.Name)
	if file.MIME == "text/html" && src.MIME != "" && !strings.HasPrefix(src.MIME, "text/html") {
		return nil, fail(resp.StatusCode, fmt.Errorf("%w: got an HTML page instead of %s", ErrUnauthorized, src.MIME))
	}
	return file, nil
}

// statusError maps an HTTP status to a sentinel, nil for success.
func statusError(code int) error {
	switch {
	case code >= 200 && code < 300:
		return nil
	case code == http.StatusUnauthorized:
		return ErrUnauthorized
	case code == http.StatusForbidden:
		return ErrForbidden
	case code == http.StatusNotFound || code == http.StatusGone:
		return ErrNotFound
	case code == http.StatusRequestEntityTooLarge:
		return ErrTooLarge
	case code == http.StatusTooManyRequests || code >= 500:
		return ErrTemporary
	}
	return errors.New(http.StatusText(code))
}

// detectMIME picks the type of a file (see Fetch), without parameters.
func detectMIME(data []byte, header, declared, name string) string {
	sniffed := baseType(http.DetectContentType(data[:min(len(data), 512)]))
	if sniffed != "application/octet-stream" && sniffed != "text/plain" {
		return sniffed
	}
	for _, t := range []string{baseType(header), baseType(declared), baseType(mime.TypeByExtension(path.Ext(name)))} {
		if t != "" && t != "application/octet-stream" {
			return t
		}
	}
	if sniffed == "text/plain" && bytes.IndexByte(data, 0) < 0 {
		return sniffed
	}
	return "application/octet-stream"
}

// baseType returns the media type of a Content-Type value, lower case,
// or "".
func baseType(v string) string {
	if v == "" {
		return ""
	}
	t, _, err := mime.ParseMediaType(v)
	if err != nil {
		return ""
	}
	return t
}

// fileName picks the file's name: the declared one, the response's
// Content-Disposition, or the last element of the URL path; see cleanName.
func fileName(src Source, resp *http.Response) string {
	if n := cleanName(src.Name); n != "" {
		return n
	}
	if _, params, err := mime.ParseMediaType(resp.Header.Get("Content-Disposition")); err == nil {
		if n := cleanName(params["filename"]); n != "" {
			return n
		}
	}
	if u, err := url.Parse(src.URL); err == nil {
		if n := cleanName(u.Path); n != "" {
			return n
		}
	}
	return "file"
}

// cleanName keeps the last element of a slash or backslash separated
// name, without control characters, or returns "" if nothing usable is
// left ("", ".", "..").
func cleanName(name string) string {
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	name = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r == utf8.RuneError {
			return -1
		}
		return r
	}, name)
	name = strings.TrimSpace(name)
	if name == "." || name == ".." {
		return ""
	}
	return name
}

// redact keeps the scheme, host and path of a URL: query strings and user
// information may carry credentials.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(invalid URL)"
	}
	return (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}).String()
}

// stripURL drops the URL (which may carry credentials) from the errors
// of net/http.
func stripURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
