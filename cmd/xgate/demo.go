package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/xgate-im/xgate/bridge"
	"github.com/xgate-im/xgate/store"
	"github.com/xgate-im/xgate/transports/discord/discordfake"
	"github.com/xgate-im/xgate/transports/slack"
	"github.com/xgate-im/xgate/transports/slack/slackfake"
	"github.com/xgate-im/xgate/xmpp/jid"
)

// demoOptions are the flags of `xgate demo`.
type demoOptions struct {
	server, domain, secret string // server "" runs a private Prosody; domain is Slack's
	discordDomain          string
	smsDomain              string
	user                   string // XMPP user to register at once, or ""
	password               string // the user's on the private Prosody; random when ""
	admin                  string // admin HTTP address, or ""
	dir                    string // where the demo keeps its files; a temp dir when ""
	playground             string // the playground page's loopback address ("" any port), or "off"
	debug                  bool
	script                 bool // run the scripted tour, then exit
}

func (c *cli) demoCommand(fs *flagSet) func([]string) int {
	o := &demoOptions{}
	fs.StringVar(&o.server, "server", "", "attach to the component `ADDRESS` of your XMPP server (default: run a private Prosody on loopback)")
	fs.StringVar(&o.domain, "domain", "slack.localhost", "the Slack component's `DOMAIN` declared on the host server")
	fs.StringVar(&o.discordDomain, "discord-domain", "discord.localhost", "the Discord component's `DOMAIN` declared on the host server, or \"off\"")
	fs.StringVar(&o.smsDomain, "sms-domain", "sms.localhost", "the SMS component's `DOMAIN` declared on the host server, or \"off\"")
	fs.StringVar(&o.secret, "secret", "demo", "the component `SECRET` declared on the host server")
	fs.StringVar(&o.user, "user", "", "an XMPP account (`JID`) to register with the demo workspace right away (default with the private Prosody: "+defaultDemoUser+")")
	fs.StringVar(&o.password, "password", "", "the `PASSWORD` of -user on the private Prosody (default: a random one, printed)")
	fs.StringVar(&o.admin, "admin", "", "serve /healthz and /metrics on this loopback `ADDRESS`")
	fs.StringVar(&o.dir, "dir", "", "keep the demo's store and config in `DIR` (default: a temporary directory, removed at exit)")
	fs.StringVar(&o.playground, "playground", "127.0.0.1:0", "serve the playground page (the fake networks as their people see them) on this loopback `ADDRESS`, or \"off\"")
	fs.BoolVar(&o.debug, "v", false, "log at debug level")
	fs.BoolVar(&o.script, "script", false, "run a scripted tour (a built-in XMPP client talks to the workspace through the private Prosody), print its transcript and exit: 0 when every step passed")
	return func(args []string) int {
		if len(args) > 0 {
			return c.usageError(fs, "unexpected argument %q", args[0])
		}
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		context.AfterFunc(ctx, stop)
		ready := func(i demoInfo) {
			if c.ready != nil {
				c.ready(i.adminAddr)
			}
		}
		if err := runDemo(ctx, *o, c.stderr, ready); err != nil {
			return c.fail(err)
		}
		return exitOK
	}
}

// demoInfo is what a running demo tells its caller: how to reach it.
type demoInfo struct {
	adminAddr string   // the admin endpoint's address, or ""
	user      jid.JID  // the demo user, or zero
	password  string   // the demo user's password on the private server
	c2s       string   // the private server's client address, or ""
	muc       string   // the private server's group chat service, or ""
	domain    string   // the Slack component's domain
	domains   []string // every component's domain
	// playground is the playground page's URL, or "".
	playground string
	guild      *demoGuild  // the Discord side
	phones     *demoPhones // the SMS side
}

// runDemo runs a gateway bridging a fake Slack workspace, whose people
// answer, to the host server, until ctx ends. Everything is real but the
// network: the transport, the bridge, the store, the config path. Without
// o.server it runs a private Prosody for the time of the demo. ready, if
// set, is called once the gateway serves.
func runDemo(ctx context.Context, o demoOptions, out io.Writer, ready func(demoInfo)) error {
	level := slog.LevelInfo
	if o.debug {
		level = slog.LevelDebug
	}
	if o.script && o.server != "" {
		return errTourNeedsPrivateServer
	}
	if o.script && !o.debug {
		level = slog.LevelWarn // the transcript is the output
	}
	log := newLogger(out, level, false)
	if o.dir == "" {
		dir, err := os.MkdirTemp("", "xgate-demo-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		o.dir = dir
	} else if err := os.MkdirAll(o.dir, 0o700); err != nil {
		return fmt.Errorf("demo: -dir: %w", err)
	}
	if o.domain == "" {
		o.domain = "slack.localhost"
	}
	if o.discordDomain == "" {
		o.discordDomain = "discord.localhost"
	}
	if o.smsDomain == "" {
		o.smsDomain = "sms.localhost"
	}
	if o.server == "" && o.user == "" {
		o.user = defaultDemoUser
	}
	var user jid.JID
	if o.user != "" {
		u, err := jid.Parse(o.user)
		if err != nil || u.Local() == "" {
			return fmt.Errorf("demo: -user %q is not a user JID", o.user)
		}
		user = u.Bare()
	}
	info := demoInfo{user: user, domain: o.domain, domains: o.components()}
	var private *privateServer
	if o.server == "" {
		p, err := startPrivateServer(ctx, &o, user, privateServerDir(o.dir))
		if err != nil {
			return err
		}
		defer p.stop()
		private = p
		o.server = p.srv.ComponentAddr()
		info.password, info.c2s, info.muc = p.password, p.c2s, p.muc
	}

	fake := slackfake.New()
	defer fake.Close()
	ws := newDemoWorkspace(fake, user)
	dfake := discordfake.New()
	defer dfake.Close()
	guild := newDemoGuild(dfake, user)
	phones, err := startDemoPhones()
	if err != nil {
		return err
	}
	defer phones.close()
	more := ""
	if o.discordDomain != off {
		info.guild = guild
		more += discordSection(o.discordDomain, o.secret, guild)
	}
	if o.smsDomain != off {
		info.phones = phones
		more += phones.smsSection(o.smsDomain, o.secret, user)
	}

	cfgPath, err := writeDemoConfig(o, fake, ws.botToken, more)
	if err != nil {
		return err
	}
	cfg, err := readConfig(cfgPath, transportKinds)
	if err == nil {
		err = cfg.resolve()
	}
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	if !user.IsZero() {
		if err := provisionDemoUser(ctx, cfg, user, ws.meToken, guild.meToken); err != nil {
			return err
		}
	}
	// The workspace's people stop with the gateway, whatever ended it: a
	// fatal error (a wrong secret) ends the demo like Ctrl-C does.
	wsCtx, stopPeople := context.WithCancel(ctx)
	ws.start(wsCtx)
	guild.start(wsCtx)
	defer func() {
		stopPeople()
		ws.wait()
		guild.wait()
	}()
	if o.playground == "" {
		o.playground = "127.0.0.1:0"
	}
	if o.playground != "off" {
		pg, err := startPlayground(o.playground, ws, info.guild, info.phones)
		if err != nil {
			return err
		}
		defer pg.stop()
		info.playground = pg.url
	}
	if info.playground != "" && !o.script {
		fmt.Fprintf(out, "\nPlayground: %s — the fake networks as their people see them: act as\nEliza, Ada, Grace or Linus on Slack, Hedy or Alan on Discord, or Pat by SMS, and talk to %s.\n", info.playground, user)
	}
	switch {
	case o.script: // the transcript says what happens
	case private != nil:
		fmt.Fprint(out, privateBanner(o, user, private))
	default:
		fmt.Fprint(out, demoBanner(o, user, ws.meToken))
	}
	if !o.script {
		return serve(ctx, cfg, log, versionString()+" (demo)", func(admin string) {
			if ready != nil {
				info.adminAddr = admin
				ready(info)
			}
		})
	}
	// The tour runs once the gateway serves, and its end ends the demo.
	sctx, stopServe := context.WithCancel(ctx)
	defer stopServe()
	tourDone := make(chan error, 1)
	started := false
	serveErr := serve(sctx, cfg, log, versionString()+" (demo)", func(admin string) {
		started = true
		go func() {
			tourDone <- runTour(sctx, info, ws, out)
			stopServe()
		}()
	})
	if !started {
		return fmt.Errorf("demo: the gateway did not start: %w", serveErr)
	}
	stopServe()
	tourErr := <-tourDone
	if tourErr == nil && serveErr != nil {
		return fmt.Errorf("demo: the gateway failed after the tour: %w", serveErr)
	}
	return tourErr
}

// writeDemoConfig writes the demo's configuration file, and its store key
// unless the directory has one from an earlier run (the store it encrypts
// is kept too).
func writeDemoConfig(o demoOptions, fake *slackfake.Server, botToken, more string) (string, error) {
	keyPath := filepath.Join(o.dir, "store.key")
	if err := ensureDemoKey(keyPath); err != nil {
		return "", err
	}
	q := strconv.Quote
	cfg := fmt.Sprintf(`# Written by "xgate demo".
[log]
level = "info"

[store]
path = %s
key_file = %s

[admin]
listen = %s

[access]
allow = ["*"]

[xmpp]
server = %s

[[slack]]
domain = %s
secret = %s
app_token = %s
bot_token = %s
api_url = %s
roster = "all"
presence_poll = "30s"
`, q(filepath.Join(o.dir, "xgate.db")), q(keyPath), q(o.admin), q(o.server), q(o.domain), q(o.secret), q(fake.AppToken()), q(botToken), q(fake.APIURL())) + more
	path := filepath.Join(o.dir, "config.toml")
	return path, os.WriteFile(path, []byte(cfg), 0o600)
}

// ensureDemoKey writes a new store key at path unless one is there.
func ensureDemoKey(path string) error {
	if _, err := os.Stat(path); err == nil {
		return nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("demo: store key: %w", err)
	}
	key, err := store.GenerateKey()
	if err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("demo: store key: %w", err)
	}
	if _, err := f.WriteString(key + "\n"); err != nil {
		f.Close()
		return fmt.Errorf("demo: store key: %w", err)
	}
	return f.Close()
}

// provisionDemoUser registers the demo user's Slack and Discord accounts
// in the store before the gateway starts, the way the registration form
// would (the SMS number is assigned by the configuration).
func provisionDemoUser(ctx context.Context, cfg *config, user jid.JID, slackToken, discordToken string) error {
	db, err := store.Open(cfg.storePath, store.Options{Key: cfg.key})
	if err != nil {
		return err
	}
	defer db.Close()
	for _, inst := range cfg.instances {
		switch inst.network {
		case "slack":
			tr, err := slack.New(*inst.options.(*slack.Config), slog.New(slog.DiscardHandler), nil)
			if err != nil {
				return err
			}
			data, err := tr.Register(ctx, map[string]string{"token": slackToken})
			if err != nil {
				return fmt.Errorf("demo: registering %s on Slack: %w", user, err)
			}
			if err := bridge.Provision(db, inst.Name, user, data); err != nil {
				return err
			}
		case "discord":
			if err := provisionDiscordUser(ctx, db, inst, user, discordToken); err != nil {
				return err
			}
		}
	}
	return nil
}

func demoBanner(o demoOptions, user jid.JID, token string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "\nxgate demo: %s.\n\n", o.networksLine())
	fmt.Fprintf(&b, "Declare the components on your XMPP server first. Prosody:\n\n")
	for _, d := range o.components() {
		fmt.Fprintf(&b, "    Component %q\n        component_secret = %q\n", d, o.secret)
	}
	b.WriteString("\n")
	fmt.Fprintf(&b, "and xgate connects to %s. Then, from any XMPP client of that server:\n", o.server)
	if user.IsZero() {
		fmt.Fprintf(&b, "  - register: send \"register %s\" to %s (or use the Register\n    command or the registration form of the service);\n", token, o.domain)
	} else {
		fmt.Fprintf(&b, "  - %s is registered already: log in and accept the contacts;\n", user)
	}
	b.WriteString(demoPeopleHelp(o))
	fmt.Fprintf(&b, "  - send \"help\" to %s for the commands.\n\nCtrl-C stops the demo.\n\n", o.domain)
	return b.String()
}

// privateBanner tells how to use the demo on its private server.
func privateBanner(o demoOptions, user jid.JID, p *privateServer) string {
	var b strings.Builder
	fmt.Fprintf(&b, "\nxgate demo: %s,\nthrough a private Prosody on loopback (stopped when the demo ends).\n\n", o.networksLine())
	b.WriteString(p.connectHelp(user))
	fmt.Fprintf(&b, "%s is registered on each network: accept the contacts, then\n", user)
	b.WriteString(demoPeopleHelp(o))
	fmt.Fprintf(&b, "  - send \"help\" to %s for the commands.\n\nCtrl-C stops the demo.\n\n", o.domain)
	return b.String()
}

// off, as a -discord-domain or -sms-domain, leaves that network out.
const off = "off"

// components returns the domains of the demo's gateways.
func (o demoOptions) components() []string {
	out := []string{o.domain}
	for _, d := range []string{o.discordDomain, o.smsDomain} {
		if d != off {
			out = append(out, d)
		}
	}
	return out
}

// networksLine names the demo's fake networks and their gateways.
func (o demoOptions) networksLine() string {
	parts := []string{fmt.Sprintf("a fake Slack workspace, \"Demo Workspace\", on %s", o.domain)}
	if o.discordDomain != off {
		parts = append(parts, "a fake Discord on "+o.discordDomain)
	}
	if o.smsDomain != off {
		parts = append(parts, "a fake SMS provider on "+o.smsDomain)
	}
	return strings.Join(parts, ", ")
}

// demoPeopleHelp says who answers in the demo.
func demoPeopleHelp(o demoOptions) string {
	s := `  - on Slack, write to Eliza (she answers), Ada (she answers, then corrects
    herself), Grace (away, giving a talk) or Linus (he reacts);
`
	if o.discordDomain != off {
		s += `  - on Discord, to Hedy (she types, reacts and answers) or Alan (he answers,
    then corrects himself);
`
	}
	if o.smsDomain != off {
		s += `  - by SMS, to Pat, ` + demoPatNumber + `@` + o.smsDomain + ` (she answers each text; you
    text from ` + demoMyNumber + `);
`
	}
	return s
}

// demoWorkspace is the fake workspace and its people.
type demoWorkspace struct {
	fake    *slackfake.Server
	team    slackfake.Team
	me      slackfake.User
	meToken string
	// botToken is the app's bot token: with it the gateway knows its own
	// bot member and leaves it out of the contacts.
	botToken string
	people   []demoPerson
	wg       sync.WaitGroup
}

// demoPerson is a member of the workspace who answers direct messages.
type demoPerson struct {
	user   slackfake.User
	im     string
	answer func(ctx context.Context, w *demoWorkspace, p *demoPerson, m slackfake.Message)
}

func newDemoWorkspace(fake *slackfake.Server, user jid.JID) *demoWorkspace {
	w := &demoWorkspace{fake: fake}
	w.team = fake.CreateTeam("Demo Workspace")
	w.botToken, _ = w.fake.InstallApp(w.team.ID)
	handle, real := "you", "You"
	if !user.IsZero() {
		handle = user.Local()
		real = strings.ToUpper(handle[:1]) + handle[1:]
	}
	w.me = fake.CreateUser(w.team.ID, slackfake.UserSpec{Name: handle, RealName: real, DisplayName: real})
	w.meToken = fake.IssueUserToken(w.team.ID, w.me.ID)
	specs := []struct {
		spec   slackfake.UserSpec
		answer func(ctx context.Context, w *demoWorkspace, p *demoPerson, m slackfake.Message)
	}{
		{slackfake.UserSpec{Name: "eliza", RealName: "Eliza Weizenbaum", DisplayName: "Eliza", Title: "Therapist", StatusText: "Listening", StatusEmoji: ":ear:"}, elizaAnswers},
		{slackfake.UserSpec{Name: "ada", RealName: "Ada Lovelace", DisplayName: "Ada", Title: "Analyst"}, adaAnswers},
		{slackfake.UserSpec{Name: "grace", RealName: "Grace Hopper", DisplayName: "Grace", Title: "Rear Admiral", StatusText: "Giving a talk", StatusEmoji: ":microphone:", Away: true}, graceAnswers},
		{slackfake.UserSpec{Name: "linus", RealName: "Linus Torvalds", DisplayName: "Linus"}, linusAnswers},
	}
	for _, s := range specs {
		u := fake.CreateUser(w.team.ID, s.spec)
		w.people = append(w.people, demoPerson{user: u, im: fake.OpenIM(w.team.ID, w.me.ID, u.ID), answer: s.answer})
	}
	return w
}

// start makes every person answer the messages the user sends them.
func (w *demoWorkspace) start(ctx context.Context) {
	for i := range w.people {
		p := &w.people[i]
		w.wg.Go(func() {
			last := ""
			for {
				m, err := w.fake.WaitMessage(ctx, p.im, func(m slackfake.Message) bool {
					return m.User == w.me.ID && tsAfter(m.TS, last)
				})
				if err != nil {
					return
				}
				last = m.TS
				p.answer(ctx, w, p, m)
			}
		})
	}
}

func (w *demoWorkspace) wait() { w.wg.Wait() }

// tsAfter compares Slack timestamps ("1700000000.000100").
func tsAfter(ts, than string) bool {
	if than == "" {
		return true
	}
	a, _ := strconv.ParseFloat(ts, 64)
	b, _ := strconv.ParseFloat(than, 64)
	return a > b
}

func elizaAnswers(_ context.Context, w *demoWorkspace, p *demoPerson, m slackfake.Message) {
	w.fake.React(p.user.ID, p.im, m.TS, "thinking_face")
	w.fake.Post(p.user.ID, p.im, fmt.Sprintf("You said: _%s_. How does that make you feel, <@%s>?", strings.TrimSpace(m.Text), w.me.ID))
}

func adaAnswers(ctx context.Context, w *demoWorkspace, p *demoPerson, m slackfake.Message) {
	ts := w.fake.Post(p.user.ID, p.im, "The Analytical Engine weaves *algebraic patterns* :sparkles: — as I wrote in <https://en.wikipedia.org/wiki/Note_G|Note G>.")
	w.wg.Go(func() {
		// A human pause before she corrects herself.
		select {
		case <-ctx.Done():
		case <-time.After(adaPause):
			w.fake.Edit(p.user.ID, p.im, ts, "The Analytical Engine weaves *algebraic patterns* :sparkles: just as the Jacquard loom weaves flowers and leaves.")
		}
	})
}

// adaPause is how long Ada waits before correcting her answer.
var adaPause = 2 * time.Second

func graceAnswers(_ context.Context, w *demoWorkspace, p *demoPerson, m slackfake.Message) {
	w.fake.Post(p.user.ID, p.im, "I'm giving a talk :microphone: — back in a bit. It's easier to ask forgiveness than it is to get permission.")
}

func linusAnswers(_ context.Context, w *demoWorkspace, p *demoPerson, m slackfake.Message) {
	w.fake.React(p.user.ID, p.im, m.TS, "+1")
}
