package xmpp_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/xgate-im/xgate/xmpp"
	"github.com/xgate-im/xgate/xmpp/jid"
	"github.com/xgate-im/xgate/xmpp/xmpptest"
)

// limiterRig is a SenderLimiter over a recording handler, with a clock the
// test moves.
type limiterRig struct {
	lim     *xmpp.SenderLimiter
	now     time.Time
	passed  []string // ids handed to the next handler
	replies []string // answers sent through Reply
	refuse  bool     // Reply fails like a full queue
}

func newLimiterRig(max int) *limiterRig {
	r := &limiterRig{now: time.Unix(1700000000, 0)}
	r.lim = xmpp.LimitSenders(xmpp.HandlerFunc(func(_ context.Context, s xmpp.Stanza) {
		r.passed = append(r.passed, s.Head().ID)
	}), xmpp.SenderLimits{
		Classify: func(from jid.JID) string {
			if from.Domain() == "friends.example" {
				return "user"
			}
			if from.Domain() == "admin.example" {
				return "unlimited"
			}
			return "stranger"
		},
		Rates: map[string]xmpp.Rate{"user": {PerSecond: 10, Burst: 5}, "stranger": {PerSecond: 1, Burst: 2}},
		Reply: func(b []byte) error {
			if r.refuse {
				return xmpp.ErrQueueFull
			}
			r.replies = append(r.replies, string(b))
			return nil
		},
		MaxSenders: max,
		Now:        func() time.Time { return r.now },
	})
	return r
}

func stanza(kind, from, typ, id string) xmpp.Stanza {
	h := xmpp.Header{From: jid.MustParse(from), To: jid.MustParse("gw.example"), ID: id, Type: typ}
	switch kind {
	case "iq":
		return &xmpp.IQ{Header: h, Payload: xmpp.NewElement("http://jabber.org/protocol/disco#info", "query")}
	case "presence":
		return &xmpp.Presence{Header: h}
	case "chatstate":
		return &xmpp.Message{Header: h, Extra: []*xmpp.Element{xmpp.NewElement("http://jabber.org/protocol/chatstates", "composing")}}
	}
	return &xmpp.Message{Header: h, Body: "x"}
}

func TestLimitSenders(t *testing.T) {
	type step struct {
		advance         time.Duration
		kind, from, typ string
		n               int
	}
	tests := []struct {
		name              string
		steps             []step
		passed            int
		answered, dropped uint64
		refuse            bool
		wantReplyContains string
	}{
		{name: "stranger iq flood is answered resource-constraint",
			steps:  []step{{kind: "iq", from: "x@evil.example/r", typ: "get", n: 30000}},
			passed: 2, answered: 29998, wantReplyContains: `<error type="wait"><resource-constraint xmlns="urn:ietf:params:xml:ns:xmpp-stanzas"/></error>`},
		{name: "tokens refill with time",
			steps: []step{
				{kind: "iq", from: "x@evil.example", typ: "set", n: 5},
				{advance: 3 * time.Second, kind: "iq", from: "x@evil.example", typ: "set", n: 5},
			},
			passed: 4, answered: 6},
		{name: "excess messages are answered, presences and chat states dropped",
			steps: []step{
				{kind: "message", from: "x@evil.example", typ: "chat", n: 4},
				{kind: "presence", from: "x@evil.example", n: 4},
				{kind: "chatstate", from: "x@evil.example", typ: "chat", n: 3},
				{kind: "message", from: "x@evil.example", typ: "error", n: 2},
			},
			passed: 2, answered: 2, dropped: 4 + 3 + 2, wantReplyContains: `<body>x</body><error type="wait"><resource-constraint`},
		{name: "excess results and errors are never answered",
			steps: []step{
				{kind: "iq", from: "x@evil.example", typ: "result", n: 3},
				{kind: "iq", from: "x@evil.example", typ: "error", n: 3},
			},
			passed: 2, dropped: 4},
		{name: "resources share their bare JID's bucket",
			steps: []step{
				{kind: "message", from: "x@evil.example/a", n: 2},
				{kind: "message", from: "x@evil.example/b", n: 2},
			},
			passed: 2, answered: 2},
		{name: "senders are independent and classes differ",
			steps: []step{
				{kind: "message", from: "x@evil.example", n: 3},
				{kind: "message", from: "y@evil.example", n: 3},
				{kind: "message", from: "u@friends.example", n: 6},
			},
			passed: 2 + 2 + 5, answered: 1 + 1 + 1},
		{name: "a class without a rate is not limited",
			steps:  []step{{kind: "iq", from: "root@admin.example", typ: "get", n: 1000}},
			passed: 1000},
		{name: "answers the queue refuses are counted as dropped",
			steps:  []step{{kind: "iq", from: "x@evil.example", typ: "get", n: 5}},
			refuse: true, passed: 2, dropped: 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newLimiterRig(0)
			r.refuse = tt.refuse
			for si, st := range tt.steps {
				r.now = r.now.Add(st.advance)
				for i := range st.n {
					r.lim.HandleStanza(t.Context(), stanza(st.kind, st.from, st.typ, fmt.Sprintf("s%d-%d", si, i)))
				}
			}
			got := r.lim.Stats()
			if len(r.passed) != tt.passed || got.Answered != tt.answered || got.Dropped != tt.dropped {
				t.Fatalf("passed %d, answered %d, dropped %d; want %d, %d, %d", len(r.passed), got.Answered, got.Dropped, tt.passed, tt.answered, tt.dropped)
			}
			if uint64(len(r.replies)) != tt.answered {
				t.Fatalf("%d replies for %d answered", len(r.replies), tt.answered)
			}
			if tt.wantReplyContains != "" && !strings.Contains(r.replies[0], tt.wantReplyContains) {
				t.Fatalf("reply %s, want it to contain %s", r.replies[0], tt.wantReplyContains)
			}
		})
	}
}

// The reply goes back to the sender with the request's id.
func TestLimitSendersReplyAddressing(t *testing.T) {
	r := newLimiterRig(0)
	for i := range 3 {
		r.lim.HandleStanza(t.Context(), stanza("iq", "x@evil.example/r", "get", fmt.Sprint("q", i)))
	}
	want := `<iq from="gw.example" to="x@evil.example/r" id="q2" type="error">`
	if len(r.replies) != 1 || !strings.HasPrefix(r.replies[0], want) {
		t.Fatalf("replies %q, want one starting %s", r.replies, want)
	}
}

// Memory stays bounded however many senders there are, and senders whose
// bucket refilled are forgotten.
func TestLimitSendersBoundedMemory(t *testing.T) {
	r := newLimiterRig(100)
	for i := range 10000 {
		r.lim.HandleStanza(t.Context(), stanza("message", fmt.Sprintf("u%d@evil.example", i), "chat", "m"))
	}
	if n := r.lim.Stats().Senders; n > 100 {
		t.Fatalf("%d senders tracked, want at most 100", n)
	}
	r.now = r.now.Add(time.Minute) // every bucket is full again
	for i := range 200 {
		r.lim.HandleStanza(t.Context(), stanza("message", "same@friends.example", "chat", fmt.Sprint(i)))
		r.now = r.now.Add(time.Second)
	}
	if n := r.lim.Stats().Senders; n > 2 {
		t.Fatalf("%d senders tracked after the others went idle, want the active one", n)
	}
}

// A flood of 30,000 disco#info requests from one JID through a real
// component stream: the limiter answers the excess without blocking the
// reader, a registered user's stanza behind the flood still arrives, and
// the connection stays up.
func TestLimitSendersFloodThroughComponent(t *testing.T) {
	const flood = 30000
	var comp *xmpp.Component
	got := make(chan xmpp.Stanza, 16)
	lim := xmpp.LimitSenders(xmpp.HandlerFunc(func(_ context.Context, s xmpp.Stanza) {
		if iq, ok := s.(*xmpp.IQ); ok && iq.Type == xmpp.IQGet {
			_ = comp.TrySendRaw(xmpp.Encode(iq.Result(nil)))
			return
		}
		got <- s
	}), xmpp.SenderLimits{
		Classify: func(from jid.JID) string {
			if from.Domain() == "friends.example" {
				return "user"
			}
			return "stranger"
		},
		Rates: map[string]xmpp.Rate{"user": {PerSecond: 50, Burst: 100}, "stranger": {PerSecond: 2, Burst: 10}},
		Reply: func(b []byte) error { return comp.TrySendRaw(b) },
	})
	srv := xmpptest.NewServer(t, "s3cret")
	var err error
	comp, err = xmpp.NewComponent(xmpp.ComponentConfig{Addr: srv.Addr(), Domain: "gw.example", Secret: "s3cret"}, lim)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	runDone := make(chan error, 1)
	go func() { runDone <- comp.Run(ctx) }()
	defer func() { cancel(); <-runDone }()
	conn, err := srv.Accept(ctx)
	if err != nil {
		t.Fatal(err)
	}
	go func() { // the server reads (and routes barriers) throughout
		for {
			if _, err := conn.Next(ctx); err != nil {
				return
			}
		}
	}()
	began := time.Now()
	var b strings.Builder
	for i := range flood {
		fmt.Fprintf(&b, "<iq type='get' from='bot@evil.example/x' to='gw.example' id='d%d'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>", i)
		if b.Len() > 64<<10 || i == flood-1 {
			if err := conn.Send(b.String()); err != nil {
				t.Fatal(err)
			}
			b.Reset()
		}
	}
	conn.Send("<message from='u@friends.example/p' to='bob@gw.example' id='behind'><body>hi</body></message>")
	select {
	case s := <-got:
		if s.Head().ID != "behind" {
			t.Fatalf("handler got %v", s.Head())
		}
	case <-ctx.Done():
		t.Fatalf("the user's message never reached the handler; limiter %+v, component %+v", lim.Stats(), comp.Stats())
	}
	ls := lim.Stats()
	// At most the burst plus what the rate refilled got through.
	passed := flood - int(ls.Answered+ls.Dropped)
	if allowed := 10 + int(2*time.Since(began).Seconds()) + 1; passed > allowed || comp.State() != xmpp.StateConnected {
		t.Fatalf("limiter %+v, component %+v", ls, comp.Stats())
	}
	t.Logf("flood of %d: limiter %+v; component dropped %d answers, queue high %d", flood, ls, comp.Stats().Dropped, comp.Stats().QueueHigh)
}
