package main

import (
	"context"
	"fmt"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/xgate-im/xgate/xmpp"
	"github.com/xgate-im/xgate/xmpp/jid"
	"github.com/xgate-im/xgate/xmpp/prosodytest"
)

// loadClient is one XMPP user connected through Prosody's c2s port. Its
// reader counts the load messages of the current window.
type loadClient struct {
	c   *prosodytest.Client
	jid jid.JID
}

// collector gathers the latencies of the load messages of one window that
// arrive at the XMPP clients.
type collector struct {
	window atomic.Int64
	mu     sync.Mutex
	lat    []int64
	lastNS int64
	want   int
	full   chan struct{}
}

// expect starts a window that waits for n messages.
func (col *collector) expect(window, n int) {
	col.mu.Lock()
	col.lat = make([]int64, 0, n)
	col.lastNS = 0
	col.want = n
	col.full = make(chan struct{})
	col.mu.Unlock()
	col.window.Store(int64(window))
}

// add records one message of the current window.
func (col *collector) add(window int, sentNS, nowNS int64) {
	if int64(window) != col.window.Load() {
		return
	}
	col.mu.Lock()
	defer col.mu.Unlock()
	if len(col.lat) >= col.want {
		return
	}
	col.lat = append(col.lat, nowNS-sentNS)
	col.lastNS = nowNS
	if len(col.lat) == col.want {
		close(col.full)
	}
}

// wait waits for the window's messages and returns their latencies and
// when the last one arrived.
func (col *collector) wait(ctx context.Context) ([]int64, int64, error) {
	col.mu.Lock()
	full := col.full
	col.mu.Unlock()
	select {
	case <-full:
	case <-ctx.Done():
	}
	col.mu.Lock()
	defer col.mu.Unlock()
	lat := slices.Clone(col.lat)
	if len(lat) < col.want {
		return lat, col.lastNS, fmt.Errorf("%d of %d messages arrived: %w", len(lat), col.want, ctx.Err())
	}
	return lat, col.lastNS, nil
}

// connectClients logs the users in, makes them available and starts their
// readers.
func connectClients(ctx context.Context, addr string, users []int, col *collector) ([]*loadClient, error) {
	var out []*loadClient
	for _, u := range users {
		c, err := prosodytest.Connect(ctx, addr, prosodytest.ClientConfig{User: userName(u), Host: "localhost", Password: "pw", Resource: "bench"})
		if err != nil {
			closeClients(out)
			return nil, err
		}
		if err := c.Send(&xmpp.Presence{}); err != nil {
			c.Close()
			closeClients(out)
			return nil, err
		}
		lc := &loadClient{c: c, jid: c.JID()}
		go lc.read(ctx, col)
		out = append(out, lc)
	}
	return out, nil
}

// read takes every stanza and hands load messages to the collector.
func (lc *loadClient) read(ctx context.Context, col *collector) {
	for {
		s, err := lc.c.Next(ctx)
		if err != nil {
			return
		}
		m, ok := s.(*xmpp.Message)
		if ok && m.Type == xmpp.MessageError {
			// A refused load message never arrives: say so at once, or
			// the window would wait for it until its timeout.
			if n := refusals.Add(1); n == 1 || n%1000 == 0 {
				cond := "no condition"
				if m.Error != nil {
					cond = string(m.Error.Condition)
				}
				fmt.Fprintf(os.Stderr, "%s: %s refused a load message (%s; %d refused so far)\n", lc.jid, m.From, cond, n)
			}
			continue
		}
		if !ok || m.Body == "" {
			continue
		}
		now := time.Now().UnixNano()
		if w, sent, ok := parseLoadText(m.Body); ok {
			col.add(w, sent, now)
		}
	}
}

// refusals counts the error answers the load clients received.
var refusals atomic.Int64

func closeClients(cs []*loadClient) {
	for _, c := range cs {
		c.c.Close()
	}
}

// sendTarget is where one client sends load messages.
type sendTarget struct {
	client *loadClient
	to     jid.JID
	// replyTo, when set, asks the echo to send its copy there rather than
	// back to the sender (nsBench reply-to): the floor's receiver then
	// only receives, like an XMPP user reading a network's messages.
	replyTo jid.JID
}

// nsBench is the namespace of the bench's own elements.
const nsBench = "urn:xgate:bench"

// connectLoader logs in the account that sends the floor's load to the
// echo on the receivers' behalf, and drains what it is sent.
func connectLoader(ctx context.Context, addr string) (*loadClient, error) {
	c, err := prosodytest.Connect(ctx, addr, prosodytest.ClientConfig{User: loaderUser, Host: "localhost", Password: "pw", Resource: "bench"})
	if err != nil {
		return nil, err
	}
	go func() {
		for {
			if _, err := c.Next(ctx); err != nil {
				return
			}
		}
	}()
	return &loadClient{c: c, jid: c.JID()}, nil
}

// loaderUser is the Prosody account of connectLoader.
const loaderUser = "loader"

// sendLoad sends n load messages of window round-robin over targets at
// rate per second (0: as fast as possible) and returns when the first
// was sent.
func sendLoad(targets []sendTarget, window, n int, rate float64) (firstNS int64, err error) {
	var interval time.Duration
	if rate > 0 {
		interval = time.Duration(float64(time.Second) / rate)
	}
	start := time.Now()
	for i := range n {
		if interval > 0 {
			if d := time.Until(start.Add(time.Duration(i) * interval)); d > 0 {
				time.Sleep(d) // pacing
			}
		}
		t := targets[i%len(targets)]
		now := time.Now().UnixNano()
		if i == 0 {
			firstNS = now
		}
		m := &xmpp.Message{Header: xmpp.Header{To: t.to, Type: xmpp.MessageChat, ID: fmt.Sprintf("w%d-%d", window, i)}, Body: loadText(window, now)}
		if !t.replyTo.IsZero() {
			m.Extra = []*xmpp.Element{xmpp.NewElement(nsBench, "reply-to", "jid", t.replyTo.String())}
		}
		if err := t.client.c.Send(m); err != nil {
			return firstNS, err
		}
	}
	return firstNS, nil
}
