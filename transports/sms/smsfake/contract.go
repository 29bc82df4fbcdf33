package smsfake

import (
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// SpecFile is the name of Twilio's official OpenAPI description of the
// 2010-04-01 API, kept in the project's shared/specs folder.
const SpecFile = "twilio_api_v2010.json"

// FindSpec looks for shared/specs/twilio_api_v2010.json in dir and each
// of its parents (the project's shared folder sits beside the
// repository), or returns $XGATE_TWILIO_SPEC when set.
func FindSpec(dir string) (string, error) {
	if p := os.Getenv("XGATE_TWILIO_SPEC"); p != "" {
		return p, nil
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for {
		p := filepath.Join(dir, "shared", "specs", SpecFile)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("smsfake: %s not found in shared/specs of any parent directory (set XGATE_TWILIO_SPEC)", SpecFile)
		}
		dir = parent
	}
}

// Contract checks requests against an OpenAPI 3 description: the path
// template, the method, authentication, the content type and every form
// or query parameter (name, required, type, enum, pattern, length,
// format). It covers what Twilio's description uses; it is not a general
// OpenAPI validator. A Contract is immutable and safe for concurrent use.
type Contract struct {
	schemas map[string]*schema
	paths   []pathSpec
	global  []map[string][]string
}

type pathSpec struct {
	template string
	segments []string
	ops      map[string]*operation
}

type operation struct {
	Security    *[]map[string][]string `json:"security"`
	Parameters  []parameter            `json:"parameters"`
	RequestBody *struct {
		Content map[string]struct {
			Schema *schema `json:"schema"`
		} `json:"content"`
	} `json:"requestBody"`
}

type parameter struct {
	Name     string  `json:"name"`
	In       string  `json:"in"`
	Required bool    `json:"required"`
	Schema   *schema `json:"schema"`
}

type schema struct {
	Ref        string             `json:"$ref"`
	Type       string             `json:"type"`
	Format     string             `json:"format"`
	Enum       []string           `json:"enum"`
	Pattern    string             `json:"pattern"`
	MinLength  *int               `json:"minLength"`
	MaxLength  *int               `json:"maxLength"`
	Properties map[string]*schema `json:"properties"`
	Required   []string           `json:"required"`
	Items      *schema            `json:"items"`
	XTwilio    *struct {
		IgnoreFormat bool `json:"ignoreFormat"`
	} `json:"x-twilio"`
}

// LoadContract reads an OpenAPI description in JSON.
func LoadContract(path string) (*Contract, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("smsfake: load contract: %w", err)
	}
	var doc struct {
		Paths      map[string]map[string]json.RawMessage `json:"paths"`
		Security   []map[string][]string                 `json:"security"`
		Components struct {
			Schemas map[string]*schema `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("smsfake: parse contract %s: %w", path, err)
	}
	c := &Contract{schemas: doc.Components.Schemas, global: doc.Security}
	for tpl, item := range doc.Paths {
		ps := pathSpec{template: tpl, segments: strings.Split(tpl, "/"), ops: map[string]*operation{}}
		for method, raw := range item {
			switch method {
			case "get", "post", "put", "delete", "patch":
				var op operation
				if err := json.Unmarshal(raw, &op); err != nil {
					return nil, fmt.Errorf("smsfake: parse %s %s: %w", method, tpl, err)
				}
				ps.ops[strings.ToUpper(method)] = &op
			}
		}
		c.paths = append(c.paths, ps)
	}
	if len(c.paths) == 0 {
		return nil, errors.New("smsfake: contract has no paths")
	}
	return c, nil
}

// Check returns every way r (whose body was already parsed into form,
// for form-encoded requests) departs from the description; nil when it
// conforms.
func (c *Contract) Check(r *http.Request, form url.Values) []string {
	ps, params := c.match(r.URL.Path)
	if ps == nil {
		return []string{fmt.Sprintf("%s %s: no such path in the API description", r.Method, r.URL.Path)}
	}
	op := ps.ops[r.Method]
	if op == nil {
		return []string{fmt.Sprintf("%s %s: method not allowed on %s", r.Method, r.URL.Path, ps.template)}
	}
	where := r.Method + " " + ps.template
	var bad []string
	security := c.global
	if op.Security != nil {
		security = *op.Security
	}
	if len(security) > 0 {
		if _, _, ok := r.BasicAuth(); !ok {
			bad = append(bad, where+": no HTTP Basic credentials")
		}
	}
	query := r.URL.Query()
	known := map[string]bool{}
	for _, p := range op.Parameters {
		switch p.In {
		case "path":
			bad = append(bad, c.value(where, "path parameter "+p.Name, p.Schema, params[p.Name])...)
		case "query":
			known[p.Name] = true
			if vs, ok := query[p.Name]; ok {
				for _, v := range vs {
					bad = append(bad, c.value(where, "query parameter "+p.Name, p.Schema, v)...)
				}
			} else if p.Required {
				bad = append(bad, fmt.Sprintf("%s: required query parameter %s missing", where, p.Name))
			}
		}
	}
	for name := range query {
		if !known[name] {
			bad = append(bad, fmt.Sprintf("%s: unknown query parameter %s", where, name))
		}
	}
	if op.RequestBody == nil {
		if r.Method == http.MethodPost && len(form) > 0 {
			bad = append(bad, where+": body given but none is described")
		}
		return bad
	}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	content, ok := op.RequestBody.Content[ct]
	if !ok {
		return append(bad, fmt.Sprintf("%s: content type %q not accepted", where, ct))
	}
	return append(bad, c.form(where, content.Schema, form)...)
}

// match finds the path template r's path fits and its path parameters.
func (c *Contract) match(path string) (*pathSpec, map[string]string) {
	segs := strings.Split(path, "/")
	for i := range c.paths {
		ps := &c.paths[i]
		if len(ps.segments) != len(segs) {
			continue
		}
		params := map[string]string{}
		ok := true
		for j, tseg := range ps.segments {
			switch {
			case tseg == segs[j]:
			case strings.HasPrefix(tseg, "{") && strings.Contains(tseg, "}") && segs[j] != "":
				// "{Sid}.json": a parameter followed by a literal suffix.
				name, suffix, _ := strings.Cut(tseg[1:], "}")
				if !strings.HasSuffix(segs[j], suffix) || len(segs[j]) == len(suffix) {
					ok = false
				}
				params[name] = strings.TrimSuffix(segs[j], suffix)
			default:
				ok = false
			}
			if !ok {
				break
			}
		}
		if ok {
			return ps, params
		}
	}
	return nil, nil
}

// form checks form parameters against an object schema.
func (c *Contract) form(where string, s *schema, form url.Values) []string {
	s = c.resolve(s)
	if s == nil {
		return nil
	}
	var bad []string
	for _, name := range s.Required {
		if _, ok := form[name]; !ok {
			bad = append(bad, fmt.Sprintf("%s: required parameter %s missing", where, name))
		}
	}
	for name, values := range form {
		prop := c.resolve(s.Properties[name])
		if prop == nil {
			bad = append(bad, fmt.Sprintf("%s: unknown parameter %s", where, name))
			continue
		}
		if prop.Type == "array" {
			for _, v := range values {
				bad = append(bad, c.value(where, "parameter "+name, prop.Items, v)...)
			}
			continue
		}
		if len(values) != 1 {
			bad = append(bad, fmt.Sprintf("%s: parameter %s given %d times", where, name, len(values)))
		}
		for _, v := range values {
			bad = append(bad, c.value(where, "parameter "+name, prop, v)...)
		}
	}
	return bad
}

// value checks one scalar value against its schema.
func (c *Contract) value(where, what string, s *schema, v string) []string {
	s = c.resolve(s)
	if s == nil {
		return nil
	}
	fail := func(format string, args ...any) []string {
		return []string{fmt.Sprintf("%s: %s %q: ", where, what, v) + fmt.Sprintf(format, args...)}
	}
	switch s.Type {
	case "integer":
		if _, err := strconv.ParseInt(v, 10, 64); err != nil {
			return fail("not an integer")
		}
	case "number":
		if _, err := strconv.ParseFloat(v, 64); err != nil {
			return fail("not a number")
		}
	case "boolean":
		if v != "true" && v != "false" {
			return fail("not a boolean")
		}
	}
	if len(s.Enum) > 0 && !slices.Contains(s.Enum, v) {
		return fail("not one of %v", s.Enum)
	}
	if s.MinLength != nil && len([]rune(v)) < *s.MinLength {
		return fail("shorter than %d", *s.MinLength)
	}
	if s.MaxLength != nil && len([]rune(v)) > *s.MaxLength {
		return fail("longer than %d", *s.MaxLength)
	}
	if s.Pattern != "" {
		re, err := regexp.Compile(s.Pattern)
		if err == nil && !re.MatchString(v) {
			return fail("does not match %s", s.Pattern)
		}
	}
	ignoreFormat := s.XTwilio != nil && s.XTwilio.IgnoreFormat
	if s.Format == "uri" && !ignoreFormat {
		u, err := url.Parse(v)
		if err != nil || u.Scheme == "" || u.Host == "" {
			return fail("not an absolute URI")
		}
	}
	return nil
}

func (c *Contract) resolve(s *schema) *schema {
	for i := 0; s != nil && s.Ref != "" && i < 8; i++ {
		s = c.schemas[strings.TrimPrefix(s.Ref, "#/components/schemas/")]
	}
	return s
}
