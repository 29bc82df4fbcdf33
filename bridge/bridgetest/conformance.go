package bridgetest

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/xgate-im/xgate/bridge"
)

// Harness starts a transport under test against its own fake network, for
// RunConformance.
type Harness interface {
	// Start returns a new transport connected to a fresh fake network, with
	// its Runner (if any) running until the test ends, and the world of
	// that network to act in.
	Start(t *testing.T) (bridge.Transport, World)
}

// World is one fake network as the conformance suite acts in it: a person
// who registers (the account) and a person they talk to in a direct chat
// (the peer).
type World interface {
	// Credentials are the values of the registration form for the account;
	// BadCredentials are values the network refuses.
	Credentials() map[string]string
	BadCredentials() map[string]string
	// Peer is the peer's user ID as the transport names it.
	Peer() bridge.UserID
	// PeerSays posts a message from the peer to the account and returns
	// its remote ID.
	PeerSays(t *testing.T, text string) bridge.MessageID
	// PeerEdits, PeerRetracts and PeerReacts act on the peer's message id;
	// they are called only when the transport declares the capability.
	PeerEdits(t *testing.T, id bridge.MessageID, text string)
	PeerRetracts(t *testing.T, id bridge.MessageID)
	PeerReacts(t *testing.T, id bridge.MessageID)
	// Message returns the text of a message in the direct chat as the
	// network holds it now, and whether it still exists.
	Message(t *testing.T, id bridge.MessageID) (text string, exists bool)
	// Reactions returns how many reactions the message has on the network.
	Reactions(t *testing.T, id bridge.MessageID) int
	// Texts returns the texts of the messages of the direct chat, oldest
	// first.
	Texts(t *testing.T) []string
	// RateLimit makes the network refuse the next send with a rate limit.
	RateLimit(t *testing.T)
	// Unacknowledged returns how many events the network sent and still
	// waits to have acknowledged; WaitAcknowledged waits (up to 10
	// seconds) until there are none.
	Unacknowledged(t *testing.T) int
	WaitAcknowledged(t *testing.T)
	// Interrupt breaks the connection events come on, as a network failure
	// would: the network sends what was not acknowledged again.
	Interrupt(t *testing.T)
	// Revoke makes the account's credentials stop working.
	Revoke(t *testing.T)
}

// NoRateLimits is implemented by worlds whose network never answers a
// send with a rate limit (Kannel: the transport paces each number itself).
// The suite then skips RateLimitRetriedInOrder with the reason returned.
type NoRateLimits interface {
	NoRateLimits() string
}

// RunConformance checks a transport against the contract of package
// bridge, on its own fake network: registration and login, contacts,
// messages both ways, corrections, retractions and reactions both ways
// where its capabilities say so, acknowledgement only after the Sink
// stored an event, redeliveries recognized, rate limits reported so that
// the bridge retries in order, and revoked credentials reported.
func RunConformance(t *testing.T, h Harness) {
	t.Run("Login", func(t *testing.T) {
		tr, w := h.Start(t)
		ctx := within(t)
		if _, err := tr.Register(ctx, w.BadCredentials()); !errors.Is(err, bridge.ErrAuth) && !errors.Is(err, bridge.ErrInvalidInput) {
			t.Errorf("Register with bad credentials: %v, want ErrAuth or ErrInvalidInput", err)
		}
		c := connect(t, tr, w)
		if c.acct.ID == "" {
			t.Error("Register returned an account without ID")
		}
	})
	t.Run("Contacts", func(t *testing.T) {
		tr, w := h.Start(t)
		c := connect(t, tr, w)
		cs, err := c.sess.Contacts(within(t))
		if err != nil {
			t.Fatal(err)
		}
		if !slices.ContainsFunc(cs, func(x bridge.Contact) bool { return x.ID == w.Peer() }) {
			t.Errorf("contacts %+v lack the peer %s", cs, w.Peer())
		}
	})
	t.Run("MessagesBothWays", func(t *testing.T) {
		tr, w := h.Start(t)
		c := connect(t, tr, w)
		id, err := c.sess.Send(within(t), c.chat(w), bridge.OutgoingMessage{Text: "hello world"})
		if err != nil || id == "" {
			t.Fatalf("Send: %q, %v", id, err)
		}
		if text, ok := w.Message(t, id); !ok || !strings.Contains(text, "hello world") {
			t.Errorf("on the network: %q (exists %v)", text, ok)
		}
		rid := w.PeerSays(t, "hi there")
		m := WaitFor(t, c.rec, func(m bridge.MessageEvent) bool { return m.ID == rid })
		if m.Text != "hi there" || m.Chat.Kind != bridge.Direct || m.Chat.Peer != w.Peer() || m.Sender != w.Peer() || m.FromSelf {
			t.Errorf("event %+v", m)
		}
	})
	t.Run("EditRetractReact", func(t *testing.T) {
		tr, w := h.Start(t)
		caps := tr.Info().Capabilities
		c := connect(t, tr, w)
		ctx := within(t)
		id, err := c.sess.Send(ctx, c.chat(w), bridge.OutgoingMessage{Text: "teh"})
		if err != nil {
			t.Fatal(err)
		}
		rid := w.PeerSays(t, "helo")
		WaitFor(t, c.rec, func(m bridge.MessageEvent) bool { return m.ID == rid })
		if caps.Edits {
			if err := c.sess.(bridge.Editor).Edit(ctx, c.chat(w), id, bridge.OutgoingMessage{Text: "the"}); err != nil {
				t.Fatal(err)
			}
			if text, _ := w.Message(t, id); !strings.Contains(text, "the") || strings.Contains(text, "teh") {
				t.Errorf("edited on the network: %q", text)
			}
			w.PeerEdits(t, rid, "hello")
			if e := WaitFor(t, c.rec, func(e bridge.EditEvent) bool { return e.ID == rid }); e.Text != "hello" {
				t.Errorf("edit event %+v", e)
			}
		}
		if caps.Reactions {
			if err := c.sess.(bridge.Reactor).React(ctx, c.chat(w), id, []string{"👍"}); err != nil {
				t.Fatal(err)
			}
			if n := w.Reactions(t, id); n != 1 {
				t.Errorf("%d reactions on the network, want 1", n)
			}
			w.PeerReacts(t, rid)
			if r := WaitFor(t, c.rec, func(r bridge.ReactionEvent) bool { return r.ID == rid }); len(r.Emojis) != 1 || r.Sender != w.Peer() {
				t.Errorf("reaction event %+v", r)
			}
		}
		if caps.Retractions {
			if err := c.sess.(bridge.Retractor).Retract(ctx, c.chat(w), id); err != nil {
				t.Fatal(err)
			}
			if _, ok := w.Message(t, id); ok {
				t.Error("retracted message still on the network")
			}
			w.PeerRetracts(t, rid)
			WaitFor(t, c.rec, func(r bridge.RetractionEvent) bool { return r.ID == rid })
		}
	})
	t.Run("AckOnlyAfterStore", func(t *testing.T) {
		tr, w := h.Start(t)
		c := connect(t, tr, w)
		c.rec.Hold()
		w.PeerSays(t, "held")
		select {
		case <-c.rec.Entered():
		case <-within(t).Done():
			t.Fatal("the event was never emitted")
		}
		if n := w.Unacknowledged(t); n == 0 {
			t.Error("the event was acknowledged while Emit had not returned")
		}
		c.rec.Release()
		WaitFor(t, c.rec, func(m bridge.MessageEvent) bool { return m.Text == "held" })
		w.WaitAcknowledged(t)
	})
	t.Run("RedeliveryRecognized", func(t *testing.T) {
		tr, w := h.Start(t)
		c := connect(t, tr, w)
		// The first emit fails (the bridge could not store it): it must not
		// be acknowledged, and come again.
		c.rec.Hold()
		c.rec.Fail(errors.New("store: disk full"))
		id := w.PeerSays(t, "again")
		select {
		case <-c.rec.Entered():
		case <-within(t).Done():
			t.Fatal("the event was never emitted")
		}
		c.rec.Fail(nil)
		c.rec.Release()
		WaitFor(t, c.rec, func(m bridge.MessageEvent) bool { return m.ID == id })
		// A connection failure while an event is emitted: the network
		// sends it again, and it is delivered once.
		c.rec.Hold()
		id2 := w.PeerSays(t, "once")
		select {
		case <-c.rec.Entered():
		case <-within(t).Done():
			t.Fatal("the event was never emitted")
		}
		w.Interrupt(t)
		c.rec.Release()
		marker := w.PeerSays(t, "marker")
		WaitFor(t, c.rec, func(m bridge.MessageEvent) bool { return m.ID == marker })
		w.WaitAcknowledged(t)
		for _, x := range []bridge.MessageID{id, id2} {
			if n := Count(c.rec, func(m bridge.MessageEvent) bool { return m.ID == x }); n != 1 {
				t.Errorf("message %s emitted %d times", x, n)
			}
		}
	})
	t.Run("RateLimitRetriedInOrder", func(t *testing.T) {
		tr, w := h.Start(t)
		if nr, ok := w.(NoRateLimits); ok {
			t.Skip(nr.NoRateLimits())
		}
		c := connect(t, tr, w)
		ctx := within(t)
		w.RateLimit(t)
		_, err := c.sess.Send(ctx, c.chat(w), bridge.OutgoingMessage{Text: "one"})
		var rl *bridge.RateLimitError
		if !errors.As(err, &rl) || !errors.Is(err, bridge.ErrTemporary) {
			t.Fatalf("Send under a rate limit: %v, want a RateLimitError", err)
		}
		// The bridge waits rl.RetryAfter and sends the same message first.
		for _, text := range []string{"one", "two"} {
			sctx := within(t)
			if _, err := c.sess.Send(sctx, c.chat(w), bridge.OutgoingMessage{Text: text}); err != nil {
				t.Fatalf("Send %q after the rate limit: %v", text, err)
			}
		}
		texts := w.Texts(t)
		if i := slices.Index(texts, "one"); i < 0 || slices.Index(texts, "two") != i+1 || slices.Index(texts[i+1:], "one") >= 0 {
			t.Errorf("messages on the network %q, want one then two, once each", texts)
		}
	})
	t.Run("RevokedCredentialsReported", func(t *testing.T) {
		tr, w := h.Start(t)
		c := connect(t, tr, w)
		w.Revoke(t)
		_, err := c.sess.Send(within(t), c.chat(w), bridge.OutgoingMessage{Text: "x"})
		if !errors.Is(err, bridge.ErrAuth) {
			t.Errorf("Send with revoked credentials: %v, want ErrAuth", err)
		}
		ev := WaitFor(t, c.rec, func(e bridge.LoginStateEvent) bool { return e.State == bridge.LoggedOut })
		if ev.Reason == "" {
			t.Error("logged out without a reason")
		}
	})
}

// conn is a logged-in account of a conformance test.
type conn struct {
	acct bridge.AccountData
	sess bridge.Session
	rec  *Recorder
}

func (c *conn) chat(w World) bridge.ChatRef {
	return bridge.ChatRef{Kind: bridge.Direct, Peer: w.Peer()}
}

// connect registers and logs in the world's account, closing the session
// when the test ends.
func connect(t *testing.T, tr bridge.Transport, w World) *conn {
	t.Helper()
	ctx := within(t)
	acct, err := tr.Register(ctx, w.Credentials())
	if err != nil {
		t.Fatalf("Register: %v", err)
	}
	rec := NewRecorder()
	sess, err := tr.Login(ctx, acct, rec)
	if err != nil {
		t.Fatalf("Login: %v", err)
	}
	t.Cleanup(func() { sess.Close() })
	return &conn{acct: acct, sess: sess, rec: rec}
}

// within returns a context that ends with the test or after 10 seconds.
func within(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}
