package discordfake

import (
	"net/http"
	"net/url"
	"time"
)

// HTTPClient returns an HTTP client that sends every request to the fake,
// whatever its scheme and host, keeping the path and query: set it as a
// discordgo Session's Client and the package's https://discord.com/api/v9/…
// endpoints reach the fake unchanged. It does not touch discordgo's globals.
func (s *Server) HTTPClient() *http.Client {
	base, _ := url.Parse(s.base)
	return &http.Client{Transport: redirect{base: base}, Timeout: 30 * time.Second}
}

// redirect is a RoundTripper that rewrites requests to one base URL.
type redirect struct{ base *url.URL }

// RoundTrip sends req to the base URL with its path and query.
func (r redirect) RoundTrip(req *http.Request) (*http.Response, error) {
	out := req.Clone(req.Context())
	out.URL.Scheme, out.URL.Host, out.Host = r.base.Scheme, r.base.Host, r.base.Host
	return http.DefaultTransport.RoundTrip(out)
}
