package discordfake

import (
	"strconv"
	"time"
)

// discordEpoch is the first millisecond of 2015, the origin of snowflakes.
const discordEpoch = 1420070400000

// snowflakes makes Discord IDs: milliseconds since the Discord epoch in the
// top 42 bits, then worker (5 bits), process (5 bits) and a 12-bit increment.
// IDs are strictly increasing whatever the clock does, so a frozen clock
// still yields unique, ordered IDs. Guarded by Server.mu.
type snowflakes struct {
	now    func() time.Time
	lastMS int64
	inc    int64
}

// next returns a new snowflake as Discord sends it: a decimal string.
func (g *snowflakes) next() string {
	ms := g.now().UnixMilli() - discordEpoch
	if ms < 0 {
		ms = 0
	}
	if ms > g.lastMS {
		g.lastMS, g.inc = ms, 0
	} else {
		g.inc++
		if g.inc > 0xfff {
			g.lastMS++
			g.inc = 0
		}
	}
	return strconv.FormatInt(g.lastMS<<22|1<<17|1<<12|g.inc, 10)
}

// parseSnowflake reads a decimal snowflake; ok is false for anything else
// (empty, signs, non-digits, overflow).
func parseSnowflake(s string) (uint64, bool) {
	if s == "" || len(s) > 20 {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseUint(s, 10, 64)
	return n, err == nil
}

// snowflakeTime returns the creation time encoded in a snowflake.
func snowflakeTime(id uint64) time.Time {
	return time.UnixMilli(int64(id>>22) + discordEpoch).UTC()
}

// timestampOf formats the creation time of a snowflake as Discord does in
// message timestamps ("2024-01-02T03:04:05.678000+00:00").
func timestampOf(id string) string {
	n, _ := parseSnowflake(id)
	return formatTimestamp(snowflakeTime(n))
}

func formatTimestamp(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000000+00:00")
}
