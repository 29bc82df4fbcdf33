// Package hostproctest holds what the tests of xmpp/prosodytest and
// xmpp/ejabberdtest share: a bounded context (Context), a port held by
// another listener (HoldPort), a port race lost on purpose (LoseRace), a
// restart on a taken port (CheckRestartOnTakenPort), a testing.TB that
// records Skip and Fatalf instead of ending the test (FakeTB), and the
// XEP-0114 component handshake done by hand, without xmpp.Component
// (Handshake, CheckHandshakes). Every network wait is bounded by a timeout
// given by the caller.
package hostproctest

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/xgate-im/xgate/xmpp"
	"github.com/xgate-im/xgate/xmpp/internal/hostproc"
)

// dialTimeout bounds the connection to the component listener.
const dialTimeout = 5 * time.Second

// Context returns a context that ends after d or when the test ends.
func Context(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), d)
	t.Cleanup(cancel)
	return ctx
}

// HoldPort listens on a free loopback port until the test ends and returns
// the port, as another process that took it would.
func HoldPort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l.Addr().(*net.TCPAddr).Port
}

// LoseRace makes the next pick of ports through *pick lose the race for
// one: it replaces *pick, until the test ends, with hostproc.FreePorts
// whose first result has at index slot a port that another listener
// holds, as when another process takes it first. It returns that port
// and the number of picks so far, which the caller reads after Start.
// Tests that use it cannot run in parallel.
func LoseRace(t testing.TB, pick *func(int) ([]int, error), slot int) (taken int, calls *int) {
	t.Helper()
	taken = HoldPort(t)
	calls = new(int)
	saved := *pick
	*pick = func(n int) ([]int, error) {
		*calls++
		p, err := hostproc.FreePorts(n)
		if *calls == 1 && err == nil {
			p[slot] = taken
		}
		return p, err
	}
	t.Cleanup(func() { *pick = saved })
	return taken, calls
}

// CheckRestartOnTakenPort checks that a stopped server, whose client port
// addr another listener now takes, fails restart (the server's Restart,
// which must keep its ports) with a message that contains want, and that
// running then reports it stopped. The test is skipped if the port cannot
// be taken.
func CheckRestartOnTakenPort(t testing.TB, addr string, restart func(testing.TB), want string, running func() bool) {
	t.Helper()
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("cannot take the stopped server's port: %v", err)
	}
	defer l.Close()
	f := &FakeTB{TB: t}
	restart(f)
	if !strings.Contains(f.FatalMsg, want) {
		t.Fatalf("Restart failure = %q, want the bind failure", f.FatalMsg)
	}
	if running() {
		t.Error("the failed server is still running")
	}
}

// FakeTB records what Skip and Fatalf report instead of ending the test;
// every other method is the embedded TB's.
type FakeTB struct {
	testing.TB
	// SkipMsg is what Skip was given, FatalMsg what Fatalf formatted; ""
	// when not called.
	SkipMsg, FatalMsg string
}

// Helper does nothing.
func (f *FakeTB) Helper() {}

// StandIn marks f as not a real test, so hostproc.SkipOrFail does not
// announce its skips.
func (f *FakeTB) StandIn() {}

// Skip records its message.
func (f *FakeTB) Skip(args ...any) { f.SkipMsg = fmt.Sprint(args...) }

// Fatalf records its message.
func (f *FakeTB) Fatalf(format string, a ...any) { f.FatalMsg = fmt.Sprintf(format, a...) }

// Handshake opens a component stream to domain at addr, hands the server's
// stream header to checkHeader (which fails the test if it is wrong),
// sends the handshake for secret and returns the server's answer: the
// element, or the error (a *xmpp.StreamError when the server refused).
// The connection lives at most timeout.
func Handshake(t testing.TB, addr, domain, secret string, timeout time.Duration, checkHeader func(testing.TB, xmpp.StreamHeader)) (*xmpp.Element, error) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, dialTimeout)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(timeout))
	fmt.Fprintf(conn, "<?xml version='1.0'?><stream:stream xmlns='jabber:component:accept' xmlns:stream='http://etherx.jabber.org/streams' to='%s'>", domain)
	dec := xmpp.NewDecoder(conn, xmpp.Limits{})
	h, err := dec.ReadHeader()
	if err != nil {
		t.Fatalf("read stream header: %v", err)
	}
	checkHeader(t, h)
	sum := sha1.Sum([]byte(h.ID + secret))
	fmt.Fprintf(conn, "<handshake>%s</handshake>", hex.EncodeToString(sum[:]))
	return dec.Next()
}

// HandshakeCase is one handshake of CheckHandshakes.
type HandshakeCase struct {
	Name, Domain, Secret string
	// OK says the server accepts the secret for the domain.
	OK bool
}

// CheckHandshakes runs each case as a parallel subtest of t: a Handshake
// with addr, timeout and checkHeader, which must be answered with an empty
// <handshake/> when the case is OK and otherwise with a not-authorized
// stream error from the server.
func CheckHandshakes(t *testing.T, addr string, timeout time.Duration, checkHeader func(testing.TB, xmpp.StreamHeader), cases []HandshakeCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) {
			t.Parallel()
			el, err := Handshake(t, addr, tc.Domain, tc.Secret, timeout, checkHeader)
			if tc.OK {
				if err != nil {
					t.Fatalf("handshake: %v", err)
				}
				if el.Name.Local != "handshake" || len(el.Nodes) != 0 {
					t.Fatalf("server answered %s, want <handshake/>", el)
				}
				return
			}
			var se *xmpp.StreamError
			if !errors.As(err, &se) || !se.Remote || se.Condition != xmpp.CondNotAuthorized {
				t.Fatalf("got element %v, error %v; want a not-authorized stream error from the server", el, err)
			}
		})
	}
}
