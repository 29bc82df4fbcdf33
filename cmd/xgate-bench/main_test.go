package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestSmoke builds the command and runs every scenario with tiny counts
// (one run, a few users, a few messages), then checks that the report is
// complete and parseable: every scenario and window is there, with every
// figure measured. It asserts nothing about speed.
func TestSmoke(t *testing.T) {
	var names []string
	for _, s := range scenarios {
		names = append(names, s.Name)
	}
	rep, out := smoke(t, "-users", "3", "-mappings", "50")
	if !bytes.Contains(out, []byte("| 1u8c | xmpp-to-slack | max |")) {
		t.Errorf("the table lacks a row:\n%s", out)
	}
	checkReport(t, rep, names)
}

// TestSmokeDiscord is TestSmoke for -network discord, with the small
// scenarios: the fake Discord in its process, personal accounts, both
// directions and their floors.
func TestSmokeDiscord(t *testing.T) {
	rep, out := smoke(t, "-network", "discord", "-scenarios", "1u1c,1u8c")
	for _, row := range []string{"| 1u8c | xmpp-to-discord | max |", "| 1u1c | discord-to-xmpp | 500/s |", "| fake Discord |", "Gateway dispatches/msg"} {
		if !bytes.Contains(out, []byte(row)) {
			t.Errorf("the tables lack %q:\n%s", row, out)
		}
	}
	if rep.Settings.Network != "discord" {
		t.Errorf("report network %q", rep.Settings.Network)
	}
	checkReport(t, rep, []string{"1u1c", "1u8c"})
}

// smoke builds the command and runs it with tiny counts (one run, a few
// messages) and the extra flags, and returns the report, decoded strictly,
// and the tables. It skips with -short and without Prosody.
func smoke(t *testing.T, flags ...string) (*report, []byte) {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs xgate: skipped with -short")
	}
	if prosodyBinary() == "" {
		if os.Getenv("XGATE_REQUIRE_PROSODY") == "1" {
			t.Fatal("prosody not installed and XGATE_REQUIRE_PROSODY=1")
		}
		t.Skip("prosody not installed: apt-get install prosody")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "xgate-bench")
	if out, err := exec.CommandContext(t.Context(), "go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	reportPath := filepath.Join(dir, "report.json")
	args := append([]string{"run", "-src", ".", "-runs", "1", "-n", "20", "-rates", "500,max", "-json", reportPath, "-timeout", "3m"}, flags...)
	cmd := exec.CommandContext(t.Context(), bin, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("xgate-bench: %v\n%s", err, stderr.Bytes())
	}
	data, err := os.ReadFile(reportPath)
	if err != nil {
		t.Fatal(err)
	}
	var rep report
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&rep); err != nil {
		t.Fatalf("report: %v\n%s", err, data)
	}
	return &rep, out
}

// checkReport checks that a report holds the scenarios named, in order,
// and their windows with every figure measured.
func checkReport(t *testing.T, rep *report, names []string) {
	t.Helper()
	if rep.Machine.CPUs < 1 || rep.Machine.Prosody == "" {
		t.Errorf("machine not described: %+v", rep.Machine)
	}
	if len(rep.Scenarios) != len(names) {
		t.Fatalf("%d scenarios in the report, want %d", len(rep.Scenarios), len(names))
	}
	for i, s := range rep.Scenarios {
		if s.Scenario.Name != names[i] {
			t.Errorf("scenario %d is %q, want %q", i, s.Scenario.Name, names[i])
		}
		for _, k := range []string{"startup_ms", "logins_ms", "idle_rss_mb", "peak_rss_mb"} {
			if s.Startup[k].Min <= 0 {
				t.Errorf("%s: %s not measured: %+v", s.Scenario.Name, k, s.Startup[k])
			}
		}
		want := 4 // two directions at two rates
		if s.Scenario.StartupOnly {
			want = 0
		}
		if len(s.Windows) != want {
			t.Errorf("%s: %d windows, want %d", s.Scenario.Name, len(s.Windows), want)
		}
		for _, w := range s.Windows {
			for _, k := range []string{"cpu_us", "floor_cpu_us", "ratio", "alloc_bytes", "alloc_objects", "p50_ms", "p99_ms", "max_ms", "floor_p99_ms", "msg_per_s", "rss_mb", "cpu_us_prosody", "cpu_us_fake", "floor_cpu_us_prosody", "envelopes_per_msg"} {
				if v, ok := w.Metrics[k]; !ok || v.Min <= 0 {
					t.Errorf("%s %s %s: %s not measured: %+v", s.Scenario.Name, w.Direction, rateName(w.Rate), k, v)
				}
			}
			// Zero when xgate stayed on two processors, but always read.
			for _, k := range []string{"commits_per_msg", "narrowed_pct"} {
				if v, ok := w.Metrics[k]; !ok || v.Min < 0 || (k == "narrowed_pct" && v.Median > 100.5) {
					t.Errorf("%s %s %s: %s: %+v (read %v)", s.Scenario.Name, w.Direction, rateName(w.Rate), k, v, ok)
				}
			}
		}
	}
}
