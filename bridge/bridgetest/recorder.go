package bridgetest

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/xgate-im/xgate/bridge"
)

// Recorder is a bridge.Sink that records the events a transport's session
// emits, for testing a transport without a gateway. While held, Emit
// blocks until released (or its context ends); after Fail, Emit returns
// that error (the bridge could not store the event).
type Recorder struct {
	mu      sync.Mutex
	events  []bridge.Event
	changed chan struct{} // closed and replaced on every event
	gate    chan struct{} // nil: open
	entered chan struct{} // receives once per Emit that waits at the gate
	fail    error
}

// NewRecorder returns an open Recorder.
func NewRecorder() *Recorder {
	return &Recorder{changed: make(chan struct{}), entered: make(chan struct{}, 16)}
}

var _ bridge.Sink = (*Recorder)(nil)

// Emit implements bridge.Sink.
func (r *Recorder) Emit(ctx context.Context, ev bridge.Event) error {
	r.mu.Lock()
	gate, fail := r.gate, r.fail
	r.mu.Unlock()
	if gate != nil {
		select {
		case r.entered <- struct{}{}:
		default:
		}
		select {
		case <-gate:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if fail != nil {
		return fail
	}
	r.mu.Lock()
	r.events = append(r.events, ev)
	close(r.changed)
	r.changed = make(chan struct{})
	r.mu.Unlock()
	return nil
}

// Hold makes Emit wait until Release. Entered tells when one waits.
func (r *Recorder) Hold() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.gate = make(chan struct{})
}

// Entered receives when an Emit starts waiting at the gate of Hold.
func (r *Recorder) Entered() <-chan struct{} { return r.entered }

// Release lets held and later Emits through.
func (r *Recorder) Release() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.gate != nil {
		close(r.gate)
		r.gate = nil
	}
}

// Fail makes Emit return err (nil: succeed again). An Emit returns what
// was set when it was called, also if it waited at the gate meanwhile.
func (r *Recorder) Fail(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.fail = err
}

// Events returns the events recorded so far.
func (r *Recorder) Events() []bridge.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]bridge.Event(nil), r.events...)
}

// WaitFor waits (up to 10 seconds) for the first event of type T that
// matches (nil matches any), from the beginning, and returns it.
func WaitFor[T bridge.Event](t testing.TB, r *Recorder, match func(T) bool) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	for {
		r.mu.Lock()
		for _, ev := range r.events {
			if e, ok := ev.(T); ok && (match == nil || match(e)) {
				r.mu.Unlock()
				return e
			}
		}
		ch := r.changed
		r.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			var zero T
			t.Fatalf("no %T came; got %s", zero, Describe(r.Events()))
			return zero
		}
	}
}

// Count returns how many recorded events of type T match (nil matches
// any).
func Count[T bridge.Event](r *Recorder, match func(T) bool) int {
	n := 0
	for _, ev := range r.Events() {
		if e, ok := ev.(T); ok && (match == nil || match(e)) {
			n++
		}
	}
	return n
}

// Describe lists events, one a line, for failure messages.
func Describe(evs []bridge.Event) string {
	var b strings.Builder
	for _, e := range evs {
		fmt.Fprintf(&b, "\n  %T %+v", e, e)
	}
	if b.Len() == 0 {
		return "nothing"
	}
	return b.String()
}
