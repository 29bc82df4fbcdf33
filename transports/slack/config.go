package slack

import (
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/xgate-im/xgate/kit/confcheck"
	"github.com/xgate-im/xgate/kit/secret"
)

// Config is the configuration of one Slack transport instance: the keys of
// a [[slack]] table, next to the keys every instance has (name, domain,
// secret, ...). Zero values mean defaults. Tokens come from the key itself,
// from a file (*_file) or from an environment variable (*_env); exactly one
// of the three for the app token, at most one for the bot token.
//
// Config never prints its tokens, with any fmt verb or in slog.
type Config struct {
	// APIURL is the Web API base URL, "https://slack.com/api/" by default.
	// The fake Slack and Slack-compatible servers are reached through it.
	APIURL string `toml:"api_url"`
	// AppToken is the app-level token ("xapp-…", scope connections:write)
	// for Socket Mode: the one connection that receives every event.
	AppToken     string `toml:"app_token"`
	AppTokenFile string `toml:"app_token_file"`
	AppTokenEnv  string `toml:"app_token_env"`
	// BotToken is the workspace bot's token ("xoxb-…"). Optional: used to
	// recognize the bot's own posts and, with the chat:write.customize
	// scope, to relay messages under other names (Session.SendAs).
	BotToken     string `toml:"bot_token"`
	BotTokenFile string `toml:"bot_token_file"`
	BotTokenEnv  string `toml:"bot_token_env"`
	// InstallURL, when set, is the app's OAuth install link; the
	// registration form shows it to users as the way to get their token.
	InstallURL string `toml:"install_url"`
	// Roster says who becomes a contact: "dms" (default) the people a user
	// has a direct message with, plus anyone who writes to them; "all"
	// every member of the workspace (too many for big workspaces).
	Roster string `toml:"roster"`
	// PresencePoll is how often contacts' presence is read with
	// users.getPresence (Slack pushes presence only over RTM, which apps
	// cannot use). Default 5 minutes.
	PresencePoll Duration `toml:"presence_poll"`
	// PostRate is how many messages per second may go to one conversation
	// (Slack allows about one) and PostBurst how many in a quick burst.
	// Defaults 1 and 3; at most maxPostRate (for a test network).
	PostRate  float64 `toml:"post_rate"`
	PostBurst int     `toml:"post_burst"`
}

// Duration is a time.Duration written as a Go duration string ("5m",
// "90s") in TOML.
type Duration time.Duration

// UnmarshalText parses a duration string.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("%q is not a duration (write it like \"5m\" or \"90s\")", b)
	}
	*d = Duration(v)
	return nil
}

// MarshalText writes the duration string.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// maxPostRate bounds post_rate and post_burst: far above what Slack
// takes, so that a benchmark against a fake network can lift the limit.
const maxPostRate = 1_000_000

// Defaults.
const (
	DefaultAPIURL       = "https://slack.com/api/"
	DefaultPresencePoll = 5 * time.Minute
	DefaultPostRate     = 1.0
	DefaultPostBurst    = 3
	RosterDMs           = "dms"
	RosterAll           = "all"
)

// settings is a Config with its defaults applied and its tokens read.
type settings struct {
	apiURL       string
	appToken     string
	botToken     string
	installURL   string
	roster       string
	presencePoll time.Duration
	postRate     float64
	postBurst    int
}

// Validate checks the configuration without network I/O. It may read the
// token files and environment variables. Each problem names its TOML key;
// several are joined.
func (c *Config) Validate() error {
	_, err := c.settings()
	return err
}

// settings applies the defaults, reads the tokens and validates.
func (c Config) settings() (settings, error) {
	s := settings{
		apiURL: c.APIURL, installURL: c.InstallURL, roster: c.Roster,
		presencePoll: time.Duration(c.PresencePoll), postRate: c.PostRate, postBurst: c.PostBurst,
	}
	var pr confcheck.Problems
	bad := pr.Addf
	pr.BaseURL("api_url", &s.apiURL, DefaultAPIURL, false)
	s.appToken = pr.Secret("app_token", c.AppToken, c.AppTokenFile, c.AppTokenEnv, true)
	if s.appToken != "" && !strings.HasPrefix(s.appToken, "xapp-") {
		bad("app_token: must be an app-level token starting with xapp- (Basic Information → App-Level Tokens)")
	}
	s.botToken = pr.Secret("bot_token", c.BotToken, c.BotTokenFile, c.BotTokenEnv, false)
	if s.botToken != "" && !strings.HasPrefix(s.botToken, "xoxb-") {
		bad("bot_token: must be a bot token starting with xoxb- (OAuth & Permissions → Bot User OAuth Token)")
	}
	if s.installURL != "" {
		pr.HTTPURL("install_url", s.installURL, false, "")
	}
	switch s.roster {
	case "":
		s.roster = RosterDMs
	case RosterDMs, RosterAll:
	default:
		bad("roster: %q is neither %q nor %q", s.roster, RosterDMs, RosterAll)
	}
	switch {
	case s.presencePoll == 0:
		s.presencePoll = DefaultPresencePoll
	case s.presencePoll < 0:
		bad("presence_poll: must not be negative")
	}
	pr.Rate("post_rate", &s.postRate, DefaultPostRate, maxPostRate, "messages")
	pr.Burst("post_burst", &s.postBurst, DefaultPostBurst, maxPostRate)
	if err := pr.Err(ErrConfig); err != nil {
		return settings{}, err
	}
	return s, nil
}

// String describes the configuration without its tokens.
func (c Config) String() string {
	set := func(inline, file, env string) string {
		return secret.Source{Inline: inline, File: file, Env: env}.Describe()
	}
	return fmt.Sprintf("slack.Config{api_url: %q, app_token: %s, bot_token: %s, install_url: %q, roster: %q, presence_poll: %s, post_rate: %g, post_burst: %d}",
		c.APIURL, set(c.AppToken, c.AppTokenFile, c.AppTokenEnv), set(c.BotToken, c.BotTokenFile, c.BotTokenEnv),
		c.InstallURL, c.Roster, time.Duration(c.PresencePoll), c.PostRate, c.PostBurst)
}

// Format prints String for every verb, so that no verb (%v, %+v, %#v, %s)
// can show a token.
func (c Config) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(c.String())) }

// LogValue keeps tokens out of logs.
func (c Config) LogValue() slog.Value { return slog.StringValue(c.String()) }
