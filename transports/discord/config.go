package discord

import (
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/xgate-im/xgate/kit/confcheck"
	"github.com/xgate-im/xgate/kit/secret"
)

// Config is the configuration of one Discord transport instance: the keys
// of a [[discord]] table, next to the keys every instance has (name,
// domain, secret, ...). Zero values mean defaults. The bot token comes from
// the key itself, from a file (bot_token_file) or from an environment
// variable (bot_token_env), at most one of the three.
//
// An instance serves bot-linked accounts (a user links their Discord user
// to the instance's bot, whose direct messages they then use), personal
// accounts (a user's own token; off unless personal_accounts is true), or
// both; at least one must be possible.
//
// Config never prints its token, with any fmt verb or in slog.
type Config struct {
	// APIURL is the REST API base URL, "https://discord.com/api/v9/" by
	// default. The fake Discord and self-hosted Discord-compatible servers
	// are reached through it; the Gateway URL comes from its /gateway.
	APIURL string `toml:"api_url"`
	// CDNURL is where avatars are fetched, "https://cdn.discordapp.com/" by
	// default.
	CDNURL string `toml:"cdn_url"`
	// BotToken is the application's bot token (Developer Portal → Bot →
	// Reset Token). Optional when personal accounts are allowed.
	BotToken     string `toml:"bot_token"`
	BotTokenFile string `toml:"bot_token_file"`
	BotTokenEnv  string `toml:"bot_token_env"`
	// Intents are the Gateway intents the bot asks for, by their names in
	// Discord's documentation in lower case ("guild_members"). The default
	// is every intent the transport uses; the privileged ones
	// (guild_members, guild_presences, message_content) must also be
	// enabled in the Developer Portal, or Discord refuses the connection.
	Intents []string `toml:"intents"`
	// PersonalAccounts lets users register their own Discord account with
	// its user token. Discord's terms forbid automating user accounts: the
	// registration form says so, and the user takes that risk.
	PersonalAccounts bool `toml:"personal_accounts"`
	// CatchUp is how far back a personal account's DMs are read when it
	// logs in (at xgate's start, or after a new login), as a Go duration:
	// what was said while xgate was stopped, up to that long, is delivered
	// (what was delivered before is recognized). Default "1h"; "0s" turns
	// it off.
	CatchUp string `toml:"catch_up"`
}

// Defaults.
const (
	DefaultAPIURL  = "https://discord.com/api/v9/"
	DefaultCDNURL  = "https://cdn.discordapp.com/"
	DefaultCatchUp = time.Hour
)

// intentBits are the Gateway intents by their documented names.
var intentBits = map[string]int{
	"guilds":                   1 << 0,
	"guild_members":            1 << 1,
	"guild_presences":          1 << 8,
	"guild_messages":           1 << 9,
	"guild_message_reactions":  1 << 10,
	"guild_message_typing":     1 << 11,
	"direct_messages":          1 << 12,
	"direct_message_reactions": 1 << 13,
	"direct_message_typing":    1 << 14,
	"message_content":          1 << 15,
}

// privilegedIntents must be enabled in the Developer Portal.
var privilegedIntents = []string{"guild_members", "guild_presences", "message_content"}

// DefaultIntents are the intents asked for when Config.Intents is empty.
var DefaultIntents = []string{
	"guilds", "guild_members", "guild_presences", "guild_messages", "guild_message_reactions",
	"guild_message_typing", "direct_messages", "direct_message_reactions", "direct_message_typing",
	"message_content",
}

// settings is a Config with its defaults applied and its token read.
type settings struct {
	apiURL   string
	cdnURL   string
	botToken string
	intents  int
	personal bool
	catchUp  time.Duration
}

// Validate checks the configuration without network I/O. It may read the
// token file and environment variable. Each problem names its TOML key;
// several are joined.
func (c *Config) Validate() error {
	_, err := c.settings()
	return err
}

// settings applies the defaults, reads the token and validates.
func (c Config) settings() (settings, error) {
	s := settings{apiURL: c.APIURL, cdnURL: c.CDNURL, personal: c.PersonalAccounts}
	var pr confcheck.Problems
	bad := pr.Addf
	pr.BaseURL("api_url", &s.apiURL, DefaultAPIURL, true)
	pr.BaseURL("cdn_url", &s.cdnURL, DefaultCDNURL, true)
	s.botToken = strings.TrimPrefix(pr.Secret("bot_token", c.BotToken, c.BotTokenFile, c.BotTokenEnv, false), "Bot ")
	if strings.ContainsAny(s.botToken, " \t\r\n") {
		bad("bot_token: must be the bot token alone, without spaces")
	}
	names := c.Intents
	if len(names) == 0 {
		names = DefaultIntents
	}
	for _, n := range names {
		bit, ok := intentBits[strings.ToLower(n)]
		if !ok {
			bad("intents: %q is not a Gateway intent this transport knows (%s)", n, strings.Join(knownIntents(), ", "))
			continue
		}
		s.intents |= bit
	}
	s.catchUp = DefaultCatchUp
	if c.CatchUp != "" {
		d, err := time.ParseDuration(c.CatchUp)
		switch {
		case err != nil:
			bad("catch_up: %q is not a duration (write it like \"1h\" or \"30m\")", c.CatchUp)
		case d < 0:
			bad("catch_up: must not be negative")
		default:
			s.catchUp = d
		}
	}
	if !(secret.Source{Inline: c.BotToken, File: c.BotTokenFile, Env: c.BotTokenEnv}).IsSet() && !s.personal {
		bad("bot_token: set the bot token, or personal_accounts = true to let users register their own accounts")
	}
	if err := pr.Err(ErrConfig); err != nil {
		return settings{}, err
	}
	return s, nil
}

// knownIntents lists the intent names, sorted.
func knownIntents() []string {
	out := make([]string, 0, len(intentBits))
	for n := range intentBits {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// String describes the configuration without its token.
func (c Config) String() string {
	tok := secret.Source{Inline: c.BotToken, File: c.BotTokenFile, Env: c.BotTokenEnv}.Describe()
	return fmt.Sprintf("discord.Config{api_url: %q, cdn_url: %q, bot_token: %s, intents: %q, personal_accounts: %v, catch_up: %q}",
		c.APIURL, c.CDNURL, tok, c.Intents, c.PersonalAccounts, c.CatchUp)
}

// Format prints String for every verb, so that no verb can show the token.
func (c Config) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(c.String())) }

// LogValue keeps the token out of logs.
func (c Config) LogValue() slog.Value { return slog.StringValue(c.String()) }
