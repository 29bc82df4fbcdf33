package bridge

import (
	"testing"
)

// awaitedSession is a Session for Awaited's test; only its identity is
// used.
type awaitedSession struct{ Session }

// Awaited finds the session of a login that ends between its two
// questions: attached, then no longer expected by the gateway.
func TestAwaitedSeesALoginThatEndsMeanwhile(t *testing.T) {
	tests := []struct {
		name                         string
		attached, loggingIn, endsNow bool
		live, expected               bool
	}{
		{name: "live", attached: true, live: true},
		{name: "logging in", loggingIn: true, expected: true},
		{name: "login ends between the questions", loggingIn: true, endsNow: true, live: true},
		{name: "nobody", live: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := NewFanout(nil, nil)
			const acct = AccountID("a1")
			if tt.attached {
				f.Attach(acct, awaitedSession{})
			}
			f.expect(func(AccountID) bool {
				if tt.endsNow {
					// The login attaches its session, and the gateway
					// counts the account as logged in: not expected.
					f.Attach(acct, awaitedSession{})
					return false
				}
				return tt.loggingIn
			})
			live, expected, known := f.Awaited(acct)
			if live != tt.live || expected != tt.expected || !known {
				t.Errorf("Awaited = live %v, expected %v, known %v; want %v, %v, true", live, expected, known, tt.live, tt.expected)
			}
		})
	}
	// Without a gateway, Awaited says so (known false).
	if _, _, known := NewFanout(nil, nil).Awaited("x"); known {
		t.Error("known without a gateway")
	}
}
