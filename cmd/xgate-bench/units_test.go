package main

import (
	"io"
	"strings"
	"testing"
)

func TestLoadText(t *testing.T) {
	tests := []struct {
		in     string
		window int
		sent   int64
		ok     bool
	}{
		{loadText(7, 1733300000123456789), 7, 1733300000123456789, true},
		{"b 0 1", 0, 1, true},
		{"b 1", 0, 0, false},
		{"a 1 2", 0, 0, false},
		{"b x 2", 0, 0, false},
		{"b 1 2 3", 0, 0, false},
		{"hello", 0, 0, false},
	}
	for _, tt := range tests {
		w, sent, ok := parseLoadText(tt.in)
		if ok != tt.ok || (ok && (w != tt.window || sent != tt.sent)) {
			t.Errorf("parseLoadText(%q) = %d, %d, %v; want %d, %d, %v", tt.in, w, sent, ok, tt.window, tt.sent, tt.ok)
		}
	}
}

func TestTSNanos(t *testing.T) {
	tests := []struct {
		ts   string
		want int64
		ok   bool
	}{
		{"1700000000.000100", 1700000000_000100000, true},
		{"1700000000.999999", 1700000000_999999000, true},
		{"1700000000.1", 0, false},
		{"1700000000", 0, false},
		{"x.000001", 0, false},
	}
	for _, tt := range tests {
		got, ok := tsNanos(tt.ts)
		if ok != tt.ok || got != tt.want {
			t.Errorf("tsNanos(%q) = %d, %v; want %d, %v", tt.ts, got, ok, tt.want, tt.ok)
		}
	}
}

func TestStatOf(t *testing.T) {
	tests := []struct {
		in   []float64
		want stat
	}{
		{nil, stat{}},
		{[]float64{5}, stat{5, 5}},
		{[]float64{3, 1, 2}, stat{1, 2}},
		{[]float64{4, 1, 3, 2}, stat{1, 2.5}},
	}
	for _, tt := range tests {
		if got := statOf(tt.in); got != tt.want {
			t.Errorf("statOf(%v) = %+v, want %+v", tt.in, got, tt.want)
		}
	}
}

func TestPercentiles(t *testing.T) {
	lat := make([]int64, 100)
	for i := range lat {
		lat[i] = int64(100-i) * 1e6 // 100 ms down to 1 ms
	}
	got := percentiles(lat)
	if want := [3]float64{50, 99, 100}; got != want {
		t.Errorf("percentiles = %v, want %v", got, want)
	}
	if got := percentiles(nil); got != [3]float64{} {
		t.Errorf("percentiles(nil) = %v", got)
	}
}

func TestCollectorCountsOnlyItsWindow(t *testing.T) {
	var col collector
	col.expect(2, 2)
	col.add(1, 0, 10) // an earlier window's straggler
	col.add(2, 0, 5)
	col.add(2, 1, 7)
	col.add(2, 1, 9) // more than expected
	lat, last, err := col.wait(t.Context())
	if err != nil || len(lat) != 2 || lat[0] != 5 || lat[1] != 6 || last != 7 {
		t.Errorf("wait = %v, %d, %v; want [5 6], 7, nil", lat, last, err)
	}
}

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"-scenarios", "nope"},
		{"-dirs", "sideways"},
		{"-rates", "fast"},
		{"-n", "0"},
	} {
		var stderr strings.Builder
		if code := runMain(args, io.Discard, &stderr); code != 2 {
			t.Errorf("runMain(%q) = %d, want 2 (%s)", args, code, stderr.String())
		}
	}
}

func TestNoProsody(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	old := prosodyFallback
	prosodyFallback = "/nonexistent/prosody"
	t.Cleanup(func() { prosodyFallback = old })
	var stderr strings.Builder
	if code := runMain([]string{"-scenarios", "1u1c"}, io.Discard, &stderr); code != exitNoProsody {
		t.Errorf("runMain without prosody = %d, want %d (%s)", code, exitNoProsody, stderr.String())
	}
	if !strings.Contains(stderr.String(), "prosody is not installed") {
		t.Errorf("stderr %q does not say why", stderr.String())
	}
}
