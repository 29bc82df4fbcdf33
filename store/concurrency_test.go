package store

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
)

func TestConcurrentUse(t *testing.T) {
	db := openTestDB(t)
	const (
		writers = 16
		rounds  = 40
	)
	var (
		wg        sync.WaitGroup
		remaining atomic.Int64 // items enqueued and not acknowledged
		sharedMu  sync.Mutex
		sharedSeq = map[uint64]bool{}
		winners   atomic.Int64
	)
	for g := range writers {
		wg.Go(func() {
			own := fmt.Sprintf("own-%d", g)
			scope := fmt.Sprintf("scope-%d", g)
			switch err := db.PutContact("race", "R", fmt.Sprint("L", g)); {
			case err == nil:
				winners.Add(1)
			case !errorsIs(err, ErrConflict):
				t.Errorf("PutContact race: %v", err)
			}
			for i := range rounds {
				seq, err := db.Enqueue(own, []byte(fmt.Sprint(i)))
				if err != nil {
					t.Errorf("Enqueue: %v", err)
					return
				}
				if seq != uint64(i+1) {
					t.Errorf("queue %s item %d got seq %d", own, i, seq)
				}
				s, err := db.Enqueue("shared", []byte(own))
				if err != nil {
					t.Errorf("Enqueue shared: %v", err)
					return
				}
				remaining.Add(2)
				sharedMu.Lock()
				if sharedSeq[s] {
					t.Errorf("shared seq %d assigned twice", s)
				}
				sharedSeq[s] = true
				sharedMu.Unlock()

				x, r := fmt.Sprint("x", i), fmt.Sprint("r", i)
				if err := db.PutMessageRefs(
					MessageRef{Scope: scope, XMPPID: x, RemoteID: r},
					MessageRef{Scope: scope, XMPPID: "o" + x, RemoteID: r},
				); err != nil {
					t.Errorf("PutMessageRefs: %v", err)
					return
				}
				if got, err := db.RemoteMessageID(scope, x); err != nil || got != r {
					t.Errorf("RemoteMessageID right after put = %q, %v", got, err)
				}
				if got, err := db.XMPPMessageID(scope, r); err != nil || got != x {
					t.Errorf("XMPPMessageID right after put = %q, %v", got, err)
				}
				if i%2 == 1 {
					if err := db.OutboxAck(own, seq-1, seq); err != nil {
						t.Errorf("OutboxAck: %v", err)
						return
					}
					remaining.Add(-2)
				}
			}
		})
	}
	// Readers run alongside, a bounded number of times: spinning readers
	// would starve the writers of the two CPUs the tests get.
	var readers sync.WaitGroup
	for range 2 {
		readers.Go(func() {
			for range rounds * 2 {
				if _, err := db.OutboxLen(); err != nil {
					t.Errorf("OutboxLen: %v", err)
				}
				if _, err := db.OutboxQueues(); err != nil {
					t.Errorf("OutboxQueues: %v", err)
				}
				if _, err := db.OutboxPeek("shared", 10); err != nil {
					t.Errorf("OutboxPeek: %v", err)
				}
				if _, err := db.Stats(); err != nil {
					t.Errorf("Stats: %v", err)
				}
			}
		})
	}
	wg.Wait()
	readers.Wait()

	if winners.Load() != 1 {
		t.Errorf("%d goroutines won the same contact, want 1", winners.Load())
	}
	n, err := db.OutboxLen()
	if err != nil || int64(n) != remaining.Load() {
		t.Errorf("OutboxLen = %d, %v; want %d", n, err, remaining.Load())
	}
	shared, err := db.OutboxPeek("shared", 0)
	if err != nil || len(shared) != writers*rounds {
		t.Fatalf("shared queue has %d items, %v; want %d", len(shared), err, writers*rounds)
	}
	for i, it := range shared {
		if it.Seq != uint64(i+1) {
			t.Fatalf("shared item %d has seq %d", i, it.Seq)
		}
	}
	st, err := db.Stats()
	if err != nil || st.MessageRefs != writers*rounds*2 || st.OutboxItems != n || st.Contacts != 1 {
		t.Errorf("Stats = %+v, %v", st, err)
	}
	if err := db.Verify(); err != nil {
		t.Errorf("Verify: %v", err)
	}
}
