package sms

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/xgate-im/xgate/bridge"
	"github.com/xgate-im/xgate/kit/ratelimit"
	"github.com/xgate-im/xgate/transports/sms/kannel"
	"github.com/xgate-im/xgate/transports/sms/phone"
	"github.com/xgate-im/xgate/transports/sms/provider"
	"github.com/xgate-im/xgate/transports/sms/segment"
	"github.com/xgate-im/xgate/transports/sms/twilio"
)

// Account modes, in AccountData.Settings["mode"].
const (
	modeAssigned = "assigned"
	modeOwn      = "own"
)

// Transport is one SMS gateway instance. See the package doc.
type Transport struct {
	s       settings
	log     *slog.Logger
	client  *http.Client
	shared  provider.Provider // nil without Config.Provider
	fan     *bridge.Fanout
	limit   *ratelimit.Limiter[phone.Number]
	reports *tracker
	// base is the context of the Fanout's work; Run cancels it. stopping
	// is set under smu's write lock when Run ends, so that no Dispatch
	// starts once Run waits for the Fanout.
	base     context.Context
	cancel   context.CancelFunc
	smu      sync.RWMutex
	stopping bool

	hmu   sync.Mutex
	hooks map[string]http.Handler // own-credential accounts' webhooks, by hook

	mediaKey []byte
	// onNotReady, for tests, is called each time an event waits for its
	// account's login.
	onNotReady func()

	// host is the gateway's records and services (UseHost); nil outside
	// a gateway.
	host *bridge.Host
	// numbers are the assigned numbers: the configuration's and those
	// assigned by command (admin.go).
	amu     sync.RWMutex
	numbers map[phone.Number]assigned
	// noticed: when the admins were last told about an unassigned number.
	nmu     sync.Mutex
	noticed map[phone.Number]time.Time
	// wg: the goroutines passing kept texts on (Login).
	wg sync.WaitGroup

	unassigned atomic.Int64
	forged     atomic.Int64
	sent       atomic.Int64
	segments   atomic.Int64
	failed     atomic.Int64
	inbound    atomic.Int64
}

var (
	_ bridge.Transport       = (*Transport)(nil)
	_ bridge.Runner          = (*Transport)(nil)
	_ bridge.ContactResolver = (*Transport)(nil)
	_ bridge.WebhookReceiver = (*Transport)(nil)
	_ bridge.FanoutProvider  = (*Transport)(nil)
	_ bridge.StatsReporter   = (*Transport)(nil)
	_ bridge.HostUser        = (*Transport)(nil)
	_ bridge.AdminCommander  = (*Transport)(nil)
)

// New returns a Transport for cfg. client is used for provider requests
// (nil: a default client). It does no I/O.
func New(cfg Config, log *slog.Logger, client *http.Client) (*Transport, error) {
	s, err := cfg.settings()
	if err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if client == nil {
		client = &http.Client{}
	}
	t := &Transport{
		s: s, log: log, client: client,
		fan:     bridge.NewFanout(log, nil),
		limit:   ratelimit.New[phone.Number](ratelimit.Rate{PerSecond: s.sendRate, Burst: s.sendBurst}, 10000),
		reports: newTracker(),
		hooks:   map[string]http.Handler{},
		numbers: maps.Clone(s.numbers), noticed: map[phone.Number]time.Time{},
	}
	t.base, t.cancel = context.WithCancel(context.Background())
	t.mediaKey = mediaKey(s.hookToken)
	public := s.publicURL + "/p/" + s.hookToken
	switch s.kind {
	case KindKannel:
		t.shared, err = kannel.New(kannel.Config{
			SendSMSURL: s.kannel.sendURL, Username: s.kannel.username, Password: s.kannel.password,
			SMSC: s.kannel.smsc, PublicURL: public, Secret: s.kannel.secret,
			AllowedSources: s.kannel.allowed, MaxParts: s.kannel.maxParts,
		}, client)
	case KindTwilio:
		t.shared, err = twilio.New(twilio.Config{
			AccountSID: s.twilio.accountSID, AuthToken: s.twilio.authToken, BaseURL: s.twilioBase,
			PublicURL: public, MessagingServiceSID: s.twilio.serviceSID,
		}, client)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	return t, nil
}

// Run keeps the transport's background work (events being handled) going
// until ctx ends, then waits for it.
func (t *Transport) Run(ctx context.Context) error {
	prune := time.NewTicker(time.Hour)
	defer prune.Stop()
	for done := false; !done; {
		select {
		case <-ctx.Done():
			done = true
		case <-prune.C:
			t.reports.pruneStored()
		}
	}
	t.cancel() // first: a Dispatch blocked on a full queue returns
	t.smu.Lock()
	t.stopping = true
	t.smu.Unlock()
	t.fan.Wait()
	t.wg.Wait()
	return nil
}

// fanDispatch hands an event to the Fanout unless the transport stopped.
func (t *Transport) fanDispatch(in bridge.Inbound, ack func()) error {
	t.smu.RLock()
	defer t.smu.RUnlock()
	if t.stopping {
		return bridge.ErrShuttingDown
	}
	t.fan.Dispatch(t.base, in, ack)
	return nil
}

// Fanout returns the transport's Fanout (bridge.FanoutProvider).
func (t *Transport) Fanout() *bridge.Fanout { return t.fan }

// Stats are the transport's own counters.
type Stats struct {
	// Sent counts texts the providers accepted, and Segments the SMS
	// parts they took.
	Sent, Segments int64
	// Failed counts texts refused for good or reported undelivered.
	Failed int64
	// Inbound counts texts from phones passed on to their users.
	Inbound int64
	// Unassigned counts texts to numbers no account has.
	Unassigned int64
	// Forged counts webhook requests refused (403) or about numbers their
	// provider does not serve.
	Forged int64
}

// Stats returns the counters.
func (t *Transport) Stats() Stats {
	return Stats{
		Sent: t.sent.Load(), Segments: t.segments.Load(), Failed: t.failed.Load(), Inbound: t.inbound.Load(),
		Unassigned: t.unassigned.Load(), Forged: t.forged.Load(),
	}
}

// TransportStats returns the counters for /metrics
// (bridge.StatsReporter).
func (t *Transport) TransportStats() map[string]int64 {
	s := t.Stats()
	return map[string]int64{
		"sms_sent": s.Sent, "sms_segments": s.Segments, "sms_failed": s.Failed, "sms_inbound": s.Inbound,
		"sms_unassigned": s.Unassigned, "sms_webhook_rejects": s.Forged,
	}
}

// Info describes the network.
func (t *Transport) Info() bridge.Info {
	// Every provider reports delivery (Twilio status callbacks, Kannel
	// dlr-url): receipts wait for the report.
	caps := bridge.Capabilities{DeliveryReports: true}
	if t.shared != nil {
		pc := t.shared.Capabilities()
		caps.Attachments = pc.MMS
		caps.MaxMessageLength = maxLength(pc)
	} else {
		caps.Attachments = true
		caps.MaxMessageLength = twilio.MaxBody
	}
	return bridge.Info{
		Network:       "sms",
		Name:          "SMS",
		Description:   "Text messages to and from phone numbers",
		Capabilities:  caps,
		Registration:  t.form(),
		ContactPrompt: "Phone number",
		ContactDesc: "Enter a phone number, in international format (+1 555 123 4567) or as dialled in " +
			t.s.norm.Region() + ", or a short code.",
	}
}

// maxLength is the longest text, in characters, one Send carries whole:
// a provider's body limit, or as many UCS-2 parts as it concatenates
// (the transport cuts further when a text needs more, e.g. many emoji).
func maxLength(pc provider.Capabilities) int {
	n := 0
	if pc.MaxSegments > 0 {
		n = pc.MaxSegments * segment.UCS2Part
		if pc.MaxSegments == 1 {
			n = segment.UCS2Single
		}
	}
	if pc.MaxBody > 0 && (n == 0 || pc.MaxBody < n) {
		n = pc.MaxBody
	}
	if !pc.Concatenates && (n == 0 || n > segment.UCS2Single) {
		n = segment.UCS2Single
	}
	return n
}

// form is the registration form: users' own credentials when allowed.
func (t *Transport) form() bridge.RegistrationForm {
	if !t.s.userCreds {
		return bridge.RegistrationForm{
			Title:        "SMS",
			Instructions: "Phone numbers on this gateway are assigned by its administrator: ask them for one. Your number is ready when you see this gateway online.",
		}
	}
	return bridge.RegistrationForm{
		Title: "SMS with your own Twilio account",
		Instructions: "Enter your Twilio (or compatible) account and the number to text from. " +
			"Then set the number's incoming-message webhook to the address shown as your account name.",
		Fields: []bridge.Field{
			{Var: "number", Label: "Your number", Type: bridge.FieldText, Required: true},
			{Var: "account_sid", Label: "Account SID", Desc: "AC followed by 32 hex digits", Type: bridge.FieldText, Required: true},
			{Var: "auth_token", Label: "Auth token", Type: bridge.FieldPassword, Required: true, Secret: true},
			{Var: "contacts", Label: "Contacts", Desc: "Numbers to add to your roster now, separated by commas (optional); whoever texts you is added too", Type: bridge.FieldText},
		},
	}
}

// Register checks a user's own credentials with the provider (they are
// accepted and the number is the account's) and returns their account.
// Assigned numbers are not registered: cmd/xgate provisions them
// (Assignments).
func (t *Transport) Register(ctx context.Context, values map[string]string) (bridge.AccountData, error) {
	if !t.s.userCreds {
		return bridge.AccountData{}, fmt.Errorf("%w: numbers on this gateway are assigned by its administrator", bridge.ErrInvalidInput)
	}
	num, err := t.s.norm.Normalize(values["number"])
	if err != nil {
		return bridge.AccountData{}, fmt.Errorf("%w: number: %v", bridge.ErrInvalidInput, err)
	}
	if _, ok := t.assignment(num); ok {
		return bridge.AccountData{}, fmt.Errorf("%w: %s is assigned by the administrator", bridge.ErrInvalidInput, num)
	}
	sid, tok := strings.TrimSpace(values["account_sid"]), strings.TrimSpace(values["auth_token"])
	hook := rand.Text()
	p, err := t.ownProvider(sid, tok, hook)
	if err != nil {
		return bridge.AccountData{}, fmt.Errorf("%w: %v", bridge.ErrInvalidInput, err)
	}
	if err := p.CheckNumber(ctx, num); err != nil {
		return bridge.AccountData{}, credentialsError(num, sid, err)
	}
	contacts, err := t.parseContacts(values["contacts"])
	if err != nil {
		return bridge.AccountData{}, err
	}
	return bridge.AccountData{
		ID:   ownAccountID(num, hook),
		Name: fmt.Sprintf("%s (webhook %s/a/%s/inbound)", num, t.s.publicURL, hook),
		Settings: map[string]string{
			"mode": modeOwn, "number": num.String(), "account_sid": sid, "hook": hook, "contacts": contacts,
		},
		Secrets: map[string]string{"auth_token": tok},
	}, nil
}

// credentialsError says why the provider refused a user's own account at
// registration.
func credentialsError(num phone.Number, sid string, err error) error {
	if errors.Is(err, twilio.ErrNotOwned) {
		return fmt.Errorf("%w: %s is not a number of account %s at the provider: enter one of that account's numbers", bridge.ErrInvalidInput, num, sid)
	}
	pe, ok := providerError(err)
	switch {
	case ok && pe.Reason == provider.ReasonUnauthorized:
		return fmt.Errorf("%w: the provider refused account %s with this auth token: check both in its console", bridge.ErrAuth, sid)
	case ok && (pe.Kind == provider.Temporary || pe.Kind == provider.RateLimited):
		return fmt.Errorf("%w: the provider could not check your account now, try again later: %s", bridge.ErrTemporary, reasonText(pe))
	case ok:
		return fmt.Errorf("%w: the provider refused to check your account: %s", bridge.ErrInvalidInput, reasonText(pe))
	}
	return fmt.Errorf("%w: the provider could not check your account now, try again later: %v", bridge.ErrTemporary, err)
}

// ownAccountID names a user's own account: its number and its hook, so
// that two users who register the same number (only one of whom can own it
// at the provider) never share an account, and each one's webhooks reach
// only their own session.
func ownAccountID(num phone.Number, hook string) bridge.AccountID {
	return bridge.AccountID(num.String() + "~" + hook)
}

// parseContacts normalizes a comma-separated list of numbers.
func (t *Transport) parseContacts(raw string) (string, error) {
	var out []string
	for f := range strings.SplitSeq(raw, ",") {
		if strings.TrimSpace(f) == "" {
			continue
		}
		n, err := t.s.norm.Normalize(f)
		if err != nil {
			return "", fmt.Errorf("%w: contacts: %v", bridge.ErrInvalidInput, err)
		}
		out = append(out, n.String())
	}
	return strings.Join(out, ","), nil
}

// ownProvider is the provider of a user's own Twilio-compatible account.
func (t *Transport) ownProvider(sid, token, hook string) (*twilio.Provider, error) {
	return twilio.New(twilio.Config{
		AccountSID: sid, AuthToken: token, BaseURL: t.s.twilioBase,
		PublicURL: t.s.publicURL + "/a/" + hook,
	}, t.client)
}

// Assignment is an admin-assigned number as the account of its user.
type Assignment struct {
	// User is the owner's bare JID.
	User string
	// Account is what Register would have returned for it.
	Account bridge.AccountData
}

// Assignments lists the numbers the configuration assigns, as accounts,
// for cmd/xgate to provision (bridge.Provision) when the gateway starts.
// Those assigned by command are provisioned by the command.
func (t *Transport) Assignments() []Assignment {
	out := make([]Assignment, 0, len(t.s.numbers))
	for num, a := range t.s.numbers {
		out = append(out, Assignment{User: a.user, Account: t.assignedAccount(num)})
	}
	return out
}

// ContactLocalpart is the number itself: "+15551234567", or a short
// code's digits.
func (t *Transport) ContactLocalpart(id bridge.UserID) string {
	return phone.Number(id).Localpart()
}

// ResolveContact turns a typed number into its contact (XEP-0100). An
// impossible number is refused with bridge.ErrInvalidInput and the reason.
func (t *Transport) ResolveContact(_ context.Context, input string) (bridge.Contact, error) {
	n, err := t.s.norm.Normalize(input)
	if err != nil {
		return bridge.Contact{}, fmt.Errorf("%w: %v", bridge.ErrInvalidInput, err)
	}
	return bridge.Contact{ID: bridge.UserID(n), Name: n.String()}, nil
}

// Login starts the session of an account.
func (t *Transport) Login(_ context.Context, acct bridge.AccountData, sink bridge.Sink) (bridge.Session, error) {
	num, err := phone.ParseLocalpart(acct.Settings["number"])
	want := bridge.AccountID(num)
	if acct.Settings["mode"] == modeOwn {
		want = ownAccountID(num, acct.Settings["hook"])
	}
	if err != nil || want != acct.ID {
		return nil, fmt.Errorf("%w: stored account %s has no valid number", bridge.ErrAuth, acct.ID)
	}
	s := &session{t: t, acct: acct.ID, number: num, sink: sink, seen: map[phone.Number]bool{}}
	switch acct.Settings["mode"] {
	case modeAssigned:
		a, ok := t.assignment(num)
		if !ok || t.shared == nil {
			return nil, fmt.Errorf("%w: %s is no longer assigned on this gateway", bridge.ErrAuth, num)
		}
		if acct.Settings["user"] != a.user {
			return nil, fmt.Errorf("%w: %s is no longer assigned to this user", bridge.ErrAuth, num)
		}
		s.prov, s.contacts = t.shared, a.contacts
	case modeOwn:
		if !t.s.userCreds {
			return nil, fmt.Errorf("%w: this gateway no longer accepts users' own provider accounts", bridge.ErrAuth)
		}
		p, err := t.ownProvider(acct.Settings["account_sid"], acct.Secrets["auth_token"], acct.Settings["hook"])
		if err != nil {
			return nil, fmt.Errorf("%w: %v", bridge.ErrAuth, err)
		}
		s.prov, s.hook = p, acct.Settings["hook"]
		for c := range strings.SplitSeq(acct.Settings["contacts"], ",") {
			if n, err := phone.ParseLocalpart(c); err == nil {
				s.contacts = append(s.contacts, n)
			}
		}
		h := t.counted(p.Webhook(fromProvider{t: t, only: acct.ID, number: num}))
		t.hmu.Lock()
		t.hooks[s.hook] = h
		t.hmu.Unlock()
	default:
		return nil, fmt.Errorf("%w: stored account %s has an unknown mode", bridge.ErrAuth, acct.ID)
	}
	s.caps = s.prov.Capabilities()
	t.fan.Attach(acct.ID, s)
	if acct.Settings["mode"] == modeAssigned {
		t.smu.RLock()
		if !t.stopping {
			t.wg.Go(func() { t.passKept(t.base, num) })
		}
		t.smu.RUnlock()
	}
	return s, nil
}

// MountWebhooks mounts the shared provider's webhooks under
// /p/TOKEN/ and users' own accounts' under /a/HOOK/.
func (t *Transport) MountWebhooks(m bridge.WebhookMux) {
	if t.shared != nil {
		prefix := "/p/" + t.s.hookToken
		m.Handle(prefix+"/", http.StripPrefix(prefix, t.counted(t.shared.Webhook(fromProvider{t: t}))))
	}
	if t.s.userCreds {
		m.Handle("/a/", http.HandlerFunc(t.serveOwn))
	}
	m.Handle("GET /m/", http.HandlerFunc(t.serveMedia))
}

// serveOwn passes a request under /a/HOOK/ to that account's handler.
func (t *Transport) serveOwn(w http.ResponseWriter, r *http.Request) {
	hook, _, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/a/"), "/")
	t.hmu.Lock()
	h := t.hooks[hook]
	t.hmu.Unlock()
	if h == nil || hook == "" {
		http.NotFound(w, r)
		return
	}
	http.StripPrefix("/a/"+hook, h).ServeHTTP(w, r)
}

// counted counts and logs the requests a provider's handler refused as
// forged (403).
func (t *Transport) counted(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &statusWriter{ResponseWriter: w}
		h.ServeHTTP(sw, r)
		if sw.status == http.StatusForbidden {
			t.forged.Add(1)
			t.log.Warn("webhook refused: bad signature, secret or source", "remote", r.RemoteAddr, "path", r.URL.Path)
		}
	})
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

// providerError is errors.As for a provider error.
func providerError(err error) (*provider.Error, bool) {
	var pe *provider.Error
	ok := errors.As(err, &pe)
	return pe, ok
}
