package faults

import (
	"context"
	"flag"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/xgate-im/xgate/xmpp"
	"github.com/xgate-im/xgate/xmpp/jid"
	"github.com/xgate-im/xgate/xmpp/prosodytest"
)

var flagFlood = flag.Int("faults.flood", 30000, "disco#info queries in the flood scenario")

// A JID that is not allowed to use the gateway floods it with disco#info
// queries through the host server. Registered users must still be served
// promptly all along, and messages from the network keep flowing.
func TestFloodFromStranger(t *testing.T) {
	r := newRig(t)
	ctx := bounded(t, 5*time.Minute)
	r.start(ctx)
	r.login(ctx)
	mallory := prosodytest.Dial(ctx, t, r.p.C2SAddr(), "mallory", "localhost", "pw")
	mallory.Send(&xmpp.Presence{})

	floodDone := make(chan error, 1)
	go func() {
		var b strings.Builder
		for i := range *flagFlood {
			fmt.Fprintf(&b, "<iq type='get' to='%s' id='f%d'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>", gwDomain, i)
			if b.Len() > 32<<10 || i == *flagFlood-1 {
				if err := mallory.SendRaw(b.String()); err != nil {
					floodDone <- err
					return
				}
				b.Reset()
			}
		}
		floodDone <- nil
	}()

	// alice asks the gateway something every 50 ms while the flood lasts,
	// and once more after it.
	gw := jid.MustParse(gwDomain)
	var rtts []time.Duration
	ask := func(what string) {
		qctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		start := time.Now()
		res, err := r.alice.Request(qctx, &xmpp.IQ{Header: xmpp.Header{To: gw, Type: xmpp.IQGet},
			Payload: xmpp.NewElement("http://jabber.org/protocol/disco#info", "query")})
		if err != nil || res.Type != xmpp.IQResult {
			t.Fatalf("%s: alice's disco#info: %v %v\n%s", what, res, err, r.logTail(20))
		}
		rtts = append(rtts, time.Since(start))
	}
	if err := <-floodDone; err != nil {
		t.Fatal(err)
	}
	// The host server is now handing the flood to the gateway: alice's
	// queries queue behind it there.
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for range 60 {
		<-tick.C
		ask("while the flood is digested")
	}
	// A message from the network still arrives at once.
	r.fake.Post(r.eliza.ID, r.im, "still here")
	mctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if _, err := r.alice.Expect(mctx, prosodytest.MessageWithBody("still here")); err != nil {
		t.Fatalf("a message from Slack after the flood: %v", err)
	}
	slices.Sort(rtts)
	p99 := rtts[len(rtts)*99/100]
	t.Logf("flood of %d queries: alice's %d queries answered, median %s, p99 %s, max %s",
		*flagFlood, len(rtts), rtts[len(rtts)/2], p99, rtts[len(rtts)-1])
	if p99 > time.Second {
		t.Errorf("alice waited %s (p99) for answers during a stranger's flood", p99)
	}
}
