package store

import (
	"fmt"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// daemonBatchDelay is the batch delay `xgate run` opens the store with
// (cmd/xgate: storeBatchDelay).
const daemonBatchDelay = 2 * time.Millisecond

// processCPU is the CPU time (user+system) this process used so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportPerOp reports the throughput and the process's CPU per operation
// of a parallel benchmark since start and cpu0. Its ns/op is wall time
// divided by operations of 32 concurrent writers, which is neither a
// write's latency nor its cost, so it is dropped.
func reportPerOp(b *testing.B, start time.Time, cpu0 time.Duration) {
	b.Helper()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "writes/s")
	b.ReportMetric(float64((processCPU()-cpu0).Microseconds())/float64(b.N), "cpu-µs/write")
	b.ReportMetric(0, "ns/op")
}

// benchDB opens a database for a benchmark; sync selects real fsync.
func benchDB(b *testing.B, sync bool) *DB {
	b.Helper()
	opts := testOptions(b)
	opts.NoSync = !sync
	opts.BatchDelay = daemonBatchDelay // as `xgate run` opens it
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
		start, cpu0 := time.Now(), processCPU()
		b.RunParallel(func(pb *testing.PB) {
			q := fmt.Sprint("chat-", g.Add(1)%64)
			for pb.Next() {
				if _, err := db.Enqueue(q, payload); err != nil {
					b.Error(err)
					return
				}
			}
		})
		reportPerOp(b, start, cpu0)
	})
}

func BenchmarkPutMessageRefsParallel(b *testing.B) {
	benchModes(b, func(b *testing.B, db *DB) {
		var g, n atomic.Int64
		b.SetParallelism(32)
		b.ReportAllocs()
		b.ResetTimer()
		start, cpu0 := time.Now(), processCPU()
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
		reportPerOp(b, start, cpu0)
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
