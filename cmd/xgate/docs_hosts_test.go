package main

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/xgate-im/xgate/xmpp"
	"github.com/xgate-im/xgate/xmpp/ejabberdtest"
	"github.com/xgate-im/xgate/xmpp/prosodytest"
)

// The host server snippets of docs/admin.md work: the Prosody one declared
// on a real Prosody, the ejabberd one being what ejabberdtest runs, and
// xgate (the demo's gateway) attached through each with the secret they
// show, offering its contacts to a user of that server.

// adminSnippet returns the first fenced block of lang after marker in
// docs/admin.md.
func adminSnippet(t *testing.T, marker, lang string) string {
	t.Helper()
	data, err := os.ReadFile("../../docs/admin.md")
	if err != nil {
		t.Fatal(err)
	}
	_, after, ok := strings.Cut(string(data), marker)
	if !ok {
		t.Fatalf("docs/admin.md has no %q", marker)
	}
	for _, sn := range codeSnippets(after) {
		if sn.lang == lang {
			return sn.text
		}
	}
	t.Fatalf("no %s block after %q", lang, marker)
	return ""
}

// attachDemo runs the demo's gateway against a host server's component
// address with domain and secret, and waits until user (logged in on c2s)
// is offered a contact from the gateway.
func attachDemo(t *testing.T, component, c2s, domain, secret, user, host, password string) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	_, done, out := runDemoUntilReady(t, ctx, demoOptions{server: component, domain: domain, discordDomain: off, smsDomain: off, secret: secret, user: user + "@" + host, dir: t.TempDir(), playground: "off"})
	wctx, wcancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer wcancel()
	c := prosodytest.Dial(wctx, t, c2s, user, host, password)
	c.Send(&xmpp.Presence{})
	if _, err := c.Expect(wctx, func(s xmpp.Stanza) bool {
		p, ok := s.(*xmpp.Presence)
		return ok && p.Type == xmpp.PresenceSubscribe && p.From.Domain() == domain
	}); err != nil {
		t.Fatalf("no contact offer from %s: %v\n%s", domain, err, out.String())
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("demo: %v\n%s", err, out.String())
	}
}

var (
	luaComponent = regexp.MustCompile(`(?m)^Component "([^"]+)"\s*\n\s*component_secret = "([^"]+)"`)
	luaPorts     = regexp.MustCompile(`(?m)^component_ports = \{ (\d+) \}`)
	luaIfaces    = regexp.MustCompile(`(?m)^component_interfaces = \{ "([^"]+)" \}`)
)

func TestAdminProsodySnippet(t *testing.T) {
	doc := adminSnippet(t, "**Prosody**", "lua")
	comp, port, iface := luaComponent.FindStringSubmatch(doc), luaPorts.FindStringSubmatch(doc), luaIfaces.FindStringSubmatch(doc)
	if comp == nil || port == nil || iface == nil {
		t.Fatalf("the Prosody snippet lacks a Component with its secret, component_ports or component_interfaces:\n%s", doc)
	}
	if addr := iface[1] + ":" + port[1]; addr != defaultServer {
		t.Errorf("the snippet listens on %s, xgate's default server is %s", addr, defaultServer)
	}
	// The test server picks its own port; the Component section is the
	// snippet's, verbatim. (A second component makes Start wait for the
	// component port.)
	p := prosodytest.Start(t, prosodytest.Options{
		Components:  []prosodytest.Component{{Domain: "ready.localhost", Secret: "x"}},
		Users:       map[string]string{"alice": "pw"},
		ExtraConfig: comp[0],
	})
	attachDemo(t, p.ComponentAddr(), p.C2SAddr(), comp[1], comp[2], "alice", "localhost", "pw")
}

var (
	yamlHost     = regexp.MustCompile(`(?m)^\s+([a-z0-9.-]+\.[a-z]+):\s*$`)
	yamlPassword = regexp.MustCompile(`(?m)^\s+password: "([^"]+)"`)
)

func TestAdminEjabberdSnippet(t *testing.T) {
	doc := adminSnippet(t, "**ejabberd**", "yaml")
	host, password := yamlHost.FindStringSubmatch(doc), yamlPassword.FindStringSubmatch(doc)
	if host == nil || password == nil {
		t.Fatalf("the ejabberd snippet lacks a host and its password:\n%s", doc)
	}
	s := ejabberdtest.Start(t, ejabberdtest.Options{
		Components: []ejabberdtest.Component{{Domain: host[1], Secret: password[1]}},
		Users:      map[string]string{"alice": "pw"},
	})
	// Every line of the snippet's listener is in the configuration the
	// real-server tests run, but the port (theirs is random).
	data, err := os.ReadFile(filepath.Join(s.Dir(), "ejabberd.yml"))
	if err != nil {
		t.Fatal(err)
	}
	norm := func(l string) string {
		l, _, _ = strings.Cut(l, "#")
		return strings.TrimSpace(strings.ReplaceAll(strings.ReplaceAll(l, `"`, ""), "'", ""))
	}
	run := map[string]bool{}
	for _, l := range strings.Split(string(data), "\n") {
		run[norm(l)] = true
	}
	for _, l := range strings.Split(doc, "\n") {
		n := norm(l)
		if n == "" || strings.Contains(n, "port:") {
			continue
		}
		if !run[n] && !run["- "+n] && !run[strings.TrimPrefix(n, "- ")] {
			t.Errorf("the snippet's line %q is not in the configuration ejabberdtest runs", strings.TrimSpace(l))
		}
	}
	attachDemo(t, s.ComponentAddr(), s.C2SAddr(), host[1], password[1], "alice", s.Host(), "pw")
}
