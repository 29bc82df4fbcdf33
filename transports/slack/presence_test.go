package slack

import (
	"testing"
	"time"

	"golang.org/x/time/rate"

	"github.com/xgate-im/xgate/bridge"
)

// TestPresenceSharedInWorkspace checks that the sessions of a workspace
// share their users.getPresence answers: a contact another session polled
// within half a period is not polled again.
func TestPresenceSharedInWorkspace(t *testing.T) {
	w := newWorld(t)
	carolTok := w.fake.IssueUserToken(w.team.ID, w.carol.ID)
	w.fake.OpenIM(w.team.ID, w.carol.ID, w.bob.ID)
	tr := w.transport() // a one-hour period: only first polls of new contacts run
	ctx := bounded(t, 10*time.Second)
	isBob := func(p bridge.PresenceEvent) bool {
		return p.User == w.uid(w.bob) && p.Presence.Show == bridge.ShowAvailable
	}
	for i, tok := range []string{w.aliceTok, carolTok} {
		sess, sink := w.login(tr, tok)
		if _, err := sess.Contacts(ctx); err != nil { // bob becomes a contact that matters
			t.Fatal(err)
		}
		waitFor(t, sink, isBob)
		if n := w.fake.CallCount("users.getPresence"); n != 1 {
			t.Errorf("after session %d showed bob's presence: %d users.getPresence calls, want 1", i+1, n)
		}
	}
}

func TestPolledSince(t *testing.T) {
	d := newDirectory("T1")
	at := time.Unix(1_700_000_000, 0)
	d.notePolled("U1", true, at)
	d.notePolled("U2", false, at)
	tests := []struct {
		name       string
		id         string
		since      time.Time
		active, ok bool
	}{
		{"fresh, active", "U1", at.Add(-time.Minute), true, true},
		{"fresh, away", "U2", at.Add(-time.Minute), false, true},
		{"as old as the limit", "U1", at, false, false},
		{"too old", "U1", at.Add(time.Minute), false, false},
		{"never polled", "U3", time.Time{}, false, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			active, ok := d.polledSince(tc.id, tc.since)
			if active != tc.active || ok != tc.ok {
				t.Errorf("polledSince(%s) = %v, %v; want %v, %v", tc.id, active, ok, tc.active, tc.ok)
			}
		})
	}
}

// TestCloseEndsAPollRound checks that Close does not wait for a round of
// polls held by the limiter: the round's context is canceled.
func TestCloseEndsAPollRound(t *testing.T) {
	w := newWorld(t)
	w.fake.OpenIM(w.team.ID, w.alice.ID, w.carol.ID)
	tr := w.transport()
	tr.presenceLimit, tr.presenceBurst = rate.Every(20*time.Second), 1 // the second poll waits 20 s
	sess, sink := w.login(tr, w.aliceTok)
	ctx := bounded(t, 10*time.Second)
	if _, err := sess.Contacts(ctx); err != nil { // bob and carol are watched
		t.Fatal(err)
	}
	waitFor(t, sink, func(bridge.PresenceEvent) bool { return true }) // one polled, the other waits
	closed := make(chan error, 1)
	go func() { closed <- sess.Close() }()
	select {
	case err := <-closed:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close waited for the round of polls")
	}
	if n := w.fake.CallCount("users.getPresence"); n != 1 {
		t.Errorf("%d users.getPresence calls, want 1", n)
	}
}
