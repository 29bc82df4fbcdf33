package slack

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/slack-go/slack"
	"golang.org/x/time/rate"

	"github.com/xgate-im/xgate/bridge"
)

// Transport is the Slack network for one gateway instance: the accounts of
// all its users (one per person and workspace, each with its user token)
// and the one Socket Mode connection that receives the events of all of
// them. Create it with New; the bridge runs it (Run) and logs its accounts
// in (Login). Safe for concurrent use.
type Transport struct {
	set    settings
	log    *slog.Logger
	hc     *http.Client
	app    *slack.Client // with the app-level token
	router *router
	// fanout holds the live sessions by account and workspace and hands
	// them the events of the Socket Mode connection.
	fanout *bridge.Fanout

	// grace is how long after the Socket Mode connection events of a user
	// installation without a session wait for its login (see router.route);
	// presenceLimit and presenceBurst bound users.getPresence calls per
	// session. Tests shorten them.
	grace         time.Duration
	presenceLimit rate.Limit
	presenceBurst int

	mu   sync.Mutex
	dirs map[string]*directory // by team ID
	// ims indexes the direct-message conversations any session learned,
	// by team and channel: the router finds a DM's members in it without
	// asking every session of the workspace.
	ims       map[imKey]imPair
	bots      map[string]botInfo        // the app's bot, by team ID
	closed    map[bridge.AccountID]bool // accounts whose session closed, not logged in again
	connected time.Time                 // first Socket Mode connection of Run
}

// botInfo identifies the app's bot in a workspace.
type botInfo struct{ userID, botID string }

var (
	_ bridge.Transport      = (*Transport)(nil)
	_ bridge.Runner         = (*Transport)(nil)
	_ bridge.FanoutProvider = (*Transport)(nil)
)

// Fanout implements bridge.FanoutProvider.
func (t *Transport) Fanout() *bridge.Fanout { return t.fanout }

// Grace before events of not-yet-logged-in accounts are given up, and the
// default bound on presence polling (users.getPresence is a Tier 3
// method: about 50 calls a minute per token).
const (
	defaultGrace         = 30 * time.Second
	defaultPresenceLimit = rate.Limit(40.0 / 60)
	defaultPresenceBurst = 10
	// maxIdlePerHost is how many keep-alive connections to one host the
	// default client keeps, and opens at most: one per chat sending at
	// once, up to this; more calls at once wait for a connection (a
	// backlog of events at start-up once opened thousands, each with its
	// buffers and goroutines).
	maxIdlePerHost = 64
)

// New returns a transport for cfg. log may be nil; httpClient nil means a
// client with a 30-second timeout that keeps up to maxIdlePerHost
// keep-alive connections to Slack (Go's default keeps 2, so that parallel
// chats open a new TLS connection for most calls) and opens no more. It does no network I/O and fails only
// on an invalid configuration.
func New(cfg Config, log *slog.Logger, httpClient *http.Client) (*Transport, error) {
	set, err := cfg.settings()
	if err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if httpClient == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConns = maxIdlePerHost * 2
		tr.MaxIdleConnsPerHost = maxIdlePerHost
		tr.MaxConnsPerHost = maxIdlePerHost
		httpClient = &http.Client{Timeout: 30 * time.Second, Transport: tr}
	}
	t := &Transport{
		set: set, log: log, hc: httpClient,
		grace: defaultGrace, presenceLimit: defaultPresenceLimit, presenceBurst: defaultPresenceBurst,
		dirs:   map[string]*directory{},
		bots:   map[string]botInfo{},
		closed: map[bridge.AccountID]bool{},
		ims:    map[imKey]imPair{},
	}
	t.app = slack.New("", t.options(slack.OptionAppLevelToken(set.appToken))...)
	t.router = newRouter(t)
	t.fanout = bridge.NewFanout(log, func(a bridge.AccountID) string {
		team, _, _ := ParseAccountID(a)
		return team
	})
	t.fanout.SetRestore(t.router.restore)
	return t, nil
}

// options are the slack-go options of every client.
func (t *Transport) options(extra ...slack.Option) []slack.Option {
	return append([]slack.Option{
		slack.OptionAPIURL(t.set.apiURL),
		slack.OptionHTTPClient(t.hc),
		slack.OptionLog(debugLog{t.log}),
	}, extra...)
}

// client returns a Web API client for a token.
func (t *Transport) client(token string) *slack.Client {
	return slack.New(token, t.options()...)
}

// debugLog passes slack-go's debug output (off unless enabled) to slog.
type debugLog struct{ log *slog.Logger }

func (l debugLog) Output(_ int, s string) error {
	l.log.Debug(strings.TrimSpace(s), "source", "slack-go")
	return nil
}

// Info implements bridge.Transport.
func (t *Transport) Info() bridge.Info {
	how := "In Slack, install the gateway's app for yourself (ask your administrator for its install link) and copy the User OAuth Token it shows, which starts with xoxp-."
	if t.set.installURL != "" {
		how = "Open " + t.set.installURL + ", allow the app in your workspace, and copy the User OAuth Token it shows, which starts with xoxp-."
	}
	return bridge.Info{
		Network:     "slack",
		Name:        "Slack",
		Description: "Slack workspaces: direct messages, presence, status, edits and reactions",
		Capabilities: bridge.Capabilities{
			Edits: true, Retractions: true, Reactions: true, Threads: true, ReadMarkers: true,
			Presence: true, SetPresence: true, Avatars: true, Groups: true, StableTimes: true,
			MaxMessageLength: maxMessageRunes,
		},
		Registration: bridge.RegistrationForm{
			Title:        "Register a Slack workspace",
			Instructions: "Give your Slack user token. " + how + " Each workspace is its own account: register again with another token to add one.",
			Fields: []bridge.Field{{
				Var: "token", Label: "User token (xoxp-…)", Type: bridge.FieldPassword, Required: true, Secret: true,
				Desc: "Your personal Slack token for this gateway's app, xoxp-… (not a bot token).",
			}},
		},
		ContactPrompt: "Slack member",
		ContactDesc:   "Enter a member of your workspace: their member ID (U…, in their Slack profile under ⋮ → Copy member ID), @name, or e-mail address.",
	}
}

// maxMessageRunes is the longest text chat.postMessage keeps.
const maxMessageRunes = 40000

// Register implements bridge.Transport: it checks a user token with
// auth.test and names the account after the member and the workspace.
func (t *Transport) Register(ctx context.Context, values map[string]string) (bridge.AccountData, error) {
	tok := strings.TrimSpace(values["token"])
	if err := checkUserToken(tok); err != nil {
		return bridge.AccountData{}, err
	}
	api := t.client(tok)
	at, err := api.AuthTestContext(ctx)
	if err != nil {
		return bridge.AccountData{}, classify("auth.test", err)
	}
	if at.BotID != "" {
		return bridge.AccountData{}, fmt.Errorf("slack: this is a bot token; register with your user token (xoxp-…): %w", bridge.ErrInvalidInput)
	}
	if !validID(at.TeamID, teamKinds) || !validID(at.UserID, userKinds) {
		return bridge.AccountData{}, fmt.Errorf("slack: auth.test returned team %q and user %q: %w", at.TeamID, at.UserID, bridge.ErrTemporary)
	}
	teamName, host := at.Team, hostOf(at.URL)
	if ti, err := api.GetTeamInfoContext(ctx); err == nil {
		teamName = firstNonEmpty(ti.Name, teamName)
		if host == "" && ti.Domain != "" {
			host = ti.Domain + ".slack.com"
		}
	} else if err := classify("team.info", err); errors.Is(err, bridge.ErrAuth) {
		return bridge.AccountData{}, err
	}
	name := fmt.Sprintf("%s in %s", firstNonEmpty(at.User, at.UserID), firstNonEmpty(teamName, at.TeamID))
	if host != "" {
		name += " (" + host + ")"
	}
	return bridge.AccountData{
		ID:      MakeAccountID(at.TeamID, at.UserID),
		Name:    name,
		Secrets: map[string]string{"token": tok},
	}, nil
}

// checkUserToken tells a user who pasted the wrong kind of token.
func checkUserToken(tok string) error {
	var why string
	switch {
	case tok == "":
		why = "enter your Slack user token (xoxp-…)"
	case strings.HasPrefix(tok, "xoxb-"):
		why = "this is a bot token (xoxb-…); register with your user token (xoxp-…)"
	case strings.HasPrefix(tok, "xapp-"):
		why = "this is an app-level token (xapp-…); register with your user token (xoxp-…)"
	case !strings.HasPrefix(tok, "xoxp-"):
		why = "a Slack user token starts with xoxp-"
	case strings.ContainsAny(tok, " \t\r\n"):
		why = "the token must not contain spaces"
	default:
		return nil
	}
	return fmt.Errorf("slack: %s: %w", why, bridge.ErrInvalidInput)
}

// hostOf returns the host of a workspace URL ("acme.slack.com").
func hostOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return u.Hostname()
}

// Login implements bridge.Transport: it checks the stored token and starts
// a session that receives the account's events from Run.
func (t *Transport) Login(ctx context.Context, acct bridge.AccountData, sink bridge.Sink) (bridge.Session, error) {
	team, user, err := ParseAccountID(acct.ID)
	if err != nil {
		return nil, fmt.Errorf("slack: stored account is unusable, register again: %w: %w", err, bridge.ErrAuth)
	}
	tok := acct.Secrets["token"]
	if tok == "" {
		return nil, fmt.Errorf("slack: no token stored, register again: %w", bridge.ErrAuth)
	}
	api := t.client(tok)
	at, err := api.AuthTestContext(ctx)
	if err != nil {
		return nil, classify("auth.test", err)
	}
	if at.TeamID != team || at.UserID != user {
		return nil, fmt.Errorf("slack: the token is for member %s of workspace %s, not for this account; register again: %w", at.UserID, at.TeamID, bridge.ErrAuth)
	}
	dir := t.directory(team)
	dir.setTeam(at.Team, strings.TrimSuffix(hostOf(at.URL), ".slack.com"))
	s := newSession(t, acct.ID, team, user, api, dir, sink)
	s.token = tok
	t.fanout.Attach(acct.ID, s)
	t.mu.Lock()
	delete(t.closed, acct.ID)
	t.mu.Unlock()
	t.router.sessionsChanged(team)
	s.start()
	return s, nil
}

// ContactLocalpart implements bridge.Transport (see ContactLocalpart).
func (t *Transport) ContactLocalpart(id bridge.UserID) string { return ContactLocalpart(id) }

// directory returns the shared directory of a workspace.
func (t *Transport) directory(team string) *directory {
	t.mu.Lock()
	defer t.mu.Unlock()
	d := t.dirs[team]
	if d == nil {
		d = newDirectory(team)
		t.dirs[team] = d
	}
	return d
}

// removeSession forgets a closed session, unless a newer one of the same
// account replaced it.
func (t *Transport) removeSession(s *Session) {
	if s.community != "" {
		t.router.bridge(s.community, "") // still to be bridged: not acknowledged
	}
	if t.fanout.Detach(s.id, s) {
		t.mu.Lock()
		t.closed[s.id] = true
		t.mu.Unlock()
	}
	t.router.sessionsChanged(s.team)
}

// knowBot learns the app's bot (when the instance has a bot token) if Run
// did not yet, so that contact lists made early leave it out too.
func (t *Transport) knowBot(ctx context.Context, team string) {
	if t.set.botToken == "" {
		return
	}
	t.mu.Lock()
	_, ok := t.bots[team]
	t.mu.Unlock()
	if !ok {
		t.identifyBot(ctx)
	}
}

// isOurBot reports whether a member or bot ID is the app's bot in a team.
func (t *Transport) isOurBot(team, userID, botID string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	b, ok := t.bots[team]
	return ok && ((userID != "" && userID == b.userID) || (botID != "" && botID == b.botID))
}

// awaitLogin reports whether events for a member without a session should
// wait for its login: shortly after Run connected, for members whose
// session did not just close (it may be an account the bridge is still
// logging in).
func (t *Transport) awaitLogin(team, member string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return !t.connected.IsZero() && time.Since(t.connected) < t.grace && !t.closed[MakeAccountID(team, member)]
}

// inGrace reports whether it is shortly after Run connected.
func (t *Transport) inGrace() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return !t.connected.IsZero() && time.Since(t.connected) < t.grace
}

// imKey names a direct-message conversation; imPair is its two members.
type imKey struct{ team, channel string }
type imPair struct{ user, peer string }

// noteIM records the members of a direct-message conversation.
func (t *Transport) noteIM(team, channel, user, peer string) {
	t.mu.Lock()
	t.ims[imKey{team, channel}] = imPair{user, peer}
	t.mu.Unlock()
}

// forgetIM forgets a direct-message conversation that is gone.
func (t *Transport) forgetIM(team, channel string) {
	t.mu.Lock()
	delete(t.ims, imKey{team, channel})
	t.mu.Unlock()
}

// imMembers returns the members of a known direct-message conversation.
func (t *Transport) imMembers(team, channel string) (imPair, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	p, ok := t.ims[imKey{team, channel}]
	return p, ok
}
