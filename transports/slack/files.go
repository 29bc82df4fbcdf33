package slack

import (
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/xgate-im/xgate/bridge"
	"github.com/xgate-im/xgate/kit/attach"
)

// Incoming files: a message's files are passed with their permalink (what
// a person opens in a browser, after signing in to Slack) as URL and their
// url_private as FetchURL. The session is a bridge.FileSource: the bridge
// downloads url_private with the account's token and re-hosts the file on
// the host server's upload service, so that the XMPP user can open it
// without a Slack login.

var _ bridge.FileSource = (*Session)(nil)

// errForeignHost refuses to send the token to a host that is not Slack's.
var errForeignHost = errors.New("slack: the file is not on a Slack host; the token is not sent there")

// FileFetcher implements bridge.FileSource: url_private needs the
// account's token as a Bearer header. The token goes only to Slack's
// hosts (slack.com and its subdomains, or the configured API host); Go's
// client drops it on a redirect to another host. Slack answers a refused
// token with its sign-in page, which the fetcher reports as
// attach.ErrUnauthorized.
func (s *Session) FileFetcher() *attach.Fetcher {
	return &attach.Fetcher{
		Client: s.t.hc,
		Authorize: func(r *http.Request) error {
			if !s.t.slackHost(r.URL) {
				return errForeignHost
			}
			r.Header.Set("Authorization", "Bearer "+s.token)
			return nil
		},
	}
}

// slackHost reports whether u is on one of Slack's hosts, or on the host
// of the configured API URL (a test's fake).
func (t *Transport) slackHost(u *url.URL) bool {
	host := u.Hostname()
	if host == "slack.com" || strings.HasSuffix(host, ".slack.com") {
		return u.Scheme == "https"
	}
	api, err := url.Parse(t.set.apiURL)
	return err == nil && api.Host == u.Host && api.Scheme == u.Scheme
}
