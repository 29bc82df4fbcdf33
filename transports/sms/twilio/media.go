package twilio

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/xgate-im/xgate/transports/sms/provider"
)

// FetchMedia opens an inbound MMS attachment. Credentials are sent only
// when mediaURL is on BaseURL's scheme and host; Twilio answers media
// requests with a redirect to a signed storage URL, which the client
// follows without them.
func (p *Provider) FetchMedia(ctx context.Context, mediaURL string) (io.ReadCloser, string, error) {
	u, err := url.Parse(mediaURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, "", provider.NewError(name, provider.Permanent, provider.ReasonRejected, "", "bad media URL", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, mediaURL, nil)
	if err != nil {
		return nil, "", provider.NewError(name, provider.Permanent, provider.ReasonRejected, "", "bad media URL", err)
	}
	base, _ := url.Parse(p.cfg.baseURL())
	if base != nil && u.Scheme == base.Scheme && u.Host == base.Host {
		req.SetBasicAuth(p.cfg.AccountSID, p.cfg.AuthToken)
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return nil, "", provider.Classify(name, fmt.Errorf("twilio: fetch media: %w", unwrapURL(err)))
	}
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		resp.Body.Close()
		return nil, "", classifyResponse(resp, body)
	}
	return resp.Body, resp.Header.Get("Content-Type"), nil
}
