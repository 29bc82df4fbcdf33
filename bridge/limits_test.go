package bridge_test

import (
	"strings"
	"testing"
	"time"

	"github.com/xgate-im/xgate/bridge"
	"github.com/xgate-im/xgate/xmpp"
)

// Allowed users have a share of their own, looser than strangers': with
// Access.UserRate set, alice's flood of queries is cut to her burst and
// rate (the excess answered resource-constraint or dropped, and counted)
// while bob, allowed too, is answered at once; without it she is not
// limited.
func TestAllowedUsersHaveAShare(t *testing.T) {
	const flood = 200
	for _, tc := range []struct {
		name     string
		userRate float64
	}{
		{"user_rate 10: a burst of 40, 10/s", 10},
		{"no user_rate: not limited", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, func(c *bridge.Config) { c.Access.UserRate = tc.userRate })
			start := time.Now()
			for i := range flood {
				e.send(`<iq type='get' id='q%d' from='alice@example.org/a' to='%s'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>`, i, domain)
			}
			// The dispatcher takes stanzas in order: once bob's answer
			// is out, every one of alice's queries was dealt with.
			e.send(`<iq type='get' id='bob1' from='bob@example.org/b' to='%s'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>`, domain)
			results, refused := 0, 0
			for {
				iq := e.expect(func(s xmpp.Stanza) bool { _, ok := s.(*xmpp.IQ); return ok }).(*xmpp.IQ)
				if iq.ID == "bob1" {
					if iq.Type != xmpp.IQResult {
						t.Fatalf("bob, allowed too, got %s", iq.Element())
					}
					break
				}
				switch {
				case !strings.HasPrefix(iq.ID, "q"):
				case iq.Type == xmpp.IQResult:
					results++
				case errCond(iq) == xmpp.CondResourceConstraint:
					refused++
				default:
					t.Fatalf("alice got %s", iq.Element())
				}
			}
			elapsed := time.Since(start) // the time tokens had to refill
			st := e.gw.SenderLimits()
			t.Logf("%d answered, %d refused; limiter %+v; dealt with in %s", results, refused, st, elapsed)
			if uint64(refused) != st.Answered || uint64(results)+st.Answered+st.Dropped != flood {
				t.Fatalf("%d answered + %d refused, limiter %+v: not all %d accounted for", results, refused, st, flood)
			}
			if tc.userRate == 0 {
				if results != flood {
					t.Fatalf("%d of %d answered without a user_rate", results, flood)
				}
				return
			}
			burst := int(4 * tc.userRate)
			most := burst + int(tc.userRate*(elapsed+time.Second).Seconds())
			if results < burst || results > most || refused == 0 {
				t.Fatalf("%d of %d answered (want %d to %d), %d refused", results, flood, burst, most, refused)
			}
		})
	}
}
