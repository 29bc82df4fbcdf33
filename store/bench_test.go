package store

import (
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"
)

// benchDB opens a database for a benchmark; sync selects real fsync.
func benchDB(b *testing.B, sync bool) *DB {
	b.Helper()
	opts := testOptions(b)
	opts.NoSync = !sync
	opts.BatchDelay = 0 // bbolt's default, as in production
	db, err := Open(filepath.Join(b.TempDir(), "xgate.db"), opts)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	return db
}

// benchModes runs a benchmark with fsync (as deployed) and without.
func benchModes(b *testing.B, fn func(b *testing.B, db *DB)) {
	for _, sync := range []bool{true, false} {
		name := "fsync"
		if !sync {
			name = "nosync"
		}
		b.Run(name, func(b *testing.B) { fn(b, benchDB(b, sync)) })
	}
}

func BenchmarkEnqueueParallel(b *testing.B) {
	benchModes(b, func(b *testing.B, db *DB) {
		payload := make([]byte, 512)
		var g atomic.Int64
		b.SetParallelism(32) // many chats delivering at once
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			q := fmt.Sprint("chat-", g.Add(1)%64)
			for pb.Next() {
				if _, err := db.Enqueue(q, payload); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

func BenchmarkPutMessageRefsParallel(b *testing.B) {
	benchModes(b, func(b *testing.B, db *DB) {
		var g, n atomic.Int64
		b.SetParallelism(32)
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			scope := fmt.Sprint("slack|alice@example.org|T1.U1|C", g.Add(1))
			for pb.Next() {
				i := n.Add(1)
				ref := MessageRef{Scope: scope, XMPPID: fmt.Sprint("xmpp-", i), RemoteID: fmt.Sprint("1700000000.", i)}
				if err := db.PutMessageRefs(ref); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

func BenchmarkGetAccount(b *testing.B) {
	db := benchDB(b, false)
	const n = 1000
	for i := range n {
		a := Account{
			AccountKey: AccountKey{fmt.Sprintf("user%d@example.org", i), "slack", "T1.U1"},
			Settings:   map[string]string{"team": "T1", "name": "Acme"},
			Secrets:    map[string]string{"token": "xoxp-0123456789abcdef", "cookie": "d=0123456789abcdef"},
		}
		if err := db.PutAccount(a); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if _, err := db.GetAccount(AccountKey{fmt.Sprintf("user%d@example.org", i%n), "slack", "T1.U1"}); err != nil {
			b.Fatal(err)
		}
	}
}
