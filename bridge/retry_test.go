package bridge_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/xgate-im/xgate/bridge"
	"github.com/xgate-im/xgate/xmpp"
)

// Rate limits interleaved with real failures wait what the network asks
// and do not grow the backoff: 6 rate limits and 6 server errors cost the
// backoff of 6 failures (10 ms doubling: 0.63 s), not of 12 (41 s).
func TestRateLimitsDoNotGrowTheBackoff(t *testing.T) {
	e := withBob(t)
	var fails []error
	for range 6 {
		fails = append(fails,
			&bridge.RateLimitError{RetryAfter: time.Millisecond, Err: fmt.Errorf("429")},
			fmt.Errorf("503: %w", bridge.ErrTemporary))
	}
	e.tr.FailSends(fails...)
	start := time.Now()
	e.send(`<message type='chat' id='x1' from='alice@example.org/a' to='bob@fake.example.org'><body>patience</body><request xmlns='urn:xmpp:receipts'/></message>`)
	e.expectMessage(func(m *xmpp.Message) bool {
		return len(m.Extra) > 0 && m.Extra[0].Name.Local == "received" && m.Extra[0].AttrValue("id") == "x1"
	})
	if took := time.Since(start); took > 8*time.Second {
		t.Errorf("delivered after %s", took)
	}
	if snap := e.gw.Metrics().Snapshot(); snap.RateLimited != 6 || snap.RetriedRemote != 12 || snap.SentRemote != 1 {
		t.Fatalf("metrics %+v", snap)
	}
}
