package main

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/xgate-im/xgate/bridge"
	"github.com/xgate-im/xgate/store"
	"github.com/xgate-im/xgate/xmpp"
)

// promSample is one parsed sample line.
type promSample struct {
	name   string
	labels map[string]string
	value  float64
}

var (
	metricName = regexp.MustCompile(`^[a-zA-Z_:][a-zA-Z0-9_:]*$`)
	labelName  = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)
)

// parseExposition checks that text is valid Prometheus text exposition
// format (version 0.0.4) as xgate writes it and returns its samples:
// every line is a HELP, a TYPE or a sample; each family has one HELP and
// one TYPE before its samples, and its samples are contiguous; label values
// use only the escapes \\, \" and \n; no series appears twice; counters end
// in _total and are not negative.
func parseExposition(text string) ([]promSample, error) {
	if text != "" && !strings.HasSuffix(text, "\n") {
		return nil, fmt.Errorf("no final newline")
	}
	types := map[string]string{}
	helps := map[string]bool{}
	closed := map[string]bool{} // families whose samples are over
	series := map[string]bool{}
	current := ""
	var out []promSample
	for i, line := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
		n := i + 1
		if strings.HasPrefix(line, "#") {
			f := strings.SplitN(line, " ", 4)
			if len(f) < 3 || f[0] != "#" {
				return nil, fmt.Errorf("line %d: bad comment %q", n, line)
			}
			name := f[2]
			if !metricName.MatchString(name) {
				return nil, fmt.Errorf("line %d: bad metric name %q", n, name)
			}
			if closed[name] || (current != "" && current != name) {
				closed[current] = true
			}
			if closed[name] {
				return nil, fmt.Errorf("line %d: family %s continues after another one", n, name)
			}
			current = name
			switch f[1] {
			case "HELP":
				if helps[name] {
					return nil, fmt.Errorf("line %d: second HELP for %s", n, name)
				}
				helps[name] = true
				if len(f) == 4 {
					if err := checkEscapes(f[3], false); err != nil {
						return nil, fmt.Errorf("line %d: HELP: %w", n, err)
					}
				}
			case "TYPE":
				if _, ok := types[name]; ok {
					return nil, fmt.Errorf("line %d: second TYPE for %s", n, name)
				}
				if len(f) != 4 || !strings.Contains(" counter gauge histogram summary untyped ", " "+f[3]+" ") {
					return nil, fmt.Errorf("line %d: bad TYPE %q", n, line)
				}
				types[name] = f[3]
			default:
				return nil, fmt.Errorf("line %d: unknown comment %q", n, line)
			}
			continue
		}
		s, err := parseSampleLine(line)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		typ, ok := types[s.name]
		if !ok || !helps[s.name] {
			return nil, fmt.Errorf("line %d: sample of %s before its HELP and TYPE", n, s.name)
		}
		if s.name != current {
			return nil, fmt.Errorf("line %d: sample of %s inside family %s", n, s.name, current)
		}
		if typ == "counter" && (!strings.HasSuffix(s.name, "_total") || s.value < 0) {
			return nil, fmt.Errorf("line %d: counter %s is misnamed or negative", n, s.name)
		}
		key := s.name + fmt.Sprint(s.labels)
		if series[key] {
			return nil, fmt.Errorf("line %d: duplicate series %s", n, key)
		}
		series[key] = true
		out = append(out, s)
	}
	return out, nil
}

// parseSampleLine parses `name{label="value",...} value`.
func parseSampleLine(line string) (promSample, error) {
	s := promSample{labels: map[string]string{}}
	i := strings.IndexAny(line, "{ ")
	if i < 0 {
		return s, fmt.Errorf("no value in %q", line)
	}
	s.name = line[:i]
	if !metricName.MatchString(s.name) {
		return s, fmt.Errorf("bad metric name %q", s.name)
	}
	rest := line[i:]
	if rest[0] == '{' {
		rest = rest[1:]
		for {
			if strings.HasPrefix(rest, "}") {
				rest = rest[1:]
				break
			}
			eq := strings.Index(rest, `="`)
			if eq < 0 {
				return s, fmt.Errorf("bad labels in %q", line)
			}
			name := rest[:eq]
			if !labelName.MatchString(name) {
				return s, fmt.Errorf("bad label name %q", name)
			}
			if _, dup := s.labels[name]; dup {
				return s, fmt.Errorf("label %s twice", name)
			}
			rest = rest[eq+2:]
			var v strings.Builder
			closed := false
			for j := 0; j < len(rest); j++ {
				c := rest[j]
				switch {
				case c == '\\' && j+1 < len(rest):
					j++
					switch rest[j] {
					case '\\':
						v.WriteByte('\\')
					case '"':
						v.WriteByte('"')
					case 'n':
						v.WriteByte('\n')
					default:
						return s, fmt.Errorf("bad escape \\%c", rest[j])
					}
				case c == '\\':
					return s, fmt.Errorf("dangling backslash")
				case c == '\n':
					return s, fmt.Errorf("raw newline in label value")
				case c == '"':
					rest = rest[j+1:]
					closed = true
				default:
					v.WriteByte(c)
				}
				if closed {
					break
				}
			}
			if !closed {
				return s, fmt.Errorf("unterminated label value in %q", line)
			}
			s.labels[name] = v.String()
			if strings.HasPrefix(rest, ",") {
				rest = rest[1:]
			} else if !strings.HasPrefix(rest, "}") {
				return s, fmt.Errorf("bad label separator in %q", line)
			}
		}
	}
	if !strings.HasPrefix(rest, " ") {
		return s, fmt.Errorf("no space before the value in %q", line)
	}
	f := strings.Fields(rest)
	if len(f) < 1 || len(f) > 2 {
		return s, fmt.Errorf("bad value in %q", line)
	}
	v, err := strconv.ParseFloat(f[0], 64)
	if err != nil && f[0] != "+Inf" && f[0] != "-Inf" && f[0] != "NaN" {
		return s, fmt.Errorf("bad value %q", f[0])
	}
	if len(f) == 2 {
		if _, err := strconv.ParseInt(f[1], 10, 64); err != nil {
			return s, fmt.Errorf("bad timestamp %q", f[1])
		}
	}
	s.value = v
	return s, nil
}

// checkEscapes checks the backslash escapes of a HELP text (or, with
// quotes, a label value).
func checkEscapes(s string, quotes bool) error {
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' {
			continue
		}
		if i+1 == len(s) {
			return fmt.Errorf("dangling backslash")
		}
		i++
		if s[i] != '\\' && s[i] != 'n' && !(quotes && s[i] == '"') {
			return fmt.Errorf("bad escape \\%c", s[i])
		}
	}
	return nil
}

func find(samples []promSample, name string, labels ...string) (float64, bool) {
next:
	for _, s := range samples {
		if s.name != name {
			continue
		}
		for i := 0; i+1 < len(labels); i += 2 {
			if s.labels[labels[i]] != labels[i+1] {
				continue next
			}
		}
		return s.value, true
	}
	return 0, false
}

func TestWriteMetrics(t *testing.T) {
	weird := "we\"ird\\name\nx"
	d := metricsData{
		gateways: []gatewayStatus{
			{
				Name: "slack", Domain: "slack.example.org", Network: "slack",
				Component: xmpp.Stats{State: xmpp.StateConnected, MessagesIn: 5, IQsOut: 7, ErrorsIn: 1, Reconnects: 2, PingTimeouts: 3,
					QueueLen: 4, QueueCap: 1024, QueueHigh: 9, QueueFull: 17, InboxLen: 1},
				Limits: xmpp.SenderLimiterStats{Answered: 11, Dropped: 13, Senders: 2},
				Bridge: bridge.Snapshot{Events: map[string]uint64{"message": 10, "edit": 2}, Bounces: 1, SentRemote: 8, CompletionCommits: 3, RateLimited: 4,
					UnknownStanzas: 6, Registrations: 1, AfterLoginPending: 14},
				Outbox: 3,
			},
			{Name: weird, Domain: "w.example.org", Network: "sms", Component: xmpp.Stats{State: xmpp.StateConnecting, OtherIn: math.MaxUint64}, Outbox: -1,
				Transport: map[string]int64{"sms_sent": 12, "sms_unassigned": 1}},
		},
		store:      &store.Stats{Accounts: 2, Contacts: 30, MessageRefs: 400, OutboxItems: 5, FileBytes: 65536, Commits: 77},
		goroutines: 12,
		heapBytes:  1 << 20,
		procs:      1,
		narrowed:   1500 * time.Millisecond,
		version:    "v1.2.3",
		start:      time.Unix(1700000000, 500_000_000),
	}
	text := string(writeMetrics(d))
	samples, err := parseExposition(text)
	if err != nil {
		t.Fatalf("%v\n%s", err, text)
	}
	checks := []struct {
		name   string
		labels []string
		want   float64
	}{
		{"xgate_build_info", []string{"version", "v1.2.3"}, 1},
		{"xgate_start_time_seconds", nil, 1700000000.5},
		{"xgate_component_up", []string{"gateway", "slack", "network", "slack"}, 1},
		{"xgate_component_up", []string{"gateway", weird}, 0},
		{"xgate_component_state", []string{"gateway", "slack", "state", "connected"}, 1},
		{"xgate_component_state", []string{"gateway", "slack", "state", "disconnected"}, 0},
		{"xgate_component_state", []string{"gateway", weird, "network", "sms", "state", "connecting"}, 1},
		{"xgate_component_stanzas_received_total", []string{"gateway", "slack", "kind", "message"}, 5},
		{"xgate_component_stanzas_received_total", []string{"gateway", weird, "kind", "other"}, math.MaxUint64},
		{"xgate_component_stanzas_sent_total", []string{"gateway", "slack", "kind", "iq"}, 7},
		{"xgate_component_input_errors_total", []string{"gateway", "slack"}, 1},
		{"xgate_component_reconnects_total", []string{"gateway", "slack"}, 2},
		{"xgate_component_ping_timeouts_total", []string{"gateway", "slack"}, 3},
		{"xgate_component_send_queue_length", []string{"gateway", "slack"}, 4},
		{"xgate_component_send_queue_capacity", []string{"gateway", "slack"}, 1024},
		{"xgate_component_send_queue_high_water", []string{"gateway", "slack"}, 9},
		{"xgate_component_send_queue_full_total", []string{"gateway", "slack"}, 17},
		{"xgate_component_send_queue_full_total", []string{"gateway", weird}, 0},
		{"xgate_bridge_limited_answered_total", []string{"gateway", "slack", "network", "slack"}, 11},
		{"xgate_bridge_limited_dropped_total", []string{"gateway", "slack"}, 13},
		{"xgate_bridge_limited_dropped_total", []string{"gateway", weird}, 0},
		{"xgate_component_inbox_length", []string{"gateway", "slack"}, 1},
		{"xgate_bridge_events_total", []string{"gateway", "slack", "kind", "edit"}, 2},
		{"xgate_bridge_events_total", []string{"gateway", "slack", "kind", "message"}, 10},
		{"xgate_bridge_bounces_total", []string{"gateway", "slack"}, 1},
		{"xgate_bridge_sent_remote_total", []string{"gateway", "slack"}, 8},
		{"xgate_bridge_completion_commits_total", []string{"gateway", "slack"}, 3},
		{"xgate_bridge_rate_limited_total", []string{"gateway", "slack"}, 4},
		{"xgate_bridge_unknown_iqs_total", []string{"gateway", "slack"}, 6},
		{"xgate_bridge_after_login_pending", []string{"gateway", "slack"}, 14},
		{"xgate_bridge_registrations_total", []string{"gateway", "slack"}, 1},
		{"xgate_bridge_dropped_total", []string{"gateway", weird}, 0},
		{"xgate_gateway_outbox_items", []string{"gateway", "slack"}, 3},
		{"xgate_transport_total", []string{"gateway", weird, "network", "sms", "counter", "sms_sent"}, 12},
		{"xgate_transport_total", []string{"gateway", weird, "counter", "sms_unassigned"}, 1},
		{"xgate_store_up", nil, 1},
		{"xgate_store_accounts", nil, 2},
		{"xgate_store_contacts", nil, 30},
		{"xgate_store_message_refs", nil, 400},
		{"xgate_store_outbox_items", nil, 5},
		{"xgate_store_file_bytes", nil, 65536},
		{"xgate_store_commits_total", nil, 77},
		{"go_goroutines", nil, 12},
		{"go_sched_gomaxprocs_threads", nil, 1},
		{"xgate_procs_narrowed_seconds_total", nil, 1.5},
		{"go_memstats_heap_alloc_bytes", nil, 1 << 20},
	}
	for _, c := range checks {
		got, ok := find(samples, c.name, c.labels...)
		if !ok || got != c.want {
			t.Errorf("%s%q = %v (found %v), want %v", c.name, c.labels, got, ok, c.want)
		}
	}
	if _, ok := find(samples, "xgate_gateway_outbox_items", "gateway", weird); ok {
		t.Error("an unknown outbox count was reported")
	}
	// Every per-gateway family has a sample for each gateway.
	for _, m := range gatewayMetrics {
		for _, g := range d.gateways {
			if _, ok := find(samples, m.name, "gateway", g.Name, "network", g.Network); !ok {
				t.Errorf("%s lacks gateway %q", m.name, g.Name)
			}
		}
	}
	if !strings.Contains(text, `gateway="we\"ird\\name\nx"`) {
		t.Errorf("label not escaped as expected:\n%s", text)
	}

	// Without gateways and store, the output is still valid.
	text = string(writeMetrics(metricsData{version: "v", start: time.Unix(0, 0)}))
	samples, err = parseExposition(text)
	if err != nil {
		t.Fatalf("%v\n%s", err, text)
	}
	if v, ok := find(samples, "xgate_store_up"); !ok || v != 0 {
		t.Errorf("xgate_store_up = %v %v", v, ok)
	}
}

func TestParseExpositionRejects(t *testing.T) {
	for _, bad := range []string{
		"x 1\n", // no HELP/TYPE
		"# HELP x h\n# TYPE x gauge\nx{a=\"b} 1\n", // unterminated
		"# HELP x h\n# TYPE x gauge\nx{a=\"\\t\"} 1\n",
		"# HELP x h\n# TYPE x gauge\nx 1\nx 2\n",
		"# HELP x_total h\n# TYPE x_total counter\nx_total -1\n",
		"# HELP x h\n# TYPE x gauge\n# HELP y h\n# TYPE y gauge\nx 1\n",
		"# HELP x h\n# TYPE x gauge\nx one\n",
		"# HELP x h\n# TYPE x gauge\nx 1",
		"# HELP x h\n# TYPE x weird\n",
		"# HELP x h\n# TYPE x gauge\n0x 1\n",
	} {
		if _, err := parseExposition(bad); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
}

// FuzzLabelEscaping checks that any gateway name survives escaping: the
// output parses and gives the name back.
func FuzzLabelEscaping(f *testing.F) {
	f.Add("slack", "help")
	f.Add("a\"b\\c\nd", "x\\y\nz")
	f.Add("\\n", "\\")
	f.Fuzz(func(t *testing.T, name, help string) {
		var p promWriter
		p.family("x", "gauge", help)
		p.sample("x", "1", "gateway", name)
		samples, err := parseExposition(p.b.String())
		if err != nil {
			t.Fatalf("%v\n%q", err, p.b.String())
		}
		if len(samples) != 1 || samples[0].labels["gateway"] != name {
			t.Fatalf("got %+v, want gateway %q", samples, name)
		}
	})
}
