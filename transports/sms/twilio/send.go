package twilio

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/xgate-im/xgate/transports/sms/phone"
	"github.com/xgate-im/xgate/transports/sms/provider"
)

// MaxBody is the longest body Twilio accepts, in characters.
const MaxBody = 1600

// Provider sends through one Twilio account and verifies its webhooks.
type Provider struct {
	cfg    Config
	client *http.Client
}

var (
	_ provider.Provider     = (*Provider)(nil)
	_ provider.MediaFetcher = (*Provider)(nil)
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

// Capabilities: MMS, concatenation by Twilio, delivery reports.
func (p *Provider) Capabilities() provider.Capabilities {
	return provider.Capabilities{MMS: true, Concatenates: true, DeliveryReports: true, MaxBody: MaxBody}
}

// message is the part of Twilio's Message resource Send reads.
type message struct {
	SID         string  `json:"sid"`
	Status      string  `json:"status"`
	NumSegments string  `json:"num_segments"`
	ErrorCode   *int    `json:"error_code"`
	ErrorMsg    *string `json:"error_message"`
}

// Send creates a Message. The status callback is m.StatusCallback, or
// PublicURL + "/status".
func (p *Provider) Send(ctx context.Context, m provider.Outbound) (provider.Sent, error) {
	if m.Body == "" && len(m.Media) == 0 {
		return provider.Sent{}, provider.NewError(name, provider.Permanent, provider.ReasonRejected, "", "empty message", nil)
	}
	form := url.Values{}
	form.Set("To", m.To.String())
	if m.From != "" {
		form.Set("From", m.From.String())
	}
	if p.cfg.MessagingServiceSID != "" {
		form.Set("MessagingServiceSid", p.cfg.MessagingServiceSID)
	}
	if m.Body != "" {
		form.Set("Body", m.Body)
	}
	for _, u := range m.Media {
		form.Add("MediaUrl", u)
	}
	callback := m.StatusCallback
	if callback == "" {
		callback = p.cfg.publicURL() + "/status"
	}
	form.Set("StatusCallback", callback)

	ctx, cancel := context.WithTimeout(ctx, p.cfg.timeout())
	defer cancel()
	endpoint := p.cfg.baseURL() + "/2010-04-01/Accounts/" + p.cfg.AccountSID + "/Messages.json"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return provider.Sent{}, provider.NewError(name, provider.Permanent, provider.ReasonRejected, "", "bad request", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	req.SetBasicAuth(p.cfg.AccountSID, p.cfg.AuthToken)
	resp, err := p.client.Do(req)
	if err != nil {
		return provider.Sent{}, provider.Classify(name, fmt.Errorf("twilio: create message: %w", unwrapURL(err)))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return provider.Sent{}, provider.Classify(name, fmt.Errorf("twilio: read answer: %w", err))
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return provider.Sent{}, classifyResponse(resp, body)
	}
	var msg message
	if err := json.Unmarshal(body, &msg); err != nil || msg.SID == "" {
		// The message may have been created: retrying could send it
		// twice, but losing it silently is worse.
		return provider.Sent{}, provider.NewError(name, provider.Temporary, provider.ReasonOther, "", "unreadable answer", err)
	}
	if msg.Status == "failed" && msg.ErrorCode != nil {
		e := classifyCode(*msg.ErrorCode, deref(msg.ErrorMsg))
		e.Kind = provider.Permanent
		return provider.Sent{}, e
	}
	segments, _ := strconv.Atoi(msg.NumSegments)
	return provider.Sent{ID: provider.MessageID(msg.SID), Status: status(msg.Status), Segments: segments}, nil
}

// status maps Twilio's message status to a provider.Status.
func status(s string) provider.Status {
	switch s {
	case "accepted", "scheduled":
		return provider.StatusAccepted
	case "queued", "sending":
		return provider.StatusQueued
	case "sent":
		return provider.StatusSent
	case "delivered", "read":
		return provider.StatusDelivered
	case "undelivered", "partially_delivered":
		return provider.StatusUndelivered
	case "failed", "canceled":
		return provider.StatusFailed
	default:
		return provider.StatusUnknown
	}
}

// unwrapURL drops the request URL from a client error.
func unwrapURL(err error) error {
	if ue, ok := err.(*url.Error); ok {
		return ue.Err
	}
	return err
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// numberList is the part of an IncomingPhoneNumbers page CheckNumber
// reads.
type numberList struct {
	Numbers []struct {
		PhoneNumber string `json:"phone_number"`
	} `json:"incoming_phone_numbers"`
}

// CheckNumber verifies the account's credentials and that num is one of
// its phone numbers (Twilio's IncomingPhoneNumbers; a short code, which
// that resource does not list, is checked for the credentials only).
// Refused credentials are a provider.Error with ReasonUnauthorized; a
// number of another account wraps ErrNotOwned.
func (p *Provider) CheckNumber(ctx context.Context, num phone.Number) error {
	ctx, cancel := context.WithTimeout(ctx, p.cfg.timeout())
	defer cancel()
	q := url.Values{"PageSize": {"50"}}
	if !num.IsShortCode() {
		q.Set("PhoneNumber", num.String())
	}
	endpoint := p.cfg.baseURL() + "/2010-04-01/Accounts/" + p.cfg.AccountSID + "/IncomingPhoneNumbers.json?" + q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, endpoint, nil)
	if err != nil {
		return provider.NewError(name, provider.Permanent, provider.ReasonRejected, "", "bad request", err)
	}
	req.Header.Set("Accept", "application/json")
	req.SetBasicAuth(p.cfg.AccountSID, p.cfg.AuthToken)
	resp, err := p.client.Do(req)
	if err != nil {
		return provider.Classify(name, fmt.Errorf("twilio: list numbers: %w", unwrapURL(err)))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return provider.Classify(name, fmt.Errorf("twilio: read answer: %w", err))
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return classifyResponse(resp, body)
	}
	if num.IsShortCode() {
		return nil
	}
	var list numberList
	if err := json.Unmarshal(body, &list); err != nil {
		return provider.NewError(name, provider.Temporary, provider.ReasonOther, "", "unreadable answer", err)
	}
	for _, n := range list.Numbers {
		if n.PhoneNumber == num.String() {
			return nil
		}
	}
	return fmt.Errorf("%w: %s", ErrNotOwned, num)
}
