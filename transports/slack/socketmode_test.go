package slack

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/xgate-im/xgate/bridge"
	"github.com/xgate-im/xgate/transports/slack/slackfake"
)

// waitAcked waits until the fake has no unacknowledged envelope.
func (w *world) waitAcked(t *testing.T) {
	t.Helper()
	if err := w.fake.WaitUntil(bounded(t, 10*time.Second), func() bool { return w.fake.Pending() == 0 }); err != nil {
		t.Fatalf("%d envelopes never acknowledged (%v)", w.fake.Pending(), err)
	}
}

func TestReconnectsLoseNothing(t *testing.T) {
	w := newWorld(t)
	tr := w.transport()
	_, sink := w.login(tr, w.aliceTok)
	const n = 40
	for i := range n {
		w.fake.Post(w.bob.ID, w.aliceBob, fmt.Sprint("m", i))
		switch i {
		case 5, 25:
			w.fake.Disconnect("refresh_requested")
		case 12, 33:
			w.fake.DropSockets()
		case 19:
			w.fake.Disconnect("warning")
		}
	}
	waitFor[bridge.MessageEvent](t, sink, func(m bridge.MessageEvent) bool { return m.Text == fmt.Sprint("m", n-1) })
	w.waitAcked(t)
	var got []string
	for _, ev := range sink.Events() {
		if m, ok := ev.(bridge.MessageEvent); ok {
			got = append(got, m.Text)
		}
	}
	if len(got) != n {
		t.Fatalf("%d messages, want %d: %v", len(got), n, got)
	}
	for i, text := range got {
		if text != fmt.Sprint("m", i) {
			t.Fatalf("message %d is %q: %v", i, text, got)
		}
	}
	if a := w.fake.Acked(); a != n {
		t.Errorf("%d envelopes acknowledged, want %d", a, n)
	}
}

func TestAckOnlyAfterEmit(t *testing.T) {
	w := newWorld(t)
	tr := w.transport()
	_, sink := w.login(tr, w.aliceTok)
	ctx := bounded(t, 10*time.Second)

	sink.Hold()
	ts := w.fake.Post(w.bob.ID, w.aliceBob, "held")
	select {
	case <-sink.Entered():
	case <-ctx.Done():
		t.Fatal("Emit never called")
	}
	if p := w.fake.Pending(); p != 1 {
		t.Fatalf("%d envelopes pending while Emit blocks, want 1", p)
	}
	// Slack sends it again when the ack is late and when the socket drops;
	// it stays pending all along.
	sent := w.fake.Delivered()
	w.fake.SetAckTimeout(50 * time.Millisecond)
	if err := w.fake.WaitUntil(ctx, func() bool { return w.fake.Delivered() >= sent+2 }); err != nil {
		t.Fatal("not redelivered after the ack timeout")
	}
	w.fake.SetAckTimeout(time.Hour)
	sent = w.fake.Delivered()
	w.fake.DropSockets()
	if err := w.fake.WaitUntil(ctx, func() bool { return w.fake.Delivered() > sent && w.fake.Connections() > 0 }); err != nil {
		t.Fatal("not redelivered after the socket dropped")
	}
	if p := w.fake.Pending(); p != 1 || w.fake.Acked() != 0 {
		t.Fatalf("pending %d, acked %d while Emit blocks", p, w.fake.Acked())
	}
	sink.Release()
	waitFor[bridge.MessageEvent](t, sink, nil)
	w.waitAcked(t)
	// Every redelivery was recognized: the user sees the message once.
	marker := w.fake.Post(w.bob.ID, w.aliceBob, "marker")
	waitFor[bridge.MessageEvent](t, sink, func(m bridge.MessageEvent) bool { return m.ID == bridge.MessageID(marker) })
	w.waitAcked(t)
	if n := count(sink, func(m bridge.MessageEvent) bool { return m.ID == bridge.MessageID(ts) }); n != 1 {
		t.Errorf("message delivered %d times", n)
	}
}

func TestEmitFailureIsRetried(t *testing.T) {
	w := newWorld(t)
	tr := w.transport()
	_, sink := w.login(tr, w.aliceTok)
	ctx := bounded(t, 10*time.Second)
	sink.Hold()
	sink.Fail(errors.New("store: disk full"))
	w.fake.Post(w.bob.ID, w.aliceBob, "retry me")
	select {
	case <-sink.Entered():
	case <-ctx.Done():
		t.Fatal("Emit never called")
	}
	sink.Fail(nil)
	sink.Release()
	waitFor[bridge.MessageEvent](t, sink, func(m bridge.MessageEvent) bool { return m.Text == "retry me" })
	w.waitAcked(t)
}

func TestDirectMessageBetweenTwoRegisteredUsers(t *testing.T) {
	w := newWorld(t)
	tr := w.transport()
	_, aliceSink := w.login(tr, w.aliceTok)
	_, bobSink := w.login(tr, w.bobTok)

	ts := w.fake.Post(w.alice.ID, w.aliceBob, "hi bob")
	a := waitFor[bridge.MessageEvent](t, aliceSink, nil)
	b := waitFor[bridge.MessageEvent](t, bobSink, nil)
	if !a.FromSelf || a.Chat.Peer != w.uid(w.bob) || a.ID != bridge.MessageID(ts) {
		t.Errorf("alice got %+v", a)
	}
	if b.FromSelf || b.Chat.Peer != w.uid(w.alice) || b.Sender != w.uid(w.alice) || b.Text != "hi bob" {
		t.Errorf("bob got %+v", b)
	}
	// The route of the conversation is now known: no more lookups.
	lookups := w.fake.CallCount("apps.event.authorizations.list")
	ts2 := w.fake.Post(w.bob.ID, w.aliceBob, "hi alice")
	waitFor[bridge.MessageEvent](t, aliceSink, func(m bridge.MessageEvent) bool { return m.ID == bridge.MessageID(ts2) })
	waitFor[bridge.MessageEvent](t, bobSink, func(m bridge.MessageEvent) bool { return m.ID == bridge.MessageID(ts2) && m.FromSelf })
	if n := w.fake.CallCount("apps.event.authorizations.list"); n != lookups {
		t.Errorf("%d more apps.event.authorizations.list calls", n-lookups)
	}
	// Carol's DM with alice reaches alice only.
	im := w.fake.OpenIM(w.team.ID, w.alice.ID, w.carol.ID)
	w.fake.IssueUserToken(w.team.ID, w.carol.ID) // an installation without account here
	ts3 := w.fake.Post(w.carol.ID, im, "hi alice, carol here")
	waitFor[bridge.MessageEvent](t, aliceSink, func(m bridge.MessageEvent) bool { return m.ID == bridge.MessageID(ts3) })
	w.waitAcked(t)
	if n := count(bobSink, func(m bridge.MessageEvent) bool { return m.ID == bridge.MessageID(ts3) }); n != 0 {
		t.Errorf("bob got carol's message to alice")
	}
}

func TestEventsWaitForLoginAfterConnecting(t *testing.T) {
	w := newWorld(t)
	tr := w.transport()
	tr.mu.Lock()
	tr.grace = time.Hour
	tr.mu.Unlock()
	w.fake.SetAckTimeout(100 * time.Millisecond)
	_, aliceSink := w.login(tr, w.aliceTok)
	// Bob holds a token but has not logged in yet: the message waits for
	// him, alice gets it once.
	ts := w.fake.Post(w.alice.ID, w.aliceBob, "before bob logged in")
	waitFor[bridge.MessageEvent](t, aliceSink, nil)
	if w.fake.Pending() == 0 {
		t.Fatal("acknowledged before bob's account logged in")
	}
	bob, bobSink := w.login(tr, w.bobTok)
	waitFor[bridge.MessageEvent](t, bobSink, func(m bridge.MessageEvent) bool { return m.ID == bridge.MessageID(ts) })
	w.waitAcked(t)
	if n := count(aliceSink, func(m bridge.MessageEvent) bool { return m.ID == bridge.MessageID(ts) }); n != 1 {
		t.Errorf("alice got it %d times", n)
	}
	// An account whose session closed (logged out, unsubscribed) is not
	// waited for.
	bob.Close()
	ts2 := w.fake.Post(w.alice.ID, w.aliceBob, "after bob left")
	waitFor[bridge.MessageEvent](t, aliceSink, func(m bridge.MessageEvent) bool { return m.ID == bridge.MessageID(ts2) })
	w.waitAcked(t)
}

func TestUnmappedEvents(t *testing.T) {
	w := newWorld(t)
	tr := w.transport()
	_, sink := w.login(tr, w.aliceTok)
	ch := w.fake.CreateChannelAs(w.bob.ID, "general", false, w.alice.ID)
	waitFor[bridge.UnknownEvent](t, sink, func(u bridge.UnknownEvent) bool { return u.Kind == "slack channel_created" })
	waitFor[bridge.MemberEvent](t, sink, func(m bridge.MemberEvent) bool {
		return m.Chat == bridge.ChatID(ch.ID) && m.Member.User == w.uid(w.alice)
	})
	ts := w.fake.Post(w.bob.ID, ch.ID, "hello <#"+ch.ID+"|general>")
	g := waitFor[bridge.MessageEvent](t, sink, func(m bridge.MessageEvent) bool { return m.ID == bridge.MessageID(ts) })
	if g.Chat.Kind != bridge.Group || g.Chat.ID != bridge.ChatID(ch.ID) || g.Text != "hello #general" {
		t.Errorf("group message %+v", g)
	}
	w.waitAcked(t)
}

func TestTwoWorkspaces(t *testing.T) {
	w := newWorld(t)
	globex := w.fake.CreateTeam("Globex")
	dan := w.fake.CreateUser(globex.ID, slackfake.UserSpec{Name: "dan"})
	erin := w.fake.CreateUser(globex.ID, slackfake.UserSpec{Name: "erin", DisplayName: "Erin"})
	danTok := w.fake.IssueUserToken(globex.ID, dan.ID)
	danErin := w.fake.OpenIM(globex.ID, dan.ID, erin.ID)
	tr := w.transport()
	_, aliceSink := w.login(tr, w.aliceTok)
	danSess, danSink := w.login(tr, danTok)
	if danSess.id != MakeAccountID(globex.ID, dan.ID) {
		t.Fatalf("account %s", danSess.id)
	}
	ts := w.fake.Post(erin.ID, danErin, "hi dan")
	m := waitFor(t, danSink, func(m bridge.MessageEvent) bool { return m.ID == bridge.MessageID(ts) })
	if m.Sender != MakeUserID(globex.ID, erin.ID) || m.Chat.Peer != m.Sender {
		t.Errorf("dan got %+v", m)
	}
	ts2 := w.fake.Post(w.bob.ID, w.aliceBob, "hi alice")
	waitFor(t, aliceSink, func(m bridge.MessageEvent) bool { return m.ID == bridge.MessageID(ts2) })
	w.waitAcked(t)
	if n := count(aliceSink, func(m bridge.MessageEvent) bool { return m.ID == bridge.MessageID(ts) }); n != 0 {
		t.Error("alice got a message of another workspace")
	}
	if n := count(danSink, func(m bridge.MessageEvent) bool { return m.ID == bridge.MessageID(ts2) }); n != 0 {
		t.Error("dan got a message of another workspace")
	}
	if ContactLocalpart(MakeUserID(globex.ID, erin.ID)) == ContactLocalpart(w.uid(w.bob)) {
		t.Error("contacts of two workspaces share a localpart")
	}
	if _, err := danSess.Send(bounded(t, 5*time.Second), bridge.ChatRef{Kind: bridge.Direct, Peer: MakeUserID(globex.ID, erin.ID)}, bridge.OutgoingMessage{Text: "hi erin"}); err != nil {
		t.Fatal(err)
	}
}

// socketServer serves WebSocket connections on loopback with serve, and
// returns their URL.
func socketServer(t *testing.T, serve func(ws *websocket.Conn)) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		ws, err := (&websocket.Upgrader{}).Upgrade(rw, r, nil)
		if err != nil {
			return
		}
		defer ws.Close()
		serve(ws)
	}))
	t.Cleanup(srv.Close)
	return "ws" + strings.TrimPrefix(srv.URL, "http")
}

// serveSocket runs a Socket Mode client connection to url until the
// returned stop is called; before is called with the client before it
// connects.
func serveSocket(t *testing.T, ctx context.Context, url string, before func(sm *socketMode)) (sm *socketMode, stop func()) {
	t.Helper()
	tr, err := New(newWorld(t).config(), testLog(), nil)
	if err != nil {
		t.Fatal(err)
	}
	sm = &socketMode{t: tr}
	if before != nil {
		before(sm)
	}
	ws, bc, err := dialSocket(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	sctx, cancel := context.WithCancel(ctx)
	served := make(chan bool)
	go func() { served <- sm.serve(sctx, ws, bc) }()
	return sm, func() { cancel(); <-served }
}

// readAll sends every message read from ws to got.
func readAll(ws *websocket.Conn, got chan<- string) {
	for {
		_, data, err := ws.ReadMessage()
		if err != nil {
			return
		}
		got <- string(data)
	}
}

// TestAcksWaitForTheNextConnection checks that acknowledgements queued
// while there is no connection are written, in order, on the next one, by
// its writer, and that later ones follow on the same connection (each
// batch of frames flushed).
func TestAcksWaitForTheNextConnection(t *testing.T) {
	ctx := bounded(t, 10*time.Second)
	got := make(chan string, 8)
	url := socketServer(t, func(ws *websocket.Conn) { readAll(ws, got) })
	sm, stop := serveSocket(t, ctx, url, func(sm *socketMode) {
		sm.acknowledge([]string{"E1", `E"2`}) // no connection yet
	})
	defer stop()
	want := []string{`{"envelope_id":"E1"}`, `{"envelope_id":"E\"2"}`, `{"envelope_id":"E3"}`}
	for i, w := range want {
		if i == 2 {
			sm.acknowledge([]string{"E3"})
		}
		select {
		case g := <-got:
			if g != w {
				t.Fatalf("frame %d is %s, want %s", i, g, w)
			}
		case <-ctx.Done():
			t.Fatalf("frame %d never written", i)
		}
	}
}

// TestPingsAreAnsweredAtOnce checks that the pong to Slack's ping is not
// left in the batched writes.
func TestPingsAreAnsweredAtOnce(t *testing.T) {
	ctx := bounded(t, 10*time.Second)
	pong := make(chan string, 1)
	url := socketServer(t, func(ws *websocket.Conn) {
		ws.SetPongHandler(func(data string) error { pong <- data; return nil })
		if ws.WriteControl(websocket.PingMessage, []byte("p1"), time.Now().Add(time.Second)) == nil {
			readAll(ws, make(chan string, 1))
		}
	})
	_, stop := serveSocket(t, ctx, url, nil)
	defer stop()
	select {
	case p := <-pong:
		if p != "p1" {
			t.Errorf("pong %q", p)
		}
	case <-ctx.Done():
		t.Error("no pong")
	}
}
