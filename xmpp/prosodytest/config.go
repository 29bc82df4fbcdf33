package prosodytest

import (
	"fmt"
	"strings"
)

// Options describes the Prosody a test needs. The zero value is a server
// for the VirtualHost "localhost" with no users and no components.
type Options struct {
	// Components are the external components (XEP-0114) to declare.
	Components []Component
	// MUC, when set (e.g. "conference.localhost"), declares a multi-user
	// chat service on that domain. Rooms are created unlocked
	// (muc_room_locking = false), so joining a new room makes it usable
	// at once without the owner's configuration form.
	MUC string
	// Upload, when set (e.g. "upload.localhost"), declares an HTTP file
	// upload service (XEP-0363, mod_http_file_share) on that domain,
	// served on a random loopback HTTP port; slot URLs point at
	// http://127.0.0.1:port/ so a test can use them directly.
	Upload string
	// Users maps localparts to passwords. They are created on Host with
	// prosodyctl before the server starts.
	Users map[string]string
	// Host is the VirtualHost; default "localhost".
	Host string
	// Modules are added to the default modules_enabled list.
	Modules []string
	// ExtraConfig is Lua inserted verbatim after the generated global
	// options and before the host sections: plain "key = value" lines are
	// global settings and override the defaults above them, and it may
	// declare VirtualHost or Component sections of its own. It must not
	// replace log (Start reads prosody.log to see the ports open; add sinks
	// with a log table that keeps the info sink to that file), the paths
	// or the port and interface options.
	ExtraConfig string
}

// Component is an external component declared on the server: the domain it
// serves and the secret of its handshake.
type Component struct{ Domain, Secret string }

// defaultModules are enabled on every server besides Prosody's autoloaded
// ones (c2s, presence, message, iq, offline, posix). They are the usual
// set of a small real deployment, minus what needs TLS or s2s.
var defaultModules = []string{
	"roster", "saslauth", "disco", "ping", "time", "version", "uptime",
	"private", "blocklist", "carbons", "pep",
}

func (o Options) host() string {
	if o.Host == "" {
		return "localhost"
	}
	return o.Host
}

// ports are the loopback TCP ports of one server.
type ports struct{ c2s, component, http int }

// paths are the files of one server, all inside its temporary directory.
type paths struct {
	dir, config, pidfile, data, certs, log, stderr string
}

// renderConfig returns the prosody.cfg.lua for o.
func renderConfig(o Options, p paths, pt ports) string {
	var b strings.Builder
	set := func(key, value string) { fmt.Fprintf(&b, "%s = %s\n", key, value) }
	b.WriteString("-- Written by prosodytest for one test; every path is private to it.\n")
	set("run_as_root", "true")
	set("daemonize", "false")
	set("pidfile", luaString(p.pidfile))
	set("data_path", luaString(p.data))
	set("certificates", luaString(p.certs))
	set("log", "{ { levels = { min = \"info\" }, to = \"file\", filename = "+luaString(p.log)+" } }")
	loopback := luaList([]string{"127.0.0.1"})
	set("interfaces", loopback)
	set("local_interfaces", loopback)
	set("c2s_ports", fmt.Sprintf("{ %d }", pt.c2s))
	set("c2s_interfaces", loopback)
	set("c2s_direct_tls_ports", "{ }")
	set("legacy_ssl_ports", "{ }")
	set("s2s_ports", "{ }")
	set("component_ports", fmt.Sprintf("{ %d }", pt.component))
	set("component_interfaces", loopback)
	set("http_ports", fmt.Sprintf("{ %d }", pt.http))
	set("http_interfaces", loopback)
	set("https_ports", "{ }")
	set("c2s_require_encryption", "false")
	set("s2s_require_encryption", "false")
	set("allow_unencrypted_plain_auth", "true")
	set("authentication", luaString("internal_hashed"))
	set("storage", luaString("internal"))
	set("use_libevent", "false")
	set("modules_enabled", luaList(append(append([]string(nil), defaultModules...), o.Modules...)))
	set("modules_disabled", luaList([]string{"s2s"}))
	if o.Upload != "" {
		// Requests for http://127.0.0.1:port/ carry an unknown Host
		// header; route them to the upload service.
		set("http_default_host", luaString(o.Upload))
	}
	if o.ExtraConfig != "" {
		b.WriteString("\n-- ExtraConfig\n")
		b.WriteString(o.ExtraConfig)
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "\nVirtualHost %s\n", luaString(o.host()))
	for _, c := range o.Components {
		fmt.Fprintf(&b, "\nComponent %s\n\tcomponent_secret = %s\n", luaString(c.Domain), luaString(c.Secret))
	}
	if o.MUC != "" {
		fmt.Fprintf(&b, "\nComponent %s \"muc\"\n\tmuc_room_locking = false\n", luaString(o.MUC))
	}
	if o.Upload != "" {
		fmt.Fprintf(&b, "\nComponent %s \"http_file_share\"\n\thttp_external_url = %s\n",
			luaString(o.Upload), luaString(fmt.Sprintf("http://127.0.0.1:%d/", pt.http)))
	}
	return b.String()
}

// luaList returns a Lua table of strings.
func luaList(items []string) string {
	if len(items) == 0 {
		return "{ }"
	}
	q := make([]string, len(items))
	for i, s := range items {
		q[i] = luaString(s)
	}
	return "{ " + strings.Join(q, ", ") + " }"
}

// luaString returns s as a double-quoted Lua string literal. Bytes that
// are not printable ASCII, other than UTF-8 sequences, are written as
// decimal escapes, so any Go string survives unchanged.
func luaString(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\' || c == '"':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c == '\n':
			b.WriteString(`\n`)
		case c < 0x20 || c == 0x7f:
			// Three digits, so a following digit cannot extend the escape.
			fmt.Fprintf(&b, `\%03d`, c)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}
