package faults

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/xgate-im/xgate/xmpp/prosodytest"
	"github.com/xgate-im/xgate/xmpp/xmpptest"
)

// hostile is a host server that misbehaves on purpose: the in-process
// server of xmpptest, which the test drives stanza by stanza.
type hostile struct{ *xmpptest.Server }

func (h hostile) ComponentAddr() string  { return h.Addr() }
func (h hostile) C2SAddr() string        { return "" }
func (h hostile) Kill()                  {}
func (h hostile) Restart(prosodytest.TB) {}
func (h hostile) LogTail(int) string     { return "" }

func newHostileRig(t *testing.T) (*rig, *xmpptest.Server) {
	srv := xmpptest.NewServer(t, gwSecret)
	t.Cleanup(srv.Close)
	return newRigOn(t, hostKind{"hostile", func(*testing.T) hostServer { return hostile{srv} }}), srv
}

// attempts waits up to first for xgate's first connection to srv, then
// counts the connections it makes within d of that one, the first one
// included: the window starts when xgate has started, however slow a
// loaded machine makes its start. It returns 0 if xgate never connected.
func attempts(ctx context.Context, srv *xmpptest.Server, first, d time.Duration) int {
	fctx, cancel := context.WithTimeout(ctx, first)
	_, err := srv.AcceptAny(fctx)
	cancel()
	if err != nil && strings.Contains(err.Error(), "no component connected") {
		return 0
	}
	actx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	n := 1
	for {
		if _, err := srv.AcceptAny(actx); actx.Err() != nil {
			return n
		} else if err == nil || !strings.Contains(err.Error(), "no component connected") {
			n++
		}
	}
}

// A host server that accepts the component and drops it at once, again and
// again, or sends it elsewhere with see-other-host in a loop, gets a
// connection attempt at a backed-off pace, not a storm (19.5 a second were
// measured before).
func TestHostileServerReconnectPace(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setUp func(srv *xmpptest.Server)
		// most is the attempts allowed in the window: the backoff of 50 ms
		// doubling to 1.5 s makes about 8 in 3 s; a redirect is followed
		// at once, at most 3 times in a row, before the next backoff.
		most int
	}{
		{"hangs up after the handshake", func(srv *xmpptest.Server) { srv.HangUp(true) }, 12},
		{"redirects to itself", func(srv *xmpptest.Server) { srv.Redirect(srv.Addr()) }, 40},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, srv := newHostileRig(t)
			ctx := bounded(t, 2*time.Minute)
			tc.setUp(srv)
			r.launch()
			// A minute for xgate's first attempt (a loaded machine
			// starts it slowly), then the window.
			const window = 3 * time.Second
			n := attempts(ctx, srv, time.Minute, window)
			t.Logf("%d connection attempts in %s", n, window)
			if n > tc.most {
				t.Errorf("%d connection attempts in %s: no backoff", n, window)
			}
			if n == 0 {
				t.Errorf("xgate never connected within a minute\n%s", r.logTail(20))
			}
		})
	}
}

// A 1 MB stanza from the host server is bounced to its sender with
// policy-violation and the stream stays up; a 100 KB stream error text does
// not make a 100 KB log line.
func TestHostileServerOversizeInput(t *testing.T) {
	r, srv := newHostileRig(t)
	ctx := bounded(t, time.Minute)
	r.start(ctx)
	conn, err := srv.Accept(ctx)
	if err != nil {
		t.Fatal(err)
	}
	conn.ReadAhead()
	big := strings.Repeat("x", 1<<20)
	conn.Send(fmt.Sprintf("<message from='alice@localhost/a' to='someone@%s' id='big' type='chat'><body>%s</body></message>", gwDomain, big))
	conn.Send(fmt.Sprintf("<iq type='get' from='alice@localhost/a' to='%s' id='after'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>", gwDomain))
	bounced, answered := false, false
	for !bounced || !answered {
		el, err := conn.Next(ctx)
		if err != nil {
			t.Fatalf("bounced %v, answered %v: %v\n%s", bounced, answered, err, r.logTail(20))
		}
		switch el.AttrValue("id") {
		case "big":
			if el.AttrValue("type") != "error" || !strings.Contains(el.String(), "policy-violation") {
				t.Fatalf("the oversize stanza got %s", el)
			}
			if len(el.String()) > 64<<10 {
				t.Errorf("the bounce carries %d bytes back", len(el.String()))
			}
			bounced = true
		case "after":
			answered = el.AttrValue("type") == "result"
		}
	}

	conn.Send("<stream:error><undefined-condition xmlns='urn:ietf:params:xml:ns:xmpp-streams'/><text xmlns='urn:ietf:params:xml:ns:xmpp-streams'>" +
		strings.Repeat("y", 100<<10) + "</text></stream:error></stream:stream>")
	// xgate comes back on a new stream...
	if _, err := srv.Accept(ctx); err != nil {
		t.Fatalf("xgate did not reconnect after a stream error: %v", err)
	}
	// ...and logged the error text cut short.
	r.stop()
	f, err := os.Open(filepath.Join(r.dir, fmt.Sprintf("xgate-%d.log", r.runs)))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 4<<20)
	longest := 0
	for sc.Scan() {
		longest = max(longest, len(sc.Text()))
	}
	if longest > 4096 {
		t.Errorf("a log line of %d bytes", longest)
	}
}
