package prosodytest

import (
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/xgate-im/xgate/xmpp"
	"github.com/xgate-im/xgate/xmpp/internal/hostproc/hostproctest"
)

var luaStringCases = []struct {
	in, want string
}{
	{"", `""`},
	{"secret", `"secret"`},
	{`a"b`, `"a\"b"`},
	{`back\slash`, `"back\\slash"`},
	{"line\nbreak", `"line\nbreak"`},
	{"cr\rtab\t", `"cr\013tab\009"`},
	{"nul\x001", `"nul\0001"`},
	{"del\x7f", `"del\127"`},
	{"]]--[[", `"]]--[["`},
	{"héllo ☃", `"héllo ☃"`},
	{"\xff\xfe", "\"\xff\xfe\""},
}

func TestLuaString(t *testing.T) {
	for _, tc := range luaStringCases {
		if got := luaString(tc.in); got != tc.want {
			t.Errorf("luaString(%q) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

// TestLuaStringWithLua checks that the real Lua interpreter reads each
// literal back as the original bytes.
func TestLuaStringWithLua(t *testing.T) {
	lua, err := exec.LookPath("lua5.4")
	if err != nil {
		t.Skip("lua5.4 not installed (it comes with prosody)")
	}
	for _, tc := range luaStringCases {
		out, err := exec.CommandContext(t.Context(), lua, "-e", "io.write("+luaString(tc.in)+")").Output()
		if err != nil {
			t.Errorf("lua on %s: %v", luaString(tc.in), err)
			continue
		}
		if string(out) != tc.in {
			t.Errorf("lua read %s as %q, want %q", luaString(tc.in), out, tc.in)
		}
	}
}

// unquoteLua decodes the subset of Lua string syntax luaString writes.
func unquoteLua(t *testing.T, lit string) string {
	t.Helper()
	if len(lit) < 2 || lit[0] != '"' || lit[len(lit)-1] != '"' {
		t.Fatalf("%q is not a double-quoted literal", lit)
	}
	body := lit[1 : len(lit)-1]
	var b strings.Builder
	for i := 0; i < len(body); i++ {
		c := body[i]
		switch {
		case c == '"' || c == '\n' || c == '\r':
			t.Fatalf("raw %q inside literal %q", c, lit)
		case c != '\\':
			b.WriteByte(c)
		case i+1 < len(body) && (body[i+1] == '\\' || body[i+1] == '"'):
			b.WriteByte(body[i+1])
			i++
		case i+1 < len(body) && body[i+1] == 'n':
			b.WriteByte('\n')
			i++
		case i+3 < len(body):
			n, err := strconv.Atoi(body[i+1 : i+4])
			if err != nil || n > 255 {
				t.Fatalf("bad escape at %d in %q", i, lit)
			}
			b.WriteByte(byte(n))
			i += 3
		default:
			t.Fatalf("dangling backslash in %q", lit)
		}
	}
	return b.String()
}

func FuzzLuaString(f *testing.F) {
	for _, tc := range luaStringCases {
		f.Add(tc.in)
	}
	f.Fuzz(func(t *testing.T, s string) {
		lit := luaString(s)
		if got := unquoteLua(t, lit); got != s {
			t.Fatalf("luaString(%q) = %s decodes to %q", s, lit, got)
		}
	})
}

func TestRenderConfig(t *testing.T) {
	p := paths{dir: "/t", config: "/t/c.lua", pidfile: "/t/p.pid", data: "/t/data", certs: "/t/certs", log: "/t/p.log"}
	pt := ports{c2s: 1001, component: 1002, http: 1003}
	for _, tc := range []struct {
		name  string
		opts  Options
		want  []string // in this order
		avoid []string
	}{
		{
			name: "defaults",
			want: []string{
				"run_as_root = true\n",
				`pidfile = "/t/p.pid"`,
				`data_path = "/t/data"`,
				`certificates = "/t/certs"`,
				`filename = "/t/p.log"`,
				`interfaces = { "127.0.0.1" }`,
				"c2s_ports = { 1001 }",
				"s2s_ports = { }",
				"component_ports = { 1002 }",
				`component_interfaces = { "127.0.0.1" }`,
				"c2s_require_encryption = false",
				"allow_unencrypted_plain_auth = true",
				`authentication = "internal_hashed"`,
				`storage = "internal"`,
				`modules_enabled = { "roster", "saslauth", "disco", "ping"`,
				`modules_disabled = { "s2s" }`,
				`VirtualHost "localhost"`,
			},
			avoid: []string{"Component", "http_default_host", `"tls"`},
		},
		{
			name: "everything",
			opts: Options{
				Host:        "example.test",
				Components:  []Component{{Domain: "gw.example.test", Secret: `s"x`}, {Domain: "sms.example.test", Secret: "y"}},
				MUC:         "rooms.example.test",
				Upload:      "files.example.test",
				Modules:     []string{"mam"},
				ExtraConfig: "c2s_timeout = 7",
			},
			want: []string{
				`"pep", "mam" }`,
				`http_default_host = "files.example.test"`,
				"c2s_timeout = 7",
				`VirtualHost "example.test"`,
				`Component "gw.example.test"`,
				`component_secret = "s\"x"`,
				`Component "sms.example.test"`,
				`component_secret = "y"`,
				`Component "rooms.example.test" "muc"`,
				"muc_room_locking = false",
				`Component "files.example.test" "http_file_share"`,
				`http_external_url = "http://127.0.0.1:1003/"`,
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := renderConfig(tc.opts, p, pt)
			at := 0
			for _, w := range tc.want {
				i := strings.Index(cfg[at:], w)
				if i < 0 {
					t.Fatalf("config lacks %q after offset %d:\n%s", w, at, cfg)
				}
				at += i + len(w)
			}
			for _, a := range tc.avoid {
				if strings.Contains(cfg, a) {
					t.Errorf("config contains %q:\n%s", a, cfg)
				}
			}
		})
	}
}

func TestMissingBinary(t *testing.T) {
	for _, tc := range []struct {
		env, bin    string
		ok          bool
		skip, fatal bool
	}{
		{env: "", bin: "/usr/bin/prosody", ok: true},
		{env: "1", bin: "/usr/bin/prosody", ok: true},
		{env: "", bin: "", skip: true},
		{env: "0", bin: "", skip: true},
		{env: "1", bin: "", fatal: true},
	} {
		t.Setenv(RequireEnv, tc.env)
		f := &hostproctest.FakeTB{TB: t}
		ok := haveBinary(f, tc.bin)
		if ok != tc.ok || (f.SkipMsg != "") != tc.skip || (f.FatalMsg != "") != tc.fatal {
			t.Errorf("env %q bin %q: ok=%v skipped=%q fatal=%q", tc.env, tc.bin, ok, f.SkipMsg, f.FatalMsg)
		}
		if tc.skip && !strings.Contains(f.SkipMsg, "apt-get install prosody") {
			t.Errorf("skip message %q does not say how to install prosody", f.SkipMsg)
		}
	}
}

func decodeElement(doc string) (*xmpp.Element, error) {
	dec := xmpp.NewDecoder(strings.NewReader("<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>"+doc), xmpp.Limits{})
	if _, err := dec.ReadHeader(); err != nil {
		return nil, err
	}
	return dec.Next()
}

func TestParseRoster(t *testing.T) {
	for _, tc := range []struct {
		doc  string
		want []RosterItem
	}{
		{`<query xmlns='jabber:iq:roster' ver='1'/>`, nil},
		{
			`<query xmlns='jabber:iq:roster'><item jid='a@b' name='A' subscription='both'><group>G</group><group>H</group></item><item name='no jid'/></query>`,
			[]RosterItem{{JID: "a@b", Name: "A", Subscription: "both", Groups: []string{"G", "H"}}},
		},
		{
			`<query xmlns='jabber:iq:roster'><item jid='x@y' ask='subscribe'/><item jid='z@y' subscription='from'/></query>`,
			[]RosterItem{{JID: "x@y", Subscription: "none", Ask: "subscribe"}, {JID: "z@y", Subscription: "from"}},
		},
	} {
		el, err := decodeElement(tc.doc)
		if err != nil {
			t.Fatal(err)
		}
		got := parseRoster(el)
		if !slices.EqualFunc(got, tc.want, func(a, b RosterItem) bool {
			return a.JID == b.JID && a.Name == b.Name && a.Subscription == b.Subscription && a.Ask == b.Ask && slices.Equal(a.Groups, b.Groups)
		}) {
			t.Errorf("parseRoster(%s) = %+v, want %+v", tc.doc, got, tc.want)
		}
	}
	if parseRoster(nil) != nil {
		t.Error("parseRoster(nil) != nil")
	}
}

func FuzzParseRoster(f *testing.F) {
	f.Add(`<query xmlns='jabber:iq:roster'><item jid='a@b' name='A' subscription='both'><group>G</group><group>H</group></item><item/></query>`)
	f.Add(`<query xmlns='jabber:iq:roster' ver='1'/>`)
	f.Add(`<query xmlns='jabber:iq:roster'><item jid='x@y' ask='subscribe'/></query>`)
	f.Fuzz(func(t *testing.T, doc string) {
		el, err := decodeElement(doc)
		if err != nil {
			return
		}
		items := parseRoster(el)
		n := 0
		for _, c := range el.Children() {
			if c.Name.Local == "item" && c.AttrValue("jid") != "" {
				n++
			}
		}
		if len(items) != n {
			t.Fatalf("%d items from %d <item jid=.../> children", len(items), n)
		}
		for _, it := range items {
			if it.JID == "" || it.Subscription == "" {
				t.Fatalf("item %+v lacks jid or subscription", it)
			}
		}
	})
}
