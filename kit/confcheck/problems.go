package confcheck

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/xgate-im/xgate/kit/secret"
)

// Problems is the list of what is wrong with one configuration. The zero
// value is empty and ready to use.
type Problems struct {
	errs []error
}

// Addf records a problem; format should start with the TOML key.
func (p *Problems) Addf(format string, args ...any) {
	p.errs = append(p.errs, fmt.Errorf(format, args...))
}

// Add records err unless it is nil.
func (p *Problems) Add(err error) {
	if err != nil {
		p.errs = append(p.errs, err)
	}
}

// Empty reports whether no problem was recorded.
func (p *Problems) Empty() bool { return len(p.errs) == 0 }

// Err returns nil when nothing was recorded, else one error that matches
// kind with errors.Is and whose Unwrap gives the problems one by one, so a
// caller can show each on its own line.
func (p *Problems) Err(kind error) error {
	if len(p.errs) == 0 {
		return nil
	}
	return &listError{errs: p.errs, kind: kind}
}

// HTTPURL checks that v is an absolute http or https URL with a host and,
// when noQuery is set, no query string. Otherwise it records the problem
// "key: "v" is not an http(s) URL" followed by more (for instance
// " without query (the public URL of …)") and returns false.
func (p *Problems) HTTPURL(key, v string, noQuery bool, more string) bool {
	u, err := url.Parse(v)
	if v != "" && err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != "" && (!noQuery || u.RawQuery == "") {
		return true
	}
	p.Addf("%s: %q is not an http(s) URL%s", key, v, more)
	return false
}

// BaseURL sets *v to def when empty, checks it like HTTPURL and gives it a
// trailing slash, as API clients that join paths to it expect.
func (p *Problems) BaseURL(key string, v *string, def string, noQuery bool) {
	if *v == "" {
		*v = def
	}
	if p.HTTPURL(key, *v, noQuery, "") && !strings.HasSuffix(*v, "/") {
		*v += "/"
	}
}

// Secret reads the secret of key from its one source (the value itself,
// key_file or key_env) through kit/secret. Problems name the key and the
// source, never the value; on a problem it returns "".
func (p *Problems) Secret(key, inline, file, env string, required bool) string {
	src := secret.Source{Key: key, Inline: inline, File: file, Env: env}
	if err := src.Check(required); err != nil {
		p.Add(err)
		return ""
	}
	if !src.IsSet() {
		return ""
	}
	v, _, err := src.Read()
	if err != nil {
		p.Add(err)
		return ""
	}
	return v
}

// Rate sets *v to def when zero and records a problem when it is not
// between 0 and limit; unit names what is counted ("messages", "texts").
func (p *Problems) Rate(key string, v *float64, def, limit float64, unit string) {
	switch {
	case *v == 0:
		*v = def
	case *v < 0 || *v > limit:
		p.Addf("%s: %g is not a rate between 0 and %g %s per second", key, *v, limit, unit)
	}
}

// Burst sets *v to def when zero and records a problem when it is not
// between 1 and limit.
func (p *Problems) Burst(key string, v *int, def, limit int) {
	switch {
	case *v == 0:
		*v = def
	case *v < 0 || *v > limit:
		p.Addf("%s: %d is not between 1 and %d", key, *v, limit)
	}
}

// listError is the error of Err.
type listError struct {
	errs []error
	kind error
}

func (e *listError) Error() string        { return errors.Join(e.errs...).Error() }
func (e *listError) Unwrap() []error      { return e.errs }
func (e *listError) Is(target error) bool { return e.kind != nil && target == e.kind }
