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
	"github.com/xgate-im/xgate/xmpp/jid"
	"github.com/xgate-im/xgate/xmpp/xmpptest"
)

// harness runs a Component against an in-process server and records the
// stanzas it hands to its handler and its state changes.
type harness struct {
	srv    *xmpptest.Server
	comp   *xmpp.Component
	got    chan xmpp.Stanza
	states chan xmpp.State
	runErr chan error
	cancel context.CancelFunc
}

func startComponent(t *testing.T, secret string, mod func(*xmpp.ComponentConfig)) *harness {
	return startComponentOn(t, xmpptest.NewServer(t, "s3cret"), secret, mod)
}

func startComponentOn(t *testing.T, srv *xmpptest.Server, secret string, mod func(*xmpp.ComponentConfig)) *harness {
	t.Helper()
	h := &harness{
		srv:    srv,
		got:    make(chan xmpp.Stanza, 100),
		states: make(chan xmpp.State, 100),
		runErr: make(chan error, 1),
	}
	cfg := xmpp.ComponentConfig{
		Addr: h.srv.Addr(), Domain: "gw.example", Secret: secret,
		MinBackoff: 5 * time.Millisecond, MaxBackoff: 50 * time.Millisecond,
		OnState: func(s xmpp.State, err error) { h.states <- s },
	}
	if mod != nil {
		mod(&cfg)
	}
	comp, err := xmpp.NewComponent(cfg, xmpp.HandlerFunc(func(ctx context.Context, s xmpp.Stanza) { h.got <- s }))
	if err != nil {
		t.Fatal(err)
	}
	h.comp = comp
	ctx, cancel := context.WithCancel(t.Context())
	h.cancel = cancel
	go func() { h.runErr <- comp.Run(ctx) }()
	t.Cleanup(func() {
		srv.Close() // a real server answers </stream:stream>; this one just goes away
		cancel()
		select {
		case <-h.runErr:
		case <-time.After(5 * time.Second):
			t.Error("Run did not return after cancel")
		}
	})
	return h
}

func (h *harness) waitState(t *testing.T, want xmpp.State) {
	t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case s := <-h.states:
			if s == want {
				return
			}
		case <-timeout:
			t.Fatalf("state %s not reached (now %s)", want, h.comp.State())
		}
	}
}

func (h *harness) next(t *testing.T) xmpp.Stanza {
	t.Helper()
	select {
	case s := <-h.got:
		return s
	case <-time.After(5 * time.Second):
		t.Fatal("handler got nothing")
		return nil
	}
}

func ctxTimeout(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestComponentHandshakeAndExchange(t *testing.T) {
	for _, integer := range []bool{false, true} {
		name := "uuid-ids"
		if integer {
			name = "integer-ids"
		}
		t.Run(name, func(t *testing.T) {
			srv := xmpptest.NewServer(t, "s3cret")
			srv.SetIntegerIDs(integer)
			h := startComponentOn(t, srv, "s3cret", nil)
			ctx := ctxTimeout(t)
			conn, err := h.srv.Accept(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if conn.Domain != "gw.example" {
				t.Fatalf("domain %q", conn.Domain)
			}
			h.waitState(t, xmpp.StateConnected)
			conn.Send("<message from='alice@example.org/phone' to='bob@gw.example' id='m1' type='chat'><body>hi</body></message>")
			m, ok := h.next(t).(*xmpp.Message)
			if !ok || m.Body != "hi" || m.From.String() != "alice@example.org/phone" {
				t.Fatalf("got %#v", m)
			}
			err = h.comp.Send(ctx, &xmpp.Message{Header: xmpp.Header{From: jid.MustParse("bob@gw.example"), To: m.From, ID: "r1", Type: "chat"}, Body: "hello back"})
			if err != nil {
				t.Fatal(err)
			}
			el, err := conn.Next(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if got := el.String(); !strings.Contains(got, "<body>hello back</body>") || el.AttrValue("to") != "alice@example.org/phone" {
				t.Fatalf("server got %s", got)
			}
		})
	}
}

func TestComponentWrongSecretIsFatal(t *testing.T) {
	h := startComponent(t, "wrong", nil)
	select {
	case err := <-h.runErr:
		if !errors.Is(err, xmpp.ErrNotAuthorized) {
			t.Fatalf("got %v, want ErrNotAuthorized", err)
		}
		h.runErr <- err // for the cleanup
	case <-time.After(5 * time.Second):
		t.Fatal("Run kept retrying a refused secret")
	}
}

func TestComponentReconnectsAndKeepsQueue(t *testing.T) {
	h := startComponent(t, "s3cret", nil)
	ctx := ctxTimeout(t)
	conn, err := h.srv.Accept(ctx)
	if err != nil {
		t.Fatal(err)
	}
	h.waitState(t, xmpp.StateConnected)
	conn.Close() // the server crashes
	h.waitState(t, xmpp.StateDisconnected)
	conn2, err := h.srv.Accept(ctx)
	if err != nil {
		t.Fatal(err)
	}
	h.waitState(t, xmpp.StateConnected)
	if err := h.comp.Send(ctx, &xmpp.Message{Header: xmpp.Header{ID: "after"}, Body: "after"}); err != nil {
		t.Fatal(err)
	}
	el, err := conn2.Next(ctx)
	if err != nil || el.AttrValue("id") != "after" {
		t.Fatalf("got %v %v", el, err)
	}
	if st := h.comp.Stats(); st.Reconnects < 1 {
		t.Fatalf("stats %+v", st)
	}
}

func TestComponentSendWhileDown(t *testing.T) {
	srv := xmpptest.NewServer(t, "s3cret")
	srv.Close() // nothing listens: every dial fails
	h := startComponentOn(t, srv, "s3cret", nil)
	h.waitState(t, xmpp.StateDisconnected)
	if err := h.comp.Send(t.Context(), &xmpp.Message{Body: "while down"}); !errors.Is(err, xmpp.ErrNotConnected) {
		t.Fatalf("Send while down: %v", err)
	}
}

func TestComponentMalformedInput(t *testing.T) {
	tests := []struct {
		name, input, wantErr string
		reconnect            bool
	}{
		{"not well-formed", "<message><body></message>", "not-well-formed", true},
		{"doctype", "<!DOCTYPE x [<!ENTITY a 'b'>]>", "restricted-xml", true},
		{"oversize stanza is bounced, the stream kept", "<message from='a@b.c/r' to='x@gw.example' id='big' type='chat'><body>" + strings.Repeat("x", 100000) + "</body></message>",
			`from="x@gw.example" to="a@b.c/r" id="big" type="error"><error type="modify"><policy-violation`, false},
		{"unknown top-level", "<foo/>", "unsupported-stanza-type", true},
		{"bad jid", "<message from='a@b@c' to='x@gw.example' id='j1'><body>x</body></message>", "jid-malformed", false},
		{"iq without id", "<iq from='a@b.c' to='gw.example' type='get'><ping xmlns='urn:xmpp:ping'/></iq>", "bad-request", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := startComponent(t, "s3cret", func(c *xmpp.ComponentConfig) { c.Limits.MaxStanzaBytes = 2048 })
			ctx := ctxTimeout(t)
			conn, err := h.srv.Accept(ctx)
			if err != nil {
				t.Fatal(err)
			}
			h.waitState(t, xmpp.StateConnected)
			conn.Send(tt.input)
			raw := readAll(ctx, conn)
			if !strings.Contains(raw, tt.wantErr) {
				t.Fatalf("server got %q, want %s", raw, tt.wantErr)
			}
			if tt.reconnect {
				if _, err := h.srv.Accept(ctx); err != nil {
					t.Fatalf("no reconnect: %v", err)
				}
				h.waitState(t, xmpp.StateConnected)
			}
			if h.comp.Stats().ErrorsIn == 0 {
				t.Error("error not counted")
			}
		})
	}
}

// readAll returns what the component wrote until it closed its stream or
// the first element arrived (for bounces).
func readAll(ctx context.Context, conn *xmpptest.Conn) string {
	var b strings.Builder
	for {
		el, err := conn.Next(ctx)
		if err != nil {
			b.WriteString(err.Error())
			return b.String()
		}
		b.WriteString(el.String())
		if el.Name.Local != "error" {
			return b.String()
		}
	}
}

func TestComponentRequest(t *testing.T) {
	h := startComponent(t, "s3cret", nil)
	ctx := ctxTimeout(t)
	conn, err := h.srv.Accept(ctx)
	if err != nil {
		t.Fatal(err)
	}
	h.waitState(t, xmpp.StateConnected)
	type result struct {
		iq  *xmpp.IQ
		err error
	}
	done := make(chan result, 1)
	go func() {
		iq, err := h.comp.Request(ctx, &xmpp.IQ{Header: xmpp.Header{To: jid.MustParse("alice@example.org/phone"), Type: xmpp.IQGet}, Payload: xmpp.NewElement("jabber:iq:version", "query")})
		done <- result{iq, err}
	}()
	el, err := conn.Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	id := el.AttrValue("id")
	// A forged answer from someone else is not taken as the response.
	conn.Send("<iq type='result' from='mallory@example.org/x' to='gw.example' id='" + id + "'/>")
	conn.Send("<iq type='result' from='alice@example.org/phone' to='gw.example' id='" + id + "'><query xmlns='jabber:iq:version'><name>Dino</name></query></iq>")
	r := <-done
	if r.err != nil || r.iq.Payload.ChildText("", "name") != "Dino" {
		t.Fatalf("got %+v %v", r.iq, r.err)
	}
	// The forged one reached the handler as an ordinary stanza.
	if s := h.next(t); s.Head().From.Local() != "mallory" {
		t.Fatalf("handler got %v", s)
	}
}

func TestComponentRequestTimeout(t *testing.T) {
	h := startComponent(t, "s3cret", func(c *xmpp.ComponentConfig) { c.RequestTimeout = 50 * time.Millisecond })
	ctx := ctxTimeout(t)
	if _, err := h.srv.Accept(ctx); err != nil {
		t.Fatal(err)
	}
	h.waitState(t, xmpp.StateConnected)
	_, err := h.comp.Request(ctx, &xmpp.IQ{Header: xmpp.Header{To: jid.MustParse("a@b.c/d"), Type: xmpp.IQGet}, Payload: xmpp.NewElement(xmpp.NSPing, "ping")})
	if !errors.Is(err, xmpp.ErrTimeout) {
		t.Fatalf("got %v", err)
	}
}

// A peer that stops answering (no FIN, no RST) is detected by the
// self-ping and the component reconnects.
func TestComponentDetectsDeadPeer(t *testing.T) {
	srv := xmpptest.NewServer(t, "s3cret")
	srv.RouteSelf(false)
	h := startComponentOn(t, srv, "s3cret", func(c *xmpp.ComponentConfig) {
		c.KeepAlive = 40 * time.Millisecond
		c.PingTimeout = 60 * time.Millisecond
	})
	ctx := ctxTimeout(t)
	conn, err := h.srv.Accept(ctx)
	if err != nil {
		t.Fatal(err)
	}
	h.waitState(t, xmpp.StateConnected)
	// The server reads but never routes the ping back: it is "hung".
	go func() {
		for {
			if _, err := conn.Next(ctx); err != nil {
				return
			}
		}
	}()
	h.waitState(t, xmpp.StateDisconnected)
	if _, err := h.srv.Accept(ctx); err != nil {
		t.Fatal(err)
	}
	if h.comp.Stats().PingTimeouts == 0 {
		t.Error("ping timeout not counted")
	}
}

// A live server that routes the self-ping back keeps the connection up.
func TestComponentSelfPingKeepsAlive(t *testing.T) {
	srv := xmpptest.NewServer(t, "s3cret")
	srv.RouteSelf(false)
	h := startComponentOn(t, srv, "s3cret", func(c *xmpp.ComponentConfig) {
		c.KeepAlive = 30 * time.Millisecond
		c.PingTimeout = 200 * time.Millisecond
	})
	ctx := ctxTimeout(t)
	conn, err := h.srv.Accept(ctx)
	if err != nil {
		t.Fatal(err)
	}
	h.waitState(t, xmpp.StateConnected)
	pings := 0
	for pings < 3 {
		el, err := conn.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if el.Child(xmpp.NSPing, "ping") != nil && el.AttrValue("to") == "gw.example" {
			pings++
			conn.Send(el.String()) // route it back like a server does
		}
	}
	if s := h.comp.State(); s != xmpp.StateConnected {
		t.Fatalf("state %s", s)
	}
}

func TestComponentGracefulShutdown(t *testing.T) {
	h := startComponent(t, "s3cret", nil)
	ctx := ctxTimeout(t)
	conn, err := h.srv.Accept(ctx)
	if err != nil {
		t.Fatal(err)
	}
	h.waitState(t, xmpp.StateConnected)
	for i := range 50 {
		if err := h.comp.Send(ctx, &xmpp.Message{Header: xmpp.Header{ID: string(rune('a' + i%26))}, Body: "bye"}); err != nil {
			t.Fatal(err)
		}
	}
	h.cancel()
	n := 0
	var end error
	for {
		el, err := conn.Next(ctx)
		if err != nil {
			end = err
			break
		}
		if el.Name.Local == "message" {
			n++
		}
	}
	if n != 50 || !errors.Is(end, xmpp.ErrStreamClosed) {
		t.Fatalf("got %d messages, end %v", n, end)
	}
	conn.CloseStream()
	select {
	case err := <-h.runErr:
		if err != nil {
			t.Fatal(err)
		}
		h.runErr <- nil
	case <-ctx.Done():
		t.Fatal("Run did not return")
	}
	if st := h.comp.Stats(); st.MessagesOut != 50 || st.State != xmpp.StateStopped {
		t.Fatalf("stats %+v", st)
	}
	if err := h.comp.Send(ctx, &xmpp.Message{}); !errors.Is(err, xmpp.ErrConnClosed) {
		t.Fatalf("Send after stop: %v", err)
	}
}

func TestComponentConcurrentSend(t *testing.T) {
	h := startComponent(t, "s3cret", func(c *xmpp.ComponentConfig) { c.SendQueue = 4 })
	ctx := ctxTimeout(t)
	conn, err := h.srv.Accept(ctx)
	if err != nil {
		t.Fatal(err)
	}
	h.waitState(t, xmpp.StateConnected)
	const senders, each = 8, 200
	var wg sync.WaitGroup
	for range senders {
		wg.Go(func() {
			for range each {
				if err := h.comp.Send(ctx, &xmpp.Message{Body: "x"}); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	n := 0
	for n < senders*each {
		el, err := conn.Next(ctx)
		if err != nil {
			t.Fatalf("after %d: %v", n, err)
		}
		if el.Name.Local == "message" {
			n++
		}
	}
	wg.Wait()
}

func TestNewComponentValidates(t *testing.T) {
	for _, cfg := range []xmpp.ComponentConfig{
		{Addr: "127.0.0.1:1", Domain: "user@gw.example"},
		{Addr: "127.0.0.1:1", Domain: ""},
		{Addr: "", Domain: "gw.example"},
	} {
		if _, err := xmpp.NewComponent(cfg, nil); err == nil {
			t.Errorf("%+v accepted", cfg)
		}
	}
}

// Stanzas the server read but never confirmed (its process died before the
// barrier ping came back) are written again on the next connection, behind
// those a returned barrier confirmed within ReplayConfirmed before the end
// (a server may route a stanza and die before delivering it); stanzas
// confirmed earlier, or before a server closed its stream in order, are not.
func TestComponentReplaysUnconfirmedAfterCrash(t *testing.T) {
	for _, tc := range []struct {
		name     string
		window   time.Duration
		closeTag bool // the server closes its stream before going away
		want     string
	}{
		{"confirmed long ago", -1, false, "u0,u1,u2,u3,u4"},
		{"confirmed just before", time.Hour, false, "confirmed,u0,u1,u2,u3,u4"},
		{"server closed its stream", time.Hour, true, "u0,u1,u2,u3,u4"},
	} {
		t.Run(tc.name, func(t *testing.T) { testReplayAfterCrash(t, tc.window, tc.closeTag, tc.want) })
	}
}

func testReplayAfterCrash(t *testing.T, window time.Duration, closeTag bool, want string) {
	srv, h, conn, ctx := connectedUnroutedWith(t, func(c *xmpp.ComponentConfig) { c.ReplayConfirmed = window })
	// Confirmed: the server routes the barrier behind it back (and the
	// probe written after the handshake).
	sendConfirmed(t, ctx, h, conn, "confirmed")
	// Unconfirmed: read, but the barrier is never routed.
	for i := range 5 {
		h.comp.Send(ctx, &xmpp.Message{Header: xmpp.Header{ID: fmt.Sprint("u", i)}, Body: "b"})
	}
	got := 0
	for got < 5 {
		el, err := conn.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if el.Name.Local == "message" {
			got++
		}
	}
	if closeTag {
		conn.Send("</stream:stream>")
	}
	conn.Close() // the server dies
	conn2, err := srv.Accept(ctx)
	if err != nil {
		t.Fatal(err)
	}
	wantIDs := strings.Split(want, ",")
	var ids []string
	for len(ids) < len(wantIDs) {
		el, err := conn2.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if el.Name.Local == "message" {
			ids = append(ids, el.AttrValue("id"))
		}
	}
	if strings.Join(ids, ",") != want {
		t.Fatalf("replayed %v, want %s", ids, want)
	}
	if st := h.comp.Stats(); st.Replayed != uint64(len(wantIDs)) {
		t.Fatalf("replayed count %d", st.Replayed)
	}
}

// A stop this side asked for is not a crash of the server: what the server
// confirmed is not handed back as unsent (it would be delivered again at
// the next start), only what it did not confirm.
func TestComponentStopKeepsConfirmedOutOfUnsent(t *testing.T) {
	_, h, conn, ctx := connectedUnroutedWith(t, func(c *xmpp.ComponentConfig) { c.ReplayConfirmed = time.Hour })
	sendConfirmed(t, ctx, h, conn, "confirmed")
	h.comp.Send(ctx, &xmpp.Message{Header: xmpp.Header{ID: "unconfirmed"}, Body: "b"})
	for {
		el, err := conn.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if el.AttrValue("id") == "unconfirmed" {
			break
		}
	}
	// Stop; the server reads on but never answers the closing tag.
	h.cancel()
	if err := <-h.runErr; err != nil {
		t.Fatal(err)
	}
	h.runErr <- nil // for the cleanup
	var ids []string
	for _, b := range h.comp.Unsent() {
		el, err := xmpp.ParseElement(string(b))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, el.AttrValue("id"))
	}
	if strings.Join(ids, ",") != "unconfirmed" {
		t.Fatalf("unsent after a stop: %v, want [unconfirmed]", ids)
	}
}

func TestNewIDsAreDistinct(t *testing.T) {
	comp, err := xmpp.NewComponent(xmpp.ComponentConfig{Addr: "127.0.0.1:1", Domain: "gw.example", Secret: "s"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for range 1000 {
		id := comp.NewID()
		if !strings.HasPrefix(id, "xg") || !strings.Contains(id, "-") || seen[id] {
			t.Fatalf("id %q (seen before: %v)", id, seen[id])
		}
		seen[id] = true
	}
}
