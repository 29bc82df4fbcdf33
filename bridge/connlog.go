package bridge

import (
	"log/slog"
	"sync"
	"time"

	"github.com/xgate-im/xgate/xmpp"
)

// Reconnect logging policy. During an outage the component retries every
// second or so; a line per attempt would be thousands of lines an hour
// saying the same thing. connLog logs the first failure, then a summary
// (attempts so far, last error, time down) at growing intervals, and the
// recovery with the downtime.

// Intervals between outage summaries: the first comes connLogFirst after
// the first failure, each next one twice as late, at most connLogMax.
const (
	connLogFirst = time.Minute
	connLogMax   = time.Hour
)

// connLog decides which component state changes are logged. The zero
// value is ready; it is safe for concurrent use.
type connLog struct {
	mu        sync.Mutex
	connected bool      // has been connected at least once
	down      bool      // an outage is going on
	since     time.Time // when it began
	attempts  int       // failed attempts since then
	lastErr   error
	next      time.Time     // when the next summary is due
	interval  time.Duration // the gap before it
}

// connLogLine is one line to log.
type connLogLine struct {
	level slog.Level
	msg   string
	attrs []any
}

// observe takes a state change at now and returns the line to log, if
// any.
func (l *connLog) observe(now time.Time, s xmpp.State, err error) (connLogLine, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch s {
	case xmpp.StateConnected:
		if !l.down {
			first := !l.connected
			l.connected = true
			if first {
				return connLogLine{slog.LevelInfo, "component connected", nil}, true
			}
			return connLogLine{}, false
		}
		l.down = false
		l.connected = true
		return connLogLine{slog.LevelInfo, "component reconnected", []any{
			"down_for", now.Sub(l.since).Round(time.Millisecond), "failed_attempts", l.attempts,
		}}, true
	case xmpp.StateDisconnected:
		if err == nil {
			return connLogLine{}, false
		}
		if !l.down {
			l.down, l.since, l.attempts, l.lastErr = true, now, 1, err
			l.interval = connLogFirst
			l.next = now.Add(l.interval)
			msg := "component disconnected"
			if !l.connected {
				msg = "component cannot connect"
			}
			return connLogLine{slog.LevelWarn, msg, []any{"err", err}}, true
		}
		l.attempts++
		l.lastErr = err
		if now.Before(l.next) {
			return connLogLine{}, false
		}
		l.interval = min(2*l.interval, connLogMax)
		l.next = now.Add(l.interval)
		return connLogLine{slog.LevelWarn, "component still disconnected", []any{
			"down_for", now.Sub(l.since).Round(time.Second), "failed_attempts", l.attempts, "last_err", err,
		}}, true
	}
	return connLogLine{}, false
}
