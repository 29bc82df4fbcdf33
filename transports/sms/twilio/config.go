package twilio

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"time"
)

// ErrConfig: the configuration is invalid.
var ErrConfig = errors.New("twilio: invalid configuration")

// DefaultBaseURL is Twilio's API origin.
const DefaultBaseURL = "https://api.twilio.com"

var (
	accountSID = regexp.MustCompile(`^AC[0-9a-fA-F]{32}$`)
	serviceSID = regexp.MustCompile(`^MG[0-9a-fA-F]{32}$`)
)

// Config is one Twilio (or compatible) account.
type Config struct {
	// AccountSID is the account ("AC" + 32 hex digits).
	AccountSID string
	// AuthToken signs webhooks and authenticates requests (a secret:
	// never logged).
	AuthToken string
	// BaseURL is the API origin; empty means DefaultBaseURL. Compatible
	// services and tests point it elsewhere.
	BaseURL string
	// PublicURL is where Twilio reaches the webhook handler (the bridge's
	// mount point for this provider, as Twilio calls it). Signatures are
	// checked against it, and status callbacks go to PublicURL + "/status".
	PublicURL string
	// MessagingServiceSID ("MG" + 32 hex digits), when set, sends every
	// message through that Messaging Service (required for US A2P 10DLC
	// traffic); From is still sent, picking the sender in its pool.
	MessagingServiceSID string
	// Timeout bounds one API request; 0 means 30 s.
	Timeout time.Duration
}

// Validate reports the first problem in c.
func (c *Config) Validate() error {
	if !accountSID.MatchString(c.AccountSID) {
		return fmt.Errorf("%w: account_sid must be AC followed by 32 hex digits", ErrConfig)
	}
	if c.MessagingServiceSID != "" && !serviceSID.MatchString(c.MessagingServiceSID) {
		return fmt.Errorf("%w: messaging_service_sid must be MG followed by 32 hex digits", ErrConfig)
	}
	if c.AuthToken == "" {
		return fmt.Errorf("%w: auth_token is required", ErrConfig)
	}
	if c.BaseURL != "" {
		u, err := url.Parse(c.BaseURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") {
			return fmt.Errorf("%w: base_url %q is not an http(s) origin", ErrConfig, c.BaseURL)
		}
	}
	p, err := url.Parse(c.PublicURL)
	if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" || p.RawQuery != "" {
		return fmt.Errorf("%w: public_url %q is not an http(s) URL without query", ErrConfig, c.PublicURL)
	}
	return nil
}

func (c *Config) baseURL() string {
	if c.BaseURL == "" {
		return DefaultBaseURL
	}
	return trimSlash(c.BaseURL)
}

func (c *Config) publicURL() string { return trimSlash(c.PublicURL) }

func (c *Config) timeout() time.Duration {
	if c.Timeout == 0 {
		return 30 * time.Second
	}
	return c.Timeout
}

func trimSlash(s string) string {
	for len(s) > 0 && s[len(s)-1] == '/' {
		s = s[:len(s)-1]
	}
	return s
}
