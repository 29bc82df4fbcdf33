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
	"github.com/xgate-im/xgate/xmpp/jid"
)

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

// accountSink delivers a session's events to the gateway.
type accountSink struct {
	g   *Gateway
	acc *account
}

// Emit implements Sink.
func (s accountSink) Emit(ctx context.Context, ev Event) error {
	return s.g.handleEvent(ctx, s.acc, ev)
}

func accountData(a store.Account) AccountData {
	return AccountData{ID: AccountID(a.Remote), Name: a.Settings[settingName], Settings: a.Settings, Secrets: a.Secrets}
}

// settingName is the settings key that keeps the account's display name.
const settingName = "xgate.name"

// loginAll starts every stored, enabled account.
func (g *Gateway) loginAll(ctx context.Context) error {
	accts, err := g.db.Accounts(g.cfg.Name)
	if err != nil {
		return fmt.Errorf("bridge: list accounts: %w", err)
	}
	for _, a := range accts {
		if a.Disabled {
			continue
		}
		if err := g.startAccount(ctx, a); err != nil {
			g.log.Error("starting account", "user", a.User, "account", a.Remote, "err", err)
		}
	}
	return nil
}

// startAccount logs an account in, in the background, retrying transient
// failures with backoff. An account already running is restarted (its
// credentials may have changed).
func (g *Gateway) startAccount(ctx context.Context, a store.Account) error {
	user, err := jid.Parse(a.User)
	if err != nil {
		return fmt.Errorf("bridge: stored user %q: %w", a.User, err)
	}
	g.stopAccount(a.AccountKey)
	actx, cancel := context.WithCancel(g.runCtx)
	acc := &account{
		key:    a.AccountKey,
		user:   user.Bare(),
		log:    g.log.With("user", a.User, "account", a.Remote),
		data:   accountData(a),
		state:  Connecting,
		cancel: cancel,
		done:   make(chan struct{}),
	}
	g.mu.Lock()
	g.accounts[a.AccountKey] = acc
	g.mu.Unlock()
	g.wg.Go(func() {
		defer close(acc.done)
		g.loginLoop(actx, acc)
	})
	return nil
}

// loginLoop logs in until it succeeds, the credentials are refused, or the
// account is stopped. Then it waits for the stop and closes the session.
func (g *Gateway) loginLoop(ctx context.Context, acc *account) {
	backoff := time.Second
	for {
		sess, err := g.tr.Login(ctx, acc.data, accountSink{g, acc})
		if ctx.Err() != nil {
			if err == nil {
				sess.Close()
			}
			return
		}
		if err == nil {
			acc.mu.Lock()
			acc.session, acc.state, acc.reason = sess, LoggedIn, ""
			acc.mu.Unlock()
			acc.log.Info("logged in")
			g.recordLoginError(acc, "")
			g.announceGateway(ctx, acc.user)
			g.remote.resumeAccount(acc)
			g.syncContacts(ctx, acc, sess)
			<-ctx.Done()
			acc.mu.Lock()
			s := acc.session
			acc.session = nil
			acc.mu.Unlock()
			if s != nil {
				s.Close()
			}
			return
		}
		g.metrics.loginFailures.Add(1)
		if errors.Is(err, ErrAuth) {
			g.loggedOut(ctx, acc, err.Error())
			return
		}
		acc.log.Warn("login failed, retrying", "err", err, "in", backoff)
		acc.mu.Lock()
		acc.state, acc.reason = Connecting, err.Error()
		acc.mu.Unlock()
		g.announceGateway(ctx, acc.user)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 5*time.Minute)
	}
}

// loggedOut marks an account whose credentials stopped working: its
// session is closed, the user is told why, and the account is kept so the
// user can register again with new credentials.
func (g *Gateway) loggedOut(ctx context.Context, acc *account, reason string) {
	acc.mu.Lock()
	already := acc.state == LoggedOut
	s := acc.session
	acc.session, acc.state, acc.reason = nil, LoggedOut, reason
	acc.mu.Unlock()
	if s != nil {
		g.wg.Go(func() { s.Close() }) // never close a session from inside its own event
	}
	if already {
		return
	}
	acc.log.Warn("logged out by the network", "reason", reason)
	g.recordLoginError(acc, reason)
	name := acc.data.Name
	if name == "" {
		name = string(acc.data.ID)
	}
	g.notify(ctx, acc.user, fmt.Sprintf("%s account %s is logged out: %s.\nRegister again with new credentials (send \"register\" or use the Register command) to reconnect. Messages you send meanwhile are kept and sent after you log in again.", g.info.Name, name, reason))
	g.announceGateway(ctx, acc.user)
}

// recordLoginError stores the account's last login error for status
// displays and restarts.
func (g *Gateway) recordLoginError(acc *account, reason string) {
	a, err := g.db.GetAccount(acc.key)
	if err != nil || a.LastError == reason {
		return
	}
	a.LastError = reason
	if err := g.db.PutAccount(a); err != nil {
		acc.log.Error("storing login state", "err", err)
	}
}

// stopAccount closes an account's session and forgets it (the stored
// account is untouched). It returns once the session is closed, so that a
// removed account sends nothing more.
func (g *Gateway) stopAccount(k store.AccountKey) {
	g.mu.Lock()
	acc := g.accounts[k]
	delete(g.accounts, k)
	g.mu.Unlock()
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
func (g *Gateway) logoutAll() {
	g.mu.Lock()
	accs := make([]*account, 0, len(g.accounts))
	for _, a := range g.accounts {
		accs = append(accs, a)
	}
	g.mu.Unlock()
	for _, a := range accs {
		a.cancel()
	}
}

// userAccounts returns the live accounts of a user, sorted by account ID.
func (g *Gateway) userAccounts(user jid.JID) []*account {
	user = user.Bare()
	g.mu.Lock()
	var out []*account
	for _, a := range g.accounts {
		if a.user == user {
			out = append(out, a)
		}
	}
	g.mu.Unlock()
	slices.SortFunc(out, func(a, b *account) int { return strings.Compare(a.key.Remote, b.key.Remote) })
	return out
}

// users returns every user with a live account.
func (g *Gateway) users() []jid.JID {
	g.mu.Lock()
	seen := map[jid.JID]bool{}
	for _, a := range g.accounts {
		seen[a.user] = true
	}
	g.mu.Unlock()
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
func (g *Gateway) noteRoute(acc *account, uid UserID) {
	k := routeKey(g.cfg.Name, acc.user, uid)
	if v, err := g.db.KVGet(routeNS, k); err == nil && string(v) == acc.key.Remote {
		return
	}
	if err := g.db.KVPut(routeNS, k, []byte(acc.key.Remote)); err != nil {
		acc.log.Error("storing contact route", "err", err)
	}
}

// accountFor picks the account of user that reaches uid: the one it was
// last seen through, else the user's first account.
func (g *Gateway) accountFor(user jid.JID, uid UserID) (*account, error) {
	accs := g.userAccounts(user)
	if len(accs) == 0 {
		return nil, ErrNotRegistered
	}
	if v, err := g.db.KVGet(routeNS, routeKey(g.cfg.Name, user.Bare(), uid)); err == nil {
		for _, a := range accs {
			if a.key.Remote == string(v) {
				return a, nil
			}
		}
	}
	return accs[0], nil
}

// accountByKey returns the live account with the given key.
func (g *Gateway) accountByKey(k store.AccountKey) *account {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.accounts[k]
}
