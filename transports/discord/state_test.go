package discord

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/xgate-im/xgate/bridge"
	"github.com/xgate-im/xgate/bridge/bridgetest"
)

// runTransport starts a transport on the fake keeping its state in st;
// stop ends it (as a restart of xgate does) and waits for it.
func runTransport(t *testing.T, w *world, st State) (tr *Transport, stop func()) {
	t.Helper()
	tr, err := New(w.config(), testLog(), nil)
	if err != nil {
		t.Fatal(err)
	}
	tr.UseState(st)
	tr.redeliver = 200 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = tr.Run(ctx)
	}()
	stopped := false
	stop = func() {
		if !stopped {
			stopped = true
			cancel()
			<-done
		}
	}
	t.Cleanup(stop)
	select {
	case <-tr.bot.ready:
	case <-bounded(t, 10*time.Second).Done():
		t.Fatal("the bot never got READY")
	}
	return tr, stop
}

// link links a Discord user to the bot through both registration steps.
func link(t *testing.T, w *world, tr *Transport, user string) (bridge.AccountData, error) {
	t.Helper()
	ctx := bounded(t, 10*time.Second)
	if _, _, err := tr.RegisterStep(ctx, map[string]string{"user": user}); err != nil {
		return bridge.AccountData{}, err
	}
	ms := w.fake.Messages(w.fake.OpenDM(user, w.bot.ID).ID)
	code := codeRE.FindString(ms[len(ms)-1].Content)
	acct, _, err := tr.RegisterStep(ctx, map[string]string{"user": user, "code": code})
	return acct, err
}

// TestBotStateSurvivesRestart: after a restart of xgate, a bot-linked
// account still gets what people answer to the bot, gets what was said
// meanwhile in its DMs and groups (in order, before what follows), and
// its Discord user cannot be linked by another XMPP address until they
// end the link.
func TestBotStateSurvivesRestart(t *testing.T) {
	w := newWorld(t, allPrivileged)
	st := &MemoryState{}
	tr, stop := runTransport(t, w, st)
	acct, err := link(t, w, tr, w.alice.ID)
	if err != nil {
		t.Fatal(err)
	}
	ctx := bounded(t, 30*time.Second)
	rec := bridgetest.NewRecorder()
	s, err := tr.Login(ctx, acct, rec)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Send(ctx, w.dm(), bridge.OutgoingMessage{Text: "hi bob"}); err != nil {
		t.Fatal(err)
	}
	botBob := w.fake.OpenDM(w.bot.ID, w.bob.ID).ID
	first := w.fake.Post(w.bob.ID, botBob, "hi alice")
	inGroup := w.fake.Post(w.carol.ID, w.general, "morning")
	bridgetest.WaitFor(t, rec, func(m bridge.MessageEvent) bool { return m.ID == bridge.MessageID(first) })
	bridgetest.WaitFor(t, rec, func(m bridge.MessageEvent) bool { return m.ID == bridge.MessageID(inGroup) })
	s.Close()
	stop()

	// Said while xgate is down.
	missed := []string{
		w.fake.Post(w.bob.ID, botBob, "are you there?"),
		w.fake.Post(w.carol.ID, w.general, "meeting at 3"),
		w.fake.Post(w.bob.ID, botBob, "ping"),
	}

	tr2, _ := runTransport(t, w, st)
	rec2 := bridgetest.NewRecorder()
	s2, err := tr2.Login(ctx, acct, rec2)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s2.Close() })
	after := w.fake.Post(w.bob.ID, botBob, "after the restart")
	bridgetest.WaitFor(t, rec2, func(m bridge.MessageEvent) bool { return m.ID == bridge.MessageID(after) })
	for _, id := range missed {
		bridgetest.WaitFor(t, rec2, func(m bridge.MessageEvent) bool { return m.ID == bridge.MessageID(id) })
	}
	var dm []bridge.MessageID
	for _, ev := range rec2.Events() {
		if m, ok := ev.(bridge.MessageEvent); ok && m.Chat.Kind == bridge.Direct {
			dm = append(dm, m.ID)
		}
	}
	if want := []bridge.MessageID{bridge.MessageID(missed[0]), bridge.MessageID(missed[2]), bridge.MessageID(after)}; !slices.Equal(dm, want) {
		t.Errorf("DM messages after the restart %v, want %v (what was missed first, in order, nothing again)", dm, want)
	}

	// A second XMPP address cannot link alice's Discord user.
	if _, err := link(t, w, tr2, w.alice.ID); !errors.Is(err, ErrAlreadyLinked) || !errors.Is(err, bridge.ErrInvalidInput) {
		t.Fatalf("second link: %v, want ErrAlreadyLinked", err)
	}
	// Until alice ends the link from Discord: her account is logged out.
	w.fake.Post(w.alice.ID, w.fake.OpenDM(w.alice.ID, w.bot.ID).ID, "unlink")
	bridgetest.WaitFor(t, rec2, func(e bridge.LoginStateEvent) bool { return e.State == bridge.LoggedOut })
	acct2, err := link(t, w, tr2, w.alice.ID)
	if err != nil {
		t.Fatalf("link after unlink: %v", err)
	}
	if _, err := tr2.Login(ctx, acct, bridgetest.NewRecorder()); !errors.Is(err, bridge.ErrAuth) {
		t.Errorf("login of the old link: %v, want ErrAuth", err)
	}
	s3, err := tr2.Login(ctx, acct2, bridgetest.NewRecorder())
	if err != nil {
		t.Fatalf("login of the new link: %v", err)
	}
	s3.Close()
}

// TestBotCatchUpAfterReidentify: when the bot's Gateway session ends for
// good, each bot-linked account reads its DMs and channels from where it
// was, in order, before what follows.
func TestBotCatchUpAfterReidentify(t *testing.T) {
	w := newWorld(t, allPrivileged)
	tr, _ := runTransport(t, w, &MemoryState{})
	acct, err := link(t, w, tr, w.alice.ID)
	if err != nil {
		t.Fatal(err)
	}
	ctx := bounded(t, 20*time.Second)
	rec := bridgetest.NewRecorder()
	s, err := tr.Login(ctx, acct, rec)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if _, err := s.Send(ctx, w.dm(), bridge.OutgoingMessage{Text: "hi"}); err != nil {
		t.Fatal(err)
	}
	botBob := w.fake.OpenDM(w.bot.ID, w.bob.ID).ID
	post := func(ch, text string) string {
		if ch == botBob {
			return w.fake.Post(w.bob.ID, ch, text)
		}
		return w.fake.Post(w.carol.ID, ch, text)
	}
	post(botBob, "d1")
	g1 := post(w.general, "g1")
	bridgetest.WaitFor(t, rec, func(m bridge.MessageEvent) bool { return m.ID == bridge.MessageID(g1) })
	gate, entered := make(chan struct{}), make(chan struct{}, 1)
	tr.beforeOpen = func() {
		select {
		case entered <- struct{}{}:
		default:
		}
		<-gate
	}
	w.fake.CloseSockets(4009, "session timed out")
	<-entered
	post(botBob, "d2")
	post(w.general, "g2")
	post(botBob, "d3")
	close(gate)
	d4 := post(botBob, "d4")
	g3 := post(w.general, "g3")
	bridgetest.WaitFor(t, rec, func(m bridge.MessageEvent) bool { return m.ID == bridge.MessageID(d4) })
	bridgetest.WaitFor(t, rec, func(m bridge.MessageEvent) bool { return m.ID == bridge.MessageID(g3) })
	// A message read back and also received live comes twice to the Sink,
	// which recognizes it (the bridge keeps IDs): the first times count.
	var dm, group []string
	seen := map[bridge.MessageID]bool{}
	for _, ev := range rec.Events() {
		if m, ok := ev.(bridge.MessageEvent); ok && !seen[m.ID] {
			seen[m.ID] = true
			if m.Chat.Kind == bridge.Direct {
				dm = append(dm, m.Text)
			} else {
				group = append(group, m.Text)
			}
		}
	}
	if want := []string{"d1", "d2", "d3", "d4"}; !slices.Equal(dm, want) {
		t.Errorf("DM %q, want %q", dm, want)
	}
	if want := []string{"g1", "g2", "g3"}; !slices.Equal(group, want) {
		t.Errorf("channel %q, want %q", group, want)
	}
}

// putWatch is a State that tells each Put on a channel.
type putWatch struct {
	MemoryState
	puts chan string
}

func (p *putWatch) Put(key, value string) error {
	err := p.MemoryState.Put(key, value)
	select {
	case p.puts <- key + "=" + value:
	default:
	}
	return err
}

// TestCursorWrittenWithoutClose: a cursor is written to the State within
// a second even when nothing follows and the session is not closed (as
// before a crash), not only at the next message.
func TestCursorWrittenWithoutClose(t *testing.T) {
	w := newWorld(t, allPrivileged)
	st := &putWatch{puts: make(chan string, 64)}
	tr := w.transport(func(*Config) {})
	tr.UseState(st)
	_, rec := w.login(tr)
	first := w.fake.Post(w.bob.ID, w.aliceBob, "one")
	second := w.fake.Post(w.bob.ID, w.aliceBob, "two")
	bridgetest.WaitFor(t, rec, func(m bridge.MessageEvent) bool { return m.ID == bridge.MessageID(second) })
	want := cursorKey(string(MakeAccountID(kindUser, w.alice.ID)), w.aliceBob) + "=" + second
	ctx := bounded(t, 5*time.Second)
	for {
		select {
		case p := <-st.puts:
			if p == want {
				return
			}
		case <-ctx.Done():
			t.Fatalf("the cursor of %s never written (first %s)", second, first)
		}
	}
}

// TestCursorNotedAfterCloseIsKept: a message whose delivery ends after
// the session closed (its Close flushed the cursors already) still leaves
// its chat's cursor in the State, for the next start's catch-up.
func TestCursorNotedAfterCloseIsKept(t *testing.T) {
	w := newWorld(t, allPrivileged)
	st := &MemoryState{}
	tr, _ := runTransport(t, w, st)
	acct, err := link(t, w, tr, w.alice.ID)
	if err != nil {
		t.Fatal(err)
	}
	bs, err := tr.Login(bounded(t, 10*time.Second), acct, bridgetest.NewRecorder())
	if err != nil {
		t.Fatal(err)
	}
	s := bs.(*Session)
	s.noteCursor("100", "1000") // written at once: nothing was written yet
	s.noteCursor("200", "2000") // within a second: left for the flush timer
	s.Close()
	s.noteCursor("300", "3000") // its delivery ended after Close
	for ch, want := range map[string]string{"100": "1000", "200": "2000", "300": "3000"} {
		if got, ok, err := st.Get(cursorKey(string(acct.ID), ch)); err != nil || !ok || got != want {
			t.Errorf("cursor of %s: %q %v %v, want %q", ch, got, ok, err, want)
		}
	}
}
