package bridge

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/xgate-im/xgate/store"
	"github.com/xgate-im/xgate/xmpp"
	"github.com/xgate-im/xgate/xmpp/jid"
)

// accounts keeps the registered accounts of one gateway and their live
// sessions: login with backoff, logout by the network, stop and restart,
// and which account of a user reaches which contact. It tells the other
// parts about logins and state changes through the hooks the gateway sets
// before Run.
//
// Logins are paced (see loginQueue): an account waiting for its login, or
// for its next attempt after a failure, costs a queue entry or a timer,
// not a goroutine; at most concurrentLogins logins and afterLoginWorkers
// contact synchronisations run at once.
type accounts struct {
	name    string // the gateway instance
	info    Info
	tr      Transport
	db      *store.DB
	log     *slog.Logger
	metrics *Metrics
	life    *lifetime
	out     *toXMPP

	// sink returns where the events of an account's session go.
	sink func(acc *account) Sink
	// loggedIn runs once a session is up, in the login worker: it must be
	// quick (the queues of the account resume, its presence is set).
	loggedIn func(ctx context.Context, acc *account, sess Session)
	// syncContacts runs after a login, in one of the after-login workers
	// (afterLogin), with a context that a stop of the account cancels.
	syncContacts func(ctx context.Context, acc *account, sess Session)
	// changed announces a user's new login state.
	changed func(ctx context.Context, user jid.JID)
	// senders keeps the names and pictures that messages give for their
	// senders, for the vCards of people without a profile (senders.go).
	senders *senderCards
	// photos are the XEP-0153 hashes of persons' pictures (avatars.go);
	// photoChanged shows a person's presence again, with a new hash.
	photos       *photoHashes
	photoChanged func(ctx context.Context, acc *account, uid UserID)

	// logins are the accounts waiting to log in; afterLogin the work
	// that follows each login (the contact list, the roster pushes).
	logins     loginQueue
	afterLogin jobQueue

	// loaded is closed once loginAll made every stored account live:
	// the accounts are read from the store while the component connects,
	// and a lookup made before they all are waits for them (waitLoaded).
	// nil when nothing is to wait for (tests that make accounts by hand).
	loaded     chan struct{}
	loadedOnce sync.Once

	mu   sync.Mutex
	live map[store.AccountKey]*account
	// byRemote indexes live by remote account ID (several XMPP users may
	// have registered the same remote account).
	byRemote map[AccountID][]*account
	// byUser indexes live by XMPP user (bare JID).
	byUser map[jid.JID][]*account

	// routes caches the routes noted lately (routeKey → account), so
	// that a chat's every message does not read the store again; at most
	// maxCachedRoutes, forgotten all at once when full.
	routeMu sync.Mutex
	routes  map[string]string
}

// maxCachedRoutes bounds accounts.routes.
const maxCachedRoutes = 4096

// expecting reports whether a remote account is registered and logging in
// (or retrying to): its events should wait for its session.
func (ac *accounts) expecting(id AccountID) bool {
	ac.waitLoaded()
	ac.mu.Lock()
	accs := ac.byRemote[id]
	ac.mu.Unlock()
	for _, a := range accs {
		if _, state, _ := a.snapshot(); state == Connecting {
			// An event waits for it: its login goes first, so that the
			// event is handled before the network sends it again (Slack
			// does after 3 s; the queue of a start with 10,000 accounts
			// takes seconds to go through).
			ac.logins.promote(ac, a)
			return true
		}
	}
	return false
}

// account is one registered remote account and its live session.
//
// It has no goroutine and no context of its own (ten thousand of each
// were a third of the memory of a start with 10,000 accounts): a login
// worker logs it in with a context that lives as long as the attempt,
// and stop closes its session.
type account struct {
	key  store.AccountKey
	user jid.JID // bare
	log  accountLog

	mu sync.Mutex
	// data is the account's ID and name; its settings and secrets are
	// read from the store for each login (loginData), not kept.
	data    AccountData
	session Session // nil unless logged in
	state   LoginState
	reason  string
	// stopped is set by stop and logoutAll: no login starts any more.
	stopped bool
	// workCancel ends the account's work in progress (a login attempt,
	// or the work that follows a login); nil when none runs. workDone is
	// closed when that work ended and the session is closed, for a stop
	// that waits for it; made by that stop.
	workCancel context.CancelFunc
	workDone   chan struct{}
	// retry is the timer of the next attempt after a failure.
	retry   *time.Timer
	backoff time.Duration // before the next attempt after a failure

	// queued and promoted are guarded by accounts.logins.mu: the account
	// waits in the queue, and was put first (loginQueue.promote).
	queued, promoted bool
}

func (a *account) snapshot() (Session, LoginState, string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.session, a.state, a.reason
}

// accountLog logs with the account's user and remote ID attached. It adds
// them to each line rather than keeping a logger made with With per
// account (each kept a copy of the handler and its preformatted
// attributes).
type accountLog struct {
	base         *slog.Logger
	user, remote string
}

func newAccountLog(base *slog.Logger, k store.AccountKey) accountLog {
	return accountLog{base: base, user: k.User, remote: k.Remote}
}

// Debug, Info, Warn and Error log at their level.
func (l accountLog) Debug(msg string, args ...any) { l.logAt(slog.LevelDebug, msg, args) }
func (l accountLog) Info(msg string, args ...any)  { l.logAt(slog.LevelInfo, msg, args) }
func (l accountLog) Warn(msg string, args ...any)  { l.logAt(slog.LevelWarn, msg, args) }
func (l accountLog) Error(msg string, args ...any) { l.logAt(slog.LevelError, msg, args) }

func (l accountLog) logAt(level slog.Level, msg string, args []any) {
	if l.base == nil || !l.base.Enabled(context.Background(), level) {
		return
	}
	all := make([]any, 0, 4+len(args))
	all = append(all, "user", l.user, "account", l.remote)
	l.base.Log(context.Background(), level, msg, append(all, args...)...)
}

func accountData(a store.Account) AccountData {
	return AccountData{ID: AccountID(a.Remote), Name: a.Settings[settingName], Settings: a.Settings, Secrets: a.Secrets}
}

// settingName is the settings key that keeps the account's display name.
const settingName = "xgate.name"

// loginAll queues every stored, enabled account for its login, and then
// releases the lookups waiting for the accounts (waitLoaded). The logins
// run in the background, concurrentLogins at a time, in the order of the
// store.
func (ac *accounts) loginAll(ctx context.Context) error {
	defer ac.doneLoading()
	accts, err := ac.db.Accounts(ac.name)
	if err != nil {
		return fmt.Errorf("bridge: list accounts: %w", err)
	}
	for _, a := range accts {
		if a.Disabled {
			continue
		}
		if err := ac.add(a, false); err != nil {
			ac.log.Error("starting account", "user", a.User, "account", a.Remote, "err", err)
		}
	}
	return nil
}

// waitLoaded waits until loginAll made the stored accounts live, when the
// gateway runs: reading and decoding 10,000 accounts takes 0.1 s of CPU,
// which the component's handshake does not wait for any more; a stanza
// that comes in meanwhile waits here instead of finding no account.
func (ac *accounts) waitLoaded() {
	if ac.loaded == nil || !ac.life.running() {
		return
	}
	select {
	case <-ac.loaded:
	case <-ac.life.ctx.Done():
	}
}

// doneLoading releases waitLoaded.
func (ac *accounts) doneLoading() {
	if ac.loaded != nil {
		ac.loadedOnce.Do(func() { close(ac.loaded) })
	}
}

// start logs an account in, in the background, ahead of the accounts
// still waiting from the start of the gateway (a user who just registered
// or subscribed is waiting for it), retrying transient failures with
// backoff. An account already running is restarted (its credentials may
// have changed).
func (ac *accounts) start(ctx context.Context, a store.Account) error {
	ac.waitLoaded()
	return ac.add(a, true)
}

// add makes a stored account live and queues its login, first when
// urgent.
func (ac *accounts) add(a store.Account, urgent bool) error {
	user, err := jid.Parse(a.User)
	if err != nil {
		return fmt.Errorf("bridge: stored user %q: %w", a.User, err)
	}
	ac.stopNow(a.AccountKey)
	acc := &account{
		key:     a.AccountKey,
		user:    user.Bare(),
		log:     newAccountLog(ac.log, a.AccountKey),
		data:    AccountData{ID: AccountID(a.Remote), Name: a.Settings[settingName]},
		state:   Connecting,
		backoff: time.Second,
	}
	ac.mu.Lock()
	ac.live[a.AccountKey] = acc
	id := AccountID(a.Remote)
	ac.byRemote[id] = append(ac.byRemote[id], acc)
	if ac.byUser == nil {
		ac.byUser = map[jid.JID][]*account{}
	}
	ac.byUser[acc.user] = append(ac.byUser[acc.user], acc)
	ac.mu.Unlock()
	ac.logins.push(ac, acc, urgent)
	return nil
}

// concurrentLogins is how many logins (the transport's Login) run at once,
// and afterLoginWorkers how many contact synchronisations: the work that
// follows a login (the contact list from the network, roster pushes to
// the host server) runs apart from the logins, so that it does not hold
// them up, and bounded, so that a start with thousands of accounts does
// not run thousands of those at once (9,700 goroutines waiting to send to
// the host server were seen).
const (
	concurrentLogins  = 16
	afterLoginWorkers = 16
)

// loginQueue holds the accounts waiting for a login worker: those started
// by a user first, then the others in order. Workers are started as
// needed, up to concurrentLogins, and end when the queue is empty.
type loginQueue struct {
	mu      sync.Mutex
	urgent  []*account
	waiting []*account
	workers int
}

// push queues acc and starts a worker if one is missing. The caller is a
// goroutine the gateway's lifetime counts, or Run itself (workers join
// that count).
func (q *loginQueue) push(ac *accounts, acc *account, urgent bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	acc.queued, acc.promoted = true, urgent
	if urgent {
		q.urgent = append(q.urgent, acc)
	} else {
		q.waiting = append(q.waiting, acc)
	}
	q.startWorkerLocked(ac)
}

func (q *loginQueue) startWorkerLocked(ac *accounts) {
	if q.workers < concurrentLogins {
		q.workers++
		ac.life.wg.Go(func() { q.work(ac) })
	}
}

// promote puts an account waiting in the queue first. Its entry further
// back stays, and is skipped when its turn comes (loginOnce finds the
// account logged in, or busy).
func (q *loginQueue) promote(ac *accounts, acc *account) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if !acc.queued || acc.promoted || !ac.life.running() {
		return
	}
	acc.promoted = true
	q.urgent = append(q.urgent, acc)
	q.startWorkerLocked(ac)
}

// pop returns the next account to log in, or nil (and the worker ends)
// when none is waiting.
func (q *loginQueue) pop() *account {
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, l := range []*[]*account{&q.urgent, &q.waiting} {
		if len(*l) > 0 {
			acc := (*l)[0]
			(*l)[0] = nil
			*l = (*l)[1:]
			if len(*l) == 0 {
				*l = nil
			}
			acc.queued, acc.promoted = false, false
			return acc
		}
	}
	q.workers--
	return nil
}

func (q *loginQueue) work(ac *accounts) {
	for acc := q.pop(); acc != nil; acc = q.pop() {
		ac.loginOnce(acc)
	}
}

// loginOnce makes one login attempt for acc. On success the session is
// the account's and the work that follows a login is queued; a refusal of
// the credentials marks it logged out; any other failure schedules the
// next attempt after a backoff that doubles up to 5 minutes.
func (ac *accounts) loginOnce(acc *account) {
	ctx, cancel := context.WithCancel(ac.life.ctx)
	defer cancel()
	if !acc.beginWork(ctx, cancel, nil) {
		return
	}
	data, err := ac.loginData(acc)
	var sess Session
	if err == nil {
		sess, err = ac.tr.Login(ctx, data, ac.sink(acc))
	}
	if !acc.endWork(ctx, sess, err) {
		return
	}
	if err == nil {
		acc.log.Info("logged in")
		ac.recordLoginError(acc, "")
		ac.changed(ctx, acc.user)
		ac.loggedIn(ctx, acc, sess)
		ac.metrics.afterLoginPending.Add(1)
		ac.afterLogin.push(ac.life, func() {
			defer ac.metrics.afterLoginPending.Add(-1)
			ac.afterLoginOf(acc, sess)
		})
		return
	}
	ac.metrics.loginFailures.Add(1)
	if errors.Is(err, ErrAuth) {
		ac.loggedOut(ctx, acc, err.Error())
		return
	}
	acc.mu.Lock()
	backoff := acc.backoff
	acc.backoff = min(acc.backoff*2, 5*time.Minute)
	acc.state, acc.reason = Connecting, err.Error()
	acc.mu.Unlock()
	acc.log.Warn("login failed, retrying", "err", err, "in", backoff)
	ac.changed(ctx, acc.user)
	ac.retryLater(acc, backoff)
}

// loginData reads what the transport's Login needs from the store: the
// account's settings and secrets are not kept in memory between logins
// (for 10,000 accounts, 20,000 small maps that nothing else reads). An
// account removed meanwhile fails with ErrAuth: nothing is left to log in.
func (ac *accounts) loginData(acc *account) (AccountData, error) {
	a, err := ac.db.GetAccount(acc.key)
	if errors.Is(err, store.ErrNotFound) {
		return AccountData{}, fmt.Errorf("bridge: account %s was removed: %w", acc.key.Remote, ErrAuth)
	}
	if err != nil {
		return AccountData{}, fmt.Errorf("bridge: read account: %w", err)
	}
	return accountData(a), nil
}

// afterLoginOf runs the work that follows the login of sess, unless the
// account was stopped or logged out meanwhile; a stop cancels it and waits
// for it.
func (ac *accounts) afterLoginOf(acc *account, sess Session) {
	ctx, cancel := context.WithCancel(ac.life.ctx)
	defer cancel()
	if !acc.beginWork(ctx, cancel, sess) {
		return
	}
	ac.syncContacts(ctx, acc, sess)
	acc.endWork(ctx, nil, nil)
}

// beginWork claims the account for a login (sess nil) or for the work
// after the login of sess; it reports false when the account is stopped,
// busy, or no longer logged in with sess.
func (acc *account) beginWork(ctx context.Context, cancel context.CancelFunc, sess Session) bool {
	acc.mu.Lock()
	defer acc.mu.Unlock()
	if acc.stopped || acc.workCancel != nil || ctx.Err() != nil {
		return false
	}
	if sess == nil && (acc.session != nil || acc.state != Connecting || acc.retry != nil) {
		return false // a stale queue entry: logged in, logged out, or waiting for its retry
	}
	if sess != nil && (acc.session != sess || acc.state != LoggedIn) {
		return false
	}
	acc.workCancel = cancel
	return true
}

// endWork ends the work beginWork claimed. For a login, sess and err are
// Login's results and the session becomes the account's. When the
// account was stopped meanwhile, its session (or the one just logged in)
// is closed, a waiting stop is released, and endWork reports false.
func (acc *account) endWork(ctx context.Context, sess Session, err error) bool {
	acc.mu.Lock()
	acc.workCancel = nil
	done := acc.workDone
	acc.workDone = nil
	if !acc.stopped && ctx.Err() == nil {
		if sess != nil && err == nil {
			acc.session, acc.state, acc.reason = sess, LoggedIn, ""
		}
		acc.mu.Unlock()
		return true
	}
	var toClose Session
	if sess != nil && err == nil {
		toClose = sess
	} else if acc.stopped {
		toClose, acc.session = acc.session, nil
	}
	acc.mu.Unlock()
	if toClose != nil {
		toClose.Close()
	}
	if done != nil {
		close(done)
	}
	return false
}

// retryLater queues acc's next login attempt after d. The timer counts in
// the gateway's lifetime until it fired or was stopped (by stop), so that
// Run does not return while one may still queue a login.
func (ac *accounts) retryLater(acc *account, d time.Duration) {
	acc.mu.Lock()
	defer acc.mu.Unlock()
	if acc.stopped || !ac.life.running() {
		return
	}
	ac.life.wg.Add(1) // inside a counted goroutine: never from zero
	acc.retry = time.AfterFunc(d, func() {
		defer ac.life.wg.Done()
		acc.mu.Lock()
		acc.retry = nil
		stopped := acc.stopped
		acc.mu.Unlock()
		if !stopped && ac.life.running() {
			ac.logins.push(ac, acc, false)
		}
	})
}

// jobQueue runs jobs in order on at most afterLoginWorkers goroutines,
// started as needed and ended when the queue is empty.
type jobQueue struct {
	mu      sync.Mutex
	jobs    []func()
	workers int
}

// push queues a job; the caller is counted in life (workers join it).
func (q *jobQueue) push(life *lifetime, job func()) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.jobs = append(q.jobs, job)
	if q.workers < afterLoginWorkers {
		q.workers++
		life.wg.Go(q.work)
	}
}

func (q *jobQueue) work() {
	for {
		q.mu.Lock()
		if len(q.jobs) == 0 {
			q.jobs = nil
			q.workers--
			q.mu.Unlock()
			return
		}
		job := q.jobs[0]
		q.jobs[0] = nil
		q.jobs = q.jobs[1:]
		q.mu.Unlock()
		job()
	}
}

// loggedOut marks an account whose credentials stopped working: its
// session is closed, the user is told why, and the account is kept so the
// user can register again with new credentials.
func (ac *accounts) loggedOut(ctx context.Context, acc *account, reason string) {
	acc.mu.Lock()
	already := acc.state == LoggedOut
	s := acc.session
	acc.session, acc.state, acc.reason = nil, LoggedOut, reason
	acc.mu.Unlock()
	if s != nil {
		ac.life.wg.Go(func() { s.Close() }) // never close a session from inside its own event
	}
	if already {
		return
	}
	acc.log.Warn("logged out by the network", "reason", reason)
	ac.recordLoginError(acc, reason)
	name := acc.data.Name
	if name == "" {
		name = string(acc.data.ID)
	}
	ac.out.notify(ctx, acc.user, fmt.Sprintf("%s account %s is logged out: %s.\nRegister again with new credentials (send \"register\" or use the Register command) to reconnect. Messages you send meanwhile are kept and sent after you log in again.", ac.info.Name, name, reason))
	ac.changed(ctx, acc.user)
}

// recordLoginError stores the account's last login error for status
// displays and restarts.
func (ac *accounts) recordLoginError(acc *account, reason string) {
	a, err := ac.db.GetAccount(acc.key)
	if err != nil || a.LastError == reason {
		return
	}
	a.LastError = reason
	if err := ac.db.PutAccount(a); err != nil {
		acc.log.Error("storing login state", "err", err)
	}
}

// stop closes an account's session and forgets it (the stored
// account is untouched). It returns once the session is closed, so that a
// removed account sends nothing more.
func (ac *accounts) stop(k store.AccountKey) {
	ac.waitLoaded()
	ac.stopNow(k)
}

// stopNow is stop without waiting for loginAll.
func (ac *accounts) stopNow(k store.AccountKey) {
	ac.mu.Lock()
	acc := ac.live[k]
	delete(ac.live, k)
	if acc != nil {
		id := AccountID(k.Remote)
		ac.byRemote[id] = slices.DeleteFunc(ac.byRemote[id], func(x *account) bool { return x == acc })
		if len(ac.byRemote[id]) == 0 {
			delete(ac.byRemote, id)
		}
		ac.byUser[acc.user] = slices.DeleteFunc(ac.byUser[acc.user], func(x *account) bool { return x == acc })
		if len(ac.byUser[acc.user]) == 0 {
			delete(ac.byUser, acc.user)
		}
	}
	ac.mu.Unlock()
	if acc == nil {
		return
	}
	done := ac.halt(acc)
	select {
	case <-done:
	case <-time.After(stopTimeout):
		acc.log.Warn("session still closing", "after", stopTimeout)
	}
}

// halt stops the account's logins and closes its session: the channel
// is closed once the session, or the one a login in progress returns, is
// closed, and the work after a login in progress ended.
func (ac *accounts) halt(acc *account) <-chan struct{} {
	done := make(chan struct{})
	acc.mu.Lock()
	acc.stopped = true
	if acc.retry != nil && acc.retry.Stop() {
		// The timer will not run: its count in the lifetime is released
		// here (see retryLater).
		acc.retry = nil
		ac.life.wg.Done()
	}
	if acc.workCancel != nil {
		acc.workCancel()
		acc.workDone = done // closed by endWork
		acc.mu.Unlock()
		return done
	}
	s := acc.session
	acc.session = nil
	acc.mu.Unlock()
	if s == nil {
		close(done)
		return done
	}
	go func() {
		defer close(done)
		s.Close()
	}()
	return done
}

// stopTimeout bounds how long stopping an account waits for its session to
// close.
const stopTimeout = 10 * time.Second

// logoutAll stops every session, for shutdown, and waits for them to
// close (each within stopTimeout).
func (ac *accounts) logoutAll() {
	ac.waitLoaded()
	ac.mu.Lock()
	accs := make([]*account, 0, len(ac.live))
	for _, a := range ac.live {
		accs = append(accs, a)
	}
	ac.mu.Unlock()
	dones := make([]<-chan struct{}, 0, len(accs))
	for _, a := range accs {
		dones = append(dones, ac.halt(a))
	}
	deadline := time.After(stopTimeout)
	for _, d := range dones {
		select {
		case <-d:
		case <-deadline:
			ac.log.Warn("sessions still closing at shutdown", "after", stopTimeout)
			return
		}
	}
}

// userAccounts returns the live accounts of a user, sorted by account ID.
func (ac *accounts) userAccounts(user jid.JID) []*account {
	ac.waitLoaded()
	user = user.Bare()
	ac.mu.Lock()
	out := slices.Clone(ac.byUser[user])
	ac.mu.Unlock()
	slices.SortFunc(out, func(a, b *account) int { return strings.Compare(a.key.Remote, b.key.Remote) })
	return out
}

// users returns every user with a live account.
func (ac *accounts) users() []jid.JID {
	ac.waitLoaded()
	ac.mu.Lock()
	seen := map[jid.JID]bool{}
	for _, a := range ac.live {
		seen[a.user] = true
	}
	ac.mu.Unlock()
	out := make([]jid.JID, 0, len(seen))
	for u := range seen {
		out = append(out, u)
	}
	slices.SortFunc(out, func(a, b jid.JID) int { return strings.Compare(a.String(), b.String()) })
	return out
}

// routeNS is the KV namespace remembering which account of a user a
// contact was seen through, so replies leave from the same account.
const routeNS = "route"

func routeKey(gateway string, user jid.JID, uid UserID) string {
	return gateway + "\x1f" + user.String() + "\x1f" + string(uid)
}

// noteRoute remembers that uid is reachable through acc.
func (ac *accounts) noteRoute(acc *account, uid UserID) {
	k := routeKey(ac.name, acc.user, uid)
	ac.routeMu.Lock()
	cached := ac.routes[k] == acc.key.Remote
	ac.routeMu.Unlock()
	if cached {
		return
	}
	v, err := ac.db.KVGet(routeNS, k)
	if err != nil || string(v) != acc.key.Remote {
		if err := ac.db.KVPut(routeNS, k, []byte(acc.key.Remote)); err != nil {
			acc.log.Error("storing contact route", "err", err)
			return
		}
	}
	ac.routeMu.Lock()
	if ac.routes == nil || len(ac.routes) >= maxCachedRoutes {
		ac.routes = map[string]string{}
	}
	ac.routes[k] = acc.key.Remote
	ac.routeMu.Unlock()
}

// accountFor picks the account of user that reaches uid: the one it was
// last seen through, else the user's first account.
func (ac *accounts) accountFor(user jid.JID, uid UserID) (*account, error) {
	accs := ac.userAccounts(user)
	switch len(accs) {
	case 0:
		return nil, notLoggedIn(ac.db, ac.name, ac.info, ac.out.domain, user)
	case 1:
		return accs[0], nil // no choice to read from the store
	}
	if v, err := ac.db.KVGet(routeNS, routeKey(ac.name, user.Bare(), uid)); err == nil {
		for _, a := range accs {
			if a.key.Remote == string(v) {
				return a, nil
			}
		}
	}
	return accs[0], nil
}

// byKey returns the live account with the given key.
func (ac *accounts) byKey(k store.AccountKey) *account {
	ac.waitLoaded()
	ac.mu.Lock()
	defer ac.mu.Unlock()
	return ac.live[k]
}

// session returns the live session of an account for the to-network
// queues, or why there is none: a stanza error for the sender when the
// message can never leave from it (the account was removed or disabled), a
// plain error when it should wait (logging in, logged out until the user
// registers again).
func (ac *accounts) session(k store.AccountKey) (Session, error) {
	acc := ac.byKey(k)
	if acc == nil {
		a, err := ac.db.GetAccount(k)
		switch {
		case errors.Is(err, store.ErrNotFound):
			return nil, &noSessionError{xmpp.NewStanzaError(xmpp.CondRegistrationRequired, "The account this message was to be sent from was removed.")}
		case err == nil && a.Disabled:
			return nil, &noSessionError{xmpp.NewStanzaError(xmpp.CondRecipientUnavailable, "You are logged out of this gateway (you unsubscribed from it); subscribe again to send messages.")}
		}
		return nil, errors.New("account not started")
	}
	sess, state, reason := acc.snapshot()
	if sess == nil || state != LoggedIn {
		return nil, fmt.Errorf("not logged in: %s", reason)
	}
	return sess, nil
}

// authFailed marks the account logged out after the network refused its
// credentials while sending.
func (ac *accounts) authFailed(ctx context.Context, k store.AccountKey, reason string) {
	if acc := ac.byKey(k); acc != nil {
		ac.loggedOut(ctx, acc, reason)
	}
}

// noSessionError says a queued action can never be sent from its account;
// Bounce is what its sender is told.
type noSessionError struct{ Bounce *xmpp.StanzaError }

func (e *noSessionError) Error() string { return "bridge: no session: " + e.Bounce.Text }
