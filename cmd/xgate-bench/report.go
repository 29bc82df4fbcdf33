package main

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
)

// report is everything one invocation measured.
type report struct {
	Machine   machine           `json:"machine"`
	Settings  settings          `json:"settings"`
	Scenarios []scenarioSummary `json:"scenarios"`
}

// settings are the knobs of the invocation.
type settings struct {
	Network    string    `json:"network"`
	Runs       int       `json:"runs"`
	N          int       `json:"messages_per_window"`
	Rates      []float64 `json:"rates"` // 0: maximum
	Directions []string  `json:"directions"`
	NagleOff   bool      `json:"prosody_nagle_off,omitempty"`
	// XgateProcs and FloorProcs are the GOMAXPROCS set for xgate and for
	// the floor's echoes (0: not set).
	XgateProcs int `json:"xgate_gomaxprocs,omitempty"`
	FloorProcs int `json:"floor_gomaxprocs,omitempty"`
}

func settingsOf(o options) settings {
	return settings{Network: o.net.Name, Runs: o.runs, N: o.n, Rates: o.rates, Directions: o.dirs,
		NagleOff: o.nagleOff, XgateProcs: o.xgateProcs, FloorProcs: o.floorProcs}
}

// procsName describes a GOMAXPROCS setting.
func procsName(n int) string {
	if n <= 0 {
		return "not set"
	}
	return fmt.Sprint(n)
}

// stat is a figure over the runs.
type stat struct {
	Min    float64 `json:"min"`
	Median float64 `json:"median"`
}

// scenarioSummary is one scenario: per-run figures and their min/median.
type scenarioSummary struct {
	Scenario scenario        `json:"scenario"`
	Startup  map[string]stat `json:"startup"` // startup_ms, logins_ms, idle_rss_mb, peak_rss_mb, idle_cpu_pct
	Windows  []windowSummary `json:"windows,omitempty"`
	Runs     []runResult     `json:"runs"`
}

// windowSummary is one direction at one rate over the runs.
type windowSummary struct {
	Direction string          `json:"direction"`
	Rate      float64         `json:"rate"`
	Metrics   map[string]stat `json:"metrics"`
}

// statOf returns the minimum and the median of vs.
func statOf(vs []float64) stat {
	if len(vs) == 0 {
		return stat{}
	}
	s := slices.Sorted(slices.Values(vs))
	med := s[len(s)/2]
	if len(s)%2 == 0 {
		med = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return stat{Min: s[0], Median: med}
}

func (sr *scenarioRuns) summarize() scenarioSummary {
	out := scenarioSummary{Scenario: sr.sc, Runs: sr.runs, Startup: map[string]stat{}}
	col := func(f func(r runResult) float64) stat {
		var vs []float64
		for _, r := range sr.runs {
			vs = append(vs, f(r))
		}
		return statOf(vs)
	}
	out.Startup["startup_ms"] = col(func(r runResult) float64 { return r.StartupMS })
	out.Startup["logins_ms"] = col(func(r runResult) float64 { return r.LoginMS })
	out.Startup["logged_in"] = col(func(r runResult) float64 { return float64(r.LoggedIn) })
	out.Startup["idle_rss_mb"] = col(func(r runResult) float64 { return r.IdleRSSMB })
	out.Startup["peak_rss_mb"] = col(func(r runResult) float64 { return r.PeakRSSMB })
	out.Startup["idle_cpu_pct"] = col(func(r runResult) float64 { return r.IdleCPUPct })
	if len(sr.runs) == 0 {
		return out
	}
	for i, w := range sr.runs[0].Windows {
		ws := windowSummary{Direction: w.Direction, Rate: w.Rate, Metrics: map[string]stat{}}
		for _, k := range slices.Sorted(maps.Keys(w.Metrics)) {
			var vs []float64
			for _, r := range sr.runs {
				if i < len(r.Windows) {
					vs = append(vs, r.Windows[i].Metrics[k])
				}
			}
			ws.Metrics[k] = statOf(vs)
		}
		out.Windows = append(out.Windows, ws)
	}
	return out
}

// percentiles returns p50, p99 and the maximum of latencies in
// nanoseconds, in milliseconds.
func percentiles(lat []int64) [3]float64 {
	if len(lat) == 0 {
		return [3]float64{}
	}
	s := slices.Sorted(slices.Values(lat))
	at := func(q float64) float64 {
		i := int(q * float64(len(s)-1))
		return float64(s[i]) / 1e6
	}
	return [3]float64{at(0.50), at(0.99), float64(s[len(s)-1]) / 1e6}
}

// markdown renders the report as the tables of docs/performance.md.
func (r *report) markdown() string {
	var b strings.Builder
	m := r.Machine
	fmt.Fprintf(&b, "Machine: %d CPUs (%s), Linux %s, %s, %s; load average %.2f at start, %.2f at end.\n", m.CPUs, m.Model, m.Kernel, m.GoVersion, m.Prosody, m.Load1, m.Load1End)
	rates := make([]string, len(r.Settings.Rates))
	for i, v := range r.Settings.Rates {
		rates[i] = rateName(v)
	}
	fmt.Fprintf(&b, "Settings: %s, %d runs, %d messages per window, rates %s. Figures are min/median over the runs.\n", cmp.Or(r.Settings.Network, "slack"), r.Settings.Runs, r.Settings.N, strings.Join(rates, ", "))
	nagle := "on (stock)"
	if r.Settings.NagleOff {
		nagle = "off"
	}
	fmt.Fprintf(&b, "GOMAXPROCS of xgate: %s (not set: xgate adapts it, see [runtime] adaptive_procs); of the floor: %s. Prosody's Nagle: %s.\n\n",
		procsName(r.Settings.XgateProcs), procsName(r.Settings.FloorProcs), nagle)
	b.WriteString("| scenario | users | start→handshake ms | logged in | all logged in ms | idle RSS MB | peak RSS MB | idle CPU % |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|\n")
	for _, s := range r.Scenarios {
		st := s.Startup
		fmt.Fprintf(&b, "| %s | %d | %s | %s | %s | %s | %s | %s |\n", s.Scenario.Name, s.Scenario.Users,
			mm(st["startup_ms"], 0), mm(st["logged_in"], 0), mm(st["logins_ms"], 0), mm(st["idle_rss_mb"], 1), mm(st["peak_rss_mb"], 1), mm(st["idle_cpu_pct"], 1))
	}
	if !slices.ContainsFunc(r.Scenarios, func(s scenarioSummary) bool { return len(s.Windows) > 0 }) {
		return b.String()
	}
	b.WriteString("\n| scenario | direction | rate | xgate CPU µs/msg | floor CPU µs/msg | × floor | B/msg | allocs/msg | p50 ms | p99 ms | max ms | floor p99 ms | msg/s | RSS MB |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, s := range r.Scenarios {
		for _, w := range s.Windows {
			x := w.Metrics
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n",
				s.Scenario.Name, w.Direction, rateName(w.Rate), mm(x["cpu_us"], 0), mm(x["floor_cpu_us"], 1), mm(x["ratio"], 1),
				mm(x["alloc_bytes"], 0), mm(x["alloc_objects"], 0), mm(x["p50_ms"], 2), mm(x["p99_ms"], 2), mm(x["max_ms"], 1),
				mm(x["floor_p99_ms"], 2), mm(x["msg_per_s"], 0), mm(x["rss_mb"], 1))
		}
	}
	b.WriteString("\nCPU of the other processes in the same windows (µs per message, min/median), for where the time goes:\n\n")
	nw, ok := networkByName(r.Settings.Network)
	if !ok {
		nw = networks[0]
	}
	fmt.Fprintf(&b, "| scenario | direction | rate | xgate | Prosody | %s | floor: echo | floor: Prosody | floor: %s | %s | xgate's store commits/msg | xgate on one processor %% |\n", nw.fakeName, nw.fakeName, nw.events)
	b.WriteString("|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, s := range r.Scenarios {
		for _, w := range s.Windows {
			x := w.Metrics
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", s.Scenario.Name, w.Direction, rateName(w.Rate),
				mm(x["cpu_us"], 0), mm(x["cpu_us_prosody"], 0), mm(x["cpu_us_fake"], 0),
				mm(x["floor_cpu_us"], 1), mm(x["floor_cpu_us_prosody"], 0), mm(x["floor_cpu_us_fake"], 0), mm(x["envelopes_per_msg"], 2), mmIf(x, "commits_per_msg", 3),
				mmIf(x, "narrowed_pct", 0))
		}
	}
	return b.String()
}

// mm formats a stat as "min/median".
func mm(s stat, prec int) string {
	return fmt.Sprintf("%.*f/%.*f", prec, s.Min, prec, s.Median)
}

// mmIf formats metric k of a window as mm does, or "—" when the xgate
// measured does not report it (an older tree given with -src).
func mmIf(m map[string]stat, k string, prec int) string {
	s, ok := m[k]
	if !ok {
		return "—"
	}
	return mm(s, prec)
}

func jsonEncoder(w io.Writer) *json.Encoder { return json.NewEncoder(w) }
func jsonDecoder(r io.Reader) *json.Decoder { return json.NewDecoder(r) }
