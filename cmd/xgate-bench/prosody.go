package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// prosody is a Prosody started by the bench on loopback, with its
// configuration and data in a private directory, in its stock settings
// except what a loopback test needs (no TLS, plain authentication, no
// s2s). Accounts are written straight into its data directory
// (internal_plain), so ten thousand of them take a moment.
type prosody struct {
	dir            string
	c2s, component int
	proc           *child
	version        string
}

// prosodyFallback is where Debian installs prosody, tried when it is not
// on PATH. A variable for tests.
var prosodyFallback = "/usr/bin/prosody"

// prosodyBinary returns the path of prosody, or "" when it is not installed.
func prosodyBinary() string {
	if p, err := exec.LookPath("prosody"); err == nil {
		return p
	}
	if _, err := os.Stat(prosodyFallback); err == nil {
		return prosodyFallback
	}
	return ""
}

// freePorts returns n loopback ports that were free a moment ago.
func freePorts(n int) ([]int, error) {
	var lns []net.Listener
	defer func() {
		for _, ln := range lns {
			ln.Close()
		}
	}()
	var ports []int
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		lns = append(lns, ln)
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// accountSpec is a Prosody account to create.
type accountSpec struct{ user, password string }

// startProsody writes the configuration and accounts under dir, starts
// Prosody and waits until its client and component ports accept
// connections. nagleOff turns Nagle's algorithm off on all of Prosody's
// connections.
func startProsody(ctx context.Context, dir string, components map[string]string, accounts []accountSpec, nagleOff bool) (*prosody, error) {
	bin := prosodyBinary()
	if bin == "" {
		return nil, errNoProsody
	}
	ports, err := freePorts(2)
	if err != nil {
		return nil, err
	}
	p := &prosody{dir: dir, c2s: ports[0], component: ports[1]}
	data := filepath.Join(dir, "data")
	accts := filepath.Join(data, "localhost", "accounts")
	for _, d := range []string{filepath.Join(dir, "certs"), accts} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, err
		}
	}
	for _, a := range accounts {
		// internal_plain's record; localparts are plain alphanumerics,
		// which Prosody stores unescaped.
		rec := fmt.Sprintf("return {\n\t[\"password\"] = %s;\n};\n", strconv.Quote(a.password))
		if err := os.WriteFile(filepath.Join(accts, a.user+".dat"), []byte(rec), 0o600); err != nil {
			return nil, err
		}
	}
	var b strings.Builder
	set := func(k, v string) { fmt.Fprintf(&b, "%s = %s\n", k, v) }
	q := strconv.Quote
	set("run_as_root", "true")
	set("daemonize", "false")
	set("pidfile", q(filepath.Join(dir, "prosody.pid")))
	set("data_path", q(data))
	set("certificates", q(filepath.Join(dir, "certs")))
	set("log", fmt.Sprintf(`{ { levels = { min = "info" }, to = "file", filename = %s } }`, q(filepath.Join(dir, "prosody.log"))))
	set("interfaces", `{ "127.0.0.1" }`)
	set("local_interfaces", `{ "127.0.0.1" }`)
	set("c2s_ports", fmt.Sprintf("{ %d }", p.c2s))
	set("c2s_interfaces", `{ "127.0.0.1" }`)
	set("c2s_direct_tls_ports", "{ }")
	set("legacy_ssl_ports", "{ }")
	set("s2s_ports", "{ }")
	set("component_ports", fmt.Sprintf("{ %d }", p.component))
	set("component_interfaces", `{ "127.0.0.1" }`)
	set("http_ports", "{ }")
	set("https_ports", "{ }")
	set("c2s_require_encryption", "false")
	set("s2s_require_encryption", "false")
	set("allow_unencrypted_plain_auth", "true")
	set("authentication", q("internal_plain"))
	set("storage", q("internal"))
	set("modules_enabled", `{ "roster", "saslauth", "disco", "ping", "time", "version", "uptime", "private", "blocklist", "carbons", "pep" }`)
	set("modules_disabled", `{ "s2s" }`)
	if nagleOff {
		set("network_settings", "{ nagle = false }")
	}
	b.WriteString("\nVirtualHost \"localhost\"\n")
	for domain, secret := range components {
		fmt.Fprintf(&b, "\nComponent %s\n\tcomponent_secret = %s\n", q(domain), q(secret))
	}
	cfg := filepath.Join(dir, "prosody.cfg.lua")
	if err := os.WriteFile(cfg, []byte(b.String()), 0o600); err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "-F", "--config", cfg)
	cmd.Dir = dir
	p.proc, err = startChild("prosody", cmd, filepath.Join(dir, "prosody.stderr"))
	if err != nil {
		return nil, err
	}
	deadline := time.Now().Add(20 * time.Second)
	for _, port := range []int{p.c2s, p.component} {
		for {
			c, err := net.DialTimeout("tcp", loopback(port), time.Second)
			if err == nil {
				c.Close()
				break
			}
			if p.proc.exited() {
				return nil, fmt.Errorf("prosody exited: %v; log:\n%s", p.proc.err, tail(filepath.Join(dir, "prosody.log"), 20))
			}
			if time.Now().After(deadline) || ctx.Err() != nil {
				p.stop()
				return nil, fmt.Errorf("prosody did not open port %d; log:\n%s", port, tail(filepath.Join(dir, "prosody.log"), 20))
			}
			time.Sleep(20 * time.Millisecond) // polling a port that is not open yet
		}
	}
	if out, err := exec.Command("dpkg-query", "-W", "-f", "${Version}", "prosody").Output(); err == nil {
		p.version = "Prosody " + strings.TrimSpace(string(out))
	}
	return p, nil
}

// errNoProsody is returned when prosody is not installed.
var errNoProsody = errors.New("prosody is not installed (apt-get install prosody)")

func (p *prosody) c2sAddr() string       { return loopback(p.c2s) }
func (p *prosody) componentAddr() string { return loopback(p.component) }
func (p *prosody) stop()                 { p.proc.stop(5 * time.Second) }

func loopback(port int) string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)) }

// tail returns the last n lines of a file.
func tail(path string, n int) string {
	data, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
