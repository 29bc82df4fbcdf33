package kannel

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/xgate-im/xgate/transports/sms/provider"
	"github.com/xgate-im/xgate/transports/sms/segment"
)

const name = "kannel"

// Provider sends through one Kannel sendsms-user and parses its callbacks.
type Provider struct {
	cfg    Config
	client *http.Client
}

var (
	_ provider.Provider = (*Provider)(nil)
)

// New returns a Provider for cfg, which must be valid. client may be nil
// (http.DefaultClient). It does no I/O.
func New(cfg Config, client *http.Client) (*Provider, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if client == nil {
		client = http.DefaultClient
	}
	return &Provider{cfg: cfg, client: client}, nil
}

// Capabilities: texts only, concatenated by Kannel, with delivery reports.
func (p *Provider) Capabilities() provider.Capabilities {
	return provider.Capabilities{
		Concatenates:    true,
		DeliveryReports: p.cfg.dlrMask()&(1|2|8|16) != 0,
		MaxSegments:     p.cfg.maxParts(),
	}
}

// Send asks smsbox to send m.Body (media are not supported: an Outbound
// with Media and no body is refused) and returns the ID it made up for the
// message, which the dlr-url carries back.
func (p *Provider) Send(ctx context.Context, m provider.Outbound) (provider.Sent, error) {
	if m.Body == "" {
		return provider.Sent{}, provider.NewError(name, provider.Permanent, provider.ReasonRejected, "", "Kannel sends text only", nil)
	}
	// smsbox silently cuts a text longer than the sendsms-user's
	// max-messages: refuse it instead.
	if n := segment.Segments(m.Body); n > p.cfg.maxParts() {
		return provider.Sent{}, provider.NewError(name, provider.Permanent, provider.ReasonRejected, "",
			fmt.Sprintf("text needs %d SMS, the gateway allows %d", n, p.cfg.maxParts()), nil)
	}
	id, err := newID()
	if err != nil {
		return provider.Sent{}, provider.Classify(name, err)
	}
	ctx, cancel := context.WithTimeout(ctx, p.cfg.timeout())
	defer cancel()
	// smsbox's POST form of sendsms: the text is the body and everything
	// else travels in X-Kannel headers, so neither the password nor the
	// text appears in a URL (or a log of URLs).
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.cfg.SendSMSURL, strings.NewReader(m.Body))
	if err != nil {
		return provider.Sent{}, provider.NewError(name, provider.Permanent, provider.ReasonRejected, "", "bad request", err)
	}
	h := req.Header
	h.Set("Content-Type", "text/plain; charset=UTF-8")
	h.Set("X-Kannel-Username", p.cfg.Username)
	h.Set("X-Kannel-Password", p.cfg.Password)
	h.Set("X-Kannel-From", m.From.String())
	h.Set("X-Kannel-To", m.To.String())
	if segment.Detect(m.Body) == segment.UCS2 {
		h.Set("X-Kannel-Coding", "2")
	}
	if p.cfg.SMSC != "" {
		h.Set("X-Kannel-SMSC", p.cfg.SMSC)
	}
	if mask := p.cfg.dlrMask(); mask != 0 {
		h.Set("X-Kannel-DLR-Mask", fmt.Sprint(mask))
		h.Set("X-Kannel-DLR-Url", p.dlrURL(m.StatusCallback, id))
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return provider.Sent{}, provider.Classify(name, fmt.Errorf("kannel: sendsms: %w", stripURL(err)))
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if err := classifyAnswer(resp.StatusCode, strings.TrimSpace(string(body))); err != nil {
		return provider.Sent{}, err
	}
	status := provider.StatusAccepted
	if strings.HasPrefix(strings.TrimSpace(string(body)), "3:") {
		status = provider.StatusQueued // "3: Queued for later delivery"
	}
	return provider.Sent{ID: id, Status: status}, nil
}

// dlrURL builds the per-message dlr-url: the callback hint or PublicURL's
// /dlr, with the ID, the secret and Kannel's escapes for the report.
func (p *Provider) dlrURL(hint string, id provider.MessageID) string {
	base := hint
	if base == "" {
		base = strings.TrimSuffix(p.cfg.PublicURL, "/") + "/dlr"
	}
	sep := "?"
	if strings.Contains(base, "?") {
		sep = "&"
	}
	// Kannel substitutes %d (type), %A (SMSC answer), %T (time) when it
	// calls the URL; the values before them are already escaped.
	return base + sep + "id=" + url.QueryEscape(string(id)) + "&secret=" + url.QueryEscape(p.cfg.Secret) +
		"&type=%d&ts=%T&answer=%A"
}

// classifyAnswer maps smsbox's sendsms answer to an error, or nil for
// "0: Accepted for delivery" and "3: Queued for later delivery".
func classifyAnswer(code int, body string) error {
	switch {
	case code >= 200 && code < 300:
		return nil
	case code == http.StatusForbidden && (strings.Contains(body, "black") || strings.Contains(body, "white")):
		return provider.NewError(name, provider.Permanent, provider.ReasonBlocked, fmt.Sprintf("HTTP %d", code), body, nil)
	case code == http.StatusForbidden || code == http.StatusUnauthorized:
		return provider.NewError(name, provider.Permanent, provider.ReasonUnauthorized, fmt.Sprintf("HTTP %d", code), body, nil)
	case code == http.StatusBadRequest && strings.Contains(strings.ToLower(body), "receiver"):
		return provider.NewError(name, provider.Permanent, provider.ReasonInvalidNumber, fmt.Sprintf("HTTP %d", code), body, nil)
	case code >= 400 && code < 500:
		return provider.NewError(name, provider.Permanent, provider.ReasonRejected, fmt.Sprintf("HTTP %d", code), body, nil)
	default:
		return provider.NewError(name, provider.Temporary, provider.ReasonOther, fmt.Sprintf("HTTP %d", code), body, nil)
	}
}

// stripURL removes the request URL from a client error.
func stripURL(err error) error {
	if ue, ok := err.(*url.Error); ok {
		return ue.Err
	}
	return err
}

func newID() (provider.MessageID, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return provider.MessageID("k" + hex.EncodeToString(b[:])), nil
}
