package discordfake

import (
	"fmt"
	"hash/fnv"
	"math"
	"net/http"
	"strconv"
	"time"
)

// fault is one scripted failure of a REST call.
type fault struct {
	status     int           // 429 or 5xx
	retryAfter time.Duration // for 429s
	global     bool          // a global 429
}

// answer writes the failure's headers and returns its status and body.
func (f fault) answer(hdr http.Header, now time.Time) (int, any, http.Header) {
	if f.status != http.StatusTooManyRequests {
		return f.status, wireError{Message: fmt.Sprintf("%d: %s", f.status, http.StatusText(f.status))}, hdr
	}
	secs := f.retryAfter.Seconds()
	hdr.Set("Retry-After", strconv.Itoa(int(math.Ceil(secs))))
	if f.global {
		hdr.Set("X-RateLimit-Global", "true")
		hdr.Set("X-RateLimit-Scope", "global")
	} else {
		hdr.Set("X-RateLimit-Limit", "1")
		hdr.Set("X-RateLimit-Remaining", "0")
		setReset(hdr, f.retryAfter)
		hdr.Set("X-RateLimit-Scope", "user")
	}
	return http.StatusTooManyRequests, rateLimitBody(secs, f.global), hdr
}

func rateLimitBody(secs float64, global bool) any {
	return struct {
		Message    string  `json:"message"`
		RetryAfter float64 `json:"retry_after"`
		Global     bool    `json:"global"`
	}{"You are being rate limited.", math.Ceil(secs*1000) / 1000, global}
}

// setReset writes X-RateLimit-Reset (epoch seconds) and -Reset-After.
func setReset(hdr http.Header, after time.Duration) {
	at := time.Now().Add(after)
	hdr.Set("X-RateLimit-Reset", strconv.FormatFloat(float64(at.UnixMilli())/1000, 'f', 3, 64))
	hdr.Set("X-RateLimit-Reset-After", strconv.FormatFloat(after.Seconds(), 'f', 3, 64))
}

// takeFaultLocked pops the next scripted failure for a route, global ones
// first.
func (s *Server) takeFaultLocked(route string) (fault, bool) {
	var f fault
	switch {
	case len(s.globalFaults) > 0:
		f, s.globalFaults = s.globalFaults[0], s.globalFaults[1:]
	case len(s.faults[route]) > 0:
		f, s.faults[route] = s.faults[route][0], s.faults[route][1:]
	default:
		return fault{}, false
	}
	if f.status == http.StatusTooManyRequests {
		s.rateLimited++
	}
	return f, true
}

// holdKeys are the keys of the limits a request falls under: its route
// with its major parameter (channel, guild or webhook ID, as Discord's
// buckets), and its token for the global limit.
func holdKeys(route string, c *call, authz string) (routeKey, globalKey string) {
	major := c.params["channel.id"] + c.params["guild.id"] + c.params["webhook.id"]
	return "route " + route + " " + major, "global " + authz
}

// holdLocked starts the limit a scripted 429 announced: until its
// retry_after ends, requests under it are answered 429 too.
func (s *Server) holdLocked(f fault, route string, c *call, authz string) {
	if f.status != http.StatusTooManyRequests || f.retryAfter <= 0 {
		return
	}
	routeKey, globalKey := holdKeys(route, c, authz)
	key := routeKey
	if f.global {
		key = globalKey
	}
	s.holds[key] = time.Now().Add(f.retryAfter)
}

// heldLocked answers a request made while a limit it falls under holds, as
// Discord answers a client that does not wait: another 429 with the time
// left. It counts the request in EarlyRequests.
func (s *Server) heldLocked(route string, c *call, authz string) (fault, bool) {
	routeKey, globalKey := holdKeys(route, c, authz)
	now := time.Now()
	for _, k := range []string{globalKey, routeKey} {
		until, ok := s.holds[k]
		if !ok {
			continue
		}
		if !now.Before(until) {
			delete(s.holds, k)
			continue
		}
		s.rateLimited++
		s.early++
		return fault{status: http.StatusTooManyRequests, retryAfter: until.Sub(now), global: k == globalKey}, true
	}
	return fault{}, false
}

// EarlyRequests returns how many requests came while a limit announced by
// a scripted 429 (RateLimit, RateLimitGlobal) still held: a client that
// waits what Discord asks makes none.
func (s *Server) EarlyRequests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.early
}

// RateLimit makes the next `times` calls of a route answer HTTP 429 with a
// per-route limit: {"message":"You are being rate limited.",
// "retry_after":SECONDS,"global":false}, Retry-After (whole seconds) and the
// X-RateLimit-* headers (Remaining 0, Reset-After retryAfter, Scope user).
// Routes are named as in Routes, e.g. "POST /channels/{channel.id}/messages".
// Each 429 holds the route for that channel (guild, webhook) for
// retryAfter: requests there meanwhile get a 429 too (EarlyRequests).
func (s *Server) RateLimit(route string, times int, retryAfter time.Duration) {
	s.addFaults(route, times, fault{status: http.StatusTooManyRequests, retryAfter: retryAfter})
}

// RateLimitGlobal makes the next `times` REST calls, whatever their route,
// answer a global 429: "global":true in the body, X-RateLimit-Global: true
// and X-RateLimit-Scope: global, as Discord does past 50 requests/s. Each
// holds every route for the token that got it for retryAfter: its
// requests meanwhile get a global 429 too (EarlyRequests).
func (s *Server) RateLimitGlobal(times int, retryAfter time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range times {
		s.globalFaults = append(s.globalFaults, fault{status: http.StatusTooManyRequests, retryAfter: retryAfter, global: true})
	}
}

// FailNext makes the next `times` calls of a route answer an HTTP error
// status (500, 502, 503…) with {"message":"500: Internal Server Error","code":0}.
func (s *Server) FailNext(route string, times int, status int) {
	if status < 400 || status == http.StatusTooManyRequests {
		panic(fmt.Sprintf("discordfake: FailNext: status %d is not an error (use RateLimit for 429)", status))
	}
	s.addFaults(route, times, fault{status: status})
}

func (s *Server) addFaults(route string, times int, f fault) {
	if _, ok := routeByName[route]; !ok {
		panic(fmt.Sprintf("discordfake: unknown route %q", route))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for range times {
		s.faults[route] = append(s.faults[route], f)
	}
}

type bucketCfg struct {
	limit  int
	window time.Duration
}

type bucketState struct {
	start time.Time
	count int
}

// SetBucket gives a route a real rate limit bucket: `limit` requests per
// window for each value of its major parameter (channel, guild or webhook
// ID), as Discord's buckets. Every answer of the route then carries
// X-RateLimit-Limit, -Remaining, -Reset, -Reset-After and -Bucket; a request
// over the limit answers 429 like RateLimit. A limit of 0 removes the bucket.
func (s *Server) SetBucket(route string, limit int, window time.Duration) {
	if _, ok := routeByName[route]; !ok {
		panic(fmt.Sprintf("discordfake: SetBucket: unknown route %q", route))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if limit <= 0 {
		delete(s.buckets, route)
		return
	}
	s.buckets[route] = bucketCfg{limit: limit, window: window}
}

// bucketLocked counts a call against its route's bucket, if any, and writes
// the bucket's headers.
func (s *Server) bucketLocked(route string, c *call, hdr http.Header) (bool, int, any) {
	cfg, ok := s.buckets[route]
	if !ok {
		return false, 0, nil
	}
	major := c.params["channel.id"] + c.params["guild.id"] + c.params["webhook.id"]
	key := route + " " + major
	st := s.bucketState[key]
	now := time.Now()
	if st == nil || !now.Before(st.start.Add(cfg.window)) {
		st = &bucketState{start: now}
		s.bucketState[key] = st
	}
	st.count++
	h := fnv.New64a()
	h.Write([]byte(route))
	hdr.Set("X-RateLimit-Bucket", strconv.FormatUint(h.Sum64(), 16))
	hdr.Set("X-RateLimit-Limit", strconv.Itoa(cfg.limit))
	hdr.Set("X-RateLimit-Remaining", strconv.Itoa(max(cfg.limit-st.count, 0)))
	left := st.start.Add(cfg.window).Sub(now)
	setReset(hdr, left)
	if st.count <= cfg.limit {
		return false, 0, nil
	}
	s.rateLimited++
	hdr.Set("Retry-After", strconv.Itoa(int(math.Ceil(left.Seconds()))))
	hdr.Set("X-RateLimit-Scope", "user")
	return true, http.StatusTooManyRequests, rateLimitBody(left.Seconds(), false)
}
