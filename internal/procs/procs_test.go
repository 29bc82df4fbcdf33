package procs

import (
	"context"
	"log/slog"
	"runtime"
	"sync/atomic"
	"testing"
	"time"
)

func TestStep(t *testing.T) {
	cfg := Config{Period: 100 * time.Millisecond, Widen: 0.7, Narrow: 0.35, NarrowAfter: 300 * time.Millisecond}
	ms := time.Millisecond
	type period struct {
		used time.Duration // CPU used in a period of 100 ms
		want change
	}
	tests := []struct {
		name    string
		periods []period
	}{
		{"idle narrows after NarrowAfter", []period{{0, keep}, {10 * ms, keep}, {20 * ms, narrow}, {0, keep}}},
		{"a busy period starts the calm over", []period{{0, keep}, {0, keep}, {50 * ms, keep}, {0, keep}, {0, keep}, {0, narrow}}},
		{"narrowed, a moderate load keeps one processor", []period{{0, keep}, {0, keep}, {0, narrow}, {60 * ms, keep}, {69 * ms, keep}}},
		{"narrowed, a heavy period widens", []period{{0, keep}, {0, keep}, {0, narrow}, {71 * ms, widen}, {0, keep}, {0, keep}, {0, narrow}}},
		{"a load between the thresholds stays wide", []period{{40 * ms, keep}, {50 * ms, keep}, {36 * ms, keep}, {69 * ms, keep}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := &adapter{cfg: cfg}
			for i, p := range tc.periods {
				if got := a.step(p.used, 100*ms); got != p.want {
					t.Fatalf("period %d (%v used): %v, want %v", i, p.used, got, p.want)
				}
			}
		})
	}
	if got := (&adapter{cfg: cfg}).step(time.Second, 0); got != keep {
		t.Errorf("no time elapsed: %v", got)
	}
}

// TestRunNarrowsAndWidens runs the adapter on this process: idle, it
// narrows to one processor; burning CPU, it widens again; at its end the
// runtime has its default back.
func TestRunNarrowsAndWidens(t *testing.T) {
	def := runtime.GOMAXPROCS(0)
	if def <= 1 {
		t.Skip("this machine gives the runtime one processor: nothing to adapt")
	}
	changes := make(chan int, 16)
	cfg := Config{Period: 10 * time.Millisecond, NarrowAfter: 50 * time.Millisecond, Widen: 0.5, Narrow: 0.3,
		changed: func(n int) { changes <- n }}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { Run(runCtx, cfg, slog.New(slog.DiscardHandler)); close(done) }()
	next := func(what string) int {
		t.Helper()
		select {
		case n := <-changes:
			return n
		case <-ctx.Done():
			t.Fatalf("never %s", what)
			return 0
		}
	}
	if n := next("narrowed"); n != 1 {
		t.Fatalf("narrowed to %d processors", n)
	}
	var burning atomic.Bool
	burning.Store(true)
	go func() {
		for x := 0; burning.Load(); x++ {
			_ = x * x
		}
	}()
	n := next("widened")
	burning.Store(false)
	if n != def {
		t.Fatalf("widened to %d processors, want %d", n, def)
	}
	stop()
	<-done
	if n := runtime.GOMAXPROCS(0); n != def {
		t.Errorf("%d processors after Run, want %d", n, def)
	}
}

func TestRunLeavesAnOperatorsChoice(t *testing.T) {
	t.Setenv("GOMAXPROCS", "2")
	done := make(chan struct{}) // Run must return on its own: its context never ends
	changed := false
	go func() {
		Run(t.Context(), Config{Period: time.Millisecond, NarrowAfter: time.Millisecond, changed: func(int) { changed = true }}, slog.New(slog.DiscardHandler))
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Run adapted the processors although GOMAXPROCS is set")
	}
	if changed {
		t.Error("changed GOMAXPROCS")
	}
}
