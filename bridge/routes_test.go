package bridge

import (
	"log/slog"
	"testing"

	"github.com/xgate-im/xgate/store"
	"github.com/xgate-im/xgate/xmpp/jid"
)

// A reply leaves from the account a contact was last seen through, also
// when the routes are served from the cache (noteRoute) rather than read
// from the store each time.
func TestRouteFollowsTheLastAccount(t *testing.T) {
	db := openTestDB(t)
	user := jid.MustParse("alice@example.org")
	log := slog.New(slog.DiscardHandler)
	a := &account{key: store.AccountKey{User: user.String(), Transport: "fake", Remote: "acct-a"}, user: user, log: accountLog{base: log}}
	b := &account{key: store.AccountKey{User: user.String(), Transport: "fake", Remote: "acct-b"}, user: user, log: accountLog{base: log}}
	ac := &accounts{name: "fake", db: db, log: log, byUser: map[jid.JID][]*account{user: {a, b}}}
	steps := []struct {
		via  *account
		uid  UserID
		want string
	}{
		{a, "bob", "acct-a"},
		{b, "bob", "acct-b"},
		{a, "bob", "acct-a"}, // cached for a before: must not be skipped
		{a, "bob", "acct-a"},
		{b, "carol", "acct-b"},
		{a, "bob", "acct-a"},
	}
	for i, st := range steps {
		ac.noteRoute(st.via, st.uid)
		got, err := ac.accountFor(user, st.uid)
		if err != nil {
			t.Fatal(err)
		}
		if got.key.Remote != st.want {
			t.Errorf("step %d: %s reached through %s, want %s", i, st.uid, got.key.Remote, st.want)
		}
	}
	// The store, not the cache, is what a restart reads.
	v, err := db.KVGet(routeNS, routeKey("fake", user, "bob"))
	if err != nil || string(v) != "acct-a" {
		t.Errorf("stored route %q, %v", v, err)
	}
}
