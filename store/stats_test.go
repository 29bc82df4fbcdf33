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
	commits := func() uint64 { return commitCount(t, db) }
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

// Writers woken at the same moment (the committers of several chats at
// the same tick) mostly share one commit: the commit loop lets them queue
// before it starts. Without that, the first writer's commit starts alone
// and no trial commits in one transaction.
func TestWritersWokenTogetherShareACommit(t *testing.T) {
	if raceDetector {
		// Measured: with or without the yield, 1 to 17 in 100 groups
		// share one commit under the race detector's scheduling.
		t.Skip("the race detector's scheduling decides this, not the store; run without -race")
	}
	db := openTestDB(t)
	const trials, writers = 100, 8
	single := 0
	var total uint64
	for range trials {
		st0, err := db.Stats()
		if err != nil {
			t.Fatal(err)
		}
		start := make(chan struct{})
		var ready, wg sync.WaitGroup
		for range writers {
			ready.Add(1)
			wg.Go(func() {
				ready.Done()
				<-start
				if _, err := db.Enqueue("q", []byte("x")); err != nil {
					t.Error(err)
				}
			})
		}
		ready.Wait()
		close(start)
		wg.Wait()
		st1, err := db.Stats()
		if err != nil {
			t.Fatal(err)
		}
		if st1.Commits-st0.Commits == 1 {
			single++
		}
		total += st1.Commits - st0.Commits
	}
	mean := float64(total) / trials
	// Measured on 2 cores: 34 to 75 in 100 share one commit, 1.3 to 1.7
	// commits a group; without the yield none does, 2.9 to 5.1 commits.
	if single < trials/10 {
		t.Errorf("%d of %d groups of %d writers woken together shared one commit (%.2f commits a group), want at least %d", single, trials, writers, mean, trials/10)
	}
}
