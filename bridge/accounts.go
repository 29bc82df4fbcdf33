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
	// loggedIn runs in the login loop once a session is up.
	loggedIn func(ctx context.Context, acc *account, sess Session)
	// changed announces a user's new login state.
	changed func(ctx context.Context, user jid.JID)
	// senders keeps the names and pictures that messages give for their
	// senders, for the vCards of people without a profile (senders.go).
	senders *senderCards

	// loginSlots paces logins: at most cap(loginSlots) run at once, so
	// that thousands of accounts starting together do not hold up the
	// component's handshake nor open thousands of connections at once.
	loginSlots chan struct{}

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
	ac.mu.Lock()
	accs := ac.byRemote[id]
	ac.mu.Unlock()
	for _, a := range accs {
		if _, state, _ := a.snapshot(); state == Connecting {
			return true
		}
	}
	return false
}

// account is one registered remote account and its live session.
type account struct {
	key  store.AccountKey
	user jid.JID // bare
	log  *slog.Logger

	mu      sync.Mutex
	data    AccountData
	session Session // nil unless logged in
	state   LoginState
	reason  string
	cancel  context.CancelFunc // stops the login loop and the session
	done    chan struct{}      // closed when the login loop ended and the session is closed
}

func (a *account) snapshot() (Session, LoginState, string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.session, a.state, a.reason
}

func accountData(a store.Account) AccountData {
	return AccountData{ID: AccountID(a.Remote), Name: a.Settings[settingName], Settings: a.Settings, Secrets: a.Secrets}
}

// settingName is the settings key that keeps the account's display name.
const settingName = "xgate.name"

// loginAll starts every stored, enabled account.
func (ac *accounts) loginAll(ctx context.Context) error {
	accts, err := ac.db.Accounts(ac.name)
	if err != nil {
		return fmt.Errorf("bridge: list accounts: %w", err)
	}
	for _, a := range accts {
		if a.Disabled {
			continue
		}
		if err := ac.start(ctx, a); err != nil {
			ac.log.Error("starting account", "user", a.User, "account", a.Remote, "err", err)
		}
	}
	return nil
}

// start logs an account in, in the background, retrying transient
// failures with backoff. An account already running is restarted (its
// credentials may have changed).
func (ac *accounts) start(ctx context.Context, a store.Account) error {
	user, err := jid.Parse(a.User)
	if err != nil {
		return fmt.Errorf("bridge: stored user %q: %w", a.User, err)
	}
	ac.stop(a.AccountKey)
	actx, cancel := context.WithCancel(ac.life.ctx)
	acc := &account{
		key:    a.AccountKey,
		user:   user.Bare(),
		log:    ac.log.With("user", a.User, "account", a.Remote),
		data:   accountData(a),
		state:  Connecting,
		cancel: cancel,
		done:   make(chan struct{}),
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
	ac.life.wg.Go(func() {
		if !ac.loginLoop(actx, acc) {
			close(acc.done)
		}
	})
	return nil
}

// concurrentLogins is how many logins run at once.
const concurrentLogins = 16

// login calls the transport's Login in one of the login slots. On success
// the slot is kept until release is called: the work that follows a login
// (the contact list, the roster pushes) counts as part of it, so that a
// start with thousands of accounts does not run thousands of those at
// once (9,700 goroutines waiting to send to the host server were seen).
func (ac *accounts) login(ctx context.Context, acc *account) (sess Session, release func(), err error) {
	select {
	case ac.loginSlots <- struct{}{}:
	case <-ctx.Done():
		return nil, nil, ctx.Err()
	}
	release = func() { <-ac.loginSlots }
	sess, err = ac.tr.Login(ctx, acc.data, ac.sink(acc))
	if err != nil {
		release()
		return nil, nil, err
	}
	return sess, release, nil
}

// loginLoop logs in until it succeeds, the credentials are refused, or the
// account is stopped. Once logged in it returns true, leaving no goroutine
// behind: the stop closes the session and then acc.done. Otherwise acc.done
// is for the caller to close.
func (ac *accounts) loginLoop(ctx context.Context, acc *account) (handedOff bool) {
	backoff := time.Second
	for {
		sess, release, err := ac.login(ctx, acc)
		if ctx.Err() != nil {
			if err == nil {
				release()
				sess.Close()
			}
			return false
		}
		if err == nil {
			acc.mu.Lock()
			acc.session, acc.state, acc.reason = sess, LoggedIn, ""
			acc.mu.Unlock()
			acc.log.Info("logged in")
			ac.recordLoginError(acc, "")
			ac.changed(ctx, acc.user)
			ac.loggedIn(ctx, acc, sess)
			release()
			ac.life.wg.Add(1) // inside a counted goroutine: never from zero
			context.AfterFunc(ctx, func() {
				defer ac.life.wg.Done()
				defer close(acc.done)
				acc.mu.Lock()
				s := acc.session
				acc.session = nil
				acc.mu.Unlock()
				if s != nil {
					s.Close()
				}
			})
			return true
		}
		ac.metrics.loginFailures.Add(1)
		if errors.Is(err, ErrAuth) {
			ac.loggedOut(ctx, acc, err.Error())
			return false
		}
		acc.log.Warn("login failed, retrying", "err", err, "in", backoff)
		acc.mu.Lock()
		acc.state, acc.reason = Connecting, err.Error()
		acc.mu.Unlock()
		ac.changed(ctx, acc.user)
		select {
		case <-ctx.Done():
			return false
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 5*time.Minute)
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
	acc.cancel()
	select {
	case <-acc.done:
	case <-time.After(stopTimeout):
		acc.log.Warn("session still closing", "after", stopTimeout)
	}
}

// stopTimeout bounds how long stopping an account waits for its session to
// close.
const stopTimeout = 10 * time.Second

// logoutAll stops every session, for shutdown.
func (ac *accounts) logoutAll() {
	ac.mu.Lock()
	accs := make([]*account, 0, len(ac.live))
	for _, a := range ac.live {
		accs = append(accs, a)
	}
	ac.mu.Unlock()
	for _, a := range accs {
		a.cancel()
	}
}

// userAccounts returns the live accounts of a user, sorted by account ID.
func (ac *accounts) userAccounts(user jid.JID) []*account {
	user = user.Bare()
	ac.mu.Lock()
	out := slices.Clone(ac.byUser[user])
	ac.mu.Unlock()
	slices.SortFunc(out, func(a, b *account) int { return strings.Compare(a.key.Remote, b.key.Remote) })
	return out
}

// users returns every user with a live account.
func (ac *accounts) users() []jid.JID {
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
	if len(accs) == 0 {
		return nil, notLoggedIn(ac.db, ac.name, ac.info, ac.out.domain, user)
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
