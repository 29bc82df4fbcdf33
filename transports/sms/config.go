package sms

import (
	"fmt"
	"log/slog"
	"net/netip"
	"strings"

	"github.com/xgate-im/xgate/kit/confcheck"
	"github.com/xgate-im/xgate/kit/secret"
	"github.com/xgate-im/xgate/transports/sms/phone"
)

// Provider kinds of Config.Provider.
const (
	KindKannel = "kannel"
	KindTwilio = "twilio"
)

// Defaults.
const (
	DefaultSendRate  = 1.0
	DefaultSendBurst = 5
	minTokenLen      = 16
)

// Config is one SMS transport instance: the keys of an [[sms]] table next
// to the common keys (name, domain, secret, ...). Zero values mean
// defaults. Secrets come inline, from a file (*_file) or from an
// environment variable (*_env), through kit/secret; Config never prints
// them.
type Config struct {
	// Provider is the instance's provider kind for assigned numbers:
	// "kannel" or "twilio" (Twilio and compatible services). Empty: no
	// shared provider; only users' own credentials (UserCredentials).
	Provider string `toml:"provider"`
	// DefaultRegion reads national numbers and short codes (ISO 3166-1
	// alpha-2, e.g. "US"). Required.
	DefaultRegion string `toml:"default_region"`
	// PublicURL is where providers reach this instance's webhooks: the
	// public URL (through any reverse proxy) of what [webhooks] listen
	// serves under /NAME/. Required.
	PublicURL string `toml:"public_url"`
	// WebhookToken is the unguessable path segment of the shared
	// provider's webhooks (/NAME/p/TOKEN/…), at least 16 characters.
	WebhookToken     string `toml:"webhook_token"`
	WebhookTokenFile string `toml:"webhook_token_file"`
	WebhookTokenEnv  string `toml:"webhook_token_env"`

	// Kannel: smsbox's sendsms URL, the sendsms-user, an smsc-id to route
	// to, the callbacks' shared secret, where callbacks may come from
	// (CIDR prefixes; loopback when empty) and the user's max-messages.
	KannelSendSMSURL     string   `toml:"kannel_sendsms_url"`
	KannelUsername       string   `toml:"kannel_username"`
	KannelPassword       string   `toml:"kannel_password"`
	KannelPasswordFile   string   `toml:"kannel_password_file"`
	KannelPasswordEnv    string   `toml:"kannel_password_env"`
	KannelSMSC           string   `toml:"kannel_smsc"`
	KannelSecret         string   `toml:"kannel_secret"`
	KannelSecretFile     string   `toml:"kannel_secret_file"`
	KannelSecretEnv      string   `toml:"kannel_secret_env"`
	KannelAllowedSources []string `toml:"kannel_allowed_sources"`
	KannelMaxParts       int      `toml:"kannel_max_parts"`

	// Twilio (or compatible): API origin, account and its auth token, and
	// an optional Messaging Service.
	TwilioBaseURL             string `toml:"twilio_base_url"`
	TwilioAccountSID          string `toml:"twilio_account_sid"`
	TwilioAuthToken           string `toml:"twilio_auth_token"`
	TwilioAuthTokenFile       string `toml:"twilio_auth_token_file"`
	TwilioAuthTokenEnv        string `toml:"twilio_auth_token_env"`
	TwilioMessagingServiceSID string `toml:"twilio_messaging_service_sid"`

	// UserCredentials lets users register their own Twilio-compatible
	// account (SID, auth token, number) at TwilioBaseURL.
	UserCredentials bool `toml:"user_credentials"`

	// Numbers are the provider numbers the administrator assigns to XMPP
	// users.
	Numbers []NumberConfig `toml:"numbers"`

	// SendRate is how many texts per second one number may send, and
	// SendBurst how many in a quick burst. Defaults 1 and 5.
	SendRate  float64 `toml:"send_rate"`
	SendBurst int     `toml:"send_burst"`
}

// NumberConfig assigns one provider number to an XMPP user.
type NumberConfig struct {
	// Number is the provider number or short code, as typed (normalized
	// with DefaultRegion).
	Number string `toml:"number"`
	// User is the bare JID of the XMPP user who owns it.
	User string `toml:"user"`
	// Contacts are numbers put in the user's roster at login.
	Contacts []string `toml:"contacts"`
}

// settings is a Config with defaults applied, secrets read and numbers
// normalized.
type settings struct {
	kind       string
	norm       *phone.Normalizer
	publicURL  string
	hookToken  string
	kannel     kannelSettings
	twilio     twilioSettings
	userCreds  bool
	numbers    map[phone.Number]assigned
	sendRate   float64
	sendBurst  int
	twilioBase string
}

type kannelSettings struct {
	sendURL, username, password, smsc, secret string
	allowed                                   []netip.Prefix
	maxParts                                  int
}

type twilioSettings struct {
	accountSID, authToken, serviceSID string
}

// assigned is one admin-assigned number.
type assigned struct {
	user     string
	contacts []phone.Number
	// byCommand: assigned with sms-assign (admin.go), not in the
	// configuration.
	byCommand bool
}

// Validate checks the configuration without network I/O (it may read the
// secret files and variables). Each problem names its TOML key.
func (c *Config) Validate() error {
	_, err := c.settings()
	return err
}

func (c Config) settings() (settings, error) {
	var pr confcheck.Problems
	bad := pr.Addf
	s := settings{kind: c.Provider, userCreds: c.UserCredentials, sendRate: c.SendRate, sendBurst: c.SendBurst,
		numbers: map[phone.Number]assigned{}}
	var err error
	if c.DefaultRegion == "" {
		bad("default_region: required (an ISO 3166-1 code such as \"US\")")
	} else if s.norm, err = phone.NewNormalizer(c.DefaultRegion); err != nil {
		bad("default_region: %q is not a region libphonenumber knows", c.DefaultRegion)
	}
	if pr.HTTPURL("public_url", c.PublicURL, true, " without query (the public URL of /NAME/ on the webhooks listener)") {
		s.publicURL = strings.TrimSuffix(c.PublicURL, "/")
	}
	read := pr.Secret
	switch c.Provider {
	case "":
		if !c.UserCredentials {
			bad("provider: required (\"kannel\" or \"twilio\") unless user_credentials = true")
		}
	case KindKannel:
		s.kannel = kannelSettings{sendURL: c.KannelSendSMSURL, username: c.KannelUsername, smsc: c.KannelSMSC, maxParts: c.KannelMaxParts}
		pr.HTTPURL("kannel_sendsms_url", c.KannelSendSMSURL, false, "")
		if c.KannelUsername == "" {
			bad("kannel_username: required (the sendsms-user's username)")
		}
		s.kannel.password = read("kannel_password", c.KannelPassword, c.KannelPasswordFile, c.KannelPasswordEnv, true)
		s.kannel.secret = read("kannel_secret", c.KannelSecret, c.KannelSecretFile, c.KannelSecretEnv, true)
		if s.kannel.secret != "" && len(s.kannel.secret) < minTokenLen {
			bad("kannel_secret: at least %d characters", minTokenLen)
		}
		for _, a := range c.KannelAllowedSources {
			p, err := netip.ParsePrefix(a)
			if err != nil {
				addr, err2 := netip.ParseAddr(a)
				if err2 != nil {
					bad("kannel_allowed_sources: %q is neither an address nor a CIDR prefix", a)
					continue
				}
				p = netip.PrefixFrom(addr, addr.BitLen())
			}
			s.kannel.allowed = append(s.kannel.allowed, p)
		}
		if c.KannelMaxParts < 0 || c.KannelMaxParts > 255 {
			bad("kannel_max_parts: %d is not between 1 and 255", c.KannelMaxParts)
		}
	case KindTwilio:
		if c.TwilioAccountSID == "" {
			bad("twilio_account_sid: required")
		}
		s.twilio = twilioSettings{accountSID: c.TwilioAccountSID, serviceSID: c.TwilioMessagingServiceSID,
			authToken: read("twilio_auth_token", c.TwilioAuthToken, c.TwilioAuthTokenFile, c.TwilioAuthTokenEnv, true)}
	default:
		bad("provider: %q is neither %q nor %q", c.Provider, KindKannel, KindTwilio)
	}
	s.twilioBase = c.TwilioBaseURL
	if s.twilioBase != "" {
		pr.HTTPURL("twilio_base_url", s.twilioBase, false, "")
	}
	if c.Provider != "" {
		s.hookToken = read("webhook_token", c.WebhookToken, c.WebhookTokenFile, c.WebhookTokenEnv, true)
		if s.hookToken != "" && (len(s.hookToken) < minTokenLen || strings.ContainsAny(s.hookToken, "/?#{} %")) {
			bad("webhook_token: at least %d characters, none of / ? # { } %% or space", minTokenLen)
		}
	}
	if len(c.Numbers) > 0 && c.Provider == "" {
		bad("numbers: assigned numbers need a provider")
	}
	for i, n := range c.Numbers {
		if s.norm == nil {
			break
		}
		num, err := s.norm.Normalize(n.Number)
		if err != nil {
			bad("numbers[%d].number: %v", i, err)
			continue
		}
		if _, dup := s.numbers[num]; dup {
			bad("numbers[%d].number: %s is assigned twice", i, num)
		}
		if n.User == "" || strings.ContainsAny(n.User, "/ ") || !strings.Contains(n.User, "@") && !strings.Contains(n.User, ".") {
			bad("numbers[%d].user: %q is not a bare JID", i, n.User)
		}
		a := assigned{user: n.User}
		for _, raw := range n.Contacts {
			cn, err := s.norm.Normalize(raw)
			if err != nil {
				bad("numbers[%d].contacts: %v", i, err)
				continue
			}
			a.contacts = append(a.contacts, cn)
		}
		s.numbers[num] = a
	}
	pr.Rate("send_rate", &s.sendRate, DefaultSendRate, 1000, "texts")
	pr.Burst("send_burst", &s.sendBurst, DefaultSendBurst, 1000)
	if err := pr.Err(ErrConfig); err != nil {
		return settings{}, err
	}
	return s, nil
}

// String describes the configuration without its secrets.
func (c Config) String() string {
	set := func(inline, file, env string) string {
		return secret.Source{Inline: inline, File: file, Env: env}.Describe()
	}
	return fmt.Sprintf("sms.Config{provider: %q, default_region: %q, public_url: %q, webhook_token: %s, kannel_sendsms_url: %q, kannel_username: %q, kannel_password: %s, kannel_secret: %s, twilio_base_url: %q, twilio_account_sid: %q, twilio_auth_token: %s, user_credentials: %v, numbers: %d}",
		c.Provider, c.DefaultRegion, c.PublicURL, set(c.WebhookToken, c.WebhookTokenFile, c.WebhookTokenEnv),
		c.KannelSendSMSURL, c.KannelUsername, set(c.KannelPassword, c.KannelPasswordFile, c.KannelPasswordEnv),
		set(c.KannelSecret, c.KannelSecretFile, c.KannelSecretEnv), c.TwilioBaseURL, c.TwilioAccountSID,
		set(c.TwilioAuthToken, c.TwilioAuthTokenFile, c.TwilioAuthTokenEnv), c.UserCredentials, len(c.Numbers))
}

// Format prints String for every verb, so that no verb shows a secret.
func (c Config) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(c.String())) }

// LogValue keeps secrets out of logs.
func (c Config) LogValue() slog.Value { return slog.StringValue(c.String()) }
