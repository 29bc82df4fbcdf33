package discord

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/xgate-im/xgate/bridge"
)

// Transport is the Discord network for one gateway instance: the
// instance's bot (one Gateway connection shared by every bot-linked
// account) and the personal accounts (one connection each). Create it with
// New; the bridge runs it (Run) and logs its accounts in (Login). Safe for
// concurrent use.
type Transport struct {
	set    settings
	log    *slog.Logger
	hc     *http.Client
	files  *http.Client // fetches the XMPP users' files (XEP-0066 links)
	fanout *bridge.Fanout
	bot    *conn // nil without a bot token

	// redeliver is how long an event waits for its sessions before it is
	// dispatched again; tests shorten it.
	redeliver time.Duration
	// beforeOpen, when set by a test, runs before every Gateway connection.
	beforeOpen func()

	// life is the context of the Fanout's work: it ends when Run returns.
	life    context.Context
	endLife context.CancelFunc

	// chans caches the group channels seen.
	chans channels
	// state is the durable memory (state.go); set before Run and Login.
	state State
	// catchMu orders a bot-linked login against the bot's READY, and
	// botLive says a READY came: see Login.
	catchMu sync.Mutex
	botLive bool

	mu     sync.Mutex
	codes  map[string]linkCode // pending bot links, by Discord user ID
	botDMs map[string]string   // the person of each of the bot's DM channels (cache of state)
	// presences are the last presences the bot saw, by user, for
	// bot-linked accounts that log in later; presenceChanged is closed
	// (and replaced) at each change.
	presences       map[string]presenceUpdate
	presenceChanged chan struct{}
	replyTo         map[string]bridge.AccountID // who gets what a person writes to the bot (cache of state)
	// warned remembers the advice given to the admin once.
	warned map[string]bool
	// bridged are the channels bridged to community rooms (community.go).
	bridged map[string]*communitySession
}

var (
	_ bridge.Transport          = (*Transport)(nil)
	_ bridge.Runner             = (*Transport)(nil)
	_ bridge.MultiStepRegistrar = (*Transport)(nil)
)

const defaultRedeliver = 5 * time.Second

// New returns a transport for cfg. log may be nil; httpClient nil means a
// client with a 30-second timeout. It does no network I/O and fails only
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
		httpClient = &http.Client{Timeout: 30 * time.Second}
	}
	hc := *httpClient
	hc.Transport = rewrite{base: httpClient.Transport, api: set.apiURL, cdn: set.cdnURL}
	life, endLife := context.WithCancel(context.Background())
	t := &Transport{
		set: set, log: log, hc: &hc, files: httpClient, redeliver: defaultRedeliver, life: life, endLife: endLife,
		codes: map[string]linkCode{}, replyTo: map[string]bridge.AccountID{}, warned: map[string]bool{},
		presences: map[string]presenceUpdate{}, presenceChanged: make(chan struct{}),
		botDMs: map[string]string{}, state: &MemoryState{},
	}
	t.fanout = bridge.NewFanout(log, func(a bridge.AccountID) string {
		kind, user, _ := ParseAccountID(a)
		if kind == kindBot {
			return kindBot
		}
		return user
	})
	if set.botToken != "" {
		t.bot = newConn(t, set.botToken, true, log.With("connection", "bot"))
		t.bot.onEvent = t.onBotEvent
	}
	return t, nil
}

// rewrite sends discordgo's requests, whose URLs it computes from
// https://discord.com/ once at start, to the configured API and CDN.
type rewrite struct {
	base     http.RoundTripper
	api, cdn string
}

func (r rewrite) RoundTrip(req *http.Request) (*http.Response, error) {
	u := req.URL.String()
	var to string
	switch {
	case strings.HasPrefix(u, discordgo.EndpointAPI):
		to = r.api + strings.TrimPrefix(u, discordgo.EndpointAPI)
	case strings.HasPrefix(u, discordgo.EndpointCDN):
		to = r.cdn + strings.TrimPrefix(u, discordgo.EndpointCDN)
	}
	if to != "" && to != u {
		req = req.Clone(req.Context())
		nu, err := req.URL.Parse(to)
		if err != nil {
			return nil, fmt.Errorf("discord: rewrite %s: %w", to, err)
		}
		req.URL, req.Host = nu, nu.Host
	}
	base := r.base
	if base == nil {
		base = http.DefaultTransport
	}
	return base.RoundTrip(req)
}

// maxMessageRunes is the longest content of one Discord message.
const maxMessageRunes = 2000

// Info implements bridge.Transport.
func (t *Transport) Info() bridge.Info {
	var how []string
	fields := []bridge.Field{}
	if t.bot != nil {
		how = append(how, "To use the gateway's Discord bot, enter your Discord user ID (Settings → Advanced → Developer Mode, then right-click your name → Copy User ID); the bot sends you a code in a direct message, which you enter next. You must share a server with the bot.")
		fields = append(fields, bridge.Field{
			Var: "user", Label: "Your Discord user ID", Type: bridge.FieldText,
			Desc: "A number like 80351110224678912: link your Discord user to this gateway's bot.",
		})
	}
	if t.set.personal {
		how = append(how, "To use your own Discord account, enter your user token instead. WARNING: Discord's terms of service forbid automating user accounts (\"self-bots\"); Discord may suspend an account used this way. You take that risk.")
		fields = append(fields, bridge.Field{
			Var: "token", Label: "Your Discord user token (at your own risk)", Type: bridge.FieldPassword, Secret: true,
			Desc: "Discord's terms forbid automating user accounts; Discord may suspend your account. Leave empty to use the bot.",
		})
	}
	return bridge.Info{
		Network:     "discord",
		Name:        "Discord",
		Description: "Discord direct messages and server channels: contacts, presence, files, edits, deletions, reactions, replies and typing",
		Capabilities: bridge.Capabilities{
			Edits: true, Retractions: true, Reactions: true, Replies: true, Typing: true,
			ReadMarkers: t.set.personal, Presence: true, SetPresence: t.set.personal, Avatars: true,
			Attachments: true, Groups: true, StableTimes: true,
			MaxMessageLength: maxMessageRunes,
		},
		Registration: bridge.RegistrationForm{
			Title:        "Register a Discord account",
			Instructions: strings.Join(how, " "),
			Fields:       fields,
		},
	}
}

// Run implements bridge.Runner: it keeps the bot's Gateway connection
// open until ctx ends. Without a bot it waits for ctx. A refused bot token
// or privileged intent is told to the admin (in the log, at error level)
// and to the bot-linked users; Run then waits for ctx without retrying,
// since retrying cannot help until the admin acts.
func (t *Transport) Run(ctx context.Context) error {
	defer t.fanout.Wait()
	defer t.endLife()
	if t.bot == nil {
		<-ctx.Done()
		return nil
	}
	err := t.bot.run(ctx, t.redeliver)
	if err == nil {
		return nil
	}
	reason := "the gateway's Discord bot cannot connect; the administrator has been told"
	switch {
	case errors.Is(err, ErrPrivilegedIntent):
		t.log.Error("Discord refused the bot's connection: a privileged intent it asks for is not enabled. "+
			"In the Developer Portal (Applications → your app → Bot → Privileged Gateway Intents) enable "+
			"Server Members Intent, Presence Intent and Message Content Intent, or remove them from intents in the [[discord]] section",
			"intents", strings.Join(privilegedIntents, ", "), "err", err)
	case errors.Is(err, bridge.ErrAuth):
		t.log.Error("Discord refused the bot token (revoked or reset?); set the new one in the [[discord]] section's bot_token and restart", "err", err)
	}
	for _, a := range t.fanout.Group(kindBot) {
		if s, ok := t.fanout.Session(a); ok {
			_ = s.(*Session).sink.Emit(ctx, bridge.LoginStateEvent{State: bridge.Connecting, Reason: reason})
		}
	}
	<-ctx.Done()
	return nil
}

// lifetime is the context that ends with the transport (when Run
// returns): what the Fanout's work for an event runs in.
func (t *Transport) lifetime() context.Context { return t.life }

// warnOnce logs advice for the admin the first time key comes up.
func (t *Transport) warnOnce(key, msg string, args ...any) {
	t.mu.Lock()
	seen := t.warned[key]
	t.warned[key] = true
	t.mu.Unlock()
	if !seen {
		t.log.Warn(msg, args...)
	}
}
