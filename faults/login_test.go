package faults

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/xgate-im/xgate/xmpp"
)

// Events that come while their account is still logging in (here: Slack
// refuses auth.test three times after a restart, so the login takes about
// 7 s, longer than the fake's 2 s acknowledgement timeout) are stored and
// acknowledged at once, then delivered in order once the login succeeds.
// Before, they stayed unacknowledged for up to 10 s and the network sent
// them again every 2 s (real Slack gives up after three tries).
func TestEventsDuringSlowLoginAreAcknowledgedAndDelivered(t *testing.T) {
	r := newRig(t)
	ctx := bounded(t, 3*time.Minute)
	const n = 40
	postWhileDown(ctx, r, n)
	r.fake.FailHTTP("auth.test", 3, http.StatusServiceUnavailable)
	timedOutBefore, _ := r.fake.Redeliveries()
	r.start(ctx)
	expectInOrder(t, ctx, r, n)
	timedOut, _ := r.fake.Redeliveries()
	t.Logf("Socket Mode: %d envelopes acknowledged, %d sent again after a timeout, %d pending", r.fake.Acked(), timedOut-timedOutBefore, r.fake.Pending())
	if timedOut > timedOutBefore || r.fake.Pending() > 0 {
		t.Errorf("%d envelopes sent again after a timeout, %d pending: the events waiting for the login were not acknowledged at once", timedOut-timedOutBefore, r.fake.Pending())
	}
}

// Events parked while their account logs in survive a SIGKILL: Slack will
// not send them again (they were acknowledged), so the next start hands
// them on from the store, in order.
func TestParkedEventsSurviveKill(t *testing.T) {
	r := newRig(t)
	ctx := bounded(t, 40*time.Second)
	const n = 40
	postWhileDown(ctx, r, n)
	r.fake.FailHTTP("auth.test", 2, http.StatusServiceUnavailable)
	acked := r.fake.Acked()
	r.start(ctx)
	// Parked: all acknowledged, none delivered yet (the login fails).
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for r.fake.Acked() < acked+n {
		select {
		case <-ctx.Done():
			t.Fatalf("%d of %d events acknowledged while the login fails\n%s", r.fake.Acked()-acked, n, r.logTail(30))
		case <-tick.C:
		}
	}
	r.kill()
	r.start(ctx)
	expectInOrder(t, ctx, r, n)
}

// postWhileDown registers alice, kills xgate and has Eliza write n
// messages ("s 0"…) meanwhile.
func postWhileDown(ctx context.Context, r *rig, n int) {
	r.start(ctx)
	r.login(ctx)
	r.kill()
	for i := range n {
		r.fake.Post(r.eliza.ID, r.im, fmt.Sprintf("s %d", i))
	}
}

// expectInOrder waits for Eliza's messages "s 0" to "s n-1" at alice, each
// once and in order.
func expectInOrder(t *testing.T, ctx context.Context, r *rig, n int) {
	t.Helper()
	for i := range n {
		s, err := r.alice.Expect(ctx, func(s xmpp.Stanza) bool {
			m, ok := s.(*xmpp.Message)
			return ok && m.From.Bare() == r.elizaAt && m.Body != ""
		})
		if err != nil {
			t.Fatalf("message %d of %d did not arrive: %v\n%s", i, n, err, r.logTail(30))
		}
		if got, want := s.(*xmpp.Message).Body, fmt.Sprintf("s %d", i); got != want {
			t.Fatalf("message %d is %q, want %q (lost, duplicated or out of order)", i, got, want)
		}
	}
}
