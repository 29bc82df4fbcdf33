// Package procs narrows Go's scheduler to one processor while the process
// is lightly loaded, and widens it back to the runtime's default when the
// load grows.
//
// Why: at a light, steady load (a gateway relaying a thousand messages a
// second), each message wakes a few goroutines in turn. With several
// processors, every wake-up also wakes an idle processor's thread, which
// looks for work, finds none and goes back to sleep: in xgate's benchmark
// at a thousand messages a second, one processor instead of two took
// 15-27% off the process's CPU per message. On one processor the same
// goroutines hand over to each other without waking anything. As the load
// grows past what one processor does comfortably, the runtime's default
// comes back (and with it the runtime's own updates of it, such as a
// changed CPU quota).
//
// The load is the process's CPU time (user and system), read every
// Config.Period, and how long goroutines waited to run: one processor also
// runs the garbage collector and every background task, and when that
// keeps goroutines waiting (a large heap being marked, thousands of
// accounts logging in) the default comes back at once, and stays longer
// each time it happens (Config.Wait, WaitShare and MaxHold). Nothing is
// done when GOMAXPROCS is set in the environment (the operator chose),
// when the runtime's default is one processor already, or where the
// process's CPU time cannot be read.
package procs

import (
	"context"
	"log/slog"
	"os"
	"runtime"
	"sync"
	"time"
)

// Config tunes Run. Zero fields take the defaults.
type Config struct {
	// Period is how often the process's CPU time is read (default 250 ms).
	Period time.Duration
	// Widen is the load, in cores, above which a narrowed process gets the
	// runtime's default back after one period (default 0.75).
	Widen float64
	// Narrow is the load, in cores, below which the process must stay for
	// NarrowAfter before it is narrowed (defaults 0.6 and 2 s). The same
	// work costs less CPU once narrowed, so a load just below Narrow is
	// well below Widen afterwards: the two do not alternate.
	Narrow      float64
	NarrowAfter time.Duration
	// Waits: a narrowed process whose goroutines waited longer than Wait
	// to run in more than WaitShare of their runs in a period gets the
	// runtime's default back (defaults 2 ms and 1%). It then narrows
	// again only after Hold below Narrow, doubled each time up to MaxHold
	// (defaults NarrowAfter and 1 min), and back to Hold once it stayed
	// narrowed for MaxHold.
	Wait      time.Duration
	WaitShare float64
	MaxHold   time.Duration

	// changed, when set, is told of every change (tests).
	changed func(procs int)
}

func (c *Config) defaults() {
	if c.Period <= 0 {
		c.Period = 250 * time.Millisecond
	}
	if c.Widen <= 0 {
		c.Widen = 0.75
	}
	if c.Narrow <= 0 {
		c.Narrow = 0.6
	}
	if c.NarrowAfter <= 0 {
		c.NarrowAfter = 2 * time.Second
	}
	if c.Wait <= 0 {
		c.Wait = 2 * time.Millisecond
	}
	if c.WaitShare <= 0 {
		c.WaitShare = 0.01
	}
	if c.MaxHold <= 0 {
		c.MaxHold = time.Minute
	}
}

// Run adapts GOMAXPROCS until ctx ends, then gives the runtime its default
// back. It returns at once when there is nothing to adapt (see the package
// comment).
func Run(ctx context.Context, cfg Config, log *slog.Logger) {
	cfg.defaults()
	if os.Getenv("GOMAXPROCS") != "" {
		log.Debug("GOMAXPROCS is set: processors not adapted to the load")
		return
	}
	if runtime.GOMAXPROCS(0) <= 1 {
		return
	}
	last, ok := cpuTime()
	if !ok {
		return
	}
	a := &adapter{cfg: cfg}
	waits := newWaitMeter(cfg.Wait)
	tick := time.NewTicker(cfg.Period)
	defer tick.Stop()
	lastAt := time.Now()
	defer func() {
		if a.narrowed {
			runtime.SetDefaultGOMAXPROCS()
			narrowing.end(time.Now())
		}
	}()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-tick.C:
			used, ok := cpuTime()
			if !ok {
				return
			}
			slow, runs := waits.read()
			waited := runs > 0 && float64(slow) > cfg.WaitShare*float64(runs)
			c := a.step(used-last, now.Sub(lastAt), waited)
			last, lastAt = used, now
			switch c {
			case keep:
				continue
			case narrow:
				runtime.GOMAXPROCS(1)
				narrowing.begin(now)
				log.Debug("light load: scheduling on one processor")
			case widen:
				runtime.SetDefaultGOMAXPROCS()
				narrowing.end(now)
				log.Debug("load grew: scheduling on the default processors", "procs", runtime.GOMAXPROCS(0), "waited", waited, "hold", a.hold)
			}
			if cfg.changed != nil {
				cfg.changed(runtime.GOMAXPROCS(0))
			}
		}
	}
}

// change is what a step decides.
type change int

const (
	keep change = iota
	narrow
	widen
)

// adapter decides, period after period, from the CPU the process used
// and whether its goroutines waited to run.
type adapter struct {
	cfg      Config
	narrowed bool
	calm     time.Duration // how long the load stayed below Narrow
	hold     time.Duration // the calm needed to narrow (0: NarrowAfter)
	steady   time.Duration // how long it stayed narrowed without waiting
}

// step takes the CPU time used over the last elapsed time, and whether
// goroutines waited too long to run meanwhile.
func (a *adapter) step(used, elapsed time.Duration, waited bool) change {
	if elapsed <= 0 {
		return keep
	}
	cores := used.Seconds() / elapsed.Seconds()
	if a.narrowed {
		switch {
		case waited:
			a.hold = min(max(2*a.hold, a.cfg.NarrowAfter), a.cfg.MaxHold)
		case cores > a.cfg.Widen:
		default:
			if a.steady += elapsed; a.steady >= a.cfg.MaxHold {
				a.hold, a.steady = 0, 0
			}
			return keep
		}
		a.narrowed, a.calm, a.steady = false, 0, 0
		return widen
	}
	if cores >= a.cfg.Narrow {
		a.calm = 0
		return keep
	}
	a.calm += elapsed
	if a.calm < max(a.hold, a.cfg.NarrowAfter) {
		return keep
	}
	a.narrowed, a.calm = true, 0
	return narrow
}

// Narrowed returns how long Run kept the process on one processor since
// the process started, the current stretch included. GOMAXPROCS belongs
// to the process, and so does this account of it.
func Narrowed() time.Duration {
	return narrowing.total(time.Now())
}

// narrowing accounts for the time spent narrowed.
var narrowing narrowedTime

type narrowedTime struct {
	mu    sync.Mutex
	done  time.Duration // the stretches that ended
	since time.Time     // the start of the current one (zero: widened)
}

func (n *narrowedTime) begin(now time.Time) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.since.IsZero() {
		n.since = now
	}
}

func (n *narrowedTime) end(now time.Time) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if !n.since.IsZero() {
		n.done += now.Sub(n.since)
		n.since = time.Time{}
	}
}

func (n *narrowedTime) total(now time.Time) time.Duration {
	n.mu.Lock()
	defer n.mu.Unlock()
	t := n.done
	if !n.since.IsZero() {
		t += now.Sub(n.since)
	}
	return t
}
