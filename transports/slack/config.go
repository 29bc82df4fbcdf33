package slack

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

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
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf(format, args...))
	}
	if s.apiURL == "" {
		s.apiURL = DefaultAPIURL
	}
	if u, err := url.Parse(s.apiURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		bad("api_url: %q is not an http(s) URL", s.apiURL)
	} else if !strings.HasSuffix(s.apiURL, "/") {
		s.apiURL += "/"
	}
	var err error
	s.appToken, err = readToken("app_token", c.AppToken, c.AppTokenFile, c.AppTokenEnv, true)
	if err != nil {
		errs = append(errs, err)
	} else if !strings.HasPrefix(s.appToken, "xapp-") {
		bad("app_token: must be an app-level token starting with xapp- (Basic Information → App-Level Tokens)")
	}
	s.botToken, err = readToken("bot_token", c.BotToken, c.BotTokenFile, c.BotTokenEnv, false)
	if err != nil {
		errs = append(errs, err)
	} else if s.botToken != "" && !strings.HasPrefix(s.botToken, "xoxb-") {
		bad("bot_token: must be a bot token starting with xoxb- (OAuth & Permissions → Bot User OAuth Token)")
	}
	if s.installURL != "" {
		if u, err := url.Parse(s.installURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			bad("install_url: %q is not an http(s) URL", s.installURL)
		}
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
	switch {
	case s.postRate == 0:
		s.postRate = DefaultPostRate
	case s.postRate < 0 || s.postRate > maxPostRate:
		bad("post_rate: %g is not a rate between 0 and %d messages per second", s.postRate, maxPostRate)
	}
	switch {
	case s.postBurst == 0:
		s.postBurst = DefaultPostBurst
	case s.postBurst < 0 || s.postBurst > maxPostRate:
		bad("post_burst: %d is not between 1 and %d", s.postBurst, maxPostRate)
	}
	if len(errs) > 0 {
		return settings{}, configErrors(errs)
	}
	return s, nil
}

// configErrors lists every problem of a Config, one per key, and matches
// ErrConfig. Unwrap gives the problems one by one, so that a caller can
// show each on its own line.
type configErrors []error

func (e configErrors) Error() string        { return errors.Join(e...).Error() }
func (e configErrors) Unwrap() []error      { return e }
func (e configErrors) Is(target error) bool { return target == ErrConfig }

// readToken returns the token of key given inline, in a file (key_file) or
// in an environment variable (key_env), through kit/secret. Error messages
// never contain the token.
func readToken(key, inline, file, env string, required bool) (string, error) {
	src := secret.Source{Key: key, Inline: inline, File: file, Env: env}
	if err := src.Check(required); err != nil {
		return "", err
	}
	tok, _, err := src.Read()
	return tok, err
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
