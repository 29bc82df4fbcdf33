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
	cmd := exec.CommandContext(t.Context(), bin, "run", "-src", ".", "-runs", "1", "-n", "20", "-users", "3", "-mappings", "50",
		"-rates", "500,max", "-json", reportPath, "-timeout", "3m")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("xgate-bench: %v\n%s", err, stderr.Bytes())
	}
	if !bytes.Contains(out, []byte("| 1u8c | xmpp-to-slack | max |")) {
		t.Errorf("the table lacks a row:\n%s", out)
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
	checkReport(t, &rep)
}

// checkReport checks that a report holds every scenario and window with
// every figure measured.
func checkReport(t *testing.T, rep *report) {
	t.Helper()
	if rep.Machine.CPUs < 1 || rep.Machine.Prosody == "" {
		t.Errorf("machine not described: %+v", rep.Machine)
	}
	if len(rep.Scenarios) != len(scenarios) {
		t.Fatalf("%d scenarios in the report, want %d", len(rep.Scenarios), len(scenarios))
	}
	for i, s := range rep.Scenarios {
		if s.Scenario.Name != scenarios[i].Name {
			t.Errorf("scenario %d is %q, want %q", i, s.Scenario.Name, scenarios[i].Name)
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
		}
	}
}
