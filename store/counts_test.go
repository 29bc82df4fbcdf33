package store

import (
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.etcd.io/bbolt"
)

// walkedCounts reads the counts of Stats and the outbox per queue by
// walking the file, as Stats did before it kept them in memory.
func walkedCounts(t testing.TB, db *DB) (Stats, map[string]int) {
	t.Helper()
	var s Stats
	queues := map[string]int{}
	err := db.bolt.View(func(tx *bbolt.Tx) error {
		s.Accounts = tx.Bucket([]byte(bucketAccounts)).Stats().KeyN
		s.Contacts = tx.Bucket([]byte(bucketContactsByRemote)).Stats().KeyN
		s.MessageRefs = tx.Bucket([]byte(bucketMsgByXMPP)).Stats().KeyN
		return tx.Bucket([]byte(bucketOutbox)).ForEach(func(k, _ []byte) error {
			q, _, err := splitOutboxKey(k)
			queues[q]++
			s.OutboxItems++
			return err
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return s, queues
}

// checkCounts fails the test unless Stats and OutboxCount agree with a walk
// of the file.
func checkCounts(t testing.TB, db *DB, when string) {
	t.Helper()
	want, queues := walkedCounts(t, db)
	got, err := db.Stats()
	if err != nil {
		t.Fatalf("%s: Stats: %v", when, err)
	}
	got.FileBytes, got.Commits = 0, 0 // not records: what the walk cannot count
	if got != want {
		t.Errorf("%s: Stats %+v, the file holds %+v", when, got, want)
	}
	prefixes := map[string]int{"": want.OutboxItems, "q": 0, "q1": 0, "zz": 0}
	for q, n := range queues {
		for p := range prefixes {
			if p != "" && strings.HasPrefix(q, p) {
				prefixes[p] += n
			}
		}
	}
	for p, n := range prefixes {
		if got, err := db.OutboxCount(p); err != nil || got != n {
			t.Errorf("%s: OutboxCount(%q) = %d, %v; the file holds %d", when, p, got, err, n)
		}
	}
}

func TestCountsExact(t *testing.T) {
	db := openTestDB(t)
	clock := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	db.now = clock.now
	acct := func(u string) Account { return Account{AccountKey: AccountKey{u, "slack", "T1.U1"}} }
	ref := func(i int) MessageRef {
		return MessageRef{Scope: "s", XMPPID: fmt.Sprint("x", i), RemoteID: fmt.Sprint("r", i)}
	}
	steps := []struct {
		name string
		do   func() error
	}{
		{"first Stats", func() error { _, err := db.Stats(); return err }},
		{"enqueue", func() error { _, err := db.EnqueueAll("q1", []byte("a"), []byte("b"), []byte("c")); return err }},
		{"enqueue other queue", func() error { _, err := db.Enqueue("q2", []byte("a")); return err }},
		{"enqueue new prefix", func() error { _, err := db.Enqueue("zz-1", []byte("a")); return err }},
		{"update", func() error { return db.OutboxUpdate(OutboxItem{Queue: "q1", Seq: 1, Attempts: 3}) }},
		{"ack one and a missing one", func() error { return db.OutboxAck("q1", 1, 99) }},
		{"ack missing", func() error { return db.OutboxAck("q1", 1) }},
		{"done with refs", func() error { return db.OutboxDone("q1", 2, ref(1), ref(2)) }},
		{"done again", func() error { return db.OutboxDone("q1", 2, ref(1)) }},
		{"refs, one known", func() error { return db.PutMessageRefs(ref(2), ref(3), ref(3)) }},
		{"account", func() error { return db.PutAccount(acct("a@x")) }},
		{"account replaced", func() error { return db.PutAccount(acct("a@x")) }},
		{"second account", func() error { return db.PutAccount(acct("b@x")) }},
		{"account deleted", func() error { return db.DeleteAccount(acct("a@x").AccountKey) }},
		{"contact", func() error { return db.PutContact("slack", "U1", "u1") }},
		{"contact again", func() error { return db.PutContact("slack", "U1", "u1") }},
		{"contact conflict", func() error { return ignore(db.PutContact("slack", "U1", "other"), ErrConflict) }},
		{"contact deleted", func() error { return db.DeleteContact("slack", "U1") }},
		{"prune", func() error {
			clock.set(clock.now().Add(time.Hour))
			if err := db.PutMessageRefs(ref(9)); err != nil {
				return err
			}
			_, err := db.PruneMessageRefs(clock.now().Add(-time.Minute))
			return err
		}},
		{"ack the rest", func() error {
			return db.OutboxAck("q1", 3)
		}},
	}
	for _, s := range steps {
		if err := s.do(); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		checkCounts(t, db, s.name)
	}
	if st, _ := db.Stats(); st.MessageRefs != 1 || st.OutboxItems != 2 || st.Accounts != 1 {
		t.Errorf("final %+v", st)
	}
}

// ignore returns nil if err is target.
func ignore(err, target error) error {
	if errorsIs(err, target) {
		return nil
	}
	return err
}

// TestCountsReopen checks the counts of a reopened file, read-write and
// read-only.
func TestCountsReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "xgate.db")
	db := openTestDBAt(t, path, false)
	fillDB(t, db)
	checkCounts(t, db, "before close")
	want, _ := db.Stats()
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Stats(); !errorsIs(err, ErrClosed) {
		t.Errorf("Stats after Close: %v", err)
	}
	if _, err := db.OutboxCount(""); !errorsIs(err, ErrClosed) {
		t.Errorf("OutboxCount after Close: %v", err)
	}
	for _, ro := range []bool{false, true} {
		opts := testOptions(t)
		opts.ReadOnly = ro
		db, err := Open(path, opts)
		if err != nil {
			t.Fatal(err)
		}
		got, err := db.Stats()
		if err != nil || got.Accounts != want.Accounts || got.MessageRefs != want.MessageRefs || got.OutboxItems != want.OutboxItems || got.Contacts != want.Contacts {
			t.Errorf("read-only %v: Stats %+v, %v; want %+v", ro, got, err, want)
		}
		db.Close()
	}
}

// TestCountsConcurrent writes from many goroutines while others read the
// counts, the first read racing with the writes, and checks the counts
// against the file at the end.
func TestCountsConcurrent(t *testing.T) {
	for round := range 3 {
		db := openTestDB(t)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for g := range 6 {
			wg.Go(func() {
				<-start
				q := fmt.Sprint("q", g%3)
				for i := range 40 {
					seq, err := db.Enqueue(q, []byte("p"))
					if err != nil {
						t.Error(err)
						return
					}
					ref := MessageRef{Scope: q, XMPPID: fmt.Sprint("x", g, "-", i), RemoteID: fmt.Sprint("r", i)}
					switch i % 4 {
					case 0:
						err = db.OutboxDone(q, seq, ref)
					case 1:
						err = db.OutboxAck(q, seq)
					case 2:
						err = db.PutMessageRefs(ref)
					case 3:
						err = db.PutAccount(Account{AccountKey: AccountKey{fmt.Sprint("u", g, "@x"), "slack", fmt.Sprint("T", i%8)}})
					}
					if err != nil {
						t.Error(err)
						return
					}
				}
			})
		}
		for range 2 {
			wg.Go(func() {
				<-start
				for range 50 {
					if _, err := db.Stats(); err != nil {
						t.Error(err)
						return
					}
					if _, err := db.OutboxCount("q1"); err != nil {
						t.Error(err)
						return
					}
				}
			})
		}
		close(start)
		wg.Wait()
		checkCounts(t, db, fmt.Sprint("round ", round))
	}
}

// BenchmarkStats shows that Stats and OutboxCount cost the same for a
// small and a large store (after the first call, which reads the counts).
func BenchmarkStats(b *testing.B) {
	for _, n := range []int{1_000, 100_000} {
		b.Run(fmt.Sprint("refs=", n), func(b *testing.B) {
			db := benchDB(b, false)
			refs := make([]MessageRef, 0, 1000)
			for i := range n {
				refs = append(refs, MessageRef{Scope: "s", XMPPID: fmt.Sprint("x", i), RemoteID: fmt.Sprint("r", i)})
				if len(refs) == cap(refs) {
					if err := db.PutMessageRefs(refs...); err != nil {
						b.Fatal(err)
					}
					refs = refs[:0]
				}
			}
			payloads := make([][]byte, n/10)
			for i := range payloads {
				payloads[i] = []byte("p")
			}
			if _, err := db.EnqueueAll("xmpp\x1eslack", payloads...); err != nil {
				b.Fatal(err)
			}
			if _, err := db.Stats(); err != nil { // reads the counts
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				st, err := db.Stats()
				if err != nil || st.MessageRefs != n {
					b.Fatal(st, err)
				}
				if c, err := db.OutboxCount("xmpp\x1eslack"); err != nil || c != n/10 {
					b.Fatal(c, err)
				}
			}
		})
	}
}

// TestStatsReadNothing checks that after the first call Stats and
// OutboxCount open no transaction: their cost does not depend on the size
// of the file.
func TestStatsReadNothing(t *testing.T) {
	db := openTestDB(t)
	fillDB(t, db)
	if _, err := db.Stats(); err != nil {
		t.Fatal(err)
	}
	before := db.bolt.Stats().TxN
	for range 10 {
		if _, err := db.Stats(); err != nil {
			t.Fatal(err)
		}
		if _, err := db.OutboxCount("q"); err != nil {
			t.Fatal(err)
		}
	}
	if after := db.bolt.Stats().TxN; after != before {
		t.Errorf("20 calls opened %d read transactions, want 0", after-before)
	}
}
