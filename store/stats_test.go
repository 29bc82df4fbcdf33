package store

import (
	"sync"
	"testing"
)

func TestStats(t *testing.T) {
	db := openTestDB(t)
	empty, err := db.Stats()
	if err != nil || empty.Accounts != 0 || empty.Contacts != 0 || empty.MessageRefs != 0 || empty.OutboxItems != 0 || empty.FileBytes == 0 {
		t.Errorf("Stats of an empty DB = %+v, %v", empty, err)
	}
	fillDB(t, db)
	if _, err := db.Enqueue("q", nil); err != nil {
		t.Fatal(err)
	}
	got, err := db.Stats()
	if err != nil {
		t.Fatal(err)
	}
	want := Stats{Accounts: 1, Contacts: 1, MessageRefs: 1, OutboxItems: 2, FileBytes: got.FileBytes, Commits: got.Commits}
	if got != want || got.FileBytes < empty.FileBytes || got.Commits <= empty.Commits {
		t.Errorf("Stats = %+v, want %+v", got, want)
	}
}

// Commits counts write transactions: one per lone write, none for a read,
// and one for the writes of concurrent callers that share a transaction.
func TestStatsCountsCommits(t *testing.T) {
	db := openTestDB(t)
	commits := func() uint64 {
		t.Helper()
		st, err := db.Stats()
		if err != nil {
			t.Fatal(err)
		}
		return st.Commits
	}
	c0 := commits()
	if _, err := db.Enqueue("q", []byte("a")); err != nil {
		t.Fatal(err)
	}
	if got := commits() - c0; got != 1 {
		t.Fatalf("a lone write counted %d commits, want 1", got)
	}
	if _, err := db.OutboxPeek("q", 0); err != nil {
		t.Fatal(err)
	}
	if got := commits() - c0; got != 1 {
		t.Fatalf("a read counted as a commit: %d", got-1)
	}
	// Writers that arrive while a commit runs share the next one.
	c1 := commits()
	const writers = 64
	var wg sync.WaitGroup
	for range writers {
		wg.Go(func() {
			if _, err := db.Enqueue("q", []byte("b")); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if got := commits() - c1; got < 1 || got > writers {
		t.Fatalf("%d concurrent writes counted %d commits", writers, got)
	}
}
