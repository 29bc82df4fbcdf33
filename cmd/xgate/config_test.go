package main

import (
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/xgate-im/xgate/bridge"
	"github.com/xgate-im/xgate/xmpp"
)

const cfgName = "/etc/xgate/config.toml"

// minimal is the least a valid file holds.
const minimal = "[store]\nkey_env = \"XGATE_TEST_KEY\"\n"

// slackInstance is a valid [[slack]] table for the test kinds.
const slackInstance = "[[slack]]\ndomain = \"slack.example.org\"\nsecret_env = \"XGATE_TEST_SECRET\"\n"

func TestParseConfigValid(t *testing.T) {
	full := `
[log]
level = "debug"
format = "json"

[store]
path = "data/xgate.db"
key_file = "store.key"
message_retention = "48h"

[admin]
listen = "[::1]:9000"
admins = ["Admin@Example.org"]

[access]
allow = ["example.org", "*", "bob@example.net"]

[runtime]
adaptive_procs = false

[xmpp]
server = "10.0.0.2:5347"
max_stanza_bytes = 100000
keepalive = "1m"
ping_timeout = "20s"
replay_confirmed = "0s"
send_queue = 10
min_backoff = "100ms"
max_backoff = "5s"
upload_service = "upload.example.org"
upload_max_size = 1000000

[[slack]]
domain = "slack.example.org"
secret = "s3cret"
token = "xoxb-1"
Region = "eu"
endpoint = "http://localhost"
timeout = "3s"
rate.per_second = 5

[[slack]]
name = "work"
domain = "work.example.org"
secret_file = "work.secret"
server = "127.0.0.1:5348"
delivery_timeout = "1h"
allow = []
[slack.rate]
per_second = 7
`
	cases := []struct {
		name  string
		doc   string
		check func(t *testing.T, c *config)
	}{
		{"defaults", minimal, func(t *testing.T, c *config) {
			if c.logLevel != slog.LevelInfo || c.logJSON {
				t.Errorf("log: %v json=%v", c.logLevel, c.logJSON)
			}
			if c.storePath != defaultStorePath || c.retention != defaultRetention || c.keyEnv != "XGATE_TEST_KEY" {
				t.Errorf("store: %q %v %q", c.storePath, c.retention, c.keyEnv)
			}
			if c.adminListen != "" || c.backupDir != "/var/lib/xgate/backups" {
				t.Errorf("admin: %q %q", c.adminListen, c.backupDir)
			}
			if !c.adaptiveProcs {
				t.Error("runtime.adaptive_procs is off by default")
			}
			if len(c.instances) != 0 || !slices.ContainsFunc(c.warnings, func(w string) bool { return strings.Contains(w, "no transports") }) {
				t.Errorf("instances %d, warnings %q", len(c.instances), c.warnings)
			}
		}},
		{"full", full, func(t *testing.T, c *config) {
			if c.logLevel != slog.LevelDebug || !c.logJSON {
				t.Errorf("log: %v json=%v", c.logLevel, c.logJSON)
			}
			if c.adaptiveProcs {
				t.Error("runtime.adaptive_procs = false ignored")
			}
			if c.storePath != "/etc/xgate/data/xgate.db" || c.keyFile != "/etc/xgate/store.key" || c.retention != 48*time.Hour {
				t.Errorf("store: %q %q %v", c.storePath, c.keyFile, c.retention)
			}
			if c.adminListen != "[::1]:9000" || c.backupDir != "/etc/xgate/data/backups" || !slices.Equal(c.admins, []string{"admin@example.org"}) {
				t.Errorf("admin: %q %q %q", c.adminListen, c.backupDir, c.admins)
			}
			if len(c.instances) != 2 {
				t.Fatalf("%d instances", len(c.instances))
			}
			a, b := c.instances[0], c.instances[1]
			if a.Name != "slack" || a.path != "slack[0]" || a.component.Domain != "slack.example.org" || a.component.Addr != "10.0.0.2:5347" {
				t.Errorf("first: %+v", a)
			}
			if a.component.KeepAlive != time.Minute || a.component.PingTimeout != 20*time.Second || a.component.SendQueue != 10 ||
				a.component.MinBackoff != 100*time.Millisecond || a.component.MaxBackoff != 5*time.Second || a.component.Limits.MaxStanzaBytes != 100000 ||
				a.component.ReplayConfirmed >= 0 {
				t.Errorf("component: %+v", a.component)
			}
			if c.upload != (bridge.UploadConfig{Service: "upload.example.org", MaxSize: 1000000}) {
				t.Errorf("upload: %+v", c.upload)
			}
			if a.deliveryTimeout != defaultDeliveryTimeout || !slices.Equal(a.allow, []string{"example.org", "*", "bob@example.net"}) || a.secretSource != "the config file" {
				t.Errorf("first: %v %q %q", a.deliveryTimeout, a.allow, a.secretSource)
			}
			o := a.options.(*testOptions)
			if o.Token != "xoxb-1" || o.Region != "eu" || o.Endpoint != "http://localhost" || o.Timeout.d != 3*time.Second || o.Rate.PerSecond != 5 {
				t.Errorf("first options: %+v", o)
			}
			if b.Name != "work" || b.component.Addr != "127.0.0.1:5348" || b.deliveryTimeout != time.Hour || len(b.allow) != 0 || b.secretSource != "file /etc/xgate/work.secret" {
				t.Errorf("second: %+v", b)
			}
			if o := b.options.(*testOptions); o.Rate.PerSecond != 7 || o.Token != "" {
				t.Errorf("second options: %+v", o)
			}
			if !slices.ContainsFunc(c.warnings, func(w string) bool { return strings.HasPrefix(w, "slack[1].allow: is empty") }) {
				t.Errorf("warnings %q", c.warnings)
			}
		}},
		{"loopback names", minimal + "[admin]\nlisten = \"localhost:0\"\n", func(t *testing.T, c *config) {
			if c.adminListen != "localhost:0" {
				t.Errorf("listen %q", c.adminListen)
			}
		}},
		{"remote admin allowed", minimal + "[admin]\nlisten = \"0.0.0.0:8088\"\nallow_remote = true\n", nil},
		{"case-insensitive keys", minimal + "[LOG]\nLevel = \"warn\"\n", func(t *testing.T, c *config) {
			if c.logLevel != slog.LevelWarn {
				t.Errorf("level %v", c.logLevel)
			}
		}},
		{"inline instances", "slack = [{domain = \"a.example.org\", secret = \"x\", rate = {per_second = 2}}]\n" + minimal, func(t *testing.T, c *config) {
			if len(c.instances) != 1 || c.instances[0].options.(*testOptions).Rate.PerSecond != 2 {
				t.Errorf("instances %+v", c.instances)
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := parseConfig(cfgName, []byte(tc.doc), testKinds())
			if err != nil {
				t.Fatal(err)
			}
			if tc.check != nil {
				tc.check(t, c)
			}
		})
	}
}

func TestParseConfigErrors(t *testing.T) {
	cases := []struct {
		name  string
		doc   string
		kinds []transportKind // testKinds() when nil
		want  []string        // substrings of the error
	}{
		{"syntax", "[log\n", nil, []string{cfgName + ":1:5: expected ']'"}},
		{"unknown key", minimal + "[log]\nlevl = \"x\"\n", nil,
			[]string{cfgName + `:4:1: unknown key log.levl (did you mean "level"?)`, "4| levl", "~~~~"}},
		{"unknown key in instance", minimal + slackInstance + "tokn = \"x\"\n", nil,
			[]string{cfgName + `:6:1: unknown key slack.tokn (did you mean "token"?)`}},
		{"unknown nested key", minimal + slackInstance + "[slack.rate]\nper_secnd = 1\n", nil,
			[]string{`:7:1: unknown key slack.rate.per_secnd (did you mean "per_second"?)`}},
		{"unknown table", minimal + "[stor]\n", nil, []string{`:3:2: unknown table stor (did you mean "store"?)`}},
		{"unknown network", minimal + "[[matrix]]\ndomain = \"m.example.org\"\n", nil, []string{`:3:3: unknown table matrix`}},
		{"several unknown keys", minimal + "[log]\nfoo = 1\nbar = 2\n", nil, []string{"2 problems", ":4:1: unknown key log.foo", ":5:1: unknown key log.bar"}},
		{"wrong type", minimal + "[xmpp]\nsend_queue = \"many\"\n", nil,
			[]string{cfgName + ":4:14: xmpp.send_queue: wrong type: expected an integer, found a string"}},
		{"wrong type string", minimal + "[log]\nlevel = 3\n", nil, []string{":4:9: log.level: wrong type: expected a string, found an integer"}},
		{"wrong type array", minimal + "[access]\nallow = \"example.org\"\n", nil, []string{":4:9: access.allow: wrong type: expected an array of strings, found a string"}},
		{"negative user rate", minimal + "[access]\nuser_rate = -1\n", nil, []string{`access.user_rate: -1 is negative`}},
		{"wrong type section", "store = 1\n", nil, []string{":1:9: store: wrong type: expected a table, found an integer"}},
		{"wrong type network", "slack = 1\n" + minimal, nil, []string{":1:9: slack: wrong type: expected an array of tables, found an integer"}},
		{"wrong type in options", minimal + slackInstance + "rate.per_second = \"x\"\n", nil,
			[]string{":6:19: slack.rate.per_second: wrong type: expected an integer, found a string"}},
		{"text unmarshaler fed an integer", minimal + slackInstance + "timeout = 5\n", nil, []string{cfgName + `: timeout: "5" is not a duration`}},
		{"text unmarshaler", minimal + slackInstance + "timeout = \"soon\"\n", nil, []string{`:6:11: slack.timeout: timeout: "soon" is not a duration`}},
		{"bad duration", "[store]\nkey_env = \"K\"\nmessage_retention = \"30d\"\n", nil,
			[]string{cfgName + `:3:1: store.message_retention: "30d" is not a duration`}},
		{"negative duration", minimal + "[xmpp]\nkeepalive = \"-1s\"\n", nil, []string{`:4:1: xmpp.keepalive: must be positive`}},
		{"replay_confirmed range", minimal + "[xmpp]\nreplay_confirmed = \"-1s\"\n", nil, []string{`xmpp.replay_confirmed: -1s is out of range (0s to 1m)`}},
		{"replay_confirmed not a duration", minimal + "[xmpp]\nreplay_confirmed = \"soon\"\n", nil, []string{`xmpp.replay_confirmed: "soon" is not a duration`}},
		{"instance duration", minimal + slackInstance + "delivery_timeout = \"1 day\"\n", nil, []string{`:6:1: slack[0].delivery_timeout: "1 day" is not a duration`}},
		{"missing domain", minimal + "[[slack]]\nsecret = \"x\"\n", nil, []string{cfgName + ":3:3: slack[0].domain: missing"}},
		{"bad domain", minimal + "[[slack]]\ndomain = \"a@b.org\"\nsecret = \"x\"\n", nil, []string{`:4:1: slack[0].domain: "a@b.org" is not a domain name`}},
		{"duplicate names", minimal + slackInstance + slackInstance[:len("[[slack]]\n")] + "domain = \"other.example.org\"\nsecret = \"x\"\n", nil,
			[]string{`:6:3: slack[1].name: instance name "slack" is already used by slack[0]`}},
		{"duplicate domains", minimal + slackInstance + "[[slack]]\nname = \"b\"\ndomain = \"SLACK.example.org\"\nsecret = \"x\"\n", nil,
			[]string{`:8:1: slack[1].domain: domain slack.example.org is already used by slack[0]`}},
		{"bad name", minimal + "[[slack]]\nname = \"a b\"\ndomain = \"x.org\"\nsecret = \"x\"\n", nil, []string{`slack[0].name: "a b" is not a valid instance name`}},
		{"no secret", minimal + "[[slack]]\ndomain = \"x.org\"\n", nil, []string{":3:3: slack[0]: no component secret"}},
		{"two secrets", minimal + "[[slack]]\ndomain = \"x.org\"\nsecret = \"a\"\nsecret_env = \"B\"\n", nil, []string{"slack[0]: set only one of secret, secret_file and secret_env"}},
		{"bad secret env", minimal + "[[slack]]\ndomain = \"x.org\"\nsecret_env = \"A-B\"\n", nil, []string{`slack[0].secret_env: "A-B" is not an environment variable name`}},
		{"bad server", minimal + slackInstance + "server = \"localhost\"\n", nil, []string{`slack[0].server: "localhost" is not host:port`}},
		{"options validate", minimal + slackInstance + "token = \"bad\"\n", nil,
			[]string{`:6:1: slack[0].token: must not be "bad"`, `:6:1: slack[0].token: really`}},
		{"both key sources", "[store]\nkey_file = \"k\"\nkey_env = \"K\"\n", nil, []string{cfgName + ":1:2: store: set only one of key_file and key_env"}},
		{"no key source", "[log]\n", nil, []string{cfgName + ": store: no store key"}},
		{"bad key env", "[store]\nkey_env = \"1X\"\n", nil, []string{`store.key_env: "1X" is not an environment variable name`}},
		{"non-loopback admin", minimal + "[admin]\nlisten = \"0.0.0.0:8088\"\n", nil, []string{":4:1: admin.listen: 0.0.0.0:8088 is not a loopback address", "allow_remote = true"}},
		{"all interfaces admin", minimal + "[admin]\nlisten = \":8088\"\n", nil, []string{"admin.listen: :8088 is not a loopback address"}},
		{"hostname admin", minimal + "[admin]\nlisten = \"example.org:8088\"\n", nil, []string{"is not a loopback address"}},
		{"bad admin port", minimal + "[admin]\nlisten = \"127.0.0.1:http\"\n", nil, []string{"admin.listen: \"127.0.0.1:http\" has no valid port"}},
		{"bad admin jid", minimal + "[admin]\nadmins = [\"ok@example.org\", \"example.org\"]\n", nil, []string{`:4:29: admin.admins[1]: "example.org" is not a bare JID`}},
		{"bad allow", minimal + "[access]\nallow = [\"a@b/c\"]\n", nil, []string{`access.allow[0]: "a@b/c" is not "*", a domain`}},
		{"bad level", minimal + "[log]\nlevel = \"loud\"\nformat = \"xml\"\n", nil, []string{`log.level: "loud" is not one of`, `log.format: "xml" is not one of text, json`}},
		{"xmpp ranges", minimal + "[xmpp]\nmax_stanza_bytes = 100\nsend_queue = -1\nmin_backoff = \"10s\"\nmax_backoff = \"1s\"\n", nil,
			[]string{"xmpp.max_stanza_bytes: 100 is out of range", "xmpp.send_queue: -1 is out of range", "xmpp.max_backoff: 1s is shorter than min_backoff (10s)"}},
		{"bad upload service", minimal + "[xmpp]\nupload_service = \"alice@example.org\"\n", nil, []string{`xmpp.upload_service: "alice@example.org" is not a domain`}},
		{"negative upload size", minimal + "[xmpp]\nupload_max_size = -1\n", nil, []string{"xmpp.upload_max_size: -1 is negative"}},
		{"not in this build", minimal + "[[sms]]\ndomain = \"sms.example.org\"\n", nil, []string{cfgName + ":3:3: sms: sms transport is not available in this build"}},
		{"empty table not in this build", minimal + slackInstance, []transportKind{}, []string{":3:3: slack: slack transport is not available in this build"}},
		{"every problem at once", "[store]\nkey_file = \"k\"\nkey_env = \"K\"\n[log]\nlevel = \"x\"\n[[slack]]\nsecret = \"x\"\n", nil,
			[]string{"3 problems", "store: set only one", "log.level", "slack[0].domain: missing"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			kinds := tc.kinds
			if kinds == nil {
				kinds = testKinds()
			}
			_, err := parseConfig(cfgName, []byte(tc.doc), kinds)
			if err == nil {
				t.Fatal("no error")
			}
			mustContain(t, err.Error(), tc.want...)
			if strings.Contains(err.Error(), "main.") || strings.Contains(err.Error(), "struct {") {
				t.Errorf("error names Go types:\n%v", err)
			}
		})
	}
}

// TestExampleConfig checks that config.example.toml parses and validates
// with the real transport table, and with a test transport once its
// [[slack]] section is uncommented.
func TestExampleConfig(t *testing.T) {
	t.Setenv("XGATE_SLACK_APP_TOKEN", "xapp-1-A1-example")
	t.Setenv("XGATE_DISCORD_BOT_TOKEN", "MTIz.example.token")
	data, err := os.ReadFile("../../config.example.toml")
	if err != nil {
		t.Fatal(err)
	}
	c, err := parseConfig("config.example.toml", data, transportKinds)
	if err != nil {
		t.Fatal(err)
	}
	if c.adminListen != "127.0.0.1:8088" || c.keyFile != "/etc/xgate/store.key" || c.retention != 720*time.Hour {
		t.Errorf("unexpected values: %+v", c)
	}
	// Every key the example documents in [xmpp] is set to its default.
	comp := validateXMPP(&checker{}, xmppSection{})
	doc := string(data)
	for _, want := range []string{
		"server = \"" + comp.Addr + "\"",
		"keepalive = \"" + shortDuration(comp.KeepAlive) + "\"",
		"ping_timeout = \"" + shortDuration(comp.PingTimeout) + "\"",
		"replay_confirmed = \"" + shortDuration(xmpp.DefaultReplayConfirmed) + "\"",
		"min_backoff = \"" + shortDuration(comp.MinBackoff) + "\"",
		"max_backoff = \"" + shortDuration(comp.MaxBackoff) + "\"",
	} {
		if !strings.Contains(doc, want) {
			t.Errorf("example lacks the default %s", want)
		}
	}

	if len(c.instances) != 2 || c.instances[0].network != "slack" || c.instances[0].component.Domain != "slack.example.org" ||
		c.instances[1].network != "discord" || c.instances[1].component.Domain != "discord.example.org" {
		t.Errorf("instances: %+v", c.instances)
	}
}

func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

func TestResolve(t *testing.T) {
	dir := t.TempDir()
	key := testKey(t)
	writeFile(t, dir, "store.key", key+"\n")
	secretFile := writeFile(t, dir, "slack.secret", "  from-file\n")
	emptyFile := writeFile(t, dir, "empty.secret", "\n")
	openKey := writeFile(t, dir, "open.key", key)
	if err := os.Chmod(openKey, 0o644); err != nil {
		t.Fatal(err)
	}
	worldSecret := writeFile(t, dir, "world.secret", "w")
	if err := os.Chmod(worldSecret, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("XGATE_TEST_KEY", key)
	t.Setenv("XGATE_TEST_SECRET", "from-env")
	t.Setenv("XGATE_EMPTY", "")
	os.Unsetenv("XGATE_UNSET")
	name := filepath.Join(dir, "config.toml")

	cases := []struct {
		name     string
		doc      string
		secret   string   // expected component secret
		source   string   // expected secret source
		want     []string // error substrings; empty means success
		wantWarn string
	}{
		{"env", minimal + slackInstance, "from-env", "env XGATE_TEST_SECRET", nil, ""},
		{"file", minimal + "[[slack]]\ndomain = \"x.org\"\nsecret_file = \"slack.secret\"\n", "from-file", "file " + secretFile, nil, ""},
		{"inline", minimal + "[[slack]]\ndomain = \"x.org\"\nsecret = \"inline\"\n", "inline", "the config file", nil, ""},
		{"key file", "[store]\nkey_file = \"store.key\"\n", "", "", nil, ""},
		{"world-readable secret", minimal + "[[slack]]\ndomain = \"x.org\"\nsecret_file = \"world.secret\"\n", "w", "file " + worldSecret, nil, "readable by everyone"},
		{"unset env", minimal + "[[slack]]\ndomain = \"x.org\"\nsecret_env = \"XGATE_UNSET\"\n", "", "", []string{":5:1: slack[0].secret_env: environment variable XGATE_UNSET is not set"}, ""},
		{"empty env", minimal + "[[slack]]\ndomain = \"x.org\"\nsecret_env = \"XGATE_EMPTY\"\n", "", "", []string{"environment variable XGATE_EMPTY is empty"}, ""},
		{"missing file", minimal + "[[slack]]\ndomain = \"x.org\"\nsecret_file = \"nope\"\n", "", "", []string{":5:1: slack[0].secret_file: open " + filepath.Join(dir, "nope")}, ""},
		{"empty file", minimal + "[[slack]]\ndomain = \"x.org\"\nsecret_file = \"empty.secret\"\n", "", "", []string{"secret_file: " + emptyFile + " is empty"}, ""},
		{"missing key file", "[store]\nkey_file = \"none.key\"\n", "", "", []string{":2:1: store.key_file: " + filepath.Join(dir, "none.key") + " does not exist", "xgate genkey"}, ""},
		{"open key file", "[store]\nkey_file = \"open.key\"\n", "", "", []string{"store.key_file: ", "chmod 600"}, ""},
		{"unset key env", "[store]\nkey_env = \"XGATE_UNSET\"\n", "", "", []string{"store.key_env: environment variable XGATE_UNSET is not set"}, ""},
		{"bad key env", "[store]\nkey_env = \"XGATE_TEST_SECRET\"\n", "", "", []string{"store.key_env: ", "malformed"}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := parseConfig(name, []byte(tc.doc), testKinds())
			if err != nil {
				t.Fatal(err)
			}
			err = c.resolve()
			if len(tc.want) > 0 {
				if err == nil {
					t.Fatal("no error")
				}
				mustContain(t, err.Error(), tc.want...)
				if strings.Contains(err.Error(), key) {
					t.Error("the error reveals the key")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.key == nil {
				t.Error("no key")
			}
			if tc.secret != "" {
				if got := c.instances[0].component.Secret; got != tc.secret {
					t.Errorf("secret %q, want %q", got, tc.secret)
				}
				if got := c.instances[0].secretSource; got != tc.source {
					t.Errorf("source %q, want %q", got, tc.source)
				}
			}
			if tc.wantWarn != "" && !slices.ContainsFunc(c.warnings, func(w string) bool { return strings.Contains(w, tc.wantWarn) }) {
				t.Errorf("warnings %q lack %q", c.warnings, tc.wantWarn)
			}
		})
	}
}

func TestEditDistance(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{{"", "", 0}, {"a", "", 1}, {"levl", "level", 1}, {"kitten", "sitting", 3}, {"abc", "abc", 0}} {
		if got := editDistance(tc.a, tc.b); got != tc.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}

// FuzzParseConfig feeds arbitrary documents to the parser and validator:
// they must return a config or an error, never panic, and an error must
// not name Go types.
func FuzzParseConfig(f *testing.F) {
	if data, err := os.ReadFile("../../config.example.toml"); err == nil {
		f.Add(string(data))
	}
	f.Add(minimal + slackInstance + "token = \"bad\"\n[slack.rate]\nper_second = 1\n")
	f.Add("slack = [{domain = \"a.org\", secret = \"x\"}]\n[store]\nkey_env=\"K\"\n")
	f.Add("[[slack]]\n[[slack.x]]\n[a.b.c]\n'q.k' = 1\n")
	f.Add("[log]\nlevel = 3\n")
	kinds := testKinds()
	f.Fuzz(func(t *testing.T, doc string) {
		c, err := parseConfig(cfgName, []byte(doc), kinds)
		if err != nil {
			if s := err.Error(); strings.Contains(s, "struct {") {
				t.Errorf("error names Go types: %s", s)
			}
			return
		}
		if c.storePath == "" || c.retention <= 0 {
			t.Errorf("defaults not applied: %+v", c)
		}
	})
}
