package attach

import (
	"net/http"
	"strings"
	"testing"
)

// FuzzFileNameAndMIME feeds arbitrary names, headers and content to the
// name and type detection: a name is never empty and never a path, a type
// is a bare media type.
func FuzzFileNameAndMIME(f *testing.F) {
	f.Add("", `attachment; filename="../report.pdf"`, "http://h/a/b.png?x=1", "image/png; q=1", "\x89PNG\r\n\x1a\n")
	f.Add("..", `attachment; filename="/"`, "http://h/", "", "")
	f.Add(" .. ", `attachment; filename=" . "`, "http://h/ ..", "", "")
	f.Add("a\\b\x00c", "inline; filename*=UTF-8''%e2%82%ac.txt", "%zz", "bad;;", "plain")
	f.Fuzz(func(t *testing.T, name, disposition, rawURL, header, data string) {
		resp := &http.Response{Header: http.Header{"Content-Disposition": {disposition}}}
		n := fileName(Source{URL: rawURL, Name: name}, resp)
		if n == "" || strings.ContainsAny(n, "/\\\x00") || strings.TrimSpace(n) != n || n == "." || n == ".." {
			t.Fatalf("name %q from %q, %q, %q", n, name, disposition, rawURL)
		}
		m := detectMIME([]byte(data), header, header, n)
		if m == "" || strings.ContainsAny(m, "; ") {
			t.Fatalf("type %q from %q", m, header)
		}
	})
}
