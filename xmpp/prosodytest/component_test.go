package prosodytest_test

import (
	"testing"

	"github.com/xgate-im/xgate/xmpp"
	"github.com/xgate-im/xgate/xmpp/internal/hostproc/hostproctest"
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
	hostproctest.CheckHandshakes(t, s.ComponentAddr(), testTimeout, checkHeader, []hostproctest.HandshakeCase{
		{Name: "right secret", Domain: "gw.localhost", Secret: "s3cret", OK: true},
		{Name: "secret needing Lua escapes", Domain: "sms.localhost", Secret: `quote" back\slash`, OK: true},
		{Name: "wrong secret", Domain: "gw.localhost", Secret: "guess"},
		{Name: "other component's secret", Domain: "sms.localhost", Secret: "s3cret"},
	})
}

// checkHeader wants Prosody's answer to a component stream to have an id
// and the component namespace.
func checkHeader(t testing.TB, h xmpp.StreamHeader) {
	t.Helper()
	if h.ID == "" || h.Namespace != xmpp.NSComponent {
		t.Fatalf("stream header %+v: want an id and namespace %s", h, xmpp.NSComponent)
	}
}
