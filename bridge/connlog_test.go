package bridge

import (
	"errors"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/xgate-im/xgate/xmpp"
)

func TestConnLog(t *testing.T) {
	errDial := errors.New("dial: connection refused")
	type event struct {
		at    time.Duration // since the start of the test's clock
		state xmpp.State
		err   error
	}
	tests := []struct {
		name   string
		events []event
		want   []string // "level msg attrs"
	}{
		{"first connection", []event{
			{0, xmpp.StateConnecting, nil},
			{time.Millisecond, xmpp.StateConnected, nil},
		}, []string{"INFO component connected []"}},
		{"short outage: first failure and recovery", []event{
			{0, xmpp.StateConnected, nil},
			{time.Second, xmpp.StateDisconnected, errDial},
			{time.Second + 50*time.Millisecond, xmpp.StateConnecting, nil},
			{time.Second + 60*time.Millisecond, xmpp.StateDisconnected, errDial},
			{3 * time.Second, xmpp.StateConnected, nil},
		}, []string{
			"INFO component connected []",
			"WARN component disconnected [err dial: connection refused]",
			"INFO component reconnected [down_for 2s failed_attempts 2]",
		}},
		{"never connected", []event{
			{0, xmpp.StateDisconnected, errDial},
		}, []string{"WARN component cannot connect [err dial: connection refused]"}},
		{"summaries at growing intervals", []event{
			{0, xmpp.StateConnected, nil},
			{0, xmpp.StateDisconnected, errDial},
			{30 * time.Second, xmpp.StateDisconnected, errDial},
			{61 * time.Second, xmpp.StateDisconnected, errors.New("dial: timeout")},
			{62 * time.Second, xmpp.StateDisconnected, errDial},
			{3 * time.Minute, xmpp.StateDisconnected, errDial},
			{3*time.Minute + time.Second, xmpp.StateDisconnected, errDial},
			{4 * time.Minute, xmpp.StateConnected, nil},
		}, []string{
			"INFO component connected []",
			"WARN component disconnected [err dial: connection refused]",
			"WARN component still disconnected [down_for 1m1s failed_attempts 3 last_err dial: timeout]",
			"WARN component still disconnected [down_for 3m1s failed_attempts 6 last_err dial: connection refused]",
			"INFO component reconnected [down_for 4m0s failed_attempts 6]",
		}},
		{"a disconnection without error (shutdown) is not an outage", []event{
			{0, xmpp.StateConnected, nil},
			{time.Second, xmpp.StateDisconnected, nil},
			{2 * time.Second, xmpp.StateStopped, nil},
		}, []string{"INFO component connected []"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var l connLog
			start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
			var got []string
			for _, e := range tt.events {
				if line, ok := l.observe(start.Add(e.at), e.state, e.err); ok {
					got = append(got, fmt.Sprintf("%s %s %v", line.level, line.msg, line.attrs))
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Fatalf("logged\n%q\nwant\n%q", got, tt.want)
			}
		})
	}
}

// An hour-long outage with an attempt every 1.5 s (2,400 attempts) logs a
// handful of lines, not one per attempt.
func TestConnLogHourOutage(t *testing.T) {
	var l connLog
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l.observe(now, xmpp.StateConnected, nil)
	lines := 0
	for range 2400 {
		now = now.Add(1500 * time.Millisecond)
		if line, ok := l.observe(now, xmpp.StateDisconnected, errors.New("refused")); ok {
			lines++
			if line.level != slog.LevelWarn {
				t.Fatalf("level %s", line.level)
			}
		}
	}
	line, ok := l.observe(now, xmpp.StateConnected, nil)
	if !ok || line.msg != "component reconnected" {
		t.Fatalf("recovery not logged: %+v", line)
	}
	if lines > 8 {
		t.Fatalf("%d lines for an hour of outage", lines)
	}
	t.Logf("%d lines for 2,400 failed attempts in an hour, plus the recovery", lines)
}
