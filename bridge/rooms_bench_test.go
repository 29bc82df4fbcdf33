package bridge_test

import (
	"context"
	"fmt"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/xgate-im/xgate/bridge"
	"github.com/xgate-im/xgate/bridge/bridgetest"
	"github.com/xgate-im/xgate/store"
	"github.com/xgate-im/xgate/xmpp"
	"github.com/xgate-im/xgate/xmpp/jid"
	"github.com/xgate-im/xgate/xmpp/prosodytest"
)

// floorDomain is the component of the floor: the same Prosody and
// clients, no gateway.
const floorDomain = "floor.localhost"

// roomBenchMembers is the number of remote members of the room.
const roomBenchMembers = 100

// roomBenchText is the body of every message.
const roomBenchText = "hello there, this is a message of ordinary length"

// roomBench is a real Prosody with a gateway (whose network has a group
// of 100 members) and alice's two resources, both in the group's room.
type roomBench struct {
	p       *prosodytest.Server
	tr      *bridgetest.Transport
	clients [2]*prosodytest.Client
}

func startRoomBench(b *testing.B) *roomBench {
	b.Helper()
	p := prosodytest.Start(b, prosodytest.Options{
		Components: []prosodytest.Component{{Domain: gwDomain, Secret: "s3cret"}, {Domain: floorDomain, Secret: "s3cret"}},
		Users:      map[string]string{"alice": "pw"},
	})
	key, _ := store.ParseKey([]byte("abababababababababababababababababababababababababababababababab"))
	db, err := store.Open(filepath.Join(b.TempDir(), "xgate.db"), store.Options{Key: key, BatchDelay: 2 * time.Millisecond})
	if err != nil {
		b.Fatal(err)
	}
	tr := bridgetest.New()
	tr.Caps = func(c *bridge.Capabilities) { c.Groups = true }
	tr.SetGroups("acct-alice", bridge.GroupInfo{ID: "g1", Name: "Lounge", Members: roomBenchMembers + 1})
	ms := []bridge.GroupMember{{User: "acct-alice", Nick: "Alice"}}
	for i := range roomBenchMembers {
		ms = append(ms, bridge.GroupMember{User: bridge.UserID(fmt.Sprint("m", i)), Nick: fmt.Sprint("Member ", i)})
	}
	tr.SetMembers("g1", ms...)
	connected := make(chan struct{}, 1)
	gw, err := bridge.New(bridge.Config{
		Name: "fake",
		Component: xmpp.ComponentConfig{Addr: p.ComponentAddr(), Domain: gwDomain, Secret: "s3cret",
			OnState: func(s xmpp.State, _ error) {
				if s == xmpp.StateConnected {
					select {
					case connected <- struct{}{}:
					default:
					}
				}
			}},
		Access: bridge.Access{Allow: []string{"localhost"}},
	}, tr, db, nil)
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { gw.Run(ctx); close(done) }()
	b.Cleanup(func() { cancel(); <-done; db.Close() })
	<-connected
	cctx, ccancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer ccancel()
	rb := &roomBench{p: p, tr: tr}
	for i := range rb.clients {
		c := prosodytest.Dial(cctx, b, p.C2SAddr(), "alice", "localhost", "pw")
		c.Send(&xmpp.Presence{})
		rb.clients[i] = c
	}
	res, err := rb.clients[0].Request(cctx, &xmpp.IQ{Header: xmpp.Header{To: jid.MustParse(gwDomain), Type: xmpp.IQSet}, Payload: xmpp.NewElement(bridge.NSRegister, "query").Append(registerForm("good-alice"))})
	if err != nil || res.Type != xmpp.IQResult {
		b.Fatalf("register %v %v", res, err)
	}
	if err := tr.WaitLogin(cctx, "acct-alice"); err != nil {
		b.Fatal(err)
	}
	self := jid.MustParse("#lounge@" + gwDomain + "/alice")
	for _, c := range rb.clients {
		x := xmpp.NewElement(bridge.NSMUC, "x").Append(xmpp.NewElement(bridge.NSMUC, "history", "maxstanzas", "0"))
		c.Send(&xmpp.Presence{Header: xmpp.Header{To: self}, Extra: []*xmpp.Element{x}})
		if _, err := c.Expect(cctx, func(s xmpp.Stanza) bool {
			p, ok := s.(*xmpp.Presence)
			return ok && p.From == self && p.Type == ""
		}); err != nil {
			b.Fatalf("join: %v", err)
		}
		// The subject ends the join.
		if _, err := c.Expect(cctx, func(s xmpp.Stanza) bool { m, ok := s.(*xmpp.Message); return ok && m.From == self.Bare() }); err != nil {
			b.Fatalf("join's subject: %v", err)
		}
	}
	return rb
}

// receive waits until each client got n groupchat messages with a body.
func (rb *roomBench) receive(b *testing.B, n int) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var wg sync.WaitGroup
	for _, c := range rb.clients {
		wg.Go(func() {
			for i := 0; i < n; {
				s, err := c.Next(ctx)
				if err != nil {
					b.Errorf("after %d: %v", i, err)
					return
				}
				if m, ok := s.(*xmpp.Message); ok && m.Type == xmpp.MessageGroupchat && m.Body != "" {
					i++
				}
			}
		})
	}
	wg.Wait()
}

// fanoutMeter measures the process's CPU and allocations over a run of
// fanned-out messages (one per resource per remote message).
type fanoutMeter struct {
	cpu0        time.Duration
	ms0         runtime.MemStats
	start       time.Time
	perMessages int
}

func startMeter(stanzas int) *fanoutMeter {
	m := &fanoutMeter{perMessages: stanzas}
	runtime.GC()
	runtime.ReadMemStats(&m.ms0)
	m.cpu0, m.start = cpuTime(), time.Now()
	return m
}

// report reports CPU, bytes and allocations per fanned-out message. The
// figures are this process's: the gateway (or the floor's component), the
// in-process fake network and the two clients decoding, not Prosody;
// ns/op is dropped as in reportPerMessage.
func (m *fanoutMeter) report(b *testing.B) {
	el, cpu := time.Since(m.start), cpuTime()-m.cpu0
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	n := float64(m.perMessages)
	b.ReportMetric(n/el.Seconds(), "stanzas/s")
	b.ReportMetric(float64(cpu.Microseconds())/n, "cpu-µs/stanza")
	b.ReportMetric(float64(ms.Mallocs-m.ms0.Mallocs)/n, "allocs/stanza")
	b.ReportMetric(float64(ms.TotalAlloc-m.ms0.TotalAlloc)/n, "B/stanza")
	b.ReportMetric(0, "ns/op")
}

// BenchmarkRoomFanout: remote messages in a room of 100 members, which
// alice is in from two resources, so that every message is fanned out to
// two stanzas. "xgate" goes through the gateway (room view, occupant
// nick, dedupe record, stanza conversion, component write); "floor" is a
// bare component on the same Prosody writing the same stanza (occupant
// from, stanza-id, occupant-id) to the same two clients: the least any
// gateway must do. Compare cpu-µs/stanza and allocs/stanza of the two.
func BenchmarkRoomFanout(b *testing.B) {
	b.Run("xgate", func(b *testing.B) {
		rb := startRoomBench(b)
		ctx := context.Background()
		chat := bridge.ChatRef{Kind: bridge.Group, ID: "g1"}
		b.ResetTimer()
		m := startMeter(2 * b.N)
		go func() {
			for i := range b.N {
				sender := bridge.UserID(fmt.Sprint("m", i%roomBenchMembers))
				if err := rb.tr.Emit(ctx, "acct-alice", bridge.MessageEvent{Chat: chat, Sender: sender, ID: bridge.MessageID(fmt.Sprint("r", i)), Text: roomBenchText}); err != nil {
					b.Error(err)
					return
				}
			}
		}()
		rb.receive(b, b.N)
		m.report(b)
	})
	b.Run("floor", func(b *testing.B) {
		rb := startRoomBench(b)
		connected := make(chan struct{}, 1)
		comp, err := xmpp.NewComponent(xmpp.ComponentConfig{Addr: rb.p.ComponentAddr(), Domain: floorDomain, Secret: "s3cret",
			OnState: func(s xmpp.State, _ error) {
				if s == xmpp.StateConnected {
					select {
					case connected <- struct{}{}:
					default:
					}
				}
			}}, xmpp.HandlerFunc(func(context.Context, xmpp.Stanza) {}))
		if err != nil {
			b.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { comp.Run(ctx); close(done) }()
		b.Cleanup(func() { cancel(); <-done })
		<-connected
		room := jid.MustParse("#lounge@" + floorDomain)
		to := [2]jid.JID{rb.clients[0].JID(), rb.clients[1].JID()}
		b.ResetTimer()
		m := startMeter(2 * b.N)
		go func() {
			for i := range b.N {
				from, _ := room.WithResource(fmt.Sprint("Member ", i%roomBenchMembers))
				id := fmt.Sprint("r", i)
				for _, t := range to {
					msg := &xmpp.Message{Header: xmpp.Header{From: from, To: t, ID: id, Type: xmpp.MessageGroupchat}, Body: roomBenchText,
						StanzaIDs: []xmpp.StanzaID{{ID: id, By: room.String()}},
						Extra:     []*xmpp.Element{xmpp.NewElement(bridge.NSOccupantID, "occupant-id", "id", "0123456789abcdef0123456789abcdef")}}
					if err := comp.Send(ctx, msg); err != nil {
						b.Error(err)
						return
					}
				}
			}
		}()
		rb.receive(b, b.N)
		m.report(b)
	})
}
