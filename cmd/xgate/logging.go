package main

import (
	"io"
	"log/slog"
	"strings"
)

// newLogger returns the process logger: text or JSON lines on w, from
// level up. As a last line of defence against leaking credentials, the
// value of any attribute whose key names a secret is replaced; the code
// never logs secrets in the first place.
func newLogger(w io.Writer, level slog.Leveler, json bool) *slog.Logger {
	opts := &slog.HandlerOptions{Level: level, ReplaceAttr: redactSecrets}
	if json {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// redactSecrets is a slog ReplaceAttr function hiding the values of
// attributes called like secrets.
func redactSecrets(_ []string, a slog.Attr) slog.Attr {
	k := strings.ToLower(a.Key)
	for _, s := range []string{"secret", "password", "token", "passwd"} {
		if strings.Contains(k, s) {
			return slog.String(a.Key, "[redacted]")
		}
	}
	return a
}
