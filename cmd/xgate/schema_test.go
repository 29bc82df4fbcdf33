package main

import (
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"strings"
	"testing"

	"github.com/xgate-im/xgate/bridge"
)

// TestTransportKinds checks every row of the real transport table: unique
// networks, options that are structs whose keys do not clash with the
// common keys, and a document type that builds.
func TestTransportKinds(t *testing.T) {
	seen := map[string]bool{}
	for _, k := range transportKinds {
		if seen[k.network] {
			t.Errorf("network %s has two rows", k.network)
		}
		seen[k.network] = true
		if k.network != strings.ToLower(k.network) || k.validate == nil || k.newTransport == nil {
			t.Errorf("row %s is incomplete or not lowercase", k.network)
		}
		if _, err := flatten(reflect.TypeFor[instanceConfig](), k.options); err != nil {
			t.Errorf("%s: %v", k.network, err)
		}
	}
	if _, err := buildSchema(transportKinds); err != nil {
		t.Fatal(err)
	}
	if _, err := buildSchema(testKinds()); err != nil {
		t.Fatal(err)
	}
}

type clashing struct {
	Domain string `toml:"DOMAIN"`
}

func (*clashing) Validate() error { return nil }

type twice struct {
	A string `toml:"a"`
	B string `toml:"A"`
}

type embedsPointer struct {
	*testEmbedded
}

type skips struct {
	Keep    string       `toml:"keep"`
	Skip    string       `toml:"-"`
	private string       // unexported fields are not keys
	Named   testEmbedded `toml:"named"`
}

func TestTomlFields(t *testing.T) {
	cases := []struct {
		typ     reflect.Type
		want    string // keys joined by commas
		wantErr string
	}{
		{reflect.TypeFor[testOptions](), "token,rate,timeout,Region,endpoint", ""},
		{reflect.TypeFor[skips](), "keep,named", ""},
		{reflect.TypeFor[twice](), "", `key "A" is declared twice`},
		{reflect.TypeFor[embedsPointer](), "", "embedded pointer"},
	}
	for _, tc := range cases {
		t.Run(tc.typ.Name(), func(t *testing.T) {
			fields, err := tomlFields(tc.typ)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var keys []string
			for _, f := range fields {
				keys = append(keys, f.key)
			}
			if got := strings.Join(keys, ","); got != tc.want {
				t.Errorf("keys %s, want %s", got, tc.want)
			}
		})
	}
}

func TestFlattenClash(t *testing.T) {
	_, err := flatten(reflect.TypeFor[instanceConfig](), reflect.TypeFor[clashing]())
	if !errors.Is(err, errKeyClash) {
		t.Fatalf("got %v, want errKeyClash", err)
	}
	kinds := []transportKind{transportRow("slack", func(*instance, *clashing, *slog.Logger) (bridge.Transport, error) { return nil, nil })}
	if _, err := parseConfig(cfgName, []byte(minimal), kinds); err == nil || !strings.Contains(err.Error(), "transport table: transport slack") {
		t.Fatalf("parse with a clashing row: %v", err)
	}
}

func TestFlattenSplit(t *testing.T) {
	fs, err := flatten(reflect.TypeFor[instanceConfig](), reflect.TypeFor[testOptions]())
	if err != nil {
		t.Fatal(err)
	}
	v := reflect.New(fs.typ).Elem()
	set := func(key string, x any) {
		for i := range fs.typ.NumField() {
			if tomlName(fs.typ.Field(i)) == key {
				v.Field(i).Set(reflect.ValueOf(x))
				return
			}
		}
		t.Fatalf("no key %s", key)
	}
	set("name", "n")
	set("domain", "d.org")
	set("allow", []string{"*"})
	set("token", "tok")
	set("endpoint", "http://e") // through the unexported embedded struct
	set("Region", "eu")
	parts := fs.split(v)
	ic := parts[0].Interface().(*instanceConfig)
	o := parts[1].Interface().(*testOptions)
	if ic.Name != "n" || ic.Domain != "d.org" || len(ic.Allow) != 1 {
		t.Errorf("common: %+v", ic)
	}
	if o.Token != "tok" || o.Endpoint != "http://e" || o.Region != "eu" {
		t.Errorf("options: %+v", o)
	}
}

func TestKeysAt(t *testing.T) {
	s, err := buildSchema(testKinds())
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		path []string
		want string // a key that must be there, or "" for none at all
	}{
		{nil, "store"},
		{[]string{"log"}, "format"},
		{[]string{"slack"}, "secret_env"},
		{[]string{"slack"}, "rate"},
		{[]string{"SLACK", "rate"}, "per_second"},
		{[]string{"discord"}, ""}, // not in the test table: loosely typed
		{[]string{"nope"}, ""},
		{[]string{"log", "level"}, ""}, // a string, not a table
	}
	for _, tc := range cases {
		keys := s.keysAt(tc.path)
		if tc.want == "" {
			if keys != nil {
				t.Errorf("keysAt(%q) = %q, want none", tc.path, keys)
			}
			continue
		}
		if !strings.Contains(","+strings.Join(keys, ",")+",", ","+tc.want+",") {
			t.Errorf("keysAt(%q) = %q, lacks %s", tc.path, keys, tc.want)
		}
	}
}

func TestPositions(t *testing.T) {
	doc := `top = 1
[log]
level = "x"
[[slack]]
name = "a"
rate.per_second = 2
[slack.sub]
z = 1
[[slack]]
name = "b"
inline = {p = 1, q = {r = 2}}
list = ["a", "b"]
"odd key" = 1
[[slack.nested]]
k = 1
[[slack.nested]]
k = 2
[[discord]]
x = 1
tables = [{a = 1}, {a = 2}]
`
	pos := findPositions([]byte(doc))
	cases := map[string]string{
		"top":                      "1:1",
		"log":                      "2:2",
		"log.level":                "3:1",
		"slack":                    "4:3",
		"slack[0]":                 "4:3",
		"slack[0].name":            "5:1",
		"slack[0].rate.per_second": "6:1",
		"slack[0].sub":             "7:2",
		"slack[0].sub.z":           "8:1",
		"slack[1]":                 "9:3",
		"slack[1].name":            "10:1",
		"slack[1].inline.p":        "11:11",
		"slack[1].inline.q.r":      "11:23",
		"slack[1].list[1]":         "12:14",
		`slack[1]."odd key"`:       "13:1",
		"slack[1].nested[0].k":     "15:1",
		"slack[1].nested[1].k":     "17:1",
		"discord[0].x":             "19:1",
		"discord[0].tables[1].a":   "20:21",
	}
	for path, want := range cases {
		p, ok := pos[path]
		if got := fmt.Sprintf("%d:%d", p.line, p.col); !ok || got != want {
			t.Errorf("%s at %s (found %v), want %s", path, got, ok, want)
		}
	}
	if p, ok := pos.lookup("slack[1].domain"); !ok || p.line != 9 {
		t.Errorf("lookup of a missing key gives %v %v, want its table's line 9", p, ok)
	}
	if _, ok := pos.lookup("nothing.here"); ok {
		t.Error("lookup of an unknown path succeeded")
	}
	// A document that does not parse keeps what came before the error.
	if pos := findPositions([]byte("a = 1\n[b\n")); pos["a"] != (position{1, 1}) {
		t.Errorf("partial positions %v", pos)
	}
}

// FuzzPositions checks that findPositions never panics.
func FuzzPositions(f *testing.F) {
	f.Add("[[a]]\nb = 1\n[a.c]\nd = [{e = 1}]\n")
	f.Add("x = {y = [1, {z = 2}]}\n[[p.q]]\n[[p.q]]\n")
	f.Fuzz(func(t *testing.T, doc string) {
		pos := findPositions([]byte(doc))
		for path := range pos {
			if _, ok := pos.lookup(path); !ok {
				t.Errorf("lookup(%q) failed", path)
			}
		}
	})
}
