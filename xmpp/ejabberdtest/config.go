package ejabberdtest

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Options describes the ejabberd a test needs. The zero value is a server
// for the host "localhost" with no users and no components.
type Options struct {
	// Components are the external components (XEP-0114) to declare on
	// the component listener.
	Components []Component
	// Users maps localparts to passwords. They are registered on Host
	// (in-band, XEP-0077) as soon as the server is ready.
	Users map[string]string
	// Host is the virtual host users live on; default "localhost".
	Host string
	// MUC, when set (e.g. "conference.localhost"), serves a multi-user
	// chat service (mod_muc) on that domain where anyone may create a
	// room by joining it.
	MUC string
}

// Component is an external component declared on the server: the domain it
// serves and the secret of its handshake.
type Component struct{ Domain, Secret string }

func (o Options) host() string {
	if o.Host == "" {
		return "localhost"
	}
	return o.Host
}

// ports are the loopback TCP ports of one server: client, component and
// Erlang distribution (which ejabberdctl's commands use to reach the node).
type ports struct{ c2s, component, dist int }

// paths are the files of one server, all absolute and inside its private
// directory: ejabberdctl refuses relative ones.
type paths struct {
	dir      string // config dir and working directory
	config   string // ejabberd.yml
	ctl      string // ejabberdctl.cfg, sourced by ejabberdctl (bash)
	vmArgs   string // vm.args, read by every Erlang node ejabberdctl starts
	watchdog string // watchdog.args, read by the server node only
	inetrc   string // Erlang's resolver configuration
	logs     string // log directory; ejabberd.log is inside
	log      string // logs/ejabberd.log
	spool    string // Mnesia database
	stderr   string // the console output of the server
}

// node is the identity of the Erlang node, fixed for the server's life:
// Mnesia's data belongs to the node name, so Restart reuses it.
type node struct{ name, cookie string }

// modules are loaded on every server: the usual set of a small real
// deployment, minus what needs TLS, s2s, HTTP or PubSub (the slowest to
// start). mod_offline stores messages for users without a session and
// delivers them at their next login; mod_register lets Start and
// Register create accounts in-band.
var modules = []string{
	"mod_blocking", "mod_carboncopy", "mod_disco", "mod_offline", "mod_ping",
	"mod_privacy", "mod_private", "mod_register", "mod_roster", "mod_version",
}

// renderConfig returns ejabberd.yml for o.
func renderConfig(o Options, pt ports) string {
	var b strings.Builder
	b.WriteString("# Written by ejabberdtest for one test; every path is private to it.\n")
	fmt.Fprintf(&b, "hosts:\n  - %s\n", yamlString(o.host()))
	b.WriteString(`loglevel: info
log_rotate_count: 0
log_rotate_size: infinity
hide_sensitive_log_data: false
auth_method: internal
# One registration per address and 600 s is the default; tests register many.
registration_timeout: infinity
# No s2s (none is ejabberd's predefined deny-all rule): a stanza for an
# unknown domain bounces at once instead of waiting for DNS.
s2s_access: none
`)
	b.WriteString("listen:\n")
	// shaper: none lifts the stock 1000 B/s throttle; the backlog of 5
	// by default refuses bursts of connections.
	fmt.Fprintf(&b, `  -
    port: %d
    ip: "127.0.0.1"
    module: ejabberd_c2s
    starttls: false
    starttls_required: false
    shaper: none
    backlog: 1024
`, pt.c2s)
	if len(o.Components) > 0 {
		fmt.Fprintf(&b, `  -
    port: %d
    ip: "127.0.0.1"
    module: ejabberd_service
    shaper: none
    backlog: 1024
    hosts:
`, pt.component)
		for _, c := range o.Components {
			fmt.Fprintf(&b, "      %s:\n        password: %s\n", yamlString(c.Domain), yamlString(c.Secret))
		}
	}
	b.WriteString(`access_rules:
  register:
    allow: all
shaper_rules:
  max_user_offline_messages: 100000
  max_user_sessions: 1000
modules:
`)
	if o.MUC != "" {
		fmt.Fprintf(&b, "  mod_muc:\n    host: %s\n    access_create: all\n", yamlString(o.MUC))
	}
	for _, m := range modules {
		switch m {
		case "mod_register":
			b.WriteString("  mod_register:\n    access: register\n")
		case "mod_offline":
			b.WriteString("  mod_offline:\n    access_max_user_messages: max_user_offline_messages\n")
		default:
			fmt.Fprintf(&b, "  %s: {}\n", m)
		}
	}
	return b.String()
}

// renderCtlConfig returns ejabberdctl.cfg: shell assignments that
// ejabberdctl sources. ERL_DIST_PORT makes the node listen for
// distribution on that port without epmd (no epmd is started, so none
// is left on 0.0.0.0:4369), and ejabberdctl's commands reach it there.
// The watchdog arguments are added for the server only: other commands
// run with their standard input closed and would halt at once.
func renderCtlConfig(p paths, pt ports, n node) string {
	var b strings.Builder
	b.WriteString("# Written by ejabberdtest; sourced by ejabberdctl.\n")
	fmt.Fprintf(&b, "ERLANG_NODE=%s\n", shellString(n.name))
	fmt.Fprintf(&b, "ERL_DIST_PORT=%d\n", pt.dist)
	b.WriteString("EJABBERD_BYPASS_WARNINGS=true\n")
	fmt.Fprintf(&b, "case \"$1\" in foreground|foreground-quiet) ERL_OPTIONS=%s ;; esac\n",
		shellString("-args_file "+p.watchdog))
	return b.String()
}

// renderVMArgs returns vm.args, extra arguments of every Erlang node that
// ejabberdctl starts for this server: the cookie, and distribution on
// loopback only. (ejabberdctl's own INET_DIST_INTERFACE would cost an
// extra Erlang start to parse the address.)
func renderVMArgs(n node) string {
	return "-setcookie " + n.cookie + "\n-kernel inet_dist_use_interface {127,0,0,1}\n"
}

// watchdogArgs makes the server node halt when its standard input reaches
// end of file: Start passes it the read end of a pipe whose write end only
// the test process holds, so the node dies with the test process even
// when the test binary is killed before its cleanups run. (The kernel's
// parent-death signal reaches only ejabberdctl, a shell, not the Erlang
// node it starts.) Backslashes escape spaces in an args file.
const watchdogArgs = `-eval spawn(fun()->P=open_port({fd,0,1},[eof]),receive\ {P,eof}->erlang:halt(1)\ end\ end)` + "\n"

// inetrc makes the node resolve its own host name, localhost, from this
// file alone: no resolver process, no DNS.
const inetrc = "{lookup,[\"file\"]}.\n{host,{127,0,0,1},[\"localhost\"]}.\n"

// yamlString returns s as a double-quoted YAML scalar. A JSON string is
// one: JSON's escapes are a subset of YAML's.
func yamlString(s string) string {
	b, _ := json.Marshal(s) // a string always marshals
	return string(b)
}

// shellString returns s single-quoted for a POSIX shell.
func shellString(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
