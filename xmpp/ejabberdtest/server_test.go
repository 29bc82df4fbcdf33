package ejabberdtest_test

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/xgate-im/xgate/xmpp"
	"github.com/xgate-im/xgate/xmpp/ejabberdtest"
	"github.com/xgate-im/xgate/xmpp/internal/hostproc/hostproctest"
	"github.com/xgate-im/xgate/xmpp/prosodytest"
)

// testTimeout bounds each test's network waits.
const testTimeout = 30 * time.Second

// testContext returns a context that ends after testTimeout or with t.
func testContext(t *testing.T) context.Context { return hostproctest.Context(t, testTimeout) }

// TestLoginAndSelfMessage logs a user in with prosodytest's client, which
// works against ejabberd unchanged, and sends it a message to itself.
func TestLoginAndSelfMessage(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	begin := time.Now()
	s := ejabberdtest.Start(t, ejabberdtest.Options{Users: map[string]string{"alice": "wonderland"}})
	t.Logf("Start with one user took %v", time.Since(begin))

	c := prosodytest.Dial(ctx, t, s.C2SAddr(), "alice", s.Host(), "wonderland")
	if got := c.JID(); got.Local() != "alice" || got.Domain() != "localhost" || got.Resource() == "" {
		t.Fatalf("JID() = %q, want alice@localhost/<resource>", got)
	}
	roster, err := c.Roster(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(roster) != 0 {
		t.Fatalf("roster of a new account = %+v, want empty", roster)
	}
	msg := &xmpp.Message{Header: xmpp.Header{To: c.JID(), Type: xmpp.MessageChat, ID: "m1"}, Body: "hello <me> & me"}
	if err := c.Send(msg); err != nil {
		t.Fatal(err)
	}
	got, err := c.Expect(ctx, prosodytest.MessageWithBody("hello <me> & me"))
	if err != nil {
		t.Fatal(err)
	}
	m := got.(*xmpp.Message)
	if m.From != c.JID() || m.ID != "m1" || m.Type != xmpp.MessageChat {
		t.Errorf("received from=%q id=%q type=%q, want from=%q id=m1 type=chat", m.From, m.ID, m.Type, c.JID())
	}
}

// TestStartTime reports how long Start takes: with a component and no
// user, and with four users on another host.
func TestStartTime(t *testing.T) {
	t.Parallel()
	for range 2 {
		begin := time.Now()
		ejabberdtest.Start(t, ejabberdtest.Options{
			Components: []ejabberdtest.Component{{Domain: "gw.localhost", Secret: "s"}},
		})
		t.Logf("Start (component, no users) took %v", time.Since(begin))
	}
	begin := time.Now()
	s := ejabberdtest.Start(t, ejabberdtest.Options{
		Host:  "example.test",
		Users: map[string]string{"a": "1", "b": "2", "c": "3", "d": "4"},
	})
	t.Logf("Start with four users took %v", time.Since(begin))
	ctx := testContext(t)
	c := prosodytest.Dial(ctx, t, s.C2SAddr(), "d", "example.test", "4")
	if got := c.JID().Bare().String(); got != "d@example.test" {
		t.Errorf("JID = %s, want d@example.test", got)
	}
}

func TestWrongPassword(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	s := ejabberdtest.Start(t, ejabberdtest.Options{Users: map[string]string{"alice": "right"}})
	for _, tc := range []struct {
		name, user, password string
	}{
		{"wrong password", "alice", "wrong"},
		{"unknown user", "mallory", "right"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := prosodytest.Connect(ctx, s.C2SAddr(), prosodytest.ClientConfig{User: tc.user, Host: s.Host(), Password: tc.password})
			if err == nil {
				c.Close()
				t.Fatal("login succeeded")
			}
			if !errors.Is(err, prosodytest.ErrAuthFailed) {
				t.Fatalf("err = %v, want ErrAuthFailed", err)
			}
		})
	}
}

func TestRegisterWhileRunningAndResource(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	s := ejabberdtest.Start(t, ejabberdtest.Options{})
	s.Register(t, "bob", "builder")
	c, err := prosodytest.Connect(ctx, s.C2SAddr(), prosodytest.ClientConfig{User: "bob", Host: s.Host(), Password: "builder", Resource: "desk"})
	if err != nil {
		t.Fatal(err)
	}
	if got := c.JID().String(); got != "bob@localhost/desk" {
		t.Errorf("JID() = %q, want bob@localhost/desk", got)
	}
	if err := c.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
}

// TestKillRestartSamePorts kills ejabberd under a connected client,
// restarts it on the same ports and finds the account and its roster; a
// clean Stop then ends the client's stream, and Restart works after it.
func TestKillRestartSamePorts(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	s := ejabberdtest.Start(t, ejabberdtest.Options{
		Users:      map[string]string{"alice": "pw"},
		Components: []ejabberdtest.Component{{Domain: "gw.localhost", Secret: "secret"}},
	})
	c2s, comp := s.C2SAddr(), s.ComponentAddr()
	c := prosodytest.Dial(ctx, t, c2s, "alice", s.Host(), "pw")
	if err := c.SetRosterItem(ctx, prosodytest.RosterItem{JID: "carol@localhost", Name: "Carol", Groups: []string{"Friends"}}); err != nil {
		t.Fatal(err)
	}

	begin := time.Now()
	s.Kill()
	t.Logf("Kill took %v", time.Since(begin))
	if _, err := c.Expect(ctx, func(xmpp.Stanza) bool { return false }); !errors.Is(err, prosodytest.ErrClosed) {
		t.Fatalf("client after Kill: %v, want ErrClosed", err)
	}
	if _, err := prosodytest.Connect(ctx, c2s, prosodytest.ClientConfig{User: "alice", Host: s.Host(), Password: "pw"}); err == nil {
		t.Fatal("login succeeded while the server is killed")
	}

	begin = time.Now()
	s.Restart(t)
	t.Logf("Restart after Kill took %v", time.Since(begin))
	if s.C2SAddr() != c2s || s.ComponentAddr() != comp {
		t.Fatalf("addresses changed: %s %s, want %s %s", s.C2SAddr(), s.ComponentAddr(), c2s, comp)
	}
	c = prosodytest.Dial(ctx, t, c2s, "alice", s.Host(), "pw")
	roster, err := c.Roster(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(roster) != 1 || roster[0].JID != "carol@localhost" || roster[0].Name != "Carol" ||
		roster[0].Subscription != "none" || strings.Join(roster[0].Groups, ",") != "Friends" {
		t.Fatalf("roster after restart = %+v, want carol@localhost (Carol, none, Friends)", roster)
	}
	if log := s.LogTail(400); strings.Count(log, "for ejabberd_c2s") < 2 {
		t.Errorf("log should show two starts of the c2s listener, got:\n%s", log)
	}

	// A clean stop ends the client's stream between stanzas: with a
	// system-shutdown stream error, or (about one stop in 16 on a busy
	// machine) without one, when the node exits before the session wrote
	// it. Never in the middle of an element.
	begin = time.Now()
	s.Stop()
	t.Logf("Stop with a client connected took %v", time.Since(begin))
	_, err = c.Next(ctx)
	var se *xmpp.StreamError
	switch {
	case !errors.Is(err, prosodytest.ErrClosed):
		t.Errorf("Next after Stop = %v, want ErrClosed", err)
	case errors.As(err, &se):
		if se.Condition != xmpp.CondSystemShutdown {
			t.Errorf("Next after Stop = %v, want a system-shutdown stream error", err)
		}
	case !errors.Is(err, io.ErrUnexpectedEOF) || strings.Contains(err.Error(), "mid-element"):
		t.Errorf("Next after Stop = %v, want system-shutdown or the stream closed between stanzas", err)
	default:
		t.Logf("ejabberd stopped without sending system-shutdown: %v", err)
	}
	s.Stop()
	s.Restart(t)
	prosodytest.Dial(ctx, t, c2s, "alice", s.Host(), "pw")
}
