package kannel

import (
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"time"
)

// ErrConfig: the configuration is invalid.
var ErrConfig = errors.New("kannel: invalid configuration")

// Config is one Kannel gateway account.
type Config struct {
	// SendSMSURL is smsbox's sendsms endpoint,
	// e.g. "http://127.0.0.1:13013/cgi-bin/sendsms".
	SendSMSURL string
	// Username and Password of a sendsms-user group.
	Username string
	// Password of the sendsms-user (a secret: never logged).
	Password string
	// SMSC routes texts to one smsc-id when set.
	SMSC string
	// PublicURL is where Kannel reaches the webhook handler (the bridge's
	// mount point for this provider), used to build dlr-urls:
	// PublicURL + "/dlr?...".
	PublicURL string
	// Secret is the shared secret callbacks carry as "secret" (a secret:
	// never logged).
	Secret string
	// AllowedSources are the addresses callbacks may come from; empty
	// means loopback only.
	AllowedSources []netip.Prefix
	// DLRMask is the dlr-mask requested; 0 means 27 (1|2|8|16: final
	// reports and the SMSC's ACK/NACK).
	DLRMask int
	// Timeout bounds one sendsms request; 0 means 30 s.
	Timeout time.Duration
	// MaxParts is how many concatenated parts the sendsms-user allows
	// (its max-messages); 0 means 10. Send refuses longer texts, which
	// smsbox would cut.
	MaxParts int
}

// Validate reports the first problem in c.
func (c *Config) Validate() error {
	u, err := url.Parse(c.SendSMSURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%w: send_sms_url %q is not an http(s) URL", ErrConfig, c.SendSMSURL)
	}
	if c.Username == "" || c.Password == "" {
		return fmt.Errorf("%w: username and password of the sendsms-user are required", ErrConfig)
	}
	p, err := url.Parse(c.PublicURL)
	if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" || p.RawQuery != "" {
		return fmt.Errorf("%w: public_url %q is not an http(s) URL without query", ErrConfig, c.PublicURL)
	}
	if len(c.Secret) < 16 {
		return fmt.Errorf("%w: secret must have at least 16 characters", ErrConfig)
	}
	if c.DLRMask < 0 || c.DLRMask > 31 {
		return fmt.Errorf("%w: dlr_mask %d is not within 0..31", ErrConfig, c.DLRMask)
	}
	if c.MaxParts < 0 || c.MaxParts > 255 {
		return fmt.Errorf("%w: max_parts %d is not within 0..255", ErrConfig, c.MaxParts)
	}
	return nil
}

func (c *Config) dlrMask() int {
	if c.DLRMask == 0 {
		return 27
	}
	return c.DLRMask
}

func (c *Config) timeout() time.Duration {
	if c.Timeout == 0 {
		return 30 * time.Second
	}
	return c.Timeout
}

func (c *Config) maxParts() int {
	if c.MaxParts == 0 {
		return 10
	}
	return c.MaxParts
}
