package bridge_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/xgate-im/xgate/bridge"
	"github.com/xgate-im/xgate/bridge/bridgetest"
	"github.com/xgate-im/xgate/xmpp/jid"
)

// fanSession is a session of the Fanout tests: it records the events it
// handled and fails as told.
type fanSession struct {
	name string
	log  *fanLog
}

func (s *fanSession) Send(context.Context, bridge.ChatRef, bridge.OutgoingMessage) (bridge.MessageID, error) {
	return "", bridge.ErrUnsupported
}
func (s *fanSession) Contacts(context.Context) ([]bridge.Contact, error) { return nil, nil }
func (s *fanSession) Close() error                                       { return nil }

// fanLog records "session:event" in handling order and acknowledgements.
type fanLog struct {
	mu      sync.Mutex
	handled []string
	acked   []string
	fail    map[string]error // by "session:event", consumed
	changed chan struct{}
}

func newFanLog() *fanLog {
	return &fanLog{fail: map[string]error{}, changed: make(chan struct{}, 1000)}
}

func (l *fanLog) handle(s *fanSession, ev string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	k := s.name + ":" + ev
	if err, ok := l.fail[k]; ok {
		delete(l.fail, k)
		return err
	}
	l.handled = append(l.handled, k)
	return nil
}

func (l *fanLog) ack(ev string) func() {
	return func() {
		l.mu.Lock()
		l.acked = append(l.acked, ev)
		l.mu.Unlock()
		l.changed <- struct{}{}
	}
}

// waitAcked waits until n acknowledgements happened.
func (l *fanLog) waitAcked(t *testing.T, n int) {
	t.Helper()
	for {
		l.mu.Lock()
		got := len(l.acked)
		l.mu.Unlock()
		if got >= n {
			return
		}
		select {
		case <-l.changed:
		case <-t.Context().Done():
			t.Fatalf("%d of %d acknowledgements", got, n)
		}
	}
}

func (l *fanLog) snapshot() (handled, acked []string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.handled), slices.Clone(l.acked)
}

func fanEvent(f *bridge.Fanout, log *fanLog, id, order string, accts ...bridge.AccountID) bridge.Inbound {
	return bridge.Inbound{
		ID: id, Order: order, Describe: fanName(id),
		Route: func(context.Context) ([]bridge.AccountID, bool, error) { return accts, true, nil },
		Handle: func(_ context.Context, s bridge.Session) error {
			return log.handle(s.(*fanSession), id)
		},
	}
}

func TestFanout(t *testing.T) {
	log := newFanLog()
	f := bridge.NewFanout(nil, func(a bridge.AccountID) string { team, _, _ := strings.Cut(string(a), "."); return team })
	a1, b1 := &fanSession{"a1", log}, &fanSession{"b1", log}
	f.Attach("T1.a", a1)
	f.Attach("T1.b", b1)
	f.Attach("T2.c", &fanSession{"c1", log})
	if g := f.Group("T1"); !slices.Equal(g, []bridge.AccountID{"T1.a", "T1.b"}) {
		t.Fatalf("Group(T1) = %v", g)
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer func() { cancel(); f.Wait() }()

	// Order per key: e1..e5 of C1 are handled in order.
	for i := 1; i <= 5; i++ {
		id := fmt.Sprint("e", i)
		f.Dispatch(ctx, fanEvent(f, log, id, "C1", "T1.a"), log.ack(id))
	}
	log.waitAcked(t, 5)
	handled, acked := log.snapshot()
	if want := []string{"a1:e1", "a1:e2", "a1:e3", "a1:e4", "a1:e5"}; !slices.Equal(handled, want) {
		t.Fatalf("handled %v, want %v", handled, want)
	}

	// A failure of one account leaves the event unacknowledged; when it
	// comes again only the account that missed it gets it, and both
	// envelopes are acknowledged.
	// b1 fails f1 (every retry) until the failure is lifted.
	log.mu.Lock()
	log.fail["b1:f1"] = fmt.Errorf("503: %w", bridge.ErrTemporary)
	log.mu.Unlock()
	failing := fanEvent(f, log, "f1", "C2", "T1.a", "T1.b")
	failing.Handle = func(_ context.Context, s bridge.Session) error {
		fs := s.(*fanSession)
		if fs.name == "b1" {
			log.mu.Lock()
			_, fail := log.fail["b1:f1"]
			log.mu.Unlock()
			if fail {
				return fmt.Errorf("503: %w", bridge.ErrTemporary)
			}
		}
		return log.handle(fs, "f1")
	}
	f.Dispatch(ctx, failing, log.ack("f1-first"))
	// The failed event is followed by one of the same key: once that is
	// acknowledged, the failure is settled.
	f.Dispatch(ctx, fanEvent(f, log, "g1", "C2", "T1.a"), log.ack("g1"))
	log.waitAcked(t, 6)
	if _, acked = log.snapshot(); slices.Contains(acked, "f1-first") {
		t.Fatalf("failed event acknowledged: %v", acked)
	}
	log.mu.Lock()
	delete(log.fail, "b1:f1")
	log.mu.Unlock()
	f.Dispatch(ctx, failing, log.ack("f1-again"))
	log.waitAcked(t, 8)
	handled, acked = log.snapshot()
	if n := strings.Count(strings.Join(handled, ","), "a1:f1"); n != 1 {
		t.Errorf("a1 handled f1 %d times: %v", n, handled)
	}
	if !slices.Contains(handled, "b1:f1") || !slices.Contains(acked, "f1-first") || !slices.Contains(acked, "f1-again") {
		t.Fatalf("after redelivery: handled %v, acked %v", handled, acked)
	}

	// Delivered already: acknowledged at once, not handled again.
	f.Dispatch(ctx, fanEvent(f, log, "e1", "C1", "T1.a"), log.ack("e1-again"))
	log.waitAcked(t, 9)
	if handled2, _ := log.snapshot(); len(handled2) != len(handled) {
		t.Fatalf("handled again: %v", handled2[len(handled):])
	}

	// Hand-over: the closed session's event goes to the new session.
	a2 := &fanSession{"a2", log}
	ho := fanEvent(f, log, "h1", "C3", "T1.a")
	ho.Handle = func(_ context.Context, s bridge.Session) error {
		fs := s.(*fanSession)
		if fs == a1 {
			f.Attach("T1.a", a2) // the account logged in again
			return fmt.Errorf("slack: %w", bridge.ErrSessionClosed)
		}
		return log.handle(fs, "h1")
	}
	f.Dispatch(ctx, ho, log.ack("h1"))
	log.waitAcked(t, 10)
	if handled, _ = log.snapshot(); handled[len(handled)-1] != "a2:h1" {
		t.Fatalf("hand-over: %v", handled)
	}
	if f.Detach("T1.a", a1) {
		t.Error("Detach of a replaced session reported it live")
	}
	if !f.Detach("T1.a", a2) {
		t.Error("Detach of the live session")
	}
	if _, ok := f.Session("T1.a"); ok || !slices.Equal(f.Group("T1"), []bridge.AccountID{"T1.b"}) {
		t.Fatalf("after Detach: group %v", f.Group("T1"))
	}
}

// fanName is an event's name in logs.
type fanName string

func (n fanName) String() string { return string(n) }

// fanNet is the fake network with a shared connection: the gateway tells
// its Fanout which accounts are logging in.
type fanNet struct {
	*bridgetest.Transport
	f *bridge.Fanout
}

func (n fanNet) Fanout() *bridge.Fanout { return n.f }

// An event for an account that is registered but still logging in waits
// for it; one for an account nobody registered does not.
func TestFanoutExpectsAccountsLoggingIn(t *testing.T) {
	f := bridge.NewFanout(nil, nil)
	if _, known := f.Expecting("acct-x"); known {
		t.Fatal("Expecting known without a gateway")
	}
	e := newEnv(t)
	if err := bridge.Provision(e.db, "fake", jid.MustParse(alice), bridge.AccountData{ID: "acct-f", Name: "flaky", Secrets: map[string]string{"token": "down-f"}}); err != nil {
		t.Fatal(err)
	}
	e.net = fanNet{Transport: e.tr, f: f}
	e.restart()
	e.register(alice, "good-a")
	tests := []struct {
		acct     bridge.AccountID
		expected bool
	}{
		{"acct-f", true},  // stored, login failing for now: retried
		{"acct-a", false}, // logged in: its session is live
		{"acct-zz", false},
	}
	for _, tt := range tests {
		if got, known := f.Expecting(tt.acct); !known || got != tt.expected {
			t.Errorf("Expecting(%s) = %v, %v; want %v", tt.acct, got, known, tt.expected)
		}
	}
}

// A rate limit while handling an event waits what the network asked, and
// does not grow the backoff: three 1 ms rate limits cost milliseconds,
// not the 2.1 s of three failures.
func TestFanoutRateLimitWaitsRetryAfter(t *testing.T) {
	log := newFanLog()
	f := bridge.NewFanout(nil, nil)
	f.Attach("a", &fanSession{"a1", log})
	ctx, cancel := context.WithCancel(t.Context())
	defer func() { cancel(); f.Wait() }()
	limited := 3
	in := fanEvent(f, log, "e1", "C1", "a")
	in.Handle = func(_ context.Context, s bridge.Session) error {
		if limited > 0 {
			limited--
			return &bridge.RateLimitError{RetryAfter: time.Millisecond, Err: errors.New("429")}
		}
		return log.handle(s.(*fanSession), "e1")
	}
	start := time.Now()
	f.Dispatch(ctx, in, log.ack("e1"))
	log.waitAcked(t, 1)
	if took := time.Since(start); took > time.Second {
		t.Errorf("took %s", took)
	}
}

// When the context a Dispatch ran with ends while events of its Order wait
// (a connection closed with events queued), those events are not stranded:
// dispatched again with a live context (the network resends them), they
// are handled and acknowledged, and so are new events of the same Order.
func TestFanoutContextEndsWithEventsQueued(t *testing.T) {
	log := newFanLog()
	f := bridge.NewFanout(nil, nil)
	f.Attach("a", &fanSession{"a1", log})
	ctx1, cancel1 := context.WithCancel(t.Context())
	started, release := make(chan struct{}), make(chan struct{})
	slow := fanEvent(f, log, "e1", "C1", "a")
	slow.Handle = func(ctx context.Context, s bridge.Session) error {
		close(started)
		select {
		case <-release:
		case <-ctx.Done():
			return ctx.Err()
		}
		return log.handle(s.(*fanSession), "e1")
	}
	f.Dispatch(ctx1, slow, log.ack("e1"))
	<-started
	f.Dispatch(ctx1, fanEvent(f, log, "e2", "C1", "a"), log.ack("e2")) // waits behind e1
	cancel1()
	close(release)

	f.Wait() // the first connection's work is over

	// The network resends what was not acknowledged, as Slack does, and
	// sends e3.
	ctx2, cancel2 := context.WithCancel(t.Context())
	defer func() { cancel2(); f.Wait() }()
	wait, stop := context.WithTimeout(t.Context(), 10*time.Second)
	defer stop()
	resend := time.NewTicker(50 * time.Millisecond)
	defer resend.Stop()
	for {
		got := acked(log)
		missing := 0
		for _, id := range []string{"e1", "e2", "e3"} {
			if !slices.Contains(got, id) {
				missing++
				f.Dispatch(ctx2, fanEvent(f, log, id, "C1", "a"), log.ack(id))
			}
		}
		if missing == 0 {
			break
		}
		select {
		case <-resend.C:
		case <-wait.Done():
			t.Fatalf("acknowledged %v, want e1, e2 and e3", got)
		}
	}
	handled, _ := log.snapshot()
	if want := []string{"a1:e1", "a1:e2", "a1:e3"}; !slices.Equal(handled, want) {
		t.Errorf("handled %v, want %v", handled, want)
	}
}

func acked(l *fanLog) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.acked)
}

// An event for an account that is still logging in holds its Order until
// the account is up, so that the next event of the conversation cannot
// reach the user first (it did after a restart: the first event was left
// for the network to resend, the next ones went through).
func TestFanoutEventWaitsForLoggingInAccount(t *testing.T) {
	log := newFanLog()
	f := bridge.NewFanout(nil, nil)
	ctx, cancel := context.WithCancel(t.Context())
	defer func() { cancel(); f.Wait() }()
	var mu sync.Mutex
	up := false
	routes := 0
	route := func(context.Context) ([]bridge.AccountID, bool, error) {
		mu.Lock()
		defer mu.Unlock()
		routes++
		if routes == 3 && !up { // the login ends while the first event waits
			f.Attach("a", &fanSession{"a1", log})
			up = true
		}
		if !up {
			return nil, false, nil
		}
		return []bridge.AccountID{"a"}, true, nil
	}
	for _, id := range []string{"e1", "e2"} {
		ev := fanEvent(f, log, id, "C1", "a")
		ev.Route = route
		f.Dispatch(ctx, ev, log.ack(id))
	}
	log.waitAcked(t, 2)
	handled, acked := log.snapshot()
	if want := []string{"a1:e1", "a1:e2"}; !slices.Equal(handled, want) || !slices.Equal(acked, []string{"e1", "e2"}) {
		t.Fatalf("handled %v, acknowledged %v; want e1 then e2", handled, acked)
	}
}

// BenchmarkFanoutDispatchFailedBacklog measures Dispatch while the Fanout
// remembers more failed events than fanoutMaxStates (4,096), all younger
// than an hour, as after a restart with thousands of accounts logging in:
// each Dispatch used to walk all of them. ns/op is the time of one event,
// dispatched and acknowledged.
func BenchmarkFanoutDispatchFailedBacklog(b *testing.B) {
	f := bridge.NewFanout(nil, nil)
	ctx := b.Context()
	failing := errors.New("not yet")
	var failed sync.WaitGroup
	const backlog = 6000
	failed.Add(backlog)
	for i := range backlog {
		f.Dispatch(ctx, bridge.Inbound{
			ID: fmt.Sprintf("failed-%d", i), Order: fmt.Sprintf("chat-%d", i%64), Describe: stringer("failed"),
			Route: func(context.Context) ([]bridge.AccountID, bool, error) { failed.Done(); return nil, false, failing },
		}, func() {})
	}
	failed.Wait()
	acked := make(chan struct{}, 1)
	n := 0
	for b.Loop() {
		n++
		f.Dispatch(ctx, bridge.Inbound{
			ID: fmt.Sprintf("ok-%d", n), Order: "chat-ok", Describe: stringer("ok"),
			Route: func(context.Context) ([]bridge.AccountID, bool, error) { return nil, true, nil },
		}, func() { acked <- struct{}{} })
		<-acked
	}
}

type stringer string

func (s stringer) String() string { return string(s) }

// TestFanoutDispatchWhileWaiting dispatches events from another goroutine
// while the Fanout is waited for, as a connection still reading while its
// transport stops does. Under -race it failed before: the WaitGroup grew
// from zero during Wait.
func TestFanoutDispatchWhileWaiting(t *testing.T) {
	for range 20 {
		f := bridge.NewFanout(nil, func(bridge.AccountID) string { return "" })
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		stop := make(chan struct{})
		done := make(chan struct{})
		go func() {
			defer close(done)
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				f.Dispatch(ctx, bridge.Inbound{ID: fmt.Sprint("e", i), Order: fmt.Sprint("chat", i)}, func() {})
			}
		}()
		f.Wait()
		close(stop)
		<-done
		f.Wait()
	}
}

// Skip settles an event nobody needs without handling it; the event it
// settled is acknowledged at once when it comes again, and one being
// handled is left to Dispatch.
func TestFanoutSkip(t *testing.T) {
	log := newFanLog()
	f := bridge.NewFanout(nil, func(bridge.AccountID) string { return "T" })
	f.Attach("T.a", &fanSession{"a", log})
	ctx, cancel := context.WithCancel(t.Context())
	defer func() { cancel(); f.Wait() }()

	asked := 0
	skip := func(answer bool) func() bool {
		return func() bool { asked++; return answer }
	}
	if f.Skip("echo", skip(false)) || asked != 1 {
		t.Fatalf("an event someone needs was settled (asked %d)", asked)
	}
	if !f.Skip("echo", skip(true)) || asked != 2 {
		t.Fatalf("an event nobody needs was not settled (asked %d)", asked)
	}
	// Sent again: delivered already, without asking, and Dispatch
	// acknowledges it without handling it.
	if !f.Skip("echo", skip(false)) || asked != 2 {
		t.Fatalf("a settled event sent again (asked %d)", asked)
	}
	f.Dispatch(ctx, fanEvent(f, log, "echo", "C", "T.a"), log.ack("echo-again"))
	log.waitAcked(t, 1)

	// An event being handled is left to Dispatch, which joins it.
	release := make(chan struct{})
	busy := fanEvent(f, log, "busy", "C", "T.a")
	busy.Handle = func(_ context.Context, s bridge.Session) error {
		<-release
		return log.handle(s.(*fanSession), "busy")
	}
	f.Dispatch(ctx, busy, log.ack("busy"))
	if f.Skip("busy", skip(true)) || asked != 2 {
		t.Fatalf("an event being handled was settled (asked %d)", asked)
	}
	f.Dispatch(ctx, busy, log.ack("busy-again"))
	close(release)
	log.waitAcked(t, 3)

	// A delivered event is settled without asking too.
	if !f.Skip("busy", skip(false)) || asked != 2 {
		t.Fatalf("a delivered event (asked %d)", asked)
	}
	handled, acked := log.snapshot()
	if want := []string{"a:busy"}; !slices.Equal(handled, want) {
		t.Errorf("handled %v, want %v", handled, want)
	}
	if want := []string{"echo-again", "busy", "busy-again"}; !slices.Equal(acked, want) {
		t.Errorf("acknowledged %v, want %v", acked, want)
	}
}
