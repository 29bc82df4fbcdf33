package smsfake

// Fault is an error the fake answers a create-message request with.
type Fault struct {
	// Status is the HTTP status (e.g. 429, 503, 400).
	Status int
	// Code is Twilio's error code in the body (e.g. 20429, 21610), or 0.
	Code int
	// Message is the body's message.
	Message string
	// RetryAfter is the Retry-After header, if any (seconds).
	RetryAfter string
	// Times is how many requests FailNext applies it to; 0 means 1.
	Times int
}

// Common faults.
var (
	// RateLimited is Twilio's 429 with a one-second Retry-After.
	RateLimited = Fault{Status: 429, Code: 20429, Message: "Too Many Requests", RetryAfter: "1"}
	// Unavailable is a 503 without a Twilio code.
	Unavailable = Fault{Status: 503, Message: "Service Unavailable"}
	// OptedOut is error 21610: the recipient texted STOP.
	OptedOut = Fault{Status: 400, Code: 21610, Message: "Attempt to send to unsubscribed recipient"}
	// InvalidNumber is error 21211: the 'To' number is invalid.
	InvalidNumber = Fault{Status: 400, Code: 21211, Message: "Invalid 'To' Phone Number"}
)

// FailNext answers the next f.Times create-message requests with f.
func (s *Server) FailNext(f Fault) {
	if f.Times <= 0 {
		f.Times = 1
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, f)
}

// FailTo answers every message to number with f until ClearFaults.
func (s *Server) FailTo(number string, f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failTo[number] = f
}

// FailDelivery accepts messages to number but reports them "sent" then
// "undelivered" with the error code (e.g. 30007, carrier filtering).
func (s *Server) FailDelivery(number string, code int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.undeliver[number] = code
}

// ClearFaults removes every fault.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
	clear(s.failTo)
	clear(s.undeliver)
}

// nextFault returns the fault for a message to number, consuming one use
// of a FailNext fault.
func (s *Server) nextFault(to string) (Fault, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.faults) > 0 {
		f := s.faults[0]
		s.faults[0].Times--
		if s.faults[0].Times == 0 {
			s.faults = s.faults[1:]
		}
		return f, true
	}
	f, ok := s.failTo[to]
	return f, ok
}
