package xmpp_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/xgate-im/xgate/xmpp"
	"github.com/xgate-im/xgate/xmpp/xmpptest"
)

// connectedUnrouted starts a component on a test server that does not
// route the component's pings back by itself (the test answers barriers,
// or withholds them) and waits until it is connected.
func connectedUnrouted(t *testing.T) (*xmpptest.Server, *harness, *xmpptest.Conn, context.Context) {
	t.Helper()
	return connectedUnroutedWith(t, nil)
}

// connectedUnroutedWith is connectedUnrouted with the component's
// configuration changed by mod.
func connectedUnroutedWith(t *testing.T, mod func(*xmpp.ComponentConfig)) (*xmpptest.Server, *harness, *xmpptest.Conn, context.Context) {
	t.Helper()
	srv := xmpptest.NewServer(t, "s3cret")
	srv.RouteSelf(false)
	h := startComponentOn(t, srv, "s3cret", mod)
	ctx := ctxTimeout(t)
	conn, err := srv.Accept(ctx)
	if err != nil {
		t.Fatal(err)
	}
	h.waitState(t, xmpp.StateConnected)
	return srv, h, conn, ctx
}

// sendConfirmed sends a message with id and answers the barriers the
// server reads until one written after the message came back.
func sendConfirmed(t *testing.T, ctx context.Context, h *harness, conn *xmpptest.Conn, id string) {
	t.Helper()
	h.comp.Send(ctx, &xmpp.Message{Header: xmpp.Header{ID: id}, Body: "a"})
	for seen := false; ; {
		el, err := conn.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		seen = seen || el.AttrValue("id") == id
		if isBarrier(el) {
			conn.Send(el.String())
			if seen {
				return
			}
		}
	}
}

// isBarrier reports whether el is a ping the component sent to itself.
func isBarrier(el *xmpp.Element) bool {
	return el.Name.Local == "iq" && el.AttrValue("to") == "gw.example" && el.AttrValue("from") == "gw.example"
}

// More stanzas than the unconfirmed cap carry over a reconnect: the
// replay is followed by a barrier, so new stanzas flow again. (Before, the
// writer never wrote a barrier after the replay and took nothing new.)
func TestComponentReplayAboveCapDoesNotWedge(t *testing.T) {
	const total = 9000 // above the cap of 8192
	srv := xmpptest.NewServer(t, "s3cret")
	srv.RouteSelf(false)
	h := startComponentOn(t, srv, "s3cret", nil)
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	conn, err := srv.Accept(ctx)
	if err != nil {
		t.Fatal(err)
	}
	h.waitState(t, xmpp.StateConnected)
	sent := make(chan error, 1)
	go func() {
		for i := range total {
			if err := h.comp.Send(ctx, &xmpp.Message{Header: xmpp.Header{ID: fmt.Sprint("m", i)}, Body: "x"}); err != nil {
				sent <- err
				return
			}
		}
		sent <- nil
	}()
	// The server reads without routing barriers until the cap stops the
	// writer, then dies.
	for n := 0; n < 8192; {
		el, err := conn.Next(ctx)
		if err != nil {
			t.Fatalf("after %d: %v", n, err)
		}
		if el.Name.Local == "message" {
			n++
		}
	}
	if err := <-sent; err != nil {
		t.Fatal(err)
	}
	srv.RouteSelf(true)
	conn.Close()
	conn2, err := srv.Accept(ctx)
	if err != nil {
		t.Fatal(err)
	}
	h.waitState(t, xmpp.StateConnected)
	if err := h.comp.Send(ctx, &xmpp.Message{Header: xmpp.Header{ID: "after"}, Body: "new"}); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for !seen["after"] {
		el, err := conn2.Next(ctx)
		if err != nil {
			t.Fatalf("after %d distinct stanzas: %v (stats %+v)", len(seen), err, h.comp.Stats())
		}
		seen[el.AttrValue("id")] = true
	}
	if len(seen) != total+1 {
		t.Fatalf("got %d distinct stanzas, want %d", len(seen), total+1)
	}
	if st := h.comp.Stats(); st.Replayed != 8192 {
		t.Fatalf("replayed %d, want 8192", st.Replayed)
	}
}

// A server that keeps sending but no longer routes our barriers is dead
// for our purposes: reads do not count as liveness. (Before, any read kept
// the keepalive quiet.)
func TestComponentLivenessIgnoresOtherReads(t *testing.T) {
	srv := xmpptest.NewServer(t, "s3cret")
	srv.RouteSelf(false)
	h := startComponentOn(t, srv, "s3cret", func(c *xmpp.ComponentConfig) {
		c.KeepAlive = 50 * time.Millisecond
		c.PingTimeout = 100 * time.Millisecond
	})
	ctx := ctxTimeout(t)
	conn, err := srv.Accept(ctx)
	if err != nil {
		t.Fatal(err)
	}
	h.waitState(t, xmpp.StateConnected)
	go func() { // drain the handler
		for range h.got {
		}
	}()
	flood := make(chan struct{})
	go func() {
		defer close(flood)
		for ctx.Err() == nil {
			if conn.Send("<message from='a@b.c' to='gw.example'><body>flood</body></message>") != nil {
				return
			}
		}
	}()
	go func() {
		for {
			if _, err := conn.Next(ctx); err != nil {
				return
			}
		}
	}()
	h.waitState(t, xmpp.StateDisconnected)
	if h.comp.Stats().PingTimeouts == 0 {
		t.Error("ping timeout not counted")
	}
	conn.Close()
	<-flood
}

func TestComponentFlush(t *testing.T) {
	srv, h, conn, ctx := connectedUnrouted(t)

	// Nothing sent: nothing to wait for beyond what is in flight.
	route := func(want int) (barriers int) {
		for got := 0; got < want; {
			el, err := conn.Next(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if isBarrier(el) {
				barriers++
				conn.Send(el.String())
			} else {
				got++
			}
		}
		return barriers
	}
	if err := h.comp.Send(ctx, &xmpp.Message{Header: xmpp.Header{ID: "one"}, Body: "x"}); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- h.comp.Flush(ctx) }()
	// The message arrives; its barrier is withheld: Flush must wait.
	route(1)
	var barrier *xmpp.Element
	for barrier == nil {
		el, err := conn.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if isBarrier(el) {
			barrier = el
		}
	}
	select {
	case err := <-done:
		t.Fatalf("Flush returned %v before any barrier covering the stanza came back", err)
	default:
	}
	// The server dies: Flush reports the stanza as unconfirmed.
	conn.Close()
	if err := <-done; !errors.Is(err, xmpp.ErrUnconfirmed) {
		t.Fatalf("Flush after a crash: %v, want ErrUnconfirmed", err)
	}
	// On the next connection the stanza is replayed and confirmed.
	conn, err := srv.Accept(ctx)
	if err != nil {
		t.Fatal(err)
	}
	h.waitState(t, xmpp.StateConnected)
	go func() { done <- h.comp.Flush(ctx) }()
	route(1) // the replayed "one", and the barrier written behind it
	for {
		el, err := conn.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if isBarrier(el) {
			conn.Send(el.String())
			break
		}
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// Many concurrent Flush callers share barriers.
func TestComponentFlushConcurrent(t *testing.T) {
	_, h, conn, ctx := connectedUnrouted(t)
	const callers = 200
	var barriers, messages int
	serverDone := make(chan struct{})
	go func() {
		defer close(serverDone)
		for {
			el, err := conn.Next(ctx)
			if err != nil {
				return
			}
			if isBarrier(el) {
				barriers++
				conn.Send(el.String())
			} else {
				messages++
			}
		}
	}()
	var wg sync.WaitGroup
	for i := range callers {
		wg.Go(func() {
			if err := h.comp.Send(ctx, &xmpp.Message{Header: xmpp.Header{ID: fmt.Sprint("c", i)}, Body: "x"}); err != nil {
				t.Error(err)
				return
			}
			if err := h.comp.Flush(ctx); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if st := h.comp.Stats(); st.Unconfirmed != 0 || st.LastConfirmed.IsZero() {
		t.Errorf("after every Flush returned: %+v", st)
	}
	conn.Close()
	<-serverDone
	if messages != callers || barriers >= callers/2 {
		t.Fatalf("%d messages, %d barriers for %d Flush callers", messages, barriers, callers)
	}
	t.Logf("%d barriers for %d concurrent Flush callers", barriers, callers)
}

func TestComponentFlushStates(t *testing.T) {
	srv := xmpptest.NewServer(t, "s3cret")
	srv.Close()
	h := startComponentOn(t, srv, "s3cret", nil)
	h.waitState(t, xmpp.StateDisconnected)
	if err := h.comp.Flush(t.Context()); !errors.Is(err, xmpp.ErrNotConnected) {
		t.Fatalf("Flush while down: %v", err)
	}
	h.cancel()
	h.waitState(t, xmpp.StateStopped)
	if err := h.comp.Flush(t.Context()); !errors.Is(err, xmpp.ErrConnClosed) {
		t.Fatalf("Flush after Run: %v", err)
	}
}

// TrySendRaw never blocks: with the server not reading, it soon reports
// a full queue, and Stats count it.
func TestComponentTrySendRaw(t *testing.T) {
	srv := xmpptest.NewServer(t, "s3cret")
	h := startComponentOn(t, srv, "s3cret", func(c *xmpp.ComponentConfig) { c.SendQueue = 4 })
	ctx := ctxTimeout(t)
	if _, err := srv.Accept(ctx); err != nil { // and never read
		t.Fatal(err)
	}
	h.waitState(t, xmpp.StateConnected)
	big := xmpp.Encode(&xmpp.Message{Body: strings.Repeat("x", 64<<10)})
	var err error
	for i := 0; i < 100000 && err == nil; i++ {
		err = h.comp.TrySendRaw(big)
	}
	if !errors.Is(err, xmpp.ErrQueueFull) {
		t.Fatalf("TrySendRaw: %v, want ErrQueueFull", err)
	}
	st := h.comp.Stats()
	if st.Dropped != 1 || st.QueueFull < 1 || st.QueueCap != 4 || st.QueueLen > 4 {
		t.Fatalf("stats %+v", st)
	}
}

// A server that accepts the handshake and hangs up at once gets fewer and
// fewer attempts: the backoff resets only once the stream was confirmed
// alive. (Before, it reset on each handshake: an attempt every 5 ms here.)
func TestComponentBackoffGrowsWhenServerHangsUp(t *testing.T) {
	srv := xmpptest.NewServer(t, "s3cret")
	srv.HangUp(true)
	startComponentOn(t, srv, "s3cret", nil) // backoff 5 ms .. 50 ms
	ctx := ctxTimeout(t)
	var times []time.Time
	for len(times) < 8 {
		conn, err := srv.Accept(ctx)
		if err != nil {
			t.Fatal(err)
		}
		times = append(times, conn.Accepted)
	}
	// Backoffs 5, 10, 20, 40, 50, 50, 50 ms (±20%): the last gaps are at
	// least 40 ms.
	for i := 5; i < len(times); i++ {
		if gap := times[i].Sub(times[i-1]); gap < 35*time.Millisecond {
			t.Fatalf("attempt %d came %v after the previous one; backoff did not grow", i, gap)
		}
	}
}

// see-other-host is followed to the address it names.
func TestComponentFollowsSeeOtherHost(t *testing.T) {
	other := xmpptest.NewServer(t, "s3cret")
	first := xmpptest.NewServer(t, "s3cret")
	first.Redirect(other.Addr())
	h := startComponentOn(t, first, "s3cret", nil)
	ctx := ctxTimeout(t)
	conn, err := other.Accept(ctx)
	if err != nil {
		t.Fatal(err)
	}
	h.waitState(t, xmpp.StateConnected)
	if err := h.comp.Send(ctx, &xmpp.Message{Header: xmpp.Header{ID: "moved"}, Body: "x"}); err != nil {
		t.Fatal(err)
	}
	el, err := conn.Next(ctx)
	if err != nil || el.AttrValue("id") != "moved" {
		t.Fatalf("got %v, %v", el, err)
	}
}

// A redirect loop is bounded: the component backs off instead of
// bouncing between servers at full speed.
func TestComponentRedirectLoopBacksOff(t *testing.T) {
	a := xmpptest.NewServer(t, "s3cret")
	b := xmpptest.NewServer(t, "s3cret")
	a.Redirect(b.Addr())
	b.Redirect(a.Addr())
	startComponentOn(t, a, "s3cret", func(c *xmpp.ComponentConfig) {
		c.MinBackoff, c.MaxBackoff = 200*time.Millisecond, 200*time.Millisecond
	})
	ctx := ctxTimeout(t)
	start := time.Now()
	for i := 0; i < 5; i++ { // a, b, a, b (3 redirects), then a after backoff
		srv := a
		if i%2 == 1 {
			srv = b
		}
		if _, err := srv.AcceptAny(ctx); err == nil {
			t.Fatal("redirecting server accepted a handshake")
		} else if ctx.Err() != nil {
			t.Fatal(err)
		}
	}
	if d := time.Since(start); d < 150*time.Millisecond {
		t.Fatalf("5 attempts in %v: no backoff after %d redirects", d, 3)
	}
}

func TestTruncate(t *testing.T) {
	tests := []struct {
		in   string
		max  int
		want string
	}{
		{"short", 10, "short"},
		{"exactly10!", 10, "exactly10!"},
		{"abcdefghijkl", 10, "abcdefghij…"},
		{"ééééé", 5, "éé…"}, // never cuts inside a rune
		{"", 0, ""},
	}
	for _, tt := range tests {
		if got := xmpp.Truncate(tt.in, tt.max); got != tt.want {
			t.Errorf("Truncate(%q, %d) = %q, want %q", tt.in, tt.max, got, tt.want)
		}
	}
}

// A 100 KB stream error text reaches the error (and so the logs) cut
// short.
func TestComponentTruncatesRemoteStreamErrorText(t *testing.T) {
	errs := make(chan error, 10)
	h := startComponent(t, "s3cret", func(c *xmpp.ComponentConfig) {
		c.OnState = func(s xmpp.State, err error) {
			if err != nil {
				errs <- err
			}
		}
	})
	ctx := ctxTimeout(t)
	conn, err := h.srv.Accept(ctx)
	if err != nil {
		t.Fatal(err)
	}
	conn.Send("<stream:error><undefined-condition xmlns='urn:ietf:params:xml:ns:xmpp-streams'/><text xmlns='urn:ietf:params:xml:ns:xmpp-streams'>" + strings.Repeat("spam ", 20000) + "</text></stream:error></stream:stream>")
	select {
	case err := <-errs:
		var se *xmpp.StreamError
		if !errors.As(err, &se) || se.Condition != xmpp.CondUndefinedCondition {
			t.Fatalf("got %v", err)
		}
		if n := len(err.Error()); n > 400 {
			t.Fatalf("error of %d bytes: %.100s…", n, err)
		}
	case <-ctx.Done():
		t.Fatal("no disconnection")
	}
}

// A server that stopped reading leaves the writer blocked in a write that
// would only time out after WriteTimeout; the barrier written before it
// stays unanswered, so the keepalive replaces the connection long before.
func TestComponentDetectsStuckWriter(t *testing.T) {
	srv := xmpptest.NewServer(t, "s3cret")
	h := startComponentOn(t, srv, "s3cret", func(c *xmpp.ComponentConfig) {
		c.KeepAlive = 50 * time.Millisecond
		c.PingTimeout = 100 * time.Millisecond
		c.WriteTimeout = time.Hour
	})
	ctx := ctxTimeout(t)
	if _, err := srv.Accept(ctx); err != nil { // and never read
		t.Fatal(err)
	}
	h.waitState(t, xmpp.StateConnected)
	big := xmpp.Encode(&xmpp.Message{Body: strings.Repeat("x", 64<<10)})
	for h.comp.TrySendRaw(big) == nil {
	}
	h.waitState(t, xmpp.StateDisconnected)
	if h.comp.Stats().PingTimeouts == 0 {
		t.Error("not counted as a ping timeout")
	}
	if _, err := srv.Accept(ctx); err != nil {
		t.Fatalf("no reconnect: %v", err)
	}
}

// FlushLazy callers, each after a stanza of its own, share the barriers
// the writer writes anyway (at most one per 20 ms interval) instead of
// having one written each; a caller whose stanza a dying server did not
// confirm waits for the next connection to confirm it.
func TestComponentFlushLazy(t *testing.T) {
	srv, h, conn, ctx := connectedUnrouted(t)
	const callers = 300
	var barriers, messages int
	withhold := make(chan struct{})
	serverDone := make(chan struct{})
	got := make(chan struct{}, 1)
	go func() {
		defer close(serverDone)
		for {
			el, err := conn.Next(ctx)
			if err != nil {
				return
			}
			if !isBarrier(el) {
				messages++
				select {
				case got <- struct{}{}:
				default:
				}
				continue
			}
			select {
			case <-withhold:
				conn.Close() // dies with the barrier unanswered
				return
			default:
			}
			barriers++
			conn.Send(el.String())
		}
	}()
	start := time.Now()
	errs := make(chan error, callers)
	for i := range callers {
		// One at a time, each written before the next is sent, as a
		// conversation's events come: with Flush each would have a
		// barrier of its own.
		if err := h.comp.Send(ctx, &xmpp.Message{Header: xmpp.Header{ID: fmt.Sprint("l", i)}, Body: "x"}); err != nil {
			t.Fatal(err)
		}
		go func() { errs <- h.comp.FlushLazy(ctx) }()
		select {
		case <-got:
		case <-ctx.Done():
			t.Fatal(ctx.Err())
		}
	}
	for range callers {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	took := time.Since(start)
	if st := h.comp.Stats(); st.Unconfirmed != 0 {
		t.Errorf("after every FlushLazy returned: %+v", st)
	}
	// The handshake's barrier, one per 20 ms interval, and one in flight
	// at each end.
	if limit := 3 + int(took/(20*time.Millisecond)); barriers > limit {
		t.Errorf("%d barriers for %d FlushLazy callers in %s (at most %d)", barriers, callers, took, limit)
	}
	t.Logf("%d barriers for %d FlushLazy callers in %s", barriers, callers, took)

	// The server dies with the barrier covering "last" unanswered:
	// FlushLazy waits on, and returns once the next connection confirmed
	// "last", written there again.
	close(withhold)
	if err := h.comp.Send(ctx, &xmpp.Message{Header: xmpp.Header{ID: "last"}, Body: "x"}); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- h.comp.FlushLazy(ctx) }()
	<-serverDone
	if messages != callers+1 {
		t.Fatalf("server got %d messages, want %d", messages, callers+1)
	}
	conn, err := srv.Accept(ctx)
	if err != nil {
		t.Fatal(err)
	}
	replayed := false
	for {
		el, err := conn.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !isBarrier(el) {
			replayed = replayed || el.AttrValue("id") == "last"
			continue
		}
		select {
		case err := <-done:
			t.Fatalf("FlushLazy returned %v before the new connection confirmed", err)
		default:
		}
		conn.Send(el.String())
		if replayed {
			break
		}
	}
	if err := <-done; err != nil {
		t.Fatalf("FlushLazy across a reconnection: %v", err)
	}
	// Once Run returned, FlushLazy fails at once.
	conn.Close()
	h.cancel()
	if err := <-h.runErr; err != nil {
		t.Fatal(err)
	}
	h.runErr <- nil // for the cleanup
	if err := h.comp.FlushLazy(ctx); !errors.Is(err, xmpp.ErrConnClosed) {
		t.Fatalf("FlushLazy after Run: %v, want ErrConnClosed", err)
	}
}
