package procs

import (
	"context"
	"log/slog"
	"runtime"
	"slices"
	"sync/atomic"
	"testing"
	"time"
)

func TestStep(t *testing.T) {
	cfg := Config{Period: 100 * time.Millisecond, Widen: 0.7, Narrow: 0.35, NarrowAfter: 300 * time.Millisecond, MaxHold: time.Second}
	ms := time.Millisecond
	type period struct {
		used   time.Duration // CPU used in a period of 100 ms
		waited bool          // goroutines waited too long to run
		want   change
	}
	idle, calm3 := period{0, false, keep}, []period{{0, false, keep}, {0, false, keep}, {0, false, narrow}}
	seq := func(parts ...[]period) []period { return slices.Concat(parts...) }
	tests := []struct {
		name    string
		periods []period
	}{
		{"idle narrows after NarrowAfter", []period{{0, false, keep}, {10 * ms, false, keep}, {20 * ms, false, narrow}, idle}},
		{"a busy period starts the calm over", []period{idle, idle, {50 * ms, false, keep}, idle, idle, {0, false, narrow}}},
		{"narrowed, a moderate load keeps one processor", seq(calm3, []period{{60 * ms, false, keep}, {69 * ms, false, keep}})},
		{"narrowed, a heavy period widens", seq(calm3, []period{{71 * ms, false, widen}}, calm3)},
		{"a load between the thresholds stays wide", []period{{40 * ms, false, keep}, {50 * ms, false, keep}, {36 * ms, false, keep}, {69 * ms, false, keep}}},
		{"waiting goroutines widen, for longer each time", seq(calm3,
			[]period{{10 * ms, true, widen}}, calm3, // held for NarrowAfter
			[]period{{10 * ms, true, widen}}, []period{idle, idle, idle, idle, idle, {0, false, narrow}}, // then twice as long
			[]period{{10 * ms, true, widen}}, slices.Repeat([]period{idle}, 9), []period{{0, false, narrow}}, // then up to MaxHold
		)},
		{"waits count only when narrowed", []period{{10 * ms, true, keep}, idle, {0, false, narrow}}},
		{"staying narrowed for MaxHold forgets the hold", seq(calm3,
			[]period{{10 * ms, true, widen}}, calm3,
			[]period{{10 * ms, true, widen}}, slices.Repeat([]period{idle}, 5), []period{{0, false, narrow}},
			slices.Repeat([]period{idle}, 10),       // steady for MaxHold
			[]period{{10 * ms, true, widen}}, calm3, // NarrowAfter again, not twice the last hold
		)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := &adapter{cfg: cfg}
			for i, p := range tc.periods {
				if got := a.step(p.used, 100*ms, p.waited); got != p.want {
					t.Fatalf("period %d (%v used, waited %v): %v, want %v", i, p.used, p.waited, got, p.want)
				}
			}
		})
	}
	if got := (&adapter{cfg: cfg}).step(time.Second, 0, true); got != keep {
		t.Errorf("no time elapsed: %v", got)
	}
}

func TestWaitMeterCounts(t *testing.T) {
	m := newWaitMeter(time.Nanosecond) // every run that waited at all
	// Goroutines that run: each is scheduled at least once.
	done := make(chan struct{})
	for range 100 {
		go func() { done <- struct{}{} }()
	}
	for range 100 {
		<-done
	}
	slow, runs := m.read()
	if runs == 0 || slow > runs {
		t.Errorf("%d runs, %d slow", runs, slow)
	}
	if slow, runs := newWaitMeter(time.Hour).read(); slow != 0 || runs != 0 {
		t.Errorf("a fresh meter counts %d runs, %d slow", runs, slow)
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
	before := Narrowed()
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
	if after := Narrowed(); after <= before {
		t.Errorf("narrowed time %v, then %v after a narrowed stretch", before, after)
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

// The narrowed time counts the stretches between a narrowing and the next
// widening, and the current one up to now.
func TestNarrowedTime(t *testing.T) {
	t0 := time.Unix(1000, 0)
	at := func(sec float64) time.Time { return t0.Add(time.Duration(sec * float64(time.Second))) }
	var n narrowedTime
	steps := []struct {
		op   string // begin, end or read
		at   float64
		want time.Duration // for read
	}{
		{"read", 0, 0},
		{"end", 1, 0}, // widened already: nothing to end
		{"begin", 2, 0},
		{"read", 3.5, 1500 * time.Millisecond},
		{"begin", 4, 0}, // narrowed already: the stretch goes on from 2
		{"end", 5, 0},
		{"read", 9, 3 * time.Second},
		{"begin", 10, 0},
		{"end", 10.25, 0},
		{"read", 20, 3250 * time.Millisecond},
	}
	for i, st := range steps {
		switch st.op {
		case "begin":
			n.begin(at(st.at))
		case "end":
			n.end(at(st.at))
		case "read":
			if got := n.total(at(st.at)); got != st.want {
				t.Errorf("step %d at %vs: %v, want %v", i, st.at, got, st.want)
			}
		}
	}
}
