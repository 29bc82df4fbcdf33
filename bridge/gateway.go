package bridge

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

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
	// replies, reactions) are kept. Default 30 days.
	MessageRetention time.Duration
	// DeliveryTimeout is how long a message to the network is retried
	// before it is bounced to its sender. Default 24 hours.
	DeliveryTimeout time.Duration
	// RetryBase is the first delay after a transient failure towards the
	// network; it doubles with each failure up to 5 minutes. Default 1s.
	RetryBase time.Duration
	// Version is reported by XEP-0092.
	Version string
	// Backup, when set, writes an online backup for the admin command and
	// returns where it went. It is shared by all gateways of the process.
	Backup func(ctx context.Context) (path string, size int64, err error)
}

func (c Config) withDefaults() Config {
	if c.MessageRetention <= 0 {
		c.MessageRetention = 30 * 24 * time.Hour
	}
	if c.DeliveryTimeout <= 0 {
		c.DeliveryTimeout = 24 * time.Hour
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
type Gateway struct {
	cfg    Config
	tr     Transport
	info   Info
	db     *store.DB
	log    *slog.Logger
	comp   *xmpp.Component
	domain jid.JID

	contacts *contactMap
	remote   *remoteQueues
	deliv    *delivery
	metrics  *Metrics
	adhocs   *adhocSessions
	// ephemeralSlots bounds concurrent typing and marker calls to the
	// network; beyond it they are dropped (they are worthless late).
	ephemeralSlots chan struct{}
	// slowSlots bounds requests handled outside the dispatcher.
	slowSlots chan struct{}
	// connLog decides which connection state changes are logged.
	connLog connLog

	runCtx context.Context // set by Run; the lifetime of background work
	wg     sync.WaitGroup  // background work started by Run

	rosterMu sync.Mutex // serializes read-modify-write of roster items

	mu       sync.Mutex
	accounts map[store.AccountKey]*account
	// presence caches the last known presence of each contact.
	presence map[UserID]Presence
	// userPresence is the last presence each user sent the gateway.
	userPresence map[jid.JID]Presence
}

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
		cfg:            cfg,
		tr:             tr,
		info:           info,
		db:             db,
		log:            log.With("gateway", cfg.Name, "network", info.Network),
		accounts:       make(map[store.AccountKey]*account),
		presence:       make(map[UserID]Presence),
		userPresence:   make(map[jid.JID]Presence),
		metrics:        newMetrics(),
		adhocs:         &adhocSessions{m: map[string]adhocSession{}},
		ephemeralSlots: make(chan struct{}, 64),
		slowSlots:      make(chan struct{}, 32),
	}
	if err := g.cfg.Access.compile(); err != nil {
		return nil, err
	}
	ccfg := cfg.Component
	userOnState := ccfg.OnState
	ccfg.OnState = func(s xmpp.State, err error) {
		g.onState(s, err)
		if userOnState != nil {
			userOnState(s, err)
		}
	}
	comp, err := xmpp.NewComponent(ccfg, xmpp.HandlerFunc(g.handleStanza))
	if err != nil {
		return nil, fmt.Errorf("bridge: %s: %w", cfg.Name, err)
	}
	g.comp = comp
	g.domain = comp.Domain()
	g.contacts = newContactMap(g)
	g.remote = newRemoteQueues(g)
	g.deliv = newDelivery(g)
	return g, nil
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
	g.runCtx = ctx

	g.wg.Go(func() { g.deliv.run(ctx) })
	g.wg.Go(func() { g.pruneLoop(ctx) })
	if err := g.remote.resume(ctx); err != nil {
		g.log.Error("resuming queued messages", "err", err)
	}
	// Stored accounts start logging in before the transport's background
	// work (its event stream) starts, so their sessions are usually there
	// when the first events arrive.
	if err := g.loginAll(ctx); err != nil {
		g.log.Error("logging in stored accounts", "err", err)
	}
	if r, ok := g.tr.(Runner); ok {
		g.wg.Go(func() {
			if err := r.Run(ctx); err != nil && ctx.Err() == nil {
				cancel(fmt.Errorf("bridge: %s transport: %w", g.cfg.Name, err))
			}
		})
	}
	// The component connects last, so that no stanza from the host server
	// can race with the start of the stored accounts.
	compDone := make(chan error, 1)
	go func() { compDone <- g.comp.Run(ctx) }()

	var runErr error
	select {
	case runErr = <-compDone:
		cancel(runErr)
	case <-ctx.Done():
		runErr = <-compDone
	}
	g.logoutAll()
	g.wg.Wait()
	g.remote.wait()
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
		n, err := g.db.PruneMessageRefs(time.Now().Add(-g.cfg.MessageRetention))
		if err != nil {
			g.log.Error("pruning message ids", "err", err)
		} else if n > 0 {
			g.log.Debug("pruned message ids", "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// send delivers a stanza to the XMPP side now or durably later; see
// inbound.deliver.
func (g *Gateway) send(ctx context.Context, s xmpp.Stanza) error {
	return g.deliv.deliver(ctx, s, true)
}

// sendEphemeral delivers a stanza that is worthless later (typing, presence
// while disconnected): it is dropped, and counted, when the host is down.
func (g *Gateway) sendEphemeral(ctx context.Context, s xmpp.Stanza) {
	_ = g.deliv.deliver(ctx, s, false)
}

// reply answers an iq.
func (g *Gateway) reply(ctx context.Context, iq *xmpp.IQ, payload *xmpp.Element) {
	g.sendEphemeral(ctx, iq.Result(payload))
}

// replyError answers an iq with an error.
func (g *Gateway) replyError(ctx context.Context, iq *xmpp.IQ, e *xmpp.StanzaError) {
	g.sendEphemeral(ctx, iq.ErrorReply(e))
}

// bounce answers any stanza with an error (never an error with an error).
func (g *Gateway) bounce(ctx context.Context, s xmpp.Stanza, e *xmpp.StanzaError) {
	if b := xmpp.Bounce(s, e); b != nil {
		g.metrics.bounces.Add(1)
		_ = g.send(ctx, b)
	}
}

// notify sends a chat message from the gateway JID to a user.
func (g *Gateway) notify(ctx context.Context, user jid.JID, text string) {
	m := &xmpp.Message{
		Header: xmpp.Header{From: g.domain, To: user, ID: g.comp.NewID(), Type: xmpp.MessageChat},
		Body:   text,
	}
	if err := g.send(ctx, m); err != nil {
		g.log.Error("notifying user", "user", user, "err", err)
	}
}
