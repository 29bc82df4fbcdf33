package faults

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/xgate-im/xgate/xmpp"
)

// Slack answers alice's messages with rounds of rate limits (HTTP 429 with
// Retry-After) and server errors (HTTP 503). Everything must arrive once and in
// order, and a rate limit must cost only the wait Slack asked for: it does
// not grow the backoff that real failures do.
func TestRateLimitAndErrorStorm(t *testing.T) {
	r := newRig(t)
	ctx := bounded(t, 5*time.Minute)
	r.start(ctx)
	r.login(ctx)
	const rounds, limits = 2, 3
	for range rounds {
		r.fake.RateLimit("chat.postMessage", limits, time.Second)
		r.fake.FailHTTP("chat.postMessage", 1, http.StatusServiceUnavailable)
	}
	n := min(*flagMessages, 300)
	tr := newTraffic(r, n)
	readCtx, stopReading := context.WithCancel(ctx)
	defer stopReading()
	go tr.read(readCtx)
	start := time.Now()
	for i := range n {
		tr.toSlack.Sent(i)
		r.alice.Send(&xmpp.Message{Header: xmpp.Header{To: r.elizaAt, Type: xmpp.MessageChat, ID: fmt.Sprintf("x%d", i)}, Body: fmt.Sprintf("x %d", i)})
	}
	// The faults cost 6 waits of Retry-After 1 s and two failures of the
	// one message at the head of the queue (1 s, then 2 s of backoff):
	// about 9 s. Rate limits counted as failures would have grown the
	// backoff to 1+2+4+8 s, then 16+32+64+128 s.
	const budget = 20 * time.Second
	settleCtx, cancel := context.WithTimeout(ctx, budget)
	defer cancel()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for tr.slackArrivals() < n && settleCtx.Err() == nil {
		select {
		case <-settleCtx.Done():
		case <-tick.C:
		}
	}
	took := time.Since(start)
	stopReading()
	tr.settle(ctx, 0)
	out := tr.toSlack.Tally()
	report(t, fmt.Sprintf("%d×(%d 429s + one 503)", rounds, limits), map[string]Tally{"XMPP→network": out})
	t.Logf("%d of %d delivered in %s; postMessage called %d times", tr.slackArrivals(), n, took.Round(time.Millisecond), r.fake.CallCount("chat.postMessage"))
	if out.Lost > 0 || out.Duplicated > 0 || out.Reordered > 0 || out.Bounced > 0 {
		t.Errorf("XMPP→network: %v", out)
	}
	if calls, want := r.fake.CallCount("chat.postMessage"), n+rounds*(limits+1); calls != want {
		t.Errorf("chat.postMessage called %d times, want %d (each message once, each fault once)", calls, want)
	}
	if took > budget {
		t.Errorf("delivery took %s: rate limits grew the backoff", took)
	}
}
