package confcheck

import (
	"errors"
	"strings"
	"testing"
)

var errKind = errors.New("bad config")

func TestProblems(t *testing.T) {
	t.Setenv("CONFCHECK_TOKEN", "from-env")
	tests := []struct {
		name  string
		check func(p *Problems)
		want  []string // substrings, one per problem, in order
	}{
		{"nothing wrong", func(p *Problems) {
			p.HTTPURL("u", "https://example.org/x", true, "")
			v := ""
			p.BaseURL("base", &v, "http://127.0.0.1:1/api", true)
			if v != "http://127.0.0.1:1/api/" {
				t.Errorf("BaseURL = %q, want the default with a trailing slash", v)
			}
			if got := p.Secret("token", "", "", "CONFCHECK_TOKEN", true); got != "from-env" {
				t.Errorf("Secret = %q", got)
			}
			r, b := 0.0, 0
			p.Rate("rate", &r, 5, 1000, "messages")
			p.Burst("burst", &b, 7, 1000)
			if r != 5 || b != 7 {
				t.Errorf("defaults not applied: %g %d", r, b)
			}
		}, nil},
		{"urls", func(p *Problems) {
			p.HTTPURL("a", "ftp://example.org", false, "")
			p.HTTPURL("b", "https://example.org/?q=1", true, " without query (hint)")
			p.HTTPURL("c", "https://example.org/?q=1", false, "")
			p.HTTPURL("d", "", false, "")
		}, []string{`a: "ftp://example.org" is not an http(s) URL`, `b: "https://example.org/?q=1" is not an http(s) URL without query (hint)`, `d: "" is not an http(s) URL`}},
		{"secrets", func(p *Problems) {
			if got := p.Secret("required", "", "", "", true); got != "" {
				t.Errorf("missing secret gave %q", got)
			}
			p.Secret("optional", "", "", "", false)
			p.Secret("both", "x", "", "CONFCHECK_TOKEN", false)
		}, []string{"required: missing", "both: set only one"}},
		{"rates", func(p *Problems) {
			r, b := -1.0, 1001
			p.Rate("post_rate", &r, 5, 1000, "messages")
			p.Burst("post_burst", &b, 7, 1000)
		}, []string{"post_rate: -1 is not a rate between 0 and 1000 messages per second", "post_burst: 1001 is not between 1 and 1000"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var p Problems
			tt.check(&p)
			err := p.Err(errKind)
			if len(tt.want) == 0 {
				if err != nil || !p.Empty() {
					t.Fatalf("Err = %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, errKind) {
				t.Fatalf("Err = %v, does not match its kind", err)
			}
			var list interface{ Unwrap() []error }
			if !errors.As(err, &list) || len(list.Unwrap()) != len(tt.want) {
				t.Fatalf("problems = %v, want %d", err, len(tt.want))
			}
			for i, w := range tt.want {
				if got := list.Unwrap()[i].Error(); !strings.Contains(got, w) {
					t.Errorf("problem %d = %q, want it to contain %q", i, got, w)
				}
			}
		})
	}
}
