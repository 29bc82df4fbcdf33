package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/xgate-im/xgate/xmpp/jid"
	"github.com/xgate-im/xgate/xmpp/prosodytest"
)

// The demo's private XMPP server: when no -server is given, xgate demo runs
// Prosody on loopback with the component, a group chat service and the
// demo user, and stops it at exit.

// defaultDemoUser is the demo user's JID on the private server.
const defaultDemoUser = "you@localhost"

// findProsody returns the prosody executable or ""; tests replace it.
var findProsody = prosodytest.Binary

// errNoProsody says what to install, or how to do without.
var errNoProsody = errors.New("demo: prosody is not installed: install it (Debian, Ubuntu: apt-get install prosody) or give -server ADDRESS to attach to your own XMPP server")

// privateServer is the demo's Prosody and how a client reaches it.
type privateServer struct {
	srv      *prosodytest.Server
	c2s      string // "127.0.0.1:port"
	muc      string // the group chat service's domain
	password string // the demo user's
}

// startPrivateServer runs Prosody in dir for the demo: the components
// o.components() with o.secret, a MUC service and the user o.user (its
// password o.password, or a random one). The caller stops it.
func startPrivateServer(ctx context.Context, o *demoOptions, user jid.JID, dir string) (*privateServer, error) {
	if findProsody() == "" {
		return nil, errNoProsody
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	password := o.password
	if password == "" {
		b := make([]byte, 6)
		_, _ = rand.Read(b) // never fails
		password = hex.EncodeToString(b)
	}
	muc := "conference." + user.Domain()
	var components []prosodytest.Component
	for _, d := range o.components() {
		components = append(components, prosodytest.Component{Domain: d, Secret: o.secret})
	}
	srv, err := prosodytest.Launch(ctx, dir, prosodytest.Options{
		Host:       user.Domain(),
		Components: components,
		MUC:        muc,
		Users:      map[string]string{user.Local(): password},
	})
	if err != nil {
		return nil, fmt.Errorf("demo: private prosody: %w", err)
	}
	return &privateServer{srv: srv, c2s: srv.C2SAddr(), muc: muc, password: password}, nil
}

// stop stops Prosody and waits for it.
func (p *privateServer) stop() { p.srv.Stop() }

// privateServerDir is where the private server keeps its files.
func privateServerDir(demoDir string) string { return filepath.Join(demoDir, "prosody") }

// connectHelp tells how to log in as the demo user with any client.
func (p *privateServer) connectHelp(user jid.JID) string {
	host, port, _ := strings.Cut(p.c2s, ":")
	var b strings.Builder
	fmt.Fprintf(&b, "Connect any XMPP client to the private Prosody:\n\n")
	fmt.Fprintf(&b, "    JID       %s\n    password  %s\n    server    %s  port %s\n", user, p.password, host, port)
	fmt.Fprintf(&b, "    (plain TCP on loopback: allow an unencrypted connection in the client)\n\n")
	fmt.Fprintf(&b, "  profanity: /connect %s server %s port %s tls disable\n", user, host, port)
	fmt.Fprintf(&b, "  Gajim:     add the account with \"Advanced\", set host %s and port %s, and allow plain connections\n", host, port)
	fmt.Fprintf(&b, "  group chats: %s\n\n", p.muc)
	return b.String()
}
