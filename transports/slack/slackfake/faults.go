package slackfake

import (
	"encoding/json"
	"math"
	"net/http"
	"strconv"
	"time"
)

// fault is one scripted failure of a Web API call.
type fault struct {
	retryAfter time.Duration // for 429s
	code       string        // "" for a 429, else the error code to answer
	status     int           // an HTTP error status to answer instead (5xx)
}

func (f fault) write(w http.ResponseWriter) {
	if f.status != 0 {
		http.Error(w, http.StatusText(f.status), f.status)
		return
	}
	if f.code != "" {
		writeJSON(w, http.StatusOK, errJSON(f.code))
		return
	}
	secs := int(math.Ceil(f.retryAfter.Seconds()))
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	writeJSON(w, http.StatusTooManyRequests, errJSON("ratelimited"))
}

// takeFaultLocked pops the next scripted failure for a method.
func (s *Server) takeFaultLocked(method string) (fault, bool) {
	q := s.faults[method]
	if len(q) == 0 {
		return fault{}, false
	}
	s.faults[method] = q[1:]
	return q[0], true
}

// RateLimit makes the next `times` calls of a Web API method answer HTTP 429
// with {"ok":false,"error":"ratelimited"} and a Retry-After header of
// retryAfter rounded up to whole seconds (0 is allowed, for fast tests).
// Scripted failures of one method are used in the order they were added.
func (s *Server) RateLimit(method string, times int, retryAfter time.Duration) {
	s.addFaults(method, times, fault{retryAfter: retryAfter})
}

// FailNext makes the next `times` calls of a Web API method answer
// {"ok":false,"error":code}, e.g. FailNext("chat.postMessage", 1,
// "fatal_error") or FailNext("apps.connections.open", 3, "internal_error").
func (s *Server) FailNext(method string, times int, code string) {
	if code == "" {
		panic("slackfake: FailNext: empty error code")
	}
	s.addFaults(method, times, fault{code: code})
}

// FailHTTP makes the next `times` calls of a Web API method answer the HTTP
// status (500, 502, 503, ...) with a plain-text body, as Slack's edge does
// when the API behind it is down.
func (s *Server) FailHTTP(method string, times, status int) {
	if status < 400 {
		panic("slackfake: FailHTTP: not an error status")
	}
	s.addFaults(method, times, fault{status: status})
}

func (s *Server) addFaults(method string, times int, f fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range times {
		s.faults[method] = append(s.faults[method], f)
	}
}

// Disconnect sends {"type":"disconnect","reason":reason} to every live
// Socket Mode connection, as Slack does before it refreshes one
// ("refresh_requested", "warning") or when the app's socket is turned off
// ("link_disabled"). Those connections get no new envelopes; what they have
// in flight can still be acked on them. A client that does not close such a
// connection itself has it dropped after the disconnect grace period.
func (s *Server) Disconnect(reason string) {
	frame, _ := json.Marshal(wireDisconnect{Type: "disconnect", Reason: reason, DebugInfo: wireDebugInfo{Host: s.debugHost()}})
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.sm.conns {
		if !c.draining {
			c.draining = true
			c.ctl = append(c.ctl, ctlFrame{data: frame, disconnect: true})
		}
	}
	s.notifyLocked()
}

// DropSockets closes every live Socket Mode connection abruptly, without a
// close frame, as a network failure would. Unacked envelopes are queued
// again and redelivered, with retry_attempt+1, on the next connection.
func (s *Server) DropSockets() {
	s.mu.Lock()
	conns := s.sm.liveConns()
	s.mu.Unlock()
	for _, c := range conns {
		c.drop()
	}
}

// SetAckTimeout changes how long an envelope may stay unacknowledged before
// it is redelivered (retry_reason "timeout"). It applies at once, to the
// envelopes already in flight too.
func (s *Server) SetAckTimeout(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sm.ackTimeout = d
	for _, e := range s.sm.inflight {
		e.deadline = e.sentAt.Add(d)
	}
	s.notifyLocked()
}
