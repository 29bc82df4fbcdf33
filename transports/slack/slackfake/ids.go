package slackfake

import (
	"encoding/base64"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// idGen hands out Slack-looking identifiers from per-prefix counters, so the
// same sequence of calls always yields the same IDs. Guarded by Server.mu.
type idGen struct {
	next map[string]uint64
}

// id returns the next identifier with the given prefix, e.g. "U00000000A".
// The counter is written in base 36, upper case and zero padded to nine
// digits, so IDs of one kind sort in creation order.
func (g *idGen) id(prefix string) string {
	if g.next == nil {
		g.next = make(map[string]uint64)
	}
	g.next[prefix]++
	n := strings.ToUpper(strconv.FormatUint(g.next[prefix], 36))
	return prefix + strings.Repeat("0", max(0, 9-len(n))) + n
}

// count returns the next value of a named counter.
func (g *idGen) count(name string) uint64 {
	if g.next == nil {
		g.next = make(map[string]uint64)
	}
	g.next[name]++
	return g.next[name]
}

// uuid returns a deterministic UUID-shaped string (version 4 layout) for the
// named counter, as Slack uses for envelope IDs.
func (g *idGen) uuid(name string) string {
	n := g.count(name)
	return fmt.Sprintf("%08x-0000-4000-8000-%012x", uint32(n>>48), n&0xffffffffffff)
}

// token returns a token of the given kind ("xoxb", "xoxp", "xapp").
func (g *idGen) token(kind, teamID, ownerID string) string {
	n := g.count("token")
	return fmt.Sprintf("%s-%s-%s-fake%020d", kind, teamID, ownerID, n)
}

// tsClock makes message timestamps ("1700000000.000100"): unique and strictly
// increasing across the whole server, hence per channel. Guarded by Server.mu.
type tsClock struct {
	now  func() time.Time
	last int64 // microseconds since the epoch
}

// next returns a fresh timestamp, never equal to or older than the last one.
func (c *tsClock) next() string {
	us := c.now().UnixMicro()
	if us <= c.last {
		us = c.last + 1
	}
	c.last = us
	return formatTS(us)
}

// unix returns the current time in whole seconds.
func (c *tsClock) unix() int64 { return c.now().Unix() }

// formatTS writes microseconds as a Slack timestamp.
func formatTS(us int64) string {
	return fmt.Sprintf("%d.%06d", us/1e6, us%1e6)
}

// parseTS reads a Slack timestamp ("1700000000.000100", "1700000000" or
// "1700000000.5") into microseconds. ok is false for anything else.
func parseTS(s string) (us int64, ok bool) {
	if s == "" {
		return 0, false
	}
	sec, frac, hasFrac := strings.Cut(s, ".")
	n, err := strconv.ParseInt(sec, 10, 64)
	if err != nil || n < 0 || n >= math.MaxInt64/1_000_000-1 || strings.HasPrefix(sec, "+") {
		return 0, false
	}
	us = n * 1e6
	if hasFrac {
		if frac == "" || len(frac) > 6 {
			return 0, false
		}
		for _, r := range frac {
			if r < '0' || r > '9' {
				return 0, false
			}
		}
		f, _ := strconv.ParseInt(frac+strings.Repeat("0", 6-len(frac)), 10, 64)
		us += f
	}
	return us, true
}

// encodeCursor and decodeCursor make opaque pagination cursors in the style
// of Slack's ("dXNlcjpVMDYxTkZUVDI=" is base64 of "user:U061NFTT2").
func encodeCursor(kind, key string) string {
	return base64.StdEncoding.EncodeToString([]byte(kind + ":" + key))
}

func decodeCursor(kind, cursor string) (key string, ok bool) {
	b, err := base64.StdEncoding.DecodeString(cursor)
	if err != nil {
		return "", false
	}
	v, found := strings.CutPrefix(string(b), kind+":")
	if !found || v == "" {
		return "", false
	}
	return v, true
}
