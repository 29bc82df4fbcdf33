package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/xgate-im/xgate/store"
)

// dist/xgate.service runs commands and flags that exist, on the default
// paths, and keeps the store in the directory it makes writable.
func TestSystemdUnit(t *testing.T) {
	data, err := os.ReadFile("../../dist/xgate.service")
	if err != nil {
		t.Fatal(err)
	}
	execs := 0
	state := ""
	for _, l := range strings.Split(string(data), "\n") {
		key, value, ok := strings.Cut(l, "=")
		if !ok || strings.HasPrefix(l, "#") {
			continue
		}
		switch key {
		case "ExecStart", "ExecStartPre":
			f := strings.Fields(value)
			if len(f) < 2 || filepath.Base(f[0]) != "xgate" {
				t.Fatalf("%s runs %q", key, value)
			}
			flags, ok := commandFlags(f[1])
			if !ok {
				t.Errorf("%s: no command %q", key, f[1])
				continue
			}
			for i, tok := range f[2:] {
				if strings.HasPrefix(tok, "-") && !flags[strings.TrimLeft(tok, "-")] {
					t.Errorf("%s: %s has no flag %s", key, f[1], tok)
				}
				if tok == "-c" && (i+3 >= len(f) || f[i+3] != defaultConfigPath) {
					t.Errorf("%s: -c is not %s", key, defaultConfigPath)
				}
			}
			execs++
		case "StateDirectory":
			state = "/var/lib/" + value
		}
	}
	if execs != 2 {
		t.Errorf("%d xgate commands, want check-config and run", execs)
	}
	if state != filepath.Dir(defaultStorePath) {
		t.Errorf("StateDirectory makes %s writable, the store defaults to %s", state, defaultStorePath)
	}
	// systemd's own check, where systemd is installed.
	if analyze, err := exec.LookPath("systemd-analyze"); err == nil {
		out, err := exec.CommandContext(t.Context(), analyze, "verify", "--man=no", "../../dist/xgate.service").CombinedOutput()
		for _, l := range strings.Split(string(out), "\n") {
			// The binary and user need not exist on the test machine.
			if l == "" || strings.Contains(l, "/usr/local/bin/xgate") || strings.Contains(l, "not executable") || strings.Contains(l, "No such file") {
				continue
			}
			t.Errorf("systemd-analyze verify: %s (%v)", l, err)
		}
	}
}

// dashboard is the part of a Grafana dashboard the test reads.
type dashboard struct {
	Title  string `json:"title"`
	Panels []struct {
		ID      int    `json:"id"`
		Title   string `json:"title"`
		Targets []struct {
			Expr string `json:"expr"`
		} `json:"targets"`
	} `json:"panels"`
}

var dashboardMetric = regexp.MustCompile(`\bxgate_[a-z_]+\b`)

// dist/grafana-dashboard.json parses, and every metric it graphs is one
// xgate exports.
func TestGrafanaDashboard(t *testing.T) {
	data, err := os.ReadFile("../../dist/grafana-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	if err := json.Unmarshal(data, &d); err != nil {
		t.Fatalf("dashboard JSON: %v", err)
	}
	exported := map[string]bool{}
	text := writeMetrics(metricsData{
		gateways: []gatewayStatus{{Name: "slack", Domain: "slack.example.org", Network: "slack", Outbox: 1}},
		store:    &store.Stats{}, version: "v", start: time.Unix(0, 0),
	})
	for _, l := range strings.Split(string(text), "\n") {
		if f := strings.Fields(l); len(f) >= 3 && f[0] == "#" && f[1] == "TYPE" {
			exported[f[2]] = true
		}
	}
	used, ids := 0, map[int]bool{}
	for _, p := range d.Panels {
		if ids[p.ID] {
			t.Errorf("panel id %d used twice", p.ID)
		}
		ids[p.ID] = true
		if len(p.Targets) == 0 {
			t.Errorf("panel %q graphs nothing", p.Title)
		}
		for _, tg := range p.Targets {
			names := dashboardMetric.FindAllString(tg.Expr, -1)
			if len(names) == 0 {
				t.Errorf("panel %q: %q names no xgate metric", p.Title, tg.Expr)
			}
			for _, n := range names {
				used++
				if !exported[n] {
					t.Errorf("panel %q graphs %s, which xgate does not export", p.Title, n)
				}
			}
		}
	}
	if used < 10 {
		t.Errorf("only %d metric uses", used)
	}
}
