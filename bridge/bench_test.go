package bridge_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/xgate-im/xgate/bridge"
	"github.com/xgate-im/xgate/bridge/bridgetest"
	"github.com/xgate-im/xgate/store"
	"github.com/xgate-im/xgate/xmpp"
	"github.com/xgate-im/xgate/xmpp/jid"
	"github.com/xgate-im/xgate/xmpp/prosodytest"
)

// cpuTime is the CPU time (user+system) this process used so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportPerMessage reports msg/s and the CPU per message of b.N messages
// that took el and cpu0. The CPU is this process's: the gateway, the
// in-process fake transport and the test's XMPP client, not Prosody
// (cmd/xgate-bench measures the xgate process alone). ns/op is dropped:
// messages are sent without waiting for each one, so the loop's time per
// iteration is not a message's cost.
func reportPerMessage(b *testing.B, el, cpu0 time.Duration) {
	b.ReportMetric(float64(b.N)/el.Seconds(), "msg/s")
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(b.N), "cpu-µs/msg")
	b.ReportMetric(0, "ns/op")
}

// benchLive runs a gateway attached to a real Prosody with one registered
// user, for benchmarks.
func benchLive(b *testing.B) (*prosodytest.Server, *bridgetest.Transport, *prosodytest.Client) {
	p := prosodytest.Start(b, prosodytest.Options{
		Components: []prosodytest.Component{{Domain: gwDomain, Secret: "s3cret"}},
		Users:      map[string]string{"alice": "pw"},
	})
	key, _ := store.ParseKey([]byte("abababababababababababababababababababababababababababababababab"))
	// As the daemon opens it (cmd/xgate: storeBatchDelay).
	db, err := store.Open(filepath.Join(b.TempDir(), "xgate.db"), store.Options{Key: key, BatchDelay: 2 * time.Millisecond})
	if err != nil {
		b.Fatal(err)
	}
	tr := bridgetest.New()
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
	cctx, ccancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer ccancel()
	c := prosodytest.Dial(cctx, b, p.C2SAddr(), "alice", "localhost", "pw")
	c.Send(&xmpp.Presence{})
	res, err := c.Request(cctx, &xmpp.IQ{Header: xmpp.Header{To: jid.MustParse(gwDomain), Type: xmpp.IQSet}, Payload: xmpp.NewElement(bridge.NSRegister, "query").Append(registerForm("good-alice"))})
	if err != nil || res.Type != xmpp.IQResult {
		b.Fatalf("register %v %v", res, err)
	}
	if err := tr.WaitLogin(cctx, "acct-alice"); err != nil {
		b.Fatal(err)
	}
	return p, tr, c
}

// BenchmarkProsodyNetworkToXMPP measures messages from the network to a
// real client through the gateway and a real Prosody: 8 chats emitting
// concurrently.
func BenchmarkProsodyNetworkToXMPP(b *testing.B) {
	_, tr, c := benchLive(b)
	ctx := context.Background()
	const chats = 8
	b.ResetTimer()
	cpu0 := cpuTime()
	start := time.Now()
	var wg sync.WaitGroup
	for k := range chats {
		wg.Go(func() {
			for i := k; i < b.N; i += chats {
				peer := bridge.UserID(fmt.Sprint("peer", k))
				tr.Emit(ctx, "acct-alice", bridge.MessageEvent{Chat: bridge.ChatRef{Peer: peer}, Sender: peer, ID: bridge.MessageID(fmt.Sprint("m", i)), Text: "hello there, this is a message of ordinary length"})
			}
		})
	}
	rctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	for i := 0; i < b.N; {
		s, err := c.Next(rctx)
		if err != nil {
			b.Fatalf("after %d: %v", i, err)
		}
		if m, ok := s.(*xmpp.Message); ok && m.Body != "" {
			i++
		}
	}
	wg.Wait()
	el := time.Since(start)
	reportPerMessage(b, el, cpu0)
}

// BenchmarkProsodyXMPPToNetwork measures messages from a real client
// through Prosody and the gateway to the network (durably queued per chat,
// the store opened as the daemon opens it, fsync on), round-robin over 1
// or 8 chats. With one chat, msg/s is what one chat's queue sustains (the
// fake network answers at once, so the store's commits are what limits
// it).
func BenchmarkProsodyXMPPToNetwork(b *testing.B) {
	for _, chats := range []int{1, 8} {
		b.Run(fmt.Sprintf("chats=%d", chats), func(b *testing.B) { benchXMPPToNetwork(b, chats) })
	}
}

func benchXMPPToNetwork(b *testing.B, chats int) {
	_, tr, c := benchLive(b)
	for k := range chats {
		tr.Emit(context.Background(), "acct-alice", bridge.ContactEvent{Contact: bridge.Contact{ID: bridge.UserID(fmt.Sprint("peer", k))}})
	}
	b.ResetTimer()
	cpu0 := cpuTime()
	start := time.Now()
	for i := range b.N {
		to := jid.MustParse(fmt.Sprintf("peer%d@%s", i%chats, gwDomain))
		if err := c.Send(&xmpp.Message{Header: xmpp.Header{To: to, Type: xmpp.MessageChat, ID: fmt.Sprint("b", i)}, Body: "hello there, this is a message of ordinary length"}); err != nil {
			b.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if _, err := tr.WaitSentKind(ctx, "message", b.N); err != nil {
		b.Fatal(err)
	}
	el := time.Since(start)
	reportPerMessage(b, el, cpu0)
}
