package ejabberdtest_test

import (
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/xgate-im/xgate/xmpp"
	"github.com/xgate-im/xgate/xmpp/ejabberdtest"
)

// TestComponentHandshake completes the XEP-0114 handshake by hand against
// the component port, independently of xmpp.Component.
func TestComponentHandshake(t *testing.T) {
	t.Parallel()
	s := ejabberdtest.Start(t, ejabberdtest.Options{
		Components: []ejabberdtest.Component{
			{Domain: "gw.localhost", Secret: "s3cret"},
			{Domain: "sms.localhost", Secret: `quote" back\slash: # 'x' ünï`},
		},
	})
	for _, tc := range []struct {
		name, domain, secret string
		ok                   bool
	}{
		{"right secret", "gw.localhost", "s3cret", true},
		{"secret needing YAML escapes", "sms.localhost", `quote" back\slash: # 'x' ünï`, true},
		{"wrong secret", "gw.localhost", "guess", false},
		{"other component's secret", "sms.localhost", "s3cret", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			el, err := handshake(t, s.ComponentAddr(), tc.domain, tc.secret)
			if tc.ok {
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

// handshake opens a component stream to domain and sends the handshake for
// secret; it returns the server's answer. ejabberd's stream id is a
// decimal number, unlike Prosody's UUID: the handshake must use it as
// opaque text.
func handshake(t *testing.T, addr, domain, secret string) (*xmpp.Element, error) {
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(testTimeout))
	fmt.Fprintf(conn, "<?xml version='1.0'?><stream:stream xmlns='jabber:component:accept' xmlns:stream='http://etherx.jabber.org/streams' to='%s'>", domain)
	dec := xmpp.NewDecoder(conn, xmpp.Limits{})
	h, err := dec.ReadHeader()
	if err != nil {
		t.Fatalf("read stream header: %v", err)
	}
	if h.Namespace != xmpp.NSComponent {
		t.Fatalf("stream header %+v: want namespace %s", h, xmpp.NSComponent)
	}
	if _, err := strconv.ParseUint(h.ID, 10, 64); err != nil {
		t.Fatalf("stream id %q: want ejabberd's decimal number", h.ID)
	}
	sum := sha1.Sum([]byte(h.ID + secret))
	fmt.Fprintf(conn, "<handshake>%s</handshake>", hex.EncodeToString(sum[:]))
	return dec.Next()
}
