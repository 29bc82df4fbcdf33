package procs

import (
	"runtime/metrics"
	"time"
)

// waitMeter counts, from the runtime's histogram of how long runnable
// goroutines waited before they ran, the runs since the last read and
// those that waited longer than a limit.
type waitMeter struct {
	limit  float64 // seconds
	sample []metrics.Sample
	last   []uint64 // the histogram's counts at the last read
}

const schedLatencies = "/sched/latencies:seconds"

func newWaitMeter(limit time.Duration) *waitMeter {
	m := &waitMeter{limit: limit.Seconds(), sample: []metrics.Sample{{Name: schedLatencies}}}
	m.read()
	return m
}

// read returns the runs since the last read, and how many of them waited
// longer than the limit (counted by bucket: a bucket that starts at or
// above the limit).
func (m *waitMeter) read() (slow, runs uint64) {
	metrics.Read(m.sample)
	if m.sample[0].Value.Kind() != metrics.KindFloat64Histogram {
		return 0, 0
	}
	h := m.sample[0].Value.Float64Histogram()
	if len(m.last) != len(h.Counts) {
		m.last = make([]uint64, len(h.Counts))
		copy(m.last, h.Counts)
		return 0, 0
	}
	for i, c := range h.Counts {
		d := c - m.last[i]
		runs += d
		if h.Buckets[i] >= m.limit {
			slow += d
		}
		m.last[i] = c
	}
	return slow, runs
}
