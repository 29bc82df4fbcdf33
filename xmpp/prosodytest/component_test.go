package prosodytest_test

import (
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/xgate-im/xgate/xmpp"
	"github.com/xgate-im/xgate/xmpp/prosodytest"
)

// TestComponentHandshake completes the XEP-0114 handshake by hand against
// the component port, independently of xmpp.Component.
func TestComponentHandshake(t *testing.T) {
	t.Parallel()
	s := prosodytest.Start(t, prosodytest.Options{
		Components: []prosodytest.Component{
			{Domain: "gw.localhost", Secret: "s3cret"},
			{Domain: "sms.localhost", Secret: `quote" back\slash`},
		},
	})
	for _, tc := range []struct {
		name, domain, secret string
		ok                   bool
	}{
		{"right secret", "gw.localhost", "s3cret", true},
		{"secret needing Lua escapes", "sms.localhost", `quote" back\slash`, true},
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
// secret; it returns the server's answer.
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
	if h.ID == "" || h.Namespace != xmpp.NSComponent {
		t.Fatalf("stream header %+v: want an id and namespace %s", h, xmpp.NSComponent)
	}
	sum := sha1.Sum([]byte(h.ID + secret))
	fmt.Fprintf(conn, "<handshake>%s</handshake>", hex.EncodeToString(sum[:]))
	return dec.Next()
}
