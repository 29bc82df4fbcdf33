package faults

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/xgate-im/xgate/xmpp"
	"github.com/xgate-im/xgate/xmpp/prosodytest"
)

// The host server is killed with SIGKILL again and again while Slack sends
// alice numbered messages and alice sends Eliza some; she reconnects after
// each restart and gets what arrived meanwhile from the server's offline
// storage. The gateway keeps what the dying server had not confirmed and
// writes it again: nothing from the network may be lost or reordered, and
// duplicates stay within the crash window. What alice sends is delivered,
// bounced, or lost by the dying server itself (it had taken it from her
// and not yet routed it to xgate): never a message xgate confirmed with a
// receipt, never twice, never out of order.
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
	in, out := NewLedger(), NewLedger()
	var (
		mu       sync.Mutex
		alice    = r.alice        // her connection; nil while the server is down
		receipts = map[int]bool{} // her messages xgate confirmed
	)
	readers := make(chan struct{}, kills+1)
	read := func(c *prosodytest.Client) {
		defer func() { readers <- struct{}{} }()
		for {
			s, err := c.Next(ctx)
			if err != nil {
				return
			}
			m, ok := s.(*xmpp.Message)
			if !ok {
				continue
			}
			if m.Type == xmpp.MessageError {
				if k, ok := number(m.ID, "x"); ok {
					out.Bounced(k)
				}
				continue
			}
			if m.From.Bare() != r.elizaAt {
				continue
			}
			for _, x := range m.Extra {
				if x.Name.Space == nsReceipts && x.Name.Local == "received" {
					if k, ok := number(x.AttrValue("id"), "x"); ok {
						mu.Lock()
						receipts[k] = true
						mu.Unlock()
					}
				}
			}
			if k, ok := number(m.Body, "s "); ok {
				in.Delivered(k)
			}
		}
	}
	go read(r.alice)

	progress := make(chan int, 128)
	go func() {
		defer close(progress)
		tick := time.NewTicker(time.Second / time.Duration(*flagRate))
		defer tick.Stop()
		sentOut := 0
		for i := range n {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			in.Sent(i)
			r.fake.Post(r.eliza.ID, r.im, fmt.Sprintf("s %d", i))
			// alice's side counts what her client could write: while
			// the server is down there is nothing to write to.
			mu.Lock()
			c := alice
			mu.Unlock()
			if c != nil && c.Send(&xmpp.Message{Header: xmpp.Header{To: r.elizaAt, Type: xmpp.MessageChat, ID: fmt.Sprintf("x%d", sentOut)}, Body: fmt.Sprintf("x %d", sentOut),
				Extra: []*xmpp.Element{xmpp.NewElement(nsReceipts, "request")}}) == nil {
				out.Sent(sentOut)
				sentOut++
			}
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
		mu.Lock()
		alice = nil
		mu.Unlock()
		r.p.Kill()
		<-readers // alice's connection died with the server
		r.p.Restart(t)
		c := prosodytest.Dial(ctx, t, r.p.C2SAddr(), "alice", "localhost", "pw")
		c.Send(&xmpp.Presence{})
		mu.Lock()
		alice = c
		mu.Unlock()
		go read(c)
	}
	// Settle: everything accounted for each way, or, once everything from
	// the network arrived, nothing new from alice for 10 s (what the dying
	// servers lost never comes); at most a minute.
	slack := func() map[int]int {
		got := map[int]int{}
		for _, m := range r.fake.Messages(r.im) {
			if k, ok := number(m.Text, "x "); ok && m.User == r.me.ID {
				got[k]++
			}
		}
		return got
	}
	settle, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	last, lastChange := -1, time.Now()
	for settle.Err() == nil {
		got, _ := in.Count()
		_, bounced := out.Count()
		arrived := len(slack())
		if got >= n && arrived+bounced >= out.Tally().Sent {
			break
		}
		if total := got + arrived + bounced; total != last {
			last, lastChange = total, time.Now()
		} else if got >= n && time.Since(lastChange) > 10*time.Second {
			break
		}
		select {
		case <-settle.Done():
		case <-tick.C:
		}
	}
	// In the conversation's order, for the reordering count.
	for _, m := range r.fake.Messages(r.im) {
		if k, ok := number(m.Text, "x "); ok && m.User == r.me.ID {
			out.Delivered(k)
		}
	}
	arrived := slack()
	mu.Lock()
	lostConfirmed := 0
	for k := range receipts {
		if arrived[k] == 0 {
			lostConfirmed++
		}
	}
	mu.Unlock()

	tl, ot := in.Tally(), out.Tally()
	report(t, fmt.Sprintf("%s SIGKILL ×%d", h.name, kills), map[string]Tally{"network→XMPP": tl, "XMPP→network": ot})
	if tl.Lost > 0 {
		t.Logf("network→XMPP lost: %v", out2ranges(in.Lost()))
	}
	if tl.Duplicated > 0 {
		t.Logf("network→XMPP duplicated: %v", out2ranges(in.Duplicated()))
	}
	// ejabberd answers the delivery barrier once its router has taken the
	// stanzas written before it, not once the recipient's session (another
	// Erlang process) has written or stored them; xgate writes what was
	// confirmed just before the break again ([xmpp] replay_confirmed), so
	// nothing may be lost with either server unless that is turned off.
	allowedLost := 0
	if *flagReplay == "0s" && h.name == "ejabberd" {
		allowedLost = kills
	}
	if tl.Lost > allowedLost || tl.Reordered > 0 || tl.Unknown > 0 || tl.Duplicated > kills*crashWindow() {
		t.Errorf("network→XMPP: %v (duplicates allowed: %d per kill)\n%s", tl, crashWindow(), r.logTail(20))
	}
	lost := out.Lost()
	t.Logf("XMPP→network lost (by the dying server): %v; lost after a receipt: %d", out2ranges(lost), lostConfirmed)
	// What the server had taken from alice and not routed to xgate when
	// it died: its own buffers, within the crash window, once per kill.
	if bursts := lossBursts(lost, crashWindow()); len(bursts) > kills || slices.ContainsFunc(bursts, func(b []int) bool { return len(b) > crashWindow() }) {
		t.Errorf("XMPP→network: %d lost in %d bursts for %d kills, at most %d each allowed: %s", len(lost), len(bursts), kills, crashWindow(), out2ranges(lost))
	}
	if ot.Reordered > 0 || ot.Unknown > 0 || ot.BouncedButDelivered > 0 || ot.Duplicated > 0 || lostConfirmed > 0 {
		t.Errorf("XMPP→network: %v (lost after a receipt: %d)\n%s", ot, lostConfirmed, r.logTail(20))
	}
}
