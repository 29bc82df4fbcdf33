package bridge

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/xgate-im/xgate/store"
	"github.com/xgate-im/xgate/xmpp"
	"github.com/xgate-im/xgate/xmpp/jid"
)

// Config configures one Gateway: one transport instance attached to the
// host server as one component.
type Config struct {
	// Name is the instance name ("slack", "slack-work"): the key of its
	// data in the store. It must never change once users registered.
	Name string
	// Component is the XEP-0114 connection (address, domain, secret, ...).
	Component xmpp.ComponentConfig
	// Access says who may register and who administers the gateway.
	Access Access
	// MessageRetention is how long message-ID mappings (for edits,
	// replies, reactions) and the record of delivered remote messages (the
	// dedupe window) are kept. Default 30 days.
	MessageRetention time.Duration
	// DeliveryTimeout is how long a message to the network is retried
	// before it is bounced to its sender, counted from when it was queued
	// or from the start of the run, whichever is later (time stopped does
	// not count). Default 24 hours.
	DeliveryTimeout time.Duration
	// RetryBase is the first delay after a transient failure towards the
	// network; it doubles with each failure up to 5 minutes. Default 1s.
	RetryBase time.Duration
	// HoldUnstored is the longest a message to the network waits in
	// memory, while its chat's queue is empty and it is being sent,
	// before it is stored anyway (0: 20 ms). It bounds what a crash can
	// lose beyond what XEP-0114 loses anyway (docs/reliability.md).
	HoldUnstored time.Duration
	// CompletionPeriod is the period at which the ID pairs of messages
	// sent to the network are committed, with their items' removal from
	// the queues, when the session can find what it sent (SentFinder):
	// one transaction for all that were sent in the period, rather than
	// one for every message or two (0: 10 ms). A receipt follows the
	// commit, so it comes up to this much later.
	CompletionPeriod time.Duration
	// Version is reported by XEP-0092.
	Version string
	// Backup, when set, writes an online backup for the admin command and
	// returns where it went. It is shared by all gateways of the process.
	Backup func(ctx context.Context) (path string, size int64, err error)
	// Webhooks is the process's HTTP handler for transports that receive
	// their network's events over HTTP (WebhookReceiver); such a transport
	// needs it. It is shared by all gateways of the process.
	Webhooks *Webhooks
	// AvatarClient, when set, fetches the pictures that networks give
	// with messages (MessageEvent.SenderAvatarURL) for their senders'
	// vCards. The default refuses loopback, private and link-local
	// addresses and takes at most 10 s.
	AvatarClient *http.Client
	// Community, when set, takes the stanzas of community bridging
	// (package bridge/community): those from the rooms it bridges go to
	// it instead of the gateway's own parts.
	Community CommunityHandler
	// Upload says where the files of incoming messages are re-hosted
	// (XEP-0363), for transports that are a FileSource.
	Upload UploadConfig
}

// CommunityHandler takes the stanzas of community bridging from a
// gateway's component. Claims is called for every stanza and must be
// cheap; HandleStanza is called on the dispatcher and must not block.
type CommunityHandler interface {
	Claims(from jid.JID) bool
	HandleStanza(ctx context.Context, s xmpp.Stanza)
}

func (c Config) withDefaults() Config {
	if c.MessageRetention <= 0 {
		c.MessageRetention = 30 * 24 * time.Hour
	}
	if c.DeliveryTimeout <= 0 {
		c.DeliveryTimeout = 24 * time.Hour
	}
	if c.HoldUnstored <= 0 {
		c.HoldUnstored = holdUnstored
	}
	if c.CompletionPeriod <= 0 {
		c.CompletionPeriod = gatherCompletions
	}
	if c.RetryBase <= 0 {
		c.RetryBase = time.Second
	}
	if c.Version == "" {
		c.Version = "dev"
	}
	return c
}

// Gateway bridges one transport instance and its component. Create it with
// New and start it with Run.
//
// It only assembles its parts, each with one job, and runs them:
//
//	router       routes every stanza from the host server to a part
//	toXMPP       sends stanzas to the host server, or keeps them in the outbox
//	toNetwork    per-chat ordered queues of the users' actions to the network
//	fromNetwork  turns the sessions' events into stanzas (stanzas.go converts)
//	accounts     registered accounts, logins, sessions
//	roster       rosters, subscriptions and presence
//	registrar    registration and commands
//	rooms        group chats as XEP-0045 rooms (transports with Groups)
type Gateway struct {
	cfg     Config
	tr      Transport
	info    Info
	db      *store.DB
	log     *slog.Logger
	comp    *xmpp.Component
	domain  jid.JID
	metrics *Metrics
	life    *lifetime

	deliv    *toXMPP
	toNet    *toNetwork
	fromNet  *fromNetwork
	accounts *accounts
	roster   *roster
	reg      *registrar
	router   *router
	// connLog decides which connection state changes are logged.
	connLog connLog
	// limiter holds back senders who are not allowed to use the gateway
	// when they send more than a person would (see senderLimits).
	limiter *xmpp.SenderLimiter
}

// lifetime is one run of a gateway: the context of its background work and
// the group that waits for it. ctx is set by Run before any part starts
// work and never changes during the run.
type lifetime struct {
	ctx context.Context
	wg  sync.WaitGroup
}

// running reports whether the run is on.
func (l *lifetime) running() bool { return l.ctx != nil && l.ctx.Err() == nil }

// New returns a Gateway. It does no I/O.
func New(cfg Config, tr Transport, db *store.DB, log *slog.Logger) (*Gateway, error) {
	cfg = cfg.withDefaults()
	if cfg.Name == "" {
		return nil, errors.New("bridge: gateway name is empty")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	info := tr.Info()
	g := &Gateway{
		cfg:     cfg,
		tr:      tr,
		info:    info,
		db:      db,
		log:     log.With("gateway", cfg.Name, "network", info.Network),
		metrics: newMetrics(),
		life:    &lifetime{},
		router:  &router{},
	}
	if err := g.cfg.Access.compile(); err != nil {
		return nil, err
	}
	if err := g.cfg.Upload.Validate(); err != nil {
		return nil, err
	}
	if r, ok := tr.(WebhookReceiver); ok {
		if cfg.Webhooks == nil {
			return nil, fmt.Errorf("bridge: %s: the %s transport receives webhooks: configure [webhooks] listen", cfg.Name, info.Name)
		}
		if err := cfg.Webhooks.mount(cfg.Name, r); err != nil {
			return nil, err
		}
	}
	ccfg := cfg.Component
	userOnState := ccfg.OnState
	ccfg.OnState = func(s xmpp.State, err error) {
		g.onState(s, err)
		if userOnState != nil {
			userOnState(s, err)
		}
	}
	g.limiter = xmpp.LimitSenders(xmpp.HandlerFunc(g.router.handleStanza), g.senderLimits())
	comp, err := xmpp.NewComponent(ccfg, g.limiter)
	if err != nil {
		return nil, fmt.Errorf("bridge: %s: %w", cfg.Name, err)
	}
	g.comp = comp
	g.domain = comp.Domain()
	g.assemble()
	if hu, ok := tr.(HostUser); ok {
		hu.UseHost(&Host{
			name: g.cfg.Name, records: g.db, admins: g.cfg.Access.Admins, from: g.domain,
			notices: g.deliv, assign: g.reg, log: g.log,
		})
	}
	return g, nil
}

// Sender classes of the inbound limiter.
const (
	senderAllowed  = "allowed"
	senderStranger = "stranger"
	// senderRoom is a bridged community room: every occupant's stanzas
	// come from its bare JID, so it has no per-sender share; the operator
	// chose to bridge it.
	senderRoom = "room"
)

// userRate is the rate of allowed users: Access.UserRate stanzas a second,
// in bursts of four times as many.
func userRate(a *Access) xmpp.Rate {
	return xmpp.Rate{PerSecond: a.UserRate, Burst: max(int(4*a.UserRate), 1)}
}

// strangerRate is how much a JID that may not use the gateway can ask of
// it (disco, registration forms, version): plenty for a person or a
// client's discovery, nothing for a flood.
var strangerRate = xmpp.Rate{PerSecond: 5, Burst: 30}

// limitAnswerRate bounds the resource-constraint answers to senders over
// their rate, all senders together: a flood is answered a little, so that
// a client that asks too fast learns why, and the rest is dropped, so that
// the flood does not come back through the host server doubled.
var limitAnswerRate = rate.Limit(20)

// senderLimits says how the inbound limiter treats senders: those the
// access rules allow are held to userRate (when Access.UserRate is set;
// xgate's configuration sets it by default), loose enough for any person
// (their messages are the gateway's work) and enough to keep one runaway
// client from taking the dispatcher from everyone else; anyone else is
// held to the strict strangerRate. Bridged community rooms (all their
// occupants behind one bare JID) are not limited. What exceeds a rate is answered
// resource-constraint (iq get/set, within limitAnswerRate) or dropped,
// and counted, without ever waiting for the send queue.
func (g *Gateway) senderLimits() xmpp.SenderLimits {
	access := &g.cfg.Access
	answers := rate.NewLimiter(limitAnswerRate, int(limitAnswerRate))
	rates := map[string]xmpp.Rate{senderStranger: strangerRate}
	if access.UserRate > 0 {
		rates[senderAllowed] = userRate(access)
	}
	return xmpp.SenderLimits{
		Classify: func(from jid.JID) string {
			if !from.IsZero() && g.cfg.Community != nil && g.cfg.Community.Claims(from) {
				return senderRoom
			}
			if !from.IsZero() && (access.Allowed(from) || access.IsAdmin(from)) {
				return senderAllowed
			}
			return senderStranger
		},
		Rates: rates,
		Reply: func(b []byte) error {
			if !answers.Allow() {
				return errTooManyAnswers
			}
			return g.comp.TrySendRaw(b)
		},
	}
}

// errTooManyAnswers refuses a resource-constraint answer beyond
// limitAnswerRate; the limiter then counts the stanza as dropped.
var errTooManyAnswers = errors.New("bridge: too many answers to senders over their rate")

// SenderLimits returns what the inbound limiter held back so far.
func (g *Gateway) SenderLimits() xmpp.SenderLimiterStats { return g.limiter.Stats() }

// assemble makes the parts and connects them.
func (g *Gateway) assemble() {
	name, access := g.cfg.Name, &g.cfg.Access
	g.deliv = newToXMPP(name, g.db, g.comp, g.domain, g.metrics, g.log)
	contacts := newContactMap(name, g.domain.Domain(), g.db, g.tr.ContactLocalpart)
	sending := newSendsInFlight()
	sent := &sentLog{db: g.db}
	g.accounts = &accounts{
		name: name, info: g.info, tr: g.tr, db: g.db, log: g.log, metrics: g.metrics,
		life: g.life, out: g.deliv, live: map[store.AccountKey]*account{}, byRemote: map[AccountID][]*account{},
		senders: newSenderCards(g.cfg.AvatarClient), photos: newPhotoHashes(name, g.db), loaded: make(chan struct{}),
	}
	g.roster = &roster{
		name: name, info: g.info, access: access, domain: g.domain, db: g.db, contacts: contacts,
		accounts: g.accounts, out: g.deliv, life: g.life, log: g.log,
		presence: map[UserID]Presence{}, userPresence: map[jid.JID]Presence{},
	}
	g.toNet = &toNetwork{
		name: name, caps: g.info.Capabilities, retryBase: g.cfg.RetryBase, deliveryTimeout: g.cfg.DeliveryTimeout, hold: g.cfg.HoldUnstored, gatherFor: g.cfg.CompletionPeriod,
		outbox: g.db, session: g.accounts.session, authFailed: g.accounts.authFailed, replies: g.deliv, sending: sending, sent: sent,
		metrics: g.metrics, log: g.log, life: g.life,
		ephemeralSlots: make(chan struct{}, 64), active: map[string]*queueWorker{},
		originBase:  strconv.FormatInt(time.Now().UnixNano(), 36),
		completions: completionGroup{now: make(chan struct{}, 1)},
	}
	g.fromNet = &fromNetwork{
		name: name, info: g.info, domain: g.domain, db: g.db, contacts: contacts,
		accounts: g.accounts, roster: g.roster, out: g.deliv, metrics: g.metrics,
		dedupe: newDedupe(g.db, g.metrics, g.log, g.info.Capabilities.StableTimes), sending: sending, sent: sent,
		files: newRehoster(newHTTPUploader(g.cfg.Upload, g.comp, g.domain), g.tr, g.cfg.Upload.MaxSize, g.metrics),
	}
	g.toNet.delivered = g.fromNet.dedupe.delivered
	if g.info.Capabilities.Groups {
		g.fromNet.rooms = &rooms{
			name: name, domain: g.domain, info: g.info, db: g.db, accounts: g.accounts, contacts: contacts,
			toNet: g.toNet, out: g.deliv, dedupe: g.fromNet.dedupe, sending: sending, metrics: g.metrics,
			life: g.life, log: g.log, access: access, sentFromXMPP: g.fromNet.sentFromXMPP, presenceOf: g.roster.presenceOf,
			slots: make(chan struct{}, 32), views: map[viewKey]*roomView{}, groups: map[store.AccountKey]groupList{},
		}
	}
	if fp, ok := g.tr.(FanoutProvider); ok {
		fp.Fanout().expect(g.accounts.expecting)
		fp.Fanout().parkIn(g.db, name)
	}
	g.reg = &registrar{
		cfg: g.cfg, info: g.info, tr: g.tr, db: g.db, domain: g.domain, accounts: g.accounts,
		roster: g.roster, contacts: contacts, out: g.deliv, metrics: g.metrics, log: g.log,
		adhocs: &adhocSessions{m: map[string]adhocSession{}}, extra: transportCommands(g.tr), started: time.Now(),
	}
	*g.router = router{
		cfg: g.cfg, info: g.info, domain: g.domain, out: g.deliv, contacts: contacts,
		accounts: g.accounts, toNet: g.toNet, roster: g.roster, reg: g.reg, rooms: g.fromNet.rooms,
		metrics: g.metrics, life: g.life, log: g.log, slowSlots: make(chan struct{}, 32),
	}
	if g.router.rooms != nil {
		g.router.rooms.direct = g.router.directMessage
	}
	g.accounts.sink = g.accounts.senders.noting(g.fromNet.sink, g.accounts.refreshPhoto)
	g.accounts.changed = g.roster.announceGateway
	toNet, ro := g.toNet, g.roster // the hook holds the parts, not the Gateway
	g.accounts.loggedIn = func(ctx context.Context, acc *account, sess Session) {
		toNet.resumeAccount(acc.key)
		ro.pushUserPresence(acc, sess)
	}
	g.accounts.syncContacts = ro.syncContacts
	rms := g.fromNet.rooms
	g.accounts.photoChanged = func(ctx context.Context, acc *account, uid UserID) {
		ro.photoChanged(ctx, acc, uid)
		if rms != nil {
			rms.photoChanged(ctx, acc, uid)
		}
	}
}

// Name returns the instance name.
func (g *Gateway) Name() string { return g.cfg.Name }

// Domain returns the component domain.
func (g *Gateway) Domain() jid.JID { return g.domain }

// Component returns the component connection, for health and metrics.
func (g *Gateway) Component() *xmpp.Component { return g.comp }

// Metrics returns the gateway's counters.
func (g *Gateway) Metrics() *Metrics { return g.metrics }

// OutboxLen returns the number of stanzas and messages this gateway keeps
// for later delivery, in both directions.
func (g *Gateway) OutboxLen() (int, error) {
	toXMPP, err := g.db.OutboxCount(g.deliv.queue)
	if err != nil {
		return 0, err
	}
	toNetwork, err := g.db.OutboxCount("tx" + queueSep + g.cfg.Name + queueSep)
	if err != nil {
		return 0, err
	}
	return toXMPP + toNetwork, nil
}

// Info returns the transport's description.
func (g *Gateway) Info() Info { return g.info }

// Run connects the component, logs in every stored account, and serves
// until ctx is done. It returns an error when the host server refuses the
// component secret or the transport fails for good. On return, everything
// not yet delivered is in the store's outbox.
func (g *Gateway) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	g.life.ctx = ctx
	if since, err := g.db.SeenSince(); err != nil {
		g.log.Error("reading when delivery records began", "err", err)
	} else if !since.IsZero() {
		g.toNet.trustUnknownUntil = since.Add(g.cfg.MessageRetention)
	}

	g.life.wg.Go(func() { g.deliv.run(ctx) })
	g.life.wg.Go(func() { g.pruneLoop(ctx) })
	g.life.wg.Go(func() { g.fromNet.dedupe.run(ctx) })
	if err := g.toNet.resume(ctx); err != nil {
		g.log.Error("resuming queued messages", "err", err)
	}
	// Stored accounts are read and queued for their logins while the
	// component connects (10,000 of them take 0.1 s of CPU): what needs an
	// account before they all are waits for them (accounts.waitLoaded),
	// so that no stanza from the host server and no event of the
	// transport finds its account missing.
	g.life.wg.Go(func() {
		if err := g.accounts.loginAll(ctx); err != nil {
			g.log.Error("logging in stored accounts", "err", err)
		}
	})
	if r, ok := g.tr.(Runner); ok {
		g.life.wg.Go(func() {
			if err := r.Run(ctx); err != nil && ctx.Err() == nil {
				cancel(fmt.Errorf("bridge: %s transport: %w", g.cfg.Name, err))
			}
		})
	}
	compDone := make(chan error, 1)
	go func() { compDone <- g.comp.Run(ctx) }()

	var runErr error
	select {
	case runErr = <-compDone:
		cancel(runErr)
	case <-ctx.Done():
		runErr = <-compDone
	}
	g.accounts.logoutAll()
	g.life.wg.Wait()
	g.toNet.wait()
	g.fromNet.dedupe.flush()
	if err := g.deliv.saveUnsent(g.comp.Unsent()); err != nil {
		g.log.Error("saving unsent stanzas", "err", err)
	}
	if runErr != nil {
		return runErr
	}
	if cause := context.Cause(ctx); cause != nil && !errors.Is(cause, context.Canceled) {
		return cause
	}
	return nil
}

// onState reacts to the component connection going up or down.
func (g *Gateway) onState(s xmpp.State, err error) {
	if line, ok := g.connLog.observe(time.Now(), s, err); ok {
		g.log.Log(context.Background(), line.level, line.msg, append(line.attrs, "domain", g.domain)...)
	}
	if s == xmpp.StateConnected {
		g.deliv.wake()
		g.announceAll()
	}
}

// pruneLoop drops message-ID mappings older than the retention period.
func (g *Gateway) pruneLoop(ctx context.Context) {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		cut := time.Now().Add(-g.cfg.MessageRetention)
		n, err := g.db.PruneMessageRefs(cut)
		if err != nil {
			g.log.Error("pruning message ids", "err", err)
		} else if n > 0 {
			g.log.Debug("pruned message ids", "count", n)
		}
		if n, err := g.fromNet.sent.prune(g.cfg.Name, cut); err != nil {
			g.log.Error("pruning sent-message records", "err", err)
		} else if n > 0 {
			g.log.Debug("pruned sent-message records", "count", n)
		}
		if n, err := g.db.PruneSeen(cut); err != nil {
			g.log.Error("pruning delivered events", "err", err)
		} else if n > 0 {
			g.log.Debug("pruned delivered events", "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// announceAll sends every user the gateway's presence and their contacts'
// presence, after the component (re)connected.
func (g *Gateway) announceAll() { g.roster.announceAll() }
