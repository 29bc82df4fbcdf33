package prosodytest_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/xgate-im/xgate/xmpp"
	"github.com/xgate-im/xgate/xmpp/internal/hostproc/hostproctest"
	"github.com/xgate-im/xgate/xmpp/prosodytest"
)

// testTimeout bounds each test's network waits.
const testTimeout = 20 * time.Second

// testContext returns a context that ends after testTimeout or with t.
func testContext(t *testing.T) context.Context { return hostproctest.Context(t, testTimeout) }

func TestLoginRosterAndSelfMessage(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	begin := time.Now()
	s := prosodytest.Start(t, prosodytest.Options{Users: map[string]string{"alice": "wonderland"}})
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

func TestStartTime(t *testing.T) {
	t.Parallel()
	for range 3 {
		begin := time.Now()
		prosodytest.Start(t, prosodytest.Options{
			Components: []prosodytest.Component{{Domain: "gw.localhost", Secret: "s"}},
			MUC:        "conference.localhost",
			Upload:     "upload.localhost",
		})
		t.Logf("Start (component, MUC, upload, no users) took %v", time.Since(begin))
	}
	begin := time.Now()
	prosodytest.Start(t, prosodytest.Options{Users: map[string]string{"a": "1", "b": "2", "c": "3", "d": "4"}})
	t.Logf("Start with four users took %v", time.Since(begin))
}

func TestWrongPassword(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	s := prosodytest.Start(t, prosodytest.Options{Users: map[string]string{"alice": "right"}})
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
	s := prosodytest.Start(t, prosodytest.Options{Host: "example.test"})
	s.Register(t, "bob", "builder")
	c, err := prosodytest.Connect(ctx, s.C2SAddr(), prosodytest.ClientConfig{User: "bob", Host: "example.test", Password: "builder", Resource: "desk"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if got := c.JID().String(); got != "bob@example.test/desk" {
		t.Errorf("JID() = %q, want bob@example.test/desk", got)
	}
	if err := c.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if err := c.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if err := c.SendRaw("<presence/>"); !errors.Is(err, prosodytest.ErrClosed) {
		t.Errorf("SendRaw after Close = %v, want ErrClosed", err)
	}
}

func TestKillRestartSamePorts(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	s := prosodytest.Start(t, prosodytest.Options{
		Users:      map[string]string{"alice": "pw"},
		Components: []prosodytest.Component{{Domain: "gw.localhost", Secret: "secret"}},
	})
	c2s, comp := s.C2SAddr(), s.ComponentAddr()
	c := prosodytest.Dial(ctx, t, c2s, "alice", s.Host(), "pw")
	if err := c.SetRosterItem(ctx, prosodytest.RosterItem{JID: "carol@localhost", Name: "Carol", Groups: []string{"Friends"}}); err != nil {
		t.Fatal(err)
	}

	s.Kill()
	if _, err := c.Next(ctx); !errors.Is(err, prosodytest.ErrClosed) {
		t.Fatalf("Next after Kill = %v, want ErrClosed", err)
	}
	if _, err := prosodytest.Connect(ctx, c2s, prosodytest.ClientConfig{User: "alice", Host: s.Host(), Password: "pw"}); err == nil {
		t.Fatal("login succeeded while the server is killed")
	}

	s.Restart(t)
	if s.C2SAddr() != c2s || s.ComponentAddr() != comp {
		t.Fatalf("addresses changed: %s %s, want %s %s", s.C2SAddr(), s.ComponentAddr(), c2s, comp)
	}
	c = prosodytest.Dial(ctx, t, c2s, "alice", s.Host(), "pw")
	roster, err := c.Roster(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := prosodytest.RosterItem{JID: "carol@localhost", Name: "Carol", Subscription: "none", Groups: []string{"Friends"}}
	if len(roster) != 1 || roster[0].JID != want.JID || roster[0].Name != want.Name ||
		roster[0].Subscription != want.Subscription || strings.Join(roster[0].Groups, ",") != "Friends" {
		t.Fatalf("roster after restart = %+v, want [%+v]", roster, want)
	}
	if log := s.LogTail(400); strings.Count(log, "Activated service 'c2s'") != 2 {
		t.Errorf("log should show two starts of c2s, got:\n%s", log)
	}

	// Stop ends client sessions. Prosody 0.12 means to send a
	// system-shutdown stream error first but often closes the connection
	// before flushing it, so either ending is accepted. Stop is idempotent
	// and Restart works after it.
	begin := time.Now()
	s.Stop()
	t.Logf("Stop with a client connected took %v", time.Since(begin))
	_, err = c.Next(ctx)
	var se *xmpp.StreamError
	if !errors.Is(err, prosodytest.ErrClosed) || errors.As(err, &se) && se.Condition != xmpp.CondSystemShutdown {
		t.Errorf("Next after Stop = %v, want ErrClosed (with a system-shutdown stream error, if any)", err)
	}
	if err := c.Close(); err != nil {
		t.Errorf("Close after the server ended the stream: %v", err)
	}
	s.Stop()
	s.Restart(t)
	prosodytest.Dial(ctx, t, c2s, "alice", s.Host(), "pw")
}
