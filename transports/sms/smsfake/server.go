package smsfake

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/xgate-im/xgate/transports/sms/segment"
)

// Options configure a Server.
type Options struct {
	// AccountSID and AuthToken are the one account the fake knows. Empty
	// AccountSID means a fixed test SID; empty AuthToken a fixed token.
	AccountSID string
	// AuthToken authenticates requests and signs webhooks.
	AuthToken string
	// InboundURL is the number's incoming-message webhook (SendInbound).
	InboundURL string
	// Statuses are the status callbacks sent after a message is created,
	// in order; nil means "sent", "delivered"; an empty non-nil slice
	// sends none.
	Statuses []string
	// AutoReply, when set, makes numbers answer: for each message
	// created, after its status callbacks, the fake sends the returned
	// text (when ok) as an inbound message from the recipient to the
	// sender, through InboundURL. The demo uses it.
	AutoReply func(m Message) (reply string, ok bool)
	// Numbers are the account's own phone numbers, as listed by the
	// IncomingPhoneNumbers resource. Nil: the account owns every number
	// it is asked about.
	Numbers []string
	// Contract, when set, checks every API request (see Violations).
	Contract *Contract
	// Client sends webhooks; nil means a client with a 10 s timeout.
	Client *http.Client
}

// Default credentials when Options leave them empty.
const (
	DefaultAccountSID = "AC0123456789abcdef0123456789abcdef"
	DefaultAuthToken  = "smsfake-auth-token-0123456789"
)

// Message is a message the fake recorded, sent by a client.
type Message struct {
	SID            string
	From, To, Body string
	MediaURLs      []string
	// MessagingServiceSID is the Messaging Service the client named, if any.
	MessagingServiceSID string
	StatusCallback      string
	Status              string
	ErrorCode           int
	Segments            int
	Created             time.Time
}

// Callback is one webhook the fake sent, with the answer it got.
type Callback struct {
	URL    string
	Form   url.Values
	Status int   // HTTP status of the answer, 0 on a transport error
	Err    error // transport error
}

// Server is a running fake.
type Server struct {
	opts     Options
	listener net.Listener
	http     *http.Server
	queue    chan Callback
	done     chan struct{}
	wg       sync.WaitGroup

	mu         sync.Mutex
	changed    chan struct{} // closed and replaced on every new message
	messages   []Message
	bySID      map[string]int
	media      map[string]mediaFile
	callbacks  []Callback
	violations []string
	faults     []Fault
	failTo     map[string]Fault
	undeliver  map[string]int
	closed     bool
}

type mediaFile struct {
	contentType string
	data        []byte
}

// Start listens on a loopback port and serves.
func Start(opts Options) (*Server, error) {
	if opts.AccountSID == "" {
		opts.AccountSID = DefaultAccountSID
	}
	if opts.AuthToken == "" {
		opts.AuthToken = DefaultAuthToken
	}
	if opts.Statuses == nil {
		opts.Statuses = []string{"sent", "delivered"}
	}
	if opts.Client == nil {
		opts.Client = &http.Client{Timeout: 10 * time.Second}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("smsfake: listen: %w", err)
	}
	s := &Server{
		opts: opts, listener: l, queue: make(chan Callback, 4096), done: make(chan struct{}),
		changed: make(chan struct{}), bySID: map[string]int{}, media: map[string]mediaFile{},
		failTo: map[string]Fault{}, undeliver: map[string]int{},
	}
	s.http = &http.Server{Handler: s.routes(), ReadHeaderTimeout: 10 * time.Second}
	s.wg.Add(2)
	go func() {
		defer s.wg.Done()
		if err := s.http.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.violation("smsfake: serve: " + err.Error())
		}
	}()
	go s.sendCallbacks()
	return s, nil
}

// URL is the fake's base URL, to use as the client's API base URL.
func (s *Server) URL() string { return "http://" + s.listener.Addr().String() }

// AccountSID returns the account the fake serves.
func (s *Server) AccountSID() string { return s.opts.AccountSID }

// AuthToken returns the account's token.
func (s *Server) AuthToken() string { return s.opts.AuthToken }

// Close stops serving and sending webhooks, and waits for both.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := s.http.Shutdown(ctx)
	close(s.done)
	s.wg.Wait()
	return err
}

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	prefix := "/2010-04-01/Accounts/{AccountSid}/Messages"
	mux.HandleFunc("POST "+prefix+".json", s.api(s.createMessage, true))
	mux.HandleFunc("GET "+prefix+"/{Sid}", s.api(s.fetchMessage, true))
	// Media URLs (without ".json") serve the raw file: not a JSON API
	// call, so the contract does not describe them.
	mux.HandleFunc("GET "+prefix+"/{MessageSid}/Media/{Sid}", s.api(s.fetchMedia, false))
	mux.HandleFunc("GET /2010-04-01/Accounts/{AccountSid}/IncomingPhoneNumbers.json", s.api(s.listNumbers, true))
	mux.HandleFunc("GET /fake/messages", s.inspectMessages)
	mux.HandleFunc("POST /fake/inbound", s.inspectInbound)
	return mux
}

// api wraps an API handler with the contract check (when checked),
// authentication and the account check.
func (s *Server) api(h func(http.ResponseWriter, *http.Request), checked bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
		if err := r.ParseForm(); err != nil {
			writeError(w, http.StatusBadRequest, 0, "unreadable form: "+err.Error(), "")
			return
		}
		if checked && s.opts.Contract != nil {
			if bad := s.opts.Contract.Check(r, r.PostForm); len(bad) > 0 {
				for _, b := range bad {
					s.violation(b)
				}
				writeError(w, http.StatusBadRequest, 0, "request violates the API description: "+strings.Join(bad, "; "), "")
				return
			}
		}
		user, pass, ok := r.BasicAuth()
		if !ok || user != s.opts.AccountSID || pass != s.opts.AuthToken {
			writeError(w, http.StatusUnauthorized, 20003, "Authenticate", "")
			return
		}
		if r.PathValue("AccountSid") != s.opts.AccountSID {
			writeError(w, http.StatusNotFound, 20404, "The requested resource was not found", "")
			return
		}
		h(w, r)
	}
}

func (s *Server) createMessage(w http.ResponseWriter, r *http.Request) {
	f := r.PostForm
	if f.Get("To") == "" {
		writeError(w, http.StatusBadRequest, 21604, "A 'To' phone number is required.", "")
		return
	}
	if f.Get("From") == "" && f.Get("MessagingServiceSid") == "" {
		writeError(w, http.StatusBadRequest, 21603, "A 'From' phone number is required.", "")
		return
	}
	if f.Get("Body") == "" && len(f["MediaUrl"]) == 0 {
		writeError(w, http.StatusBadRequest, 21602, "Message body is required.", "")
		return
	}
	if len([]rune(f.Get("Body"))) > 1600 {
		writeError(w, http.StatusBadRequest, 21617, "The concatenated message body exceeds the 1600 character limit.", "")
		return
	}
	if fault, ok := s.nextFault(f.Get("To")); ok {
		writeError(w, fault.Status, fault.Code, fault.Message, fault.RetryAfter)
		return
	}
	prefix := "SM"
	if len(f["MediaUrl"]) > 0 {
		prefix = "MM"
	}
	m := Message{
		SID: newSID(prefix), From: f.Get("From"), To: f.Get("To"), Body: f.Get("Body"),
		MediaURLs: f["MediaUrl"], MessagingServiceSID: f.Get("MessagingServiceSid"),
		StatusCallback: f.Get("StatusCallback"), Status: "queued",
		Segments: segment.Segments(f.Get("Body")), Created: time.Now().UTC(),
	}
	s.mu.Lock()
	code, fails := s.undeliver[m.To]
	s.bySID[m.SID] = len(s.messages)
	s.messages = append(s.messages, m)
	close(s.changed)
	s.changed = make(chan struct{})
	s.mu.Unlock()
	// Answer first, as Twilio does; callbacks follow (a client may still
	// see one before it has read the answer).
	writeJSON(w, http.StatusCreated, s.resource(m))
	if fl, ok := w.(http.Flusher); ok {
		fl.Flush()
	}
	if m.StatusCallback != "" {
		statuses := s.opts.Statuses
		if fails {
			statuses = []string{"sent", "undelivered"}
		}
		for _, st := range statuses {
			form := url.Values{
				"MessageSid": {m.SID}, "SmsSid": {m.SID}, "AccountSid": {s.opts.AccountSID},
				"From": {m.From}, "To": {m.To}, "MessageStatus": {st}, "SmsStatus": {st},
				"ApiVersion": {"2010-04-01"},
			}
			if st == "undelivered" {
				form.Set("ErrorCode", fmt.Sprint(code))
			}
			select {
			case s.queue <- Callback{URL: m.StatusCallback, Form: form}:
			case <-s.done:
				return
			}
		}
	}
	if s.opts.AutoReply != nil && s.opts.InboundURL != "" {
		if reply, ok := s.opts.AutoReply(m); ok {
			form := s.inboundForm(Inbound{From: m.To, To: m.From, Body: reply})
			select {
			case s.queue <- Callback{URL: s.opts.InboundURL, Form: form}:
			case <-s.done:
				return
			}
		}
	}
}

func (s *Server) fetchMessage(w http.ResponseWriter, r *http.Request) {
	sid := strings.TrimSuffix(r.PathValue("Sid"), ".json")
	s.mu.Lock()
	i, ok := s.bySID[sid]
	var m Message
	if ok {
		m = s.messages[i]
	}
	s.mu.Unlock()
	if !ok {
		writeError(w, http.StatusNotFound, 20404, "The requested resource was not found", "")
		return
	}
	writeJSON(w, http.StatusOK, s.resource(m))
}

func (s *Server) fetchMedia(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	f, ok := s.media[r.PathValue("MessageSid")+"/"+r.PathValue("Sid")]
	s.mu.Unlock()
	if !ok {
		writeError(w, http.StatusNotFound, 20404, "The requested resource was not found", "")
		return
	}
	w.Header().Set("Content-Type", f.contentType)
	_, _ = w.Write(f.data)
}

// listNumbers lists the account's phone numbers (one page), filtered by
// the PhoneNumber query parameter when given.
func (s *Server) listNumbers(w http.ResponseWriter, r *http.Request) {
	want := r.URL.Query().Get("PhoneNumber")
	owned := s.opts.Numbers
	if owned == nil && want != "" {
		owned = []string{want}
	}
	uri := "/2010-04-01/Accounts/" + s.opts.AccountSID + "/IncomingPhoneNumbers.json"
	items := []map[string]any{}
	for i, n := range owned {
		if want != "" && n != want {
			continue
		}
		items = append(items, map[string]any{
			"account_sid": s.opts.AccountSID, "phone_number": n, "friendly_name": n,
			"sid": fmt.Sprintf("PN%032x", i+1), "capabilities": map[string]bool{"sms": true, "mms": true},
		})
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"incoming_phone_numbers": items, "page": 0, "page_size": 50, "start": 0, "end": max(len(items)-1, 0),
		"uri": uri, "first_page_uri": uri + "?Page=0&PageSize=50", "next_page_uri": nil, "previous_page_uri": nil,
	})
}

// resource renders m as Twilio's Message resource.
func (s *Server) resource(m Message) map[string]any {
	uri := "/2010-04-01/Accounts/" + s.opts.AccountSID + "/Messages/" + m.SID
	date := m.Created.Format(time.RFC1123Z)
	var errCode any
	if m.ErrorCode != 0 {
		errCode = m.ErrorCode
	}
	return map[string]any{
		"account_sid": s.opts.AccountSID, "api_version": "2010-04-01", "body": m.Body,
		"date_created": date, "date_updated": date, "date_sent": nil, "direction": "outbound-api",
		"error_code": errCode, "error_message": nil, "from": m.From, "to": m.To,
		"messaging_service_sid": nilIfEmpty(m.MessagingServiceSID), "num_media": fmt.Sprint(len(m.MediaURLs)),
		"num_segments": fmt.Sprint(m.Segments), "price": nil, "price_unit": "USD",
		"sid": m.SID, "status": m.Status, "uri": uri + ".json",
		"subresource_uris": map[string]string{"media": uri + "/Media.json"},
	}
}

func (s *Server) violation(v string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.violations = append(s.violations, v)
}

// Violations returns every departure from the API description seen so
// far (empty without a Contract).
func (s *Server) Violations() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.violations...)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// writeError answers like Twilio's API errors.
func writeError(w http.ResponseWriter, status, code int, message, retryAfter string) {
	if retryAfter != "" {
		w.Header().Set("Retry-After", retryAfter)
	}
	body := map[string]any{"status": status, "message": message}
	if code != 0 {
		body["code"] = code
		body["more_info"] = fmt.Sprintf("https://www.twilio.com/docs/errors/%d", code)
	}
	writeJSON(w, status, body)
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func newSID(prefix string) string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}
