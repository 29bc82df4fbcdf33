package discord

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/xgate-im/xgate/bridge"
	"github.com/xgate-im/xgate/bridge/bridgetest"
)

// roundTripFunc is an http.RoundTripper.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestBotLoginCatchUpHoldsLiveEvents: a bot-linked account logs in after a
// restart while the bot is connected; its catch-up of a DM reads what was
// said while xgate was down, and bob writes again while that read is in
// flight (the fake answers it only once the bot's reader has taken the
// new message). The new message comes after the ones read, not before.
func TestBotLoginCatchUpHoldsLiveEvents(t *testing.T) {
	w := newWorld(t, allPrivileged)
	st := &MemoryState{}
	tr, stop := runTransport(t, w, st)
	acct, err := link(t, w, tr, w.alice.ID)
	if err != nil {
		t.Fatal(err)
	}
	ctx := bounded(t, 30*time.Second)
	rec1 := bridgetest.NewRecorder()
	s, err := tr.Login(ctx, acct, rec1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Send(ctx, w.dm(), bridge.OutgoingMessage{Text: "hi bob"}); err != nil {
		t.Fatal(err)
	}
	botBob := w.fake.OpenDM(w.bot.ID, w.bob.ID).ID
	first := w.fake.Post(w.bob.ID, botBob, "first")
	bridgetest.WaitFor(t, rec1, func(m bridge.MessageEvent) bool { return m.ID == bridge.MessageID(first) })
	s.Close()
	stop()
	missed := []string{w.fake.Post(w.bob.ID, botBob, "missed 1"), w.fake.Post(w.bob.ID, botBob, "missed 2")}

	// The next xgate: its catch-up read of bob's DM lets bob write "live",
	// and goes on once the bot's reader has dispatched it.
	var tr2 *Transport
	var once sync.Once
	var live string
	read := make(chan struct{}) // closed once live is set
	rt := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		if r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/channels/"+botBob+"/messages") {
			once.Do(func() {
				live = w.fake.Post(w.bob.ID, botBob, "live")
				defer close(read)
				c := tr2.bot
				for {
					c.mu.Lock()
					_, pending := c.pending["bot|m:"+live]
					changed := c.changed
					c.mu.Unlock()
					if pending {
						return
					}
					select {
					case <-changed:
					case <-ctx.Done():
						t.Error("the bot's reader never took the live message")
						return
					}
				}
			})
		}
		return http.DefaultTransport.RoundTrip(r)
	})
	tr2, err = New(w.config(), testLog(), &http.Client{Transport: rt, Timeout: 20 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	tr2.UseState(st)
	tr2.redeliver = 200 * time.Millisecond
	rctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = tr2.Run(rctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	select {
	case <-tr2.bot.ready:
	case <-ctx.Done():
		t.Fatal("the bot never got READY")
	}
	rec := bridgetest.NewRecorder()
	s2, err := tr2.Login(ctx, acct, rec)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s2.Close() })
	select {
	case <-read:
	case <-ctx.Done():
		t.Fatal("the catch-up did not read bob's DM")
	}
	bridgetest.WaitFor(t, rec, func(m bridge.MessageEvent) bool { return m.ID == bridge.MessageID(live) })
	for _, id := range missed {
		bridgetest.WaitFor(t, rec, func(m bridge.MessageEvent) bool { return m.ID == bridge.MessageID(id) })
	}
	// A message read back and also received live comes twice to the
	// Sink, which recognizes it: the first times count.
	var dm []string
	seen := map[bridge.MessageID]bool{}
	for _, ev := range rec.Events() {
		if m, ok := ev.(bridge.MessageEvent); ok && m.Chat.Kind == bridge.Direct && !seen[m.ID] {
			seen[m.ID] = true
			dm = append(dm, m.Text)
		}
	}
	if want := []string{"missed 1", "missed 2", "live"}; !slices.Equal(dm, want) {
		t.Errorf("DM after the restart %q, want %q (what was missed, then what came during the catch-up)", dm, want)
	}
}

// slowRoute is a State whose read of one key waits: it holds up the
// Fanout's worker of a chat while it routes an event, as a loaded machine
// would.
type slowRoute struct {
	State
	key     string
	asked   chan struct{} // closed at the first read of key
	release chan struct{} // the reads of key wait for it
	once    sync.Once
}

func (s *slowRoute) Get(key string) (string, bool, error) {
	if key == s.key {
		s.once.Do(func() { close(s.asked) })
		<-s.release
	}
	return s.State.Get(key)
}

// TestBotLoginCatchUpBeforeEarlierLiveEvent: bob writes after the bot
// connected and before a bot-linked account's login starts its catch-up,
// and the chat's worker takes that message only once the login attached
// the session. What was said while xgate was down still comes first.
func TestBotLoginCatchUpBeforeEarlierLiveEvent(t *testing.T) {
	w := newWorld(t, allPrivileged)
	st := &MemoryState{}
	tr, stop := runTransport(t, w, st)
	acct, err := link(t, w, tr, w.alice.ID)
	if err != nil {
		t.Fatal(err)
	}
	ctx := bounded(t, 30*time.Second)
	rec1 := bridgetest.NewRecorder()
	s, err := tr.Login(ctx, acct, rec1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Send(ctx, w.dm(), bridge.OutgoingMessage{Text: "hi bob"}); err != nil {
		t.Fatal(err)
	}
	botBob := w.fake.OpenDM(w.bot.ID, w.bob.ID).ID
	first := w.fake.Post(w.bob.ID, botBob, "first")
	bridgetest.WaitFor(t, rec1, func(m bridge.MessageEvent) bool { return m.ID == bridge.MessageID(first) })
	s.Close()
	stop()
	missed := []string{w.fake.Post(w.bob.ID, botBob, "missed 1"), w.fake.Post(w.bob.ID, botBob, "missed 2")}

	slow := &slowRoute{State: st, key: routeKey(w.bob.ID), asked: make(chan struct{}), release: make(chan struct{})}
	release := sync.OnceFunc(func() { close(slow.release) })
	tr2, stop2 := runTransport(t, w, slow) // returns once the bot is READY
	defer stop2()
	defer release()
	// bob writes; the chat's worker routes it and waits there.
	live := w.fake.Post(w.bob.ID, botBob, "live")
	select {
	case <-slow.asked:
	case <-ctx.Done():
		t.Fatal("the live message was never routed")
	}
	rec := bridgetest.NewRecorder()
	s2, err := tr2.Login(ctx, acct, rec)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s2.Close() })
	release()
	for _, id := range append(missed, live) {
		bridgetest.WaitFor(t, rec, func(m bridge.MessageEvent) bool { return m.ID == bridge.MessageID(id) })
	}
	var dm []string
	seen := map[bridge.MessageID]bool{}
	for _, ev := range rec.Events() {
		if m, ok := ev.(bridge.MessageEvent); ok && m.Chat.Kind == bridge.Direct && !seen[m.ID] {
			seen[m.ID] = true
			dm = append(dm, m.Text)
		}
	}
	if want := []string{"missed 1", "missed 2", "live"}; !slices.Equal(dm, want) {
		t.Errorf("DM after the restart %q, want %q (what was missed, then what came before the login)", dm, want)
	}
}
