package main

import (
	"cmp"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/xgate-im/xgate/bridge"
	"github.com/xgate-im/xgate/kit/secret"
	"github.com/xgate-im/xgate/store"
	"github.com/xgate-im/xgate/xmpp"
	"github.com/xgate-im/xgate/xmpp/jid"
)

// config is a validated configuration with every default applied and
// every relative path made absolute (relative to the file's directory).
// Secrets and the store key are filled in by resolve.
type config struct {
	file string
	pos  positions

	logLevel slog.Level
	logJSON  bool

	storePath string
	keyFile   string // absolute, or "" when the key comes from keyEnv
	keyEnv    string
	key       *store.Key // set by resolve
	retention time.Duration
	// upload is [xmpp].upload_service and upload_max_size.
	upload bridge.UploadConfig

	adminListen string // "" disables the admin endpoint
	admins      []string
	userRate    float64 // stanzas/s each allowed user may send ([access] user_rate)
	backupDir   string
	backupKeep  int // online backups kept
	// adminTokenFrom holds where the admin token comes from, as written;
	// resolve reads it into adminToken ("" disables POST /backup).
	adminTokenFrom secret.Source
	adminToken     string

	// webhooksListen is the address of the HTTP listener for transports
	// that receive webhooks; "" when none is configured.
	webhooksListen string

	// adaptiveProcs is [runtime] adaptive_procs: xgate run narrows Go's
	// scheduler to one processor under a light load (internal/procs).
	adaptiveProcs bool

	instances []*instance
	// groups are the [[bridge_group]] tables.
	groups []*bridgeGroup
	// secretsToRead are the instances whose component secret source is
	// valid, usable or not: check-config reads their secrets too.
	secretsToRead []*instance
	// warnings are problems that do not stop xgate; run logs them and
	// check-config prints them.
	warnings []string
}

// instance is one validated [[network]] table.
type instance struct {
	instanceConfig // as written, with Name defaulted
	network        string
	path           string // key path for messages, e.g. "slack[0]"
	kind           *transportKind
	options        any // pointer to the kind's options, validated
	// component is the connection's configuration; resolve sets its
	// Secret.
	component       xmpp.ComponentConfig
	deliveryTimeout time.Duration
	allow           []string
	// secretSource says where the secret comes from, for check-config:
	// "env NAME", "file PATH" or "the config file".
	secretSource string
}

// checker collects the problems of a configuration, each prefixed with its
// position when known and its key path.
type checker struct {
	file     string
	pos      positions
	problems []problem
	warnings []string
}

// problem is one line of a configError and the file line it is about (0
// when unknown), which orders the report.
type problem struct {
	line int
	text string
}

func (c *checker) where(path string) (string, int) {
	if p, ok := c.pos.lookup(path); ok { // or its table's
		return fmt.Sprintf("%s:%d:%d: %s", c.file, p.line, p.col, path), p.line
	}
	return c.file + ": " + path, 0
}

func (c *checker) errorf(path, format string, args ...any) {
	w, line := c.where(path)
	c.problems = append(c.problems, problem{line, w + ": " + fmt.Sprintf(format, args...)})
}

// keyError reports err, a problem of the table at path, at the key it
// names: a *secret.Error's key, or a leading "key: " that the table has.
func (c *checker) keyError(table string, err error) {
	var se *secret.Error
	if errors.As(err, &se) && se.Key != "" {
		c.errorf(c.writtenKey(table, se.Key), "%s", se.Msg)
		return
	}
	msg := err.Error()
	if key, rest, ok := strings.Cut(msg, ": "); ok && configKey.MatchString(key) {
		c.errorf(c.writtenKey(table, key), "%s", rest)
		return
	}
	c.errorf(table, "%s", msg)
}

// writtenKey returns table.key, or the variant of a secret key that the
// file sets (key_file, key_env) when a message names the secret itself.
func (c *checker) writtenKey(table, key string) string {
	for _, k := range []string{key, key + "_env", key + "_file"} {
		if _, ok := c.pos[table+"."+k]; ok {
			return table + "." + k
		}
	}
	return table + "." + key
}

func (c *checker) warnf(path, format string, args ...any) {
	c.warnings = append(c.warnings, path+": "+fmt.Sprintf(format, args...))
}

// err returns every problem, in the order of the file, or nil.
func (c *checker) err() error {
	if len(c.problems) == 0 {
		return nil
	}
	sorted := slices.Clone(c.problems)
	slices.SortStableFunc(sorted, func(a, b problem) int { return cmp.Compare(a.line, b.line) })
	texts := make([]string, len(sorted))
	for i, p := range sorted {
		texts[i] = p.text
	}
	return &configError{file: c.file, problems: texts}
}

// duration parses a duration option; "" gives def.
func (c *checker) duration(path, s string, def time.Duration) time.Duration {
	if s == "" {
		return def
	}
	d, err := time.ParseDuration(s)
	switch {
	case err != nil:
		c.errorf(path, "%q is not a duration (write a number and a unit: \"90s\", \"15m\", \"720h\")", s)
		return def
	case d <= 0:
		c.errorf(path, "must be positive, not %q", s)
		return def
	}
	return d
}

// path makes a path from the file absolute, relative to the file.
func (c *checker) path(p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	p = filepath.Join(filepath.Dir(c.file), p)
	if abs, err := filepath.Abs(p); err == nil {
		p = abs
	}
	return p
}

var (
	instanceName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)
	envName      = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	// configKey is what a bare TOML key of ours looks like.
	configKey = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
)

// validate checks a decoded document and builds the config. It reads no
// file and no environment variable (a transport's own validation may read
// the environment variables its options name).
func validate(file string, pos positions, doc document, insts []decodedInstance, unavailable map[string]int) (*config, error) {
	cfg, c := check(file, pos, doc, insts, unavailable)
	cfg.warnings = c.warnings
	if err := c.err(); err != nil {
		return nil, err
	}
	return cfg, nil
}

// check is validate's work: the config built from what is valid, and the
// checker holding every problem and warning found.
func check(file string, pos positions, doc document, insts []decodedInstance, unavailable map[string]int) (*config, *checker) {
	c := &checker{file: file, pos: pos}
	cfg := &config{file: file, pos: pos}

	switch strings.ToLower(doc.Log.Level) {
	case "debug":
		cfg.logLevel = slog.LevelDebug
	case "", "info":
		cfg.logLevel = slog.LevelInfo
	case "warn", "warning":
		cfg.logLevel = slog.LevelWarn
	case "error":
		cfg.logLevel = slog.LevelError
	default:
		c.errorf("log.level", "%q is not one of debug, info, warn, error", doc.Log.Level)
	}
	switch strings.ToLower(doc.Log.Format) {
	case "", "text":
	case "json":
		cfg.logJSON = true
	default:
		c.errorf("log.format", "%q is not one of text, json", doc.Log.Format)
	}

	validateStore(c, cfg, doc.Store)
	validateAdmin(c, cfg, doc.Admin)
	if l := doc.Webhooks.Listen; l != "" {
		if _, ok := c.hostPort("webhooks.listen", l, true); ok {
			cfg.webhooksListen = l
		}
	}
	cfg.adaptiveProcs = doc.Runtime.AdaptiveProcs == nil || *doc.Runtime.AdaptiveProcs
	allow := validateAllow(c, "access.allow", doc.Access.Allow)
	switch r := doc.Access.UserRate; {
	case r < 0:
		c.errorf("access.user_rate", "%v is negative: give stanzas per second, or leave it out for the default (%d)", r, defaultUserRate)
	case r == 0:
		cfg.userRate = defaultUserRate
	default:
		cfg.userRate = r
	}
	comp := validateXMPP(c, doc.XMPP)
	cfg.upload = bridge.UploadConfig{Service: doc.XMPP.UploadService, MaxSize: doc.XMPP.UploadMaxSize}
	if cfg.upload.MaxSize < 0 {
		c.errorf("xmpp.upload_max_size", "%d is negative", cfg.upload.MaxSize)
	} else if err := cfg.upload.Validate(); err != nil {
		c.errorf("xmpp.upload_service", "%q is not a domain (a JID without @ or /), nor \"none\"", cfg.upload.Service)
	}

	for _, network := range plannedNetworks { // the only networks without a row
		if unavailable[network] > 0 {
			c.errorf(network, "%s transport is not available in this build", network)
		}
	}
	names, domains := map[string]string{}, map[string]string{}
	for _, d := range insts {
		inst, ok := validateInstance(c, d, comp, allow)
		if inst.secretSource != "" {
			cfg.secretsToRead = append(cfg.secretsToRead, inst)
		}
		if !ok {
			continue
		}
		if prev, ok := names[strings.ToLower(inst.Name)]; ok {
			c.errorf(inst.path+".name", "instance name %q is already used by %s; give each instance its own name", inst.Name, prev)
		} else {
			names[strings.ToLower(inst.Name)] = inst.path
		}
		if prev, ok := domains[inst.component.Domain]; ok && inst.component.Domain != "" {
			c.errorf(inst.path+".domain", "domain %s is already used by %s; each instance needs its own component domain", inst.component.Domain, prev)
		} else {
			domains[inst.component.Domain] = inst.path
		}
		cfg.instances = append(cfg.instances, inst)
	}

	validateBridgeGroups(c, cfg, doc.BridgeGroups)
	if len(insts) == 0 && len(unavailable) == 0 {
		c.warnf("config", "no transports configured: xgate will only serve the admin endpoint")
	}
	for _, inst := range cfg.instances {
		if len(inst.allow) == 0 {
			who := "only the admins"
			if len(cfg.admins) == 0 {
				who = "nobody (admin.admins is empty too)"
			}
			from := "access.allow"
			if inst.Allow != nil {
				from = inst.path + ".allow"
			}
			c.warnf(from, "is empty: %s may register on %s", who, inst.Name)
		}
	}
	return cfg, c
}

func validateStore(c *checker, cfg *config, s storeSection) {
	cfg.storePath = c.path(s.Path)
	if cfg.storePath == "" {
		cfg.storePath = defaultStorePath
	}
	switch {
	case s.KeyFile != "" && s.KeyEnv != "":
		c.errorf("store", "set only one of key_file and key_env")
	case s.KeyFile == "" && s.KeyEnv == "":
		c.errorf("store", "no store key: set key_file (a file holding a key made with `xgate genkey`) or key_env (an environment variable holding one)")
	case s.KeyEnv != "" && !envName.MatchString(s.KeyEnv):
		c.errorf("store.key_env", "%q is not an environment variable name", s.KeyEnv)
	}
	cfg.keyFile, cfg.keyEnv = c.path(s.KeyFile), s.KeyEnv
	cfg.retention = c.duration("store.message_retention", s.MessageRetention, defaultRetention)
}

// minAdminToken is the shortest admin token accepted.
const minAdminToken = 16

func validateAdmin(c *checker, cfg *config, a adminSection) {
	cfg.adminListen = a.Listen
	if a.Listen != "" {
		if host, ok := c.hostPort("admin.listen", a.Listen, true); ok && !a.AllowRemote && !isLoopback(host) {
			c.errorf("admin.listen", "%s is not a loopback address; /healthz and /metrics have no authentication, so set allow_remote = true only if a firewall or proxy protects it", a.Listen)
		}
	}
	if a.AllowRemote {
		c.warnf("admin.allow_remote", "is true: /healthz and /metrics answer anyone who can reach %s; keep it behind a firewall or an authenticating proxy", a.Listen)
	}
	cfg.adminTokenFrom = secret.Source{Key: "token", Inline: a.Token, File: c.path(a.TokenFile), Env: a.TokenEnv}
	switch {
	case cfg.adminTokenFrom.Check(false) != nil:
		c.errorf("admin", "set only one of token, token_file and token_env")
	case a.TokenEnv != "" && !envName.MatchString(a.TokenEnv):
		c.errorf("admin.token_env", "%q is not an environment variable name", a.TokenEnv)
	case a.Token != "" && len(a.Token) < minAdminToken:
		c.errorf("admin.token", "is shorter than %d characters; use a long random one (`xgate genkey` prints one)", minAdminToken)
	case !cfg.adminTokenFrom.IsSet() && a.Listen != "":
		c.warnf("admin", "no token (token_file, token_env or token): POST /backup is disabled")
	}
	switch {
	case a.BackupKeep == 0:
		cfg.backupKeep = defaultBackupKeep
	case a.BackupKeep < 0:
		c.errorf("admin.backup_keep", "%d is negative; the newest backup_keep online backups are kept", a.BackupKeep)
	default:
		cfg.backupKeep = a.BackupKeep
	}
	for i, s := range a.Admins {
		j, err := jid.Parse(strings.TrimSpace(s))
		if err != nil || j.Local() == "" || j.Resource() != "" {
			c.errorf(fmt.Sprintf("admin.admins[%d]", i), "%q is not a bare JID (user@example.org)", s)
			continue
		}
		cfg.admins = append(cfg.admins, j.String())
	}
	cfg.backupDir = c.path(a.BackupDir)
	if cfg.backupDir == "" {
		cfg.backupDir = filepath.Join(filepath.Dir(cfg.storePath), "backups")
	}
}

// validateAllow checks the entries of an allow list.
func validateAllow(c *checker, path string, list []string) []string {
	out := []string{}
	for i, s := range list {
		s = strings.TrimSpace(s)
		if s == "*" {
			out = append(out, s)
			continue
		}
		j, err := jid.Parse(s)
		if err != nil || j.Resource() != "" {
			c.errorf(fmt.Sprintf("%s[%d]", path, i), "%q is not \"*\", a domain (example.org) or a bare JID (user@example.org)", s)
			continue
		}
		out = append(out, j.String())
	}
	return out
}

// validateXMPP returns the component settings every instance starts from.
func validateXMPP(c *checker, x xmppSection) xmpp.ComponentConfig {
	comp := xmpp.ComponentConfig{
		Addr:        x.Server,
		Limits:      xmpp.Limits{MaxStanzaBytes: x.MaxStanzaBytes},
		SendQueue:   x.SendQueue,
		KeepAlive:   c.duration("xmpp.keepalive", x.KeepAlive, defaultKeepAlive),
		PingTimeout: c.duration("xmpp.ping_timeout", x.PingTimeout, defaultPingTimeout),
		MinBackoff:  c.duration("xmpp.min_backoff", x.MinBackoff, defaultMinBackoff),
		MaxBackoff:  c.duration("xmpp.max_backoff", x.MaxBackoff, defaultMaxBackoff),
	}
	switch d, err := time.ParseDuration(x.ReplayConfirmed); {
	case x.ReplayConfirmed == "":
	case err != nil:
		c.errorf("xmpp.replay_confirmed", "%q is not a duration (write a number and a unit: \"200ms\", \"1s\"; \"0s\" turns it off)", x.ReplayConfirmed)
	case d < 0 || d > time.Minute:
		c.errorf("xmpp.replay_confirmed", "%s is out of range (0s to 1m)", d)
	case d == 0:
		comp.ReplayConfirmed = -1
	default:
		comp.ReplayConfirmed = d
	}
	if comp.Addr == "" {
		comp.Addr = defaultServer
	} else {
		c.hostPort("xmpp.server", comp.Addr, false)
	}
	switch {
	case x.MaxStanzaBytes == 0:
		comp.Limits.MaxStanzaBytes = defaultMaxStanzaBytes
	case x.MaxStanzaBytes < 10000 || x.MaxStanzaBytes > 64<<20:
		// RFC 6120 §13.12: at least 10000 bytes must be accepted.
		c.errorf("xmpp.max_stanza_bytes", "%d is out of range (10000 to 67108864)", x.MaxStanzaBytes)
	}
	switch {
	case x.SendQueue == 0:
		comp.SendQueue = defaultSendQueue
	case x.SendQueue < 1 || x.SendQueue > 1<<20:
		c.errorf("xmpp.send_queue", "%d is out of range (1 to 1048576)", x.SendQueue)
	}
	if comp.MaxBackoff < comp.MinBackoff {
		c.errorf("xmpp.max_backoff", "%s is shorter than min_backoff (%s)", comp.MaxBackoff, comp.MinBackoff)
	}
	return comp
}

// validateInstance checks one [[network]] table; !ok means it is unusable
// (its secret may still be checked when secretSource is set).
func validateInstance(c *checker, d decodedInstance, comp xmpp.ComponentConfig, allow []string) (inst *instance, ok bool) {
	inst = &instance{
		instanceConfig: d.common,
		network:        d.network,
		path:           fmt.Sprintf("%s[%d]", d.network, d.index),
		kind:           d.kind,
		options:        d.options,
		component:      comp,
		allow:          allow,
	}
	before := len(c.problems)
	if inst.Name == "" {
		inst.Name = d.network
	} else if !instanceName.MatchString(inst.Name) {
		c.errorf(inst.path+".name", "%q is not a valid instance name (letters, digits, '.', '_' and '-', at most 64)", inst.Name)
	}
	if inst.Domain == "" {
		c.errorf(inst.path+".domain", "missing: the component's domain, as declared in the host server's config (e.g. %q)", d.network+".example.org")
	} else if j, err := jid.Parse(inst.Domain); err != nil || j.Local() != "" || j.Resource() != "" {
		c.errorf(inst.path+".domain", "%q is not a domain name", inst.Domain)
	} else {
		inst.component.Domain = j.String()
	}
	sources := 0
	for _, s := range []string{inst.Secret, inst.SecretFile, inst.SecretEnv} {
		if s != "" {
			sources++
		}
	}
	switch {
	case sources == 0:
		c.errorf(inst.path, "no component secret: set secret_file, secret_env or secret (it must match the host server's component secret for this domain)")
	case sources > 1:
		c.errorf(inst.path, "set only one of secret, secret_file and secret_env")
	case inst.SecretEnv != "" && !envName.MatchString(inst.SecretEnv):
		c.errorf(inst.path+".secret_env", "%q is not an environment variable name", inst.SecretEnv)
	case inst.SecretFile != "":
		inst.SecretFile = c.path(inst.SecretFile)
		inst.secretSource = "file " + inst.SecretFile
	case inst.SecretEnv != "":
		inst.secretSource = "env " + inst.SecretEnv
	default:
		inst.secretSource = "the config file"
	}
	if inst.Server != "" {
		inst.component.Addr = inst.Server
		c.hostPort(inst.path+".server", inst.Server, false)
	}
	if host, _, err := net.SplitHostPort(inst.component.Addr); err == nil && !isLoopback(host) {
		c.warnf(inst.path, "the component protocol is not encrypted: keep the host server (%s) on loopback or a private network", inst.component.Addr)
	}
	inst.deliveryTimeout = c.duration(inst.path+".delivery_timeout", inst.DeliveryTimeout, defaultDeliveryTimeout)
	if inst.Allow != nil {
		inst.allow = validateAllow(c, inst.path+".allow", inst.Allow)
	}
	if err := d.kind.validate(d.options); err != nil {
		for _, e := range splitErrors(err) {
			c.keyError(inst.path, e)
		}
	}
	return inst, len(c.problems) == before
}

// splitErrors returns the errors joined in err (errors.Join), or err's
// lines when it is a single multi-line error.
func splitErrors(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, splitErrors(e)...)
		}
		return out
	}
	lines := strings.Split(err.Error(), "\n")
	if len(lines) == 1 {
		return []error{err}
	}
	out := make([]error, len(lines))
	for i, l := range lines {
		out[i] = errors.New(l)
	}
	return out
}

// hostPort checks a host:port address and returns its host. Port 0 (any
// free port) is accepted only when zeroOK.
func (c *checker) hostPort(path, addr string, zeroOK bool) (string, bool) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		c.errorf(path, "%q is not host:port", addr)
		return "", false
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 0 || n > 65535 || n == 0 && !zeroOK {
		c.errorf(path, "%q has no valid port", addr)
		return "", false
	}
	return host, true
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// resolve reads the store key and the component secrets. It is separate
// from validate so that a configuration can be checked where the secrets
// are not available (tests, a build machine); check-config and run use
// loadConfigFile, which does both and reports their problems together.
func (cfg *config) resolve() error {
	c := &checker{file: cfg.file, pos: cfg.pos}
	cfg.resolveWith(c, cfg.instances)
	cfg.warnings = append(cfg.warnings, c.warnings...)
	return c.err()
}

// resolveWith reads the store key, the admin token and the secrets of
// insts, reporting problems to c.
func (cfg *config) resolveWith(c *checker, insts []*instance) {
	// Without exactly one valid source, validate has said so already.
	keySet := (cfg.keyFile == "") != (cfg.keyEnv == "") && (cfg.keyEnv == "" || envName.MatchString(cfg.keyEnv))
	if keySet {
		key, err := store.LoadKey(cfg.keyFile, cfg.keyEnv)
		switch {
		case err == nil:
			cfg.key = key
		case cfg.keyEnv != "" && errors.Is(err, store.ErrNoKey):
			c.errorf("store.key_env", "environment variable %s is not set; put a key made with `xgate genkey` in it", cfg.keyEnv)
		case cfg.keyEnv != "":
			c.errorf("store.key_env", "%v", err)
		case errors.Is(err, os.ErrNotExist):
			c.errorf("store.key_file", "%s does not exist; create it with `(umask 077; xgate genkey > %s)`", cfg.keyFile, cfg.keyFile)
		default:
			c.errorf("store.key_file", "%v", err)
		}
	}
	if cfg.adminTokenFrom.IsSet() && cfg.adminTokenFrom.Check(false) == nil {
		token, warnings, err := cfg.adminTokenFrom.Read()
		for _, w := range warnings {
			c.warnf("admin."+w.Key, "%s", w.Msg)
		}
		switch {
		case err != nil:
			c.keyError("admin", err)
		case len(token) < minAdminToken:
			c.errorf("admin", "the admin token is shorter than %d characters; use a long random one (`xgate genkey` prints one)", minAdminToken)
		default:
			cfg.adminToken = token
		}
	}
	for _, inst := range insts {
		value, warnings, err := inst.secretFrom().Read()
		if err != nil {
			c.keyError(inst.path, err)
			continue
		}
		inst.component.Secret = value
		for _, w := range warnings {
			c.warnf(inst.path+"."+w.Key, "%s", w.Msg)
		}
	}
}

// secretFrom says where the component secret is, for kit/secret.
func (ic instanceConfig) secretFrom() secret.Source {
	return secret.Source{Key: "secret", Inline: ic.Secret, File: ic.SecretFile, Env: ic.SecretEnv}
}
