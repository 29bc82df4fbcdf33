package faults

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/xgate-im/xgate/xmpp"
	"github.com/xgate-im/xgate/xmpp/prosodytest"
)

// The host server is killed with SIGKILL again and again while Slack sends
// alice numbered messages; she reconnects after each restart and gets what
// arrived meanwhile from the server's offline storage. The gateway keeps
// what the dying server had not confirmed and writes it again: nothing may
// be lost or reordered.
func TestHostServerKillUnderTraffic(t *testing.T) {
	for _, h := range []hostKind{prosody, ejabberd} {
		t.Run(h.name, func(t *testing.T) { testHostServerKill(t, h) })
	}
}

func testHostServerKill(t *testing.T, h hostKind) {
	r := newRigOn(t, h)
	ctx := bounded(t, 10*time.Minute)
	r.start(ctx)
	r.login(ctx)
	n, kills := *flagMessages, *flagKills
	in := NewLedger()
	readers := make(chan struct{}, kills+1)
	read := func(c *prosodytest.Client) {
		defer func() { readers <- struct{}{} }()
		for {
			s, err := c.Next(ctx)
			if err != nil {
				return
			}
			if m, ok := s.(*xmpp.Message); ok && m.From.Bare() == r.elizaAt {
				if k, ok := number(m.Body, "s "); ok {
					in.Delivered(k)
				}
			}
		}
	}
	go read(r.alice)

	progress := make(chan int, 128)
	go func() {
		defer close(progress)
		tick := time.NewTicker(time.Second / time.Duration(*flagRate))
		defer tick.Stop()
		for i := range n {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			in.Sent(i)
			r.fake.Post(r.eliza.ID, r.im, fmt.Sprintf("s %d", i))
			select {
			case progress <- i + 1:
			default:
			}
		}
	}()
	next := 1
	for sent := range progress {
		if next > kills || sent < next*n/(kills+1) {
			continue
		}
		next++
		r.p.Kill()
		<-readers // alice's connection died with the server
		r.p.Restart(t)
		c := prosodytest.Dial(ctx, t, r.p.C2SAddr(), "alice", "localhost", "pw")
		c.Send(&xmpp.Presence{})
		r.alice = c
		go read(c)
	}
	settle, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for got, _ := in.Count(); got < n && settle.Err() == nil; got, _ = in.Count() {
		select {
		case <-settle.Done():
		case <-tick.C:
		}
	}
	tl := in.Tally()
	report(t, fmt.Sprintf("%s SIGKILL ×%d", h.name, kills), map[string]Tally{"network→XMPP": tl})
	if tl.Lost > 0 || tl.Reordered > 0 || tl.Unknown > 0 {
		t.Errorf("network→XMPP: %v\n%s", tl, r.logTail(20))
	}
}
