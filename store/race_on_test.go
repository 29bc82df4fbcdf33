//go:build race

package store

// raceDetector reports whether the race detector is on: it changes how
// goroutines are scheduled, which some tests of scheduling depend on.
const raceDetector = true
