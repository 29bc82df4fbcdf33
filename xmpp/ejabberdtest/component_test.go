package ejabberdtest_test

import (
	"strconv"
	"testing"

	"github.com/xgate-im/xgate/xmpp"
	"github.com/xgate-im/xgate/xmpp/ejabberdtest"
	"github.com/xgate-im/xgate/xmpp/internal/hostproc/hostproctest"
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
	hostproctest.CheckHandshakes(t, s.ComponentAddr(), testTimeout, checkHeader, []hostproctest.HandshakeCase{
		{Name: "right secret", Domain: "gw.localhost", Secret: "s3cret", OK: true},
		{Name: "secret needing YAML escapes", Domain: "sms.localhost", Secret: `quote" back\slash: # 'x' ünï`, OK: true},
		{Name: "wrong secret", Domain: "gw.localhost", Secret: "guess"},
		{Name: "other component's secret", Domain: "sms.localhost", Secret: "s3cret"},
	})
}

// checkHeader wants ejabberd's answer to a component stream to be in the
// component namespace, with ejabberd's decimal stream id. It differs from
// Prosody's UUID: the handshake must use it as opaque text.
func checkHeader(t testing.TB, h xmpp.StreamHeader) {
	t.Helper()
	if h.Namespace != xmpp.NSComponent {
		t.Fatalf("stream header %+v: want namespace %s", h, xmpp.NSComponent)
	}
	if _, err := strconv.ParseUint(h.ID, 10, 64); err != nil {
		t.Fatalf("stream id %q: want ejabberd's decimal number", h.ID)
	}
}
