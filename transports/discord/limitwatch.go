package discord

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"time"
)

// Discord's global rate limit is per token: a 429 with X-RateLimit-Global
// (or X-RateLimit-Scope: global) means every route of the token must wait
// its retry_after, not only the request that got it. discordgo holds all
// buckets only when such an answer also carries X-RateLimit-Reset-After,
// which Discord's global 429s do not; and the bridge's retry waits in the
// one chat whose message got the 429. So each connection watches its own
// answers (limitWatch) and holds every request it makes until the global
// limit has passed (conn.waitHold).

// limitWatch is the HTTP transport of one connection's REST client: it
// notes the global 429s of the connection's token.
type limitWatch struct {
	base http.RoundTripper
	c    *conn
}

// RoundTrip implements http.RoundTripper.
func (w limitWatch) RoundTrip(req *http.Request) (*http.Response, error) {
	base := w.base
	if base == nil {
		base = http.DefaultTransport
	}
	resp, err := base.RoundTrip(req)
	if err != nil || resp.StatusCode != http.StatusTooManyRequests || !isGlobalLimit(resp.Header) {
		return resp, err
	}
	body, rerr := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	if rerr != nil {
		return resp, nil // discordgo reads the body again and reports the failure
	}
	w.c.holdFor(globalRetryAfter(resp.Header, body))
	return resp, nil
}

// isGlobalLimit reports whether a 429's headers name the global limit.
func isGlobalLimit(h http.Header) bool {
	return h.Get("X-RateLimit-Global") == "true" || h.Get("X-RateLimit-Scope") == "global"
}

// globalRetryAfter is how long a global 429 asks to wait: the body's
// retry_after (seconds, with a fraction), else the Retry-After header
// (whole seconds), else one second.
func globalRetryAfter(h http.Header, body []byte) time.Duration {
	var v struct {
		RetryAfter float64 `json:"retry_after"`
	}
	if json.Unmarshal(body, &v) == nil && v.RetryAfter > 0 {
		return time.Duration(v.RetryAfter * float64(time.Second))
	}
	if secs, err := strconv.ParseFloat(h.Get("Retry-After"), 64); err == nil && secs > 0 {
		return time.Duration(secs * float64(time.Second))
	}
	return time.Second
}

// holdFor holds the connection's requests for d from now (a later end
// already noted stays).
func (c *conn) holdFor(d time.Duration) {
	until := time.Now().Add(d)
	c.mu.Lock()
	if until.After(c.holdUntil) {
		c.holdUntil = until
	}
	c.mu.Unlock()
	c.log.Info("discord global rate limit; holding every request", "for", d)
}

// waitHold waits until the global limit last noted has passed, or ctx
// ends.
func (c *conn) waitHold(ctx context.Context) error {
	for {
		c.mu.Lock()
		left := time.Until(c.holdUntil)
		c.mu.Unlock()
		if left <= 0 {
			return nil
		}
		if !sleep(ctx, left) {
			return ctx.Err()
		}
	}
}
