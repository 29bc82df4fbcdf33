package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/xgate-im/xgate/bridge"
	"github.com/xgate-im/xgate/bridge/community"
	"github.com/xgate-im/xgate/store"
	"github.com/xgate-im/xgate/xmpp"
)

// Shutdown bounds. Gateways save what they could not deliver to the store
// before Run returns; that normally takes milliseconds.
const (
	shutdownTimeout      = 30 * time.Second
	adminShutdownTimeout = 5 * time.Second
)

// storeLockTimeout is how long run waits for the store's lock before
// concluding that another xgate holds it. A variable for tests.
var storeLockTimeout = 2 * time.Second

// storeBatchDelay is passed to the store, which no longer waits for it:
// its writes are group-committed (store.Options.BatchDelay).
const storeBatchDelay = 2 * time.Millisecond

// gatewayError is a gateway that stopped for good.
type gatewayError struct {
	inst *instance
	err  error
}

func (e *gatewayError) Error() string {
	i := e.inst
	if errors.Is(e.err, xmpp.ErrNotAuthorized) {
		return fmt.Sprintf("%s: the host server at %s refused the component secret for %s; the secret (from %s) must match the one in the server's Component config for %s",
			i.Name, i.component.Addr, i.component.Domain, i.secretSource, i.component.Domain)
	}
	if errors.Is(e.err, xmpp.ErrHostUnknown) {
		return fmt.Sprintf("%s: the host server at %s does not serve %s (host-unknown); declare it as a Component in the server's config, or correct domain",
			i.Name, i.component.Addr, i.component.Domain)
	}
	return fmt.Sprintf("%s (%s) stopped: %v", i.Name, i.component.Domain, e.err)
}

func (e *gatewayError) Unwrap() error { return e.err }

// serve runs xgate with a resolved configuration until ctx is done, then
// shuts down gracefully: gateways stop (saving what they could not deliver
// to the store), the admin endpoint stops, the store is closed. It returns
// nil after a requested shutdown and an error when something failed for
// good. ready, if set, is called once everything is started, with the
// admin endpoint's address ("" when disabled).
func serve(ctx context.Context, cfg *config, log *slog.Logger, version string, ready func(adminAddr string)) (err error) {
	for _, w := range cfg.warnings {
		log.Warn("config: " + w)
	}
	db, err := store.Open(cfg.storePath, store.Options{Key: cfg.key, Timeout: storeLockTimeout, BatchDelay: storeBatchDelay, BackupDir: cfg.backupDir})
	if err != nil {
		return storeOpenError(cfg, err)
	}
	closeStore := true
	defer func() {
		if !closeStore {
			return
		}
		if cerr := db.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("closing the store: %w", cerr)
		}
	}()
	bk := &backups{db: db, dir: cfg.backupDir, keep: cfg.backupKeep, log: log.With("component", "backups")}
	var hooks *bridge.Webhooks
	if cfg.webhooksListen != "" {
		hooks = bridge.NewWebhooks()
	}

	gws := make([]*bridge.Gateway, 0, len(cfg.instances))
	trs := make([]bridge.Transport, 0, len(cfg.instances))
	var mux *community.Mux
	if len(cfg.groups) > 0 {
		mux = community.NewMux()
	}
	for _, inst := range cfg.instances {
		g, tr, err := newGateway(cfg, inst, db, bk, hooks, mux, log, version)
		if err != nil {
			return err
		}
		gws, trs = append(gws, g), append(trs, tr)
	}
	var hubs []*community.Hub
	if mux != nil {
		if hubs, err = newHubs(cfg, gws, trs, mux, db, log); err != nil {
			return err
		}
	}

	var hooksLn net.Listener
	if hooks != nil {
		hooksLn, err = net.Listen("tcp", cfg.webhooksListen)
		if err != nil {
			return fmt.Errorf("webhooks.listen: %w", err)
		}
	}
	var ln net.Listener
	if cfg.adminListen != "" {
		ln, err = net.Listen("tcp", cfg.adminListen)
		if err != nil {
			if hooksLn != nil {
				hooksLn.Close()
			}
			return fmt.Errorf("admin.listen: %w", err)
		}
	}

	runCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var wg sync.WaitGroup
	for i, g := range gws {
		inst := cfg.instances[i]
		wg.Go(func() {
			if err := g.Run(runCtx); err != nil {
				cancel(&gatewayError{inst: inst, err: err})
			}
			log.Info("gateway stopped", "gateway", inst.Name)
		})
	}
	if len(hubs) > 0 {
		wg.Go(func() { runHubs(runCtx, hubs, log) })
	}
	// A transaction that finds the file damaged stops xgate with the
	// store's error, which says how to restore.
	go func() {
		select {
		case <-db.Damaged():
			cancel(db.DamageErr())
		case <-runCtx.Done():
		}
	}()
	var srv *http.Server
	adminAddr := ""
	if ln != nil {
		adm := &admin{log: log.With("component", "admin"), gateways: gatewayStatuses(gws), groups: groupStatuses(hubs), db: db, backup: bk.run, token: cfg.adminToken, version: version, start: time.Now()}
		srv = &http.Server{
			Handler:           adm.handler(),
			ReadHeaderTimeout: 10 * time.Second,
			ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		}
		adminAddr = ln.Addr().String()
		wg.Go(func() {
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				cancel(fmt.Errorf("admin endpoint: %w", err))
			}
		})
		log.Info("admin endpoint listening", "addr", "http://"+adminAddr)
	}
	var hooksSrv *http.Server
	if hooksLn != nil {
		hooksSrv = &http.Server{
			Handler:           hooks,
			ReadHeaderTimeout: 10 * time.Second,
			ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		}
		wg.Go(func() {
			if err := hooksSrv.Serve(hooksLn); err != nil && !errors.Is(err, http.ErrServerClosed) {
				cancel(fmt.Errorf("webhooks listener: %w", err))
			}
		})
		log.Info("webhooks listening", "addr", "http://"+hooksLn.Addr().String(), "gateways", hooks.Mounted())
	}
	log.Info("xgate running", "version", version, "gateways", len(gws), "store", cfg.storePath)
	if ready != nil {
		ready(adminAddr)
	}

	<-runCtx.Done()
	cause := context.Cause(runCtx)
	requested := ctx.Err() != nil && cause == context.Cause(ctx)
	if requested {
		log.Info("shutting down")
	} else {
		log.Error("shutting down after a failure", "err", cause)
	}
	cancel(nil)
	for _, s := range []*http.Server{srv, hooksSrv} {
		if s == nil {
			continue
		}
		sctx, scancel := context.WithTimeout(context.WithoutCancel(ctx), adminShutdownTimeout)
		if err := s.Shutdown(sctx); err != nil {
			s.Close()
		}
		scancel()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(shutdownTimeout):
		// A gateway is stuck; closing the store would wait for it. The
		// lock is released when the process exits.
		closeStore = false
		return fmt.Errorf("shutdown timed out after %v: a gateway did not stop", shutdownTimeout)
	}
	if requested {
		return nil
	}
	return cause
}

// newGateway builds the transport and gateway of one instance.
func newGateway(cfg *config, inst *instance, db *store.DB, bk *backups, hooks *bridge.Webhooks, mux *community.Mux, log *slog.Logger, version string) (*bridge.Gateway, bridge.Transport, error) {
	tr, err := inst.kind.newTransport(inst, log.With("gateway", inst.Name, "network", inst.network))
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %s transport: %w", inst.Name, inst.network, err)
	}
	var ch bridge.CommunityHandler
	if mux != nil {
		ch = mux
	}
	g, err := bridge.New(bridge.Config{
		Name:             inst.Name,
		Component:        inst.component,
		Access:           bridge.Access{Allow: inst.allow, Admins: cfg.admins, UserRate: cfg.userRate},
		MessageRetention: cfg.retention,
		DeliveryTimeout:  inst.deliveryTimeout,
		Version:          version,
		Backup:           bk.run,
		Webhooks:         hooks,
		Community:        ch,
		Upload:           cfg.upload,
	}, tr, db, log)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", inst.Name, err)
	}
	if err := provisionAssigned(db, inst, tr, log); err != nil {
		return nil, nil, err
	}
	keepState(db, inst, tr)
	log.Info("gateway configured", "gateway", inst.Name, "network", inst.network, "domain", inst.component.Domain, "server", inst.component.Addr)
	return g, tr, nil
}

// storeOpenError explains why the store could not be opened.
func storeOpenError(cfg *config, err error) error {
	switch {
	case errors.Is(err, store.ErrLocked):
		return fmt.Errorf("the store %s is locked: another xgate is probably running with it", cfg.storePath)
	case errors.Is(err, store.ErrWrongKey):
		src := "file " + cfg.keyFile
		if cfg.keyEnv != "" {
			src = "env " + cfg.keyEnv
		}
		return fmt.Errorf("the store key (from %s) is not the key %s was created with; use the original key", src, cfg.storePath)
	case errors.Is(err, store.ErrTooNew):
		return fmt.Errorf("the store %s was written by a newer xgate; run that version or newer", cfg.storePath)
	}
	return fmt.Errorf("opening the store: %w", err)
}
