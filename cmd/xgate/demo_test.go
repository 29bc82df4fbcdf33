package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/xgate-im/xgate/bridge"
	"github.com/xgate-im/xgate/xmpp"
	"github.com/xgate-im/xgate/xmpp/jid"
	"github.com/xgate-im/xgate/xmpp/prosodytest"
)

// lockedBuffer is a bytes.Buffer safe for the logger's concurrent writes.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// The demo, run against a real Prosody: the pre-registered user gets the
// workspace's people as contacts and Eliza answers.
func TestDemoThroughProsody(t *testing.T) {
	p := prosodytest.Start(t, prosodytest.Options{
		Components: demoComponents,
		Users:      map[string]string{"alice": "pw"},
	})
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var out lockedBuffer
	done := make(chan error, 1)
	go func() {
		done <- runDemo(ctx, demoOptions{server: p.ComponentAddr(), domain: "slack.localhost", secret: "demo", user: "alice@localhost", dir: t.TempDir()}, &out, nil)
	}()
	wctx, wcancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer wcancel()
	c := prosodytest.Dial(wctx, t, p.C2SAddr(), "alice", "localhost", "pw")
	c.Send(&xmpp.Presence{})
	// Each gateway asks for a subscription (issue 12 bug 7), and the
	// people of each network are offered: the workspace's four, the two
	// Discord DMs and Pat's phone; the Slack app's bot member "xgate" is
	// not (the contacts come in member ID order, the bot's first).
	want := []string{"Eliza", "Ada", "Grace", "Linus", "Hedy", "Alan", demoPatNumber}
	offered := map[string]jid.JID{}
	asked := map[string]bool{}
	_, err := c.Expect(wctx, func(s xmpp.Stanza) bool {
		pr, ok := s.(*xmpp.Presence)
		if !ok || pr.Type != xmpp.PresenceSubscribe {
			return false
		}
		if pr.From.Local() == "" {
			asked[pr.From.String()] = true
		}
		for _, x := range pr.Extra {
			if x.Name.Local == "nick" {
				offered[x.Text()] = pr.From.Bare()
			}
		}
		for _, name := range want {
			if _, ok := offered[name]; !ok {
				return false
			}
		}
		return len(asked) == 3
	})
	if err != nil {
		t.Fatalf("offers %v, gateways that asked %v: %v\n%s", offered, asked, err, out.String())
	}
	if _, ok := offered["xgate"]; ok {
		t.Errorf("the app's bot is offered as a contact: %v", offered)
	}
	// The Slack contacts come grouped under the workspace's name
	// (XEP-0144), as docs/slack.md says.
	if _, err := c.Expect(wctx, func(s xmpp.Stanza) bool {
		m, ok := s.(*xmpp.Message)
		if !ok || m.From.String() != "slack.localhost" || len(m.Extra) == 0 || m.Extra[0].Name.Space != bridge.NSRosterX {
			return false
		}
		items := m.Extra[0].Children()
		return len(items) == 4 && items[0].ChildText("", "group") == "Demo Workspace"
	}); err != nil {
		t.Errorf("no roster group suggestion from the Slack gateway: %v", err)
	}
	s := xmpp.Stanza(&xmpp.Presence{Header: xmpp.Header{From: offered["Eliza"]}})
	eliza := s.Head().From
	c.Approve(eliza)
	c.Send(&xmpp.Message{Header: xmpp.Header{To: eliza, Type: xmpp.MessageChat, ID: "d1"}, Body: "I feel *fine*"})
	s, err = c.Expect(wctx, func(s xmpp.Stanza) bool {
		m, ok := s.(*xmpp.Message)
		return ok && m.From.Bare() == eliza && strings.HasPrefix(m.Body, "You said:")
	})
	if err != nil {
		t.Fatalf("Eliza did not answer: %v\n%s", err, out.String())
	}
	if body := s.(*xmpp.Message).Body; !strings.Contains(body, "I feel *fine*") || !strings.Contains(body, "@Alice") {
		t.Errorf("answer %q", body)
	}
	if !strings.Contains(out.String(), `Component "slack.localhost"`) {
		t.Errorf("banner missing:\n%s", out.String())
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("demo did not stop")
	}
}

// A demo directory is created when missing and can serve a second run: the
// store key of the first run is reused, so the store still opens.
func TestDemoReusesItsDirectory(t *testing.T) {
	p := prosodytest.Start(t, prosodytest.Options{
		Components: demoComponents,
	})
	dir := filepath.Join(t.TempDir(), "not", "yet")
	for run := range 2 {
		ctx, cancel := context.WithCancel(t.Context())
		var out lockedBuffer
		done := make(chan error, 1)
		go func() {
			done <- runDemo(ctx, demoOptions{server: p.ComponentAddr(), domain: "slack.localhost", secret: "demo", user: "alice@localhost", dir: dir}, &out,
				func(demoInfo) { cancel() })
		}()
		select {
		case err := <-done:
			cancel()
			if err != nil {
				t.Fatalf("run %d: %v\n%s", run+1, err, out.String())
			}
		case <-time.After(30 * time.Second):
			cancel()
			t.Fatalf("run %d did not stop\n%s", run+1, out.String())
		}
	}
}

// A fatal error (the host server refuses the secret) ends the demo with an
// error, as it ends `xgate run`, instead of leaving it running.
func TestDemoEndsOnFatalError(t *testing.T) {
	p := prosodytest.Start(t, prosodytest.Options{
		Components: demoComponents,
	})
	var out lockedBuffer
	done := make(chan error, 1)
	go func() {
		done <- runDemo(t.Context(), demoOptions{server: p.ComponentAddr(), domain: "slack.localhost", secret: "wrong", dir: t.TempDir()}, &out, nil)
	}()
	select {
	case err := <-done:
		if err == nil {
			t.Fatalf("demo with a wrong secret returned no error\n%s", out.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("demo with a wrong secret still runs\n%s", out.String())
	}
}

// demoComponents are the demo's components, as its host server declares
// them.
var demoComponents = []prosodytest.Component{
	{Domain: "slack.localhost", Secret: "demo"}, {Domain: "discord.localhost", Secret: "demo"}, {Domain: "sms.localhost", Secret: "demo"},
}

// runDemoUntilReady starts runDemo and returns what it tells once it
// serves, the channel of its result and its output.
func runDemoUntilReady(t *testing.T, ctx context.Context, o demoOptions) (demoInfo, <-chan error, *lockedBuffer) {
	t.Helper()
	out := &lockedBuffer{}
	done := make(chan error, 1)
	readyc := make(chan demoInfo, 1)
	go func() { done <- runDemo(ctx, o, out, func(i demoInfo) { readyc <- i }) }()
	select {
	case i := <-readyc:
		return i, done, out
	case err := <-done:
		t.Fatalf("demo ended before serving: %v\n%s", err, out.String())
	case <-time.After(30 * time.Second):
		t.Fatalf("demo not serving after 30 s\n%s", out.String())
	}
	return demoInfo{}, nil, nil
}

// `xgate demo` with no flags: a private Prosody on loopback, the demo user
// registered there and with the workspace, the way to connect printed, and
// Prosody stopped when the demo ends.
func TestDemoPrivateServer(t *testing.T) {
	prosodytest.Require(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	info, done, out := runDemoUntilReady(t, ctx, demoOptions{domain: "slack.localhost", secret: "demo", dir: t.TempDir()})
	if info.user.String() != defaultDemoUser || info.password == "" || info.c2s == "" {
		t.Fatalf("demo info %+v", info)
	}
	host, port, _ := strings.Cut(info.c2s, ":")
	mustContain(t, out.String(), "JID       "+defaultDemoUser, "password  "+info.password, "server    "+host+"  port "+port,
		"/connect "+defaultDemoUser+" server "+host+" port "+port, "conference.localhost")

	// The playground page lists the workspace's people.
	if !strings.HasPrefix(info.playground, "http://127.0.0.1:") || !strings.Contains(out.String(), "Playground: "+info.playground) {
		t.Errorf("playground %q not announced:\n%s", info.playground, out.String())
	}
	resp, err := http.Get(info.playground + "api/slack/people")
	if err != nil {
		t.Fatal(err)
	}
	people, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	mustContain(t, string(people), `"name":"Eliza"`, `"name":"Linus"`)

	wctx, wcancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer wcancel()
	c := prosodytest.Dial(wctx, t, info.c2s, info.user.Local(), info.user.Domain(), info.password)
	c.Send(&xmpp.Presence{})
	if _, err := c.Expect(wctx, func(s xmpp.Stanza) bool {
		pr, ok := s.(*xmpp.Presence)
		return ok && pr.Type == xmpp.PresenceSubscribe && strings.HasSuffix(pr.From.String(), "@slack.localhost")
	}); err != nil {
		t.Fatalf("no contact offer: %v\n%s", err, out.String())
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("demo did not stop")
	}
	if conn, err := net.DialTimeout("tcp", info.c2s, time.Second); err == nil {
		conn.Close()
		t.Errorf("the private Prosody still listens on %s after the demo", info.c2s)
	}
}

// Without prosody and without -server, the demo says what to install.
func TestDemoWithoutProsody(t *testing.T) {
	defer func(f func() string) { findProsody = f }(findProsody)
	findProsody = func() string { return "" }
	err := runDemo(t.Context(), demoOptions{domain: "slack.localhost", secret: "demo", dir: t.TempDir()}, io.Discard, nil)
	if !errors.Is(err, errNoProsody) || !strings.Contains(err.Error(), "apt-get install prosody") || !strings.Contains(err.Error(), "-server") {
		t.Fatalf("err = %v, want one that says to apt-get install prosody or use -server", err)
	}
}
