package bridge

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/xgate-im/xgate/store"
	"github.com/xgate-im/xgate/xmpp/jid"
)

// TestLoginQueue checks the pacing of logins at start: at most
// concurrentLogins at once, in the order of the store, except that an
// account an event waits for (expecting) goes first.
func TestLoginQueue(t *testing.T) {
	const n = 3 * concurrentLogins
	gate := make(chan struct{})
	started := make(chan AccountID, n)
	tr := &gatedTransport{before: func(id AccountID) {
		started <- id
		<-gate
	}}
	ac := startStoredAccounts(t, n, tr, func(context.Context, *account, Session) {})

	var first []AccountID
	for range concurrentLogins {
		first = append(first, receive(t, started))
	}
	select {
	case id := <-started:
		t.Fatalf("login of %s started while %d were in progress", id, concurrentLogins)
	case <-time.After(50 * time.Millisecond):
	}
	for i, id := range first {
		if want := AccountID(fmt.Sprintf("acct-%03d", i)); id != want && !inFirst(first, want) {
			t.Errorf("first logins %v do not start with the store's first accounts (missing %s)", first, want)
		}
	}
	awaited := AccountID(fmt.Sprintf("acct-%03d", n-1))
	if !ac.expecting(awaited) {
		t.Fatalf("expecting(%s) = false for an account waiting to log in", awaited)
	}
	// Free one worker only: the next login it takes from the queue must
	// be the awaited account's, although it was queued last. (Freeing all
	// sixteen at once would race their starts against each other.)
	gate <- struct{}{}
	next := receive(t, started)
	close(gate)
	if next != awaited {
		t.Errorf("after the first %d logins came %s, want the awaited %s first", concurrentLogins, next, awaited)
	}
	seen := map[AccountID]int{awaited: 1}
	for range n - concurrentLogins - 1 {
		seen[receive(t, started)]++
	}
	for id, c := range seen {
		if c != 1 {
			t.Errorf("%s logged in %d times", id, c)
		}
	}
	if len(seen) != n-concurrentLogins {
		t.Errorf("%d accounts logged in after the first ones, want %d", len(seen), n-concurrentLogins)
	}
	select {
	case id := <-started:
		t.Errorf("an extra login of %s (the awaited account's stale queue entry was not skipped)", id)
	case <-time.After(100 * time.Millisecond):
	}
}

// startStoredAccounts stores n accounts of the fake network and logs them
// all in through tr, with syncContacts as the work after each login; the
// test's end stops them.
func startStoredAccounts(t *testing.T, n int, tr Transport, syncContacts func(context.Context, *account, Session)) *accounts {
	t.Helper()
	db := openTestDB(t)
	for i := range n {
		a := store.Account{
			AccountKey: store.AccountKey{User: fmt.Sprintf("u%03d@example.org", i), Transport: "fake", Remote: fmt.Sprintf("acct-%03d", i)},
			Secrets:    map[string]string{"token": "good"},
		}
		if err := db.PutAccount(a); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(t.Context())
	life := &lifetime{ctx: ctx}
	ac := &accounts{
		name: "fake", tr: tr, db: db, log: slog.New(slog.DiscardHandler), metrics: newMetrics(), life: life,
		live: map[store.AccountKey]*account{}, byRemote: map[AccountID][]*account{}, loaded: make(chan struct{}),
		sink:         func(*account) Sink { return nil },
		changed:      func(context.Context, jid.JID) {},
		loggedIn:     func(context.Context, *account, Session) {},
		syncContacts: syncContacts,
	}
	t.Cleanup(func() {
		cancel()
		ac.logoutAll()
		life.wg.Wait()
	})
	if err := ac.loginAll(ctx); err != nil {
		t.Fatal(err)
	}
	return ac
}

func receive(t *testing.T, c <-chan AccountID) AccountID {
	t.Helper()
	select {
	case id := <-c:
		return id
	case <-time.After(10 * time.Second):
		t.Fatal("no login started within 10 s")
		return ""
	}
}

func inFirst(ids []AccountID, id AccountID) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}

// gatedTransport logs every account in after calling before.
type gatedTransport struct{ before func(AccountID) }

func (g *gatedTransport) Info() Info { return Info{Network: "fake", Name: "Fake"} }
func (g *gatedTransport) Register(context.Context, map[string]string) (AccountData, error) {
	return AccountData{}, ErrUnsupported
}
func (g *gatedTransport) Login(_ context.Context, a AccountData, _ Sink) (Session, error) {
	g.before(a.ID)
	return nopSession{}, nil
}
func (g *gatedTransport) ContactLocalpart(id UserID) string { return string(id) }

type nopSession struct{}

func (nopSession) Send(context.Context, ChatRef, OutgoingMessage) (MessageID, error) {
	return "", ErrUnsupported
}
func (nopSession) Contacts(context.Context) ([]Contact, error) { return nil, nil }
func (nopSession) Close() error                                { return nil }
