package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"reflect"
	"regexp"
	"strings"
	"time"

	"github.com/pelletier/go-toml/v2"
)

// document holds the fixed sections of the configuration file. The
// [[slack]], [[discord]], ... arrays are added by buildSchema from the
// transport table. config.example.toml documents every key.
type document struct {
	Log    logSection    `toml:"log"`
	Store  storeSection  `toml:"store"`
	Admin  adminSection  `toml:"admin"`
	Access accessSection `toml:"access"`
	XMPP   xmppSection   `toml:"xmpp"`

	Webhooks webhooksSection `toml:"webhooks"`
	Runtime  runtimeSection  `toml:"runtime"`

	BridgeGroups []bridgeGroupSection `toml:"bridge_group"`
}

// logSection is [log].
type logSection struct {
	Level  string `toml:"level"`  // debug, info, warn or error
	Format string `toml:"format"` // text or json
}

// storeSection is [store].
type storeSection struct {
	Path             string `toml:"path"`
	KeyFile          string `toml:"key_file"`
	KeyEnv           string `toml:"key_env"`
	MessageRetention string `toml:"message_retention"`
}

// adminSection is [admin].
type adminSection struct {
	Listen      string   `toml:"listen"`
	AllowRemote bool     `toml:"allow_remote"`
	Admins      []string `toml:"admins"`
	BackupDir   string   `toml:"backup_dir"`
	// BackupKeep is how many online backups are kept (0: the default).
	BackupKeep int `toml:"backup_keep"`
	// The token POST /backup requires: at most one of the three.
	Token     string `toml:"token"`
	TokenFile string `toml:"token_file"`
	TokenEnv  string `toml:"token_env"`
}

// webhooksSection is [webhooks]: the listener of transports that receive
// their network's events over HTTP.
type webhooksSection struct {
	Listen string `toml:"listen"`
}

// runtimeSection is [runtime]: how the process runs.
type runtimeSection struct {
	// AdaptiveProcs: nil means the default, true.
	AdaptiveProcs *bool `toml:"adaptive_procs"`
}

// accessSection is [access].
type accessSection struct {
	Allow    []string `toml:"allow"`
	UserRate float64  `toml:"user_rate"`
}

// xmppSection is [xmpp]: defaults for every component connection.
type xmppSection struct {
	Server         string `toml:"server"`
	MaxStanzaBytes int    `toml:"max_stanza_bytes"`
	KeepAlive      string `toml:"keepalive"`
	PingTimeout    string `toml:"ping_timeout"`
	// ReplayConfirmed: see xmpp.ComponentConfig.ReplayConfirmed ("0s"
	// turns it off).
	ReplayConfirmed string `toml:"replay_confirmed"`
	SendQueue       int    `toml:"send_queue"`
	MinBackoff      string `toml:"min_backoff"`
	MaxBackoff      string `toml:"max_backoff"`
	// UploadService and UploadMaxSize: where incoming files are
	// re-hosted (XEP-0363); see bridge.UploadConfig.
	UploadService string `toml:"upload_service"`
	UploadMaxSize int64  `toml:"upload_max_size"`
}

// instanceConfig holds the keys every [[network]] table has, whatever the
// network. The transport's own keys sit in the same table; see
// transportKind for how they are added.
type instanceConfig struct {
	// Name identifies the instance and keys its data in the store. It
	// defaults to the network name and must never change once users have
	// registered.
	Name       string `toml:"name"`
	Domain     string `toml:"domain"`
	Secret     string `toml:"secret"`
	SecretFile string `toml:"secret_file"`
	SecretEnv  string `toml:"secret_env"`
	// Server overrides [xmpp].server for this instance.
	Server          string `toml:"server"`
	DeliveryTimeout string `toml:"delivery_timeout"`
	// Allow, when present (even empty), replaces [access].allow.
	Allow []string `toml:"allow"`
}

// Defaults of the options the file may leave out.
const (
	defaultLogLevel        = "info"
	defaultLogFormat       = "text"
	defaultStorePath       = "/var/lib/xgate/xgate.db"
	defaultRetention       = 30 * 24 * time.Hour
	defaultServer          = "127.0.0.1:5347"
	defaultMaxStanzaBytes  = 512 << 10
	defaultKeepAlive       = 30 * time.Second
	defaultPingTimeout     = 15 * time.Second
	defaultSendQueue       = 1024
	defaultMinBackoff      = 50 * time.Millisecond
	defaultMaxBackoff      = 1500 * time.Millisecond
	defaultDeliveryTimeout = 24 * time.Hour
	// defaultUserRate is [access] user_rate: stanzas a second each allowed
	// user may send (bursts of 4×), far more than a person sends.
	defaultUserRate = 50
	// defaultConfigPath is read when no -c flag is given.
	defaultConfigPath = "/etc/xgate/config.toml"
)

// configError is an invalid configuration: every problem found, each one
// line (decode errors add a few lines of context).
type configError struct {
	file     string
	problems []string
}

func (e *configError) Error() string {
	if len(e.problems) == 1 {
		return e.problems[0]
	}
	return fmt.Sprintf("%s: %d problems:\n%s", e.file, len(e.problems), strings.Join(e.problems, "\n"))
}

// readConfig reads, decodes and validates a configuration file. It does not
// read secrets or the store key; see config.resolve.
func readConfig(path string, kinds []transportKind) (*config, error) {
	data, err := readConfigFile(path)
	if err != nil {
		return nil, err
	}
	return parseConfig(path, data, kinds)
}

// loadConfigFile reads, decodes, validates and resolves a configuration
// file, reporting every problem of validation and resolution at once,
// each at the line of the key it is about, in the order of the file. A
// document that does not decode stops at the decoding errors.
func loadConfigFile(path string, kinds []transportKind) (*config, error) {
	data, err := readConfigFile(path)
	if err != nil {
		return nil, err
	}
	d, err := decodeConfig(path, data, kinds)
	if err != nil {
		return nil, err
	}
	cfg, c := check(path, findPositions(data), d.doc, d.insts, d.unavailable)
	cfg.resolveWith(c, cfg.secretsToRead)
	if err := c.err(); err != nil {
		return nil, err
	}
	cfg.warnings = c.warnings
	return cfg, nil
}

func readConfigFile(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("config file %s does not exist (use -c FILE; config.example.toml documents every option)", path)
		}
		return nil, fmt.Errorf("reading config: %w", err)
	}
	return data, nil
}

// parseConfig decodes and validates a configuration document named name.
func parseConfig(name string, data []byte, kinds []transportKind) (*config, error) {
	d, err := decodeConfig(name, data, kinds)
	if err != nil {
		return nil, err
	}
	return validate(name, findPositions(data), d.doc, d.insts, d.unavailable)
}

// decoded is a configuration document as decoded, before validation.
type decoded struct {
	doc         document
	insts       []decodedInstance
	unavailable map[string]int
}

// decodeConfig decodes a configuration document against the schema of
// kinds, refusing unknown keys.
func decodeConfig(name string, data []byte, kinds []transportKind) (decoded, error) {
	s, err := buildSchema(kinds)
	if err != nil {
		return decoded{}, fmt.Errorf("transport table: %w", err)
	}
	v := reflect.New(s.typ)
	dec := toml.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v.Interface()); err != nil {
		return decoded{}, decodeError(name, s, err)
	}
	doc, insts, unavailable := s.split(v.Elem())
	return decoded{doc, insts, unavailable}, nil
}

// decodeError turns a go-toml error into a configError with positions and
// plain words.
func decodeError(name string, s *schema, err error) error {
	var strict *toml.StrictMissingError
	var de *toml.DecodeError
	switch {
	case errors.As(err, &strict):
		var msgs []string
		for i := range strict.Errors {
			msgs = append(msgs, renderDecodeError(name, s, &strict.Errors[i]))
		}
		return &configError{file: name, problems: msgs}
	case errors.As(err, &de):
		return &configError{file: name, problems: []string{renderDecodeError(name, s, de)}}
	}
	// Errors of a TextUnmarshaler fed a non-string carry no position.
	return &configError{file: name, problems: []string{fmt.Sprintf("%s: %v", name, err)}}
}

// renderDecodeError writes "file:line:col: message" and the lines around
// it, underlined, as go-toml renders them.
func renderDecodeError(name string, s *schema, de *toml.DecodeError) string {
	raw := strings.TrimPrefix(de.Error(), "toml: ")
	msg := describeDecodeError(s, raw, de.Key())
	line, col := de.Position()
	context := strings.Replace(de.String(), raw, msg, 1)
	return fmt.Sprintf("%s:%d:%d: %s\n%s", name, line, col, msg, indent(strings.TrimRight(context, "\n"), "    "))
}

var typeMismatch = regexp.MustCompile(`^cannot decode TOML (.+?) into .* of type (.+)$`)

// describeDecodeError rewrites go-toml's messages, which name Go types, in
// the file's terms.
func describeDecodeError(s *schema, raw string, key toml.Key) string {
	path := ""
	for _, k := range key {
		path = join(path, k)
	}
	switch {
	case raw == "unknown field" && len(key) > 0:
		return "unknown key " + path + suggest(s, key)
	case raw == "missing table" && len(key) > 0:
		return "unknown table " + path + suggest(s, key)
	}
	if m := typeMismatch.FindStringSubmatch(raw); m != nil {
		msg := fmt.Sprintf("wrong type: expected %s, found %s", describeGoType(m[2]), withArticle(m[1]))
		if path != "" {
			return path + ": " + msg
		}
		return msg
	}
	if path != "" {
		return path + ": " + raw
	}
	return raw
}

// suggest returns a "did you mean" hint for a mistyped key.
func suggest(s *schema, key toml.Key) string {
	last := key[len(key)-1]
	best, bestDist := "", 3
	for _, k := range s.keysAt(key[:len(key)-1]) {
		if d := editDistance(strings.ToLower(last), strings.ToLower(k)); d < bestDist && d < len(last) {
			best, bestDist = k, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

// editDistance is the Levenshtein distance between two strings, in bytes.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// describeGoType names what a Go type accepts in TOML terms.
func describeGoType(t string) string {
	switch {
	case t == "string":
		return "a string"
	case t == "bool":
		return "true or false"
	case strings.HasPrefix(t, "int") || strings.HasPrefix(t, "uint"):
		return "an integer"
	case strings.HasPrefix(t, "float"):
		return "a number"
	case t == "[]string":
		return "an array of strings"
	case strings.HasPrefix(t, "[]struct") || strings.HasPrefix(t, "[]map") || strings.HasPrefix(t, "[]main."):
		return "an array of tables"
	case strings.HasPrefix(t, "[]"):
		return "an array"
	case strings.HasPrefix(t, "map") || strings.HasPrefix(t, "struct") || strings.HasPrefix(t, "main."):
		return "a table"
	}
	return "a value of Go type " + t
}

func withArticle(s string) string {
	if s != "" && strings.ContainsRune("aeiou", rune(s[0])) {
		return "an " + s
	}
	return "a " + s
}

func indent(s, prefix string) string {
	return prefix + strings.ReplaceAll(s, "\n", "\n"+prefix)
}
