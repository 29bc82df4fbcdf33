package store

import (
	"fmt"
	"testing"
	"time"
)

func TestMessageRefs(t *testing.T) {
	db := openTestDB(t)
	t0 := time.Date(2025, 5, 1, 0, 0, 0, 0, time.UTC)
	const scope = "slack|alice@x|T1.U1|D123"
	refs := []MessageRef{
		{Scope: scope, XMPPID: "x1", RemoteID: "r1", At: t0},
		{Scope: scope, XMPPID: "origin-x1", RemoteID: "r1", At: t0}, // a second XMPP ID of the same message
		{Scope: scope, XMPPID: "x2", RemoteID: "r2a", At: t0.Add(time.Minute)},
		{Scope: scope, XMPPID: "x2", RemoteID: "r2b", At: t0.Add(time.Minute)}, // split into two remote messages
		{Scope: "other", XMPPID: "x1", RemoteID: "other-r1", At: t0},
		{Scope: scope + "x", XMPPID: "x1", RemoteID: "prefix-scope", At: t0},
	}
	if err := db.PutMessageRefs(refs...); err != nil {
		t.Fatal(err)
	}
	if err := db.PutMessageRefs(); err != nil {
		t.Errorf("PutMessageRefs(): %v", err)
	}
	lookups := []struct {
		name, scope, id string
		toRemote        bool
		want            string
		wantErr         error
	}{
		{"x1", scope, "x1", true, "r1", nil},
		{"origin-id", scope, "origin-x1", true, "r1", nil},
		{"r1 gives the first stored", scope, "r1", false, "x1", nil},
		{"split gives the first part", scope, "x2", true, "r2a", nil},
		{"second part", scope, "r2b", false, "x2", nil},
		{"other scope", "other", "x1", true, "other-r1", nil},
		{"scope with a common prefix", scope + "x", "x1", true, "prefix-scope", nil},
		{"missing xmpp", scope, "x9", true, "", ErrNotFound},
		{"missing remote", scope, "r9", false, "", ErrNotFound},
		{"prefix of an ID is not the ID", scope, "x", true, "", ErrNotFound},
		{"empty scope", "", "x1", true, "", ErrInvalid},
		{"NUL id", scope, "x\x001", false, "", ErrInvalid},
	}
	for _, l := range lookups {
		t.Run(l.name, func(t *testing.T) {
			var got string
			var err error
			if l.toRemote {
				got, err = db.RemoteMessageID(l.scope, l.id)
			} else {
				got, err = db.XMPPMessageID(l.scope, l.id)
			}
			wantErr(t, "lookup", err, l.wantErr)
			if got != l.want {
				t.Errorf("got %q, want %q", got, l.want)
			}
		})
	}

	// Storing x1/r1 again later keeps its rank and moves its time.
	if err := db.PutMessageRefs(MessageRef{Scope: scope, XMPPID: "x1", RemoteID: "r1", At: t0.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if got, _ := db.XMPPMessageID(scope, "r1"); got != "x1" {
		t.Errorf("after re-put, XMPPMessageID(r1) = %q, want x1", got)
	}

	// Prune everything older than t0+2m: all but the re-put x1/r1.
	removed, err := db.PruneMessageRefs(t0.Add(2 * time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if removed != len(refs)-1 {
		t.Errorf("PruneMessageRefs removed %d, want %d", removed, len(refs)-1)
	}
	if got, err := db.RemoteMessageID(scope, "x1"); err != nil || got != "r1" {
		t.Errorf("re-put ref pruned: %q, %v", got, err)
	}
	for _, id := range []string{"origin-x1", "x2"} {
		if _, err := db.RemoteMessageID(scope, id); !errorsIs(err, ErrNotFound) {
			t.Errorf("RemoteMessageID(%s) after prune: %v, want ErrNotFound", id, err)
		}
	}
	if _, err := db.XMPPMessageID(scope, "r2b"); !errorsIs(err, ErrNotFound) {
		t.Errorf("XMPPMessageID(r2b) after prune: %v", err)
	}
	if n, err := db.PruneMessageRefs(t0.Add(2 * time.Minute)); err != nil || n != 0 {
		t.Errorf("second prune = %d, %v", n, err)
	}
	wantErr(t, "invalid ref", db.PutMessageRefs(MessageRef{Scope: scope, XMPPID: "", RemoteID: "r"}), ErrInvalid)
}

func TestMessageRefsZeroTimeIsNow(t *testing.T) {
	db := openTestDB(t)
	clock := &fakeClock{t: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
	db.now = clock.now
	if err := db.PutMessageRefs(MessageRef{Scope: "s", XMPPID: "x", RemoteID: "r"}); err != nil {
		t.Fatal(err)
	}
	if n, _ := db.PruneMessageRefs(clock.t); n != 0 {
		t.Errorf("pruned a ref stored at the prune time")
	}
	if n, _ := db.PruneMessageRefs(clock.t.Add(time.Nanosecond)); n != 1 {
		t.Errorf("did not prune a ref stored before the prune time")
	}
}

func TestPruneManyRefs(t *testing.T) {
	db := openTestDB(t)
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	n := pruneChunk + pruneChunk/2
	refs := make([]MessageRef, 0, n+10)
	for i := range n {
		refs = append(refs, MessageRef{Scope: "s", XMPPID: fmt.Sprint("x", i), RemoteID: fmt.Sprint("r", i), At: t0.Add(time.Duration(i) * time.Millisecond)})
	}
	for i := range 10 {
		refs = append(refs, MessageRef{Scope: "s", XMPPID: fmt.Sprint("new", i), RemoteID: fmt.Sprint("rnew", i), At: t0.Add(time.Hour)})
	}
	if err := db.PutMessageRefs(refs...); err != nil {
		t.Fatal(err)
	}
	removed, err := db.PruneMessageRefs(t0.Add(time.Minute))
	if err != nil || removed != n {
		t.Errorf("PruneMessageRefs = %d, %v; want %d", removed, err, n)
	}
	st, err := db.Stats()
	if err != nil || st.MessageRefs != 10 {
		t.Errorf("Stats after prune: %+v, %v; want 10 refs", st, err)
	}
}

func TestTimeKeyOrder(t *testing.T) {
	times := []time.Time{
		time.Date(1700, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(1969, 12, 31, 23, 59, 59, 999, time.UTC),
		time.Unix(0, 0),
		time.Unix(0, 1),
		time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC),
	}
	for i := 1; i < len(times); i++ {
		a, b := u64(timeKey(times[i-1])), u64(timeKey(times[i]))
		if string(a) >= string(b) {
			t.Errorf("timeKey(%v) >= timeKey(%v) as bytes", times[i-1], times[i])
		}
	}
}
