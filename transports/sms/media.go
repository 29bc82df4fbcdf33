package sms

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"io"
	"net/http"
	"strings"

	"github.com/xgate-im/xgate/bridge"
	"github.com/xgate-im/xgate/transports/sms/provider"
)

// maxMediaSize bounds one re-hosted attachment.
const maxMediaSize = 64 << 20

// Inbound MMS media live at the provider behind its credentials. The
// transport re-hosts them on its own webhook listener: an attachment
// becomes PUBLIC_URL/m/ACCOUNT/MAC/URL (URL base64url-encoded, MAC an
// HMAC of account and URL), which fetches the media through the account's
// provider (provider.MediaFetcher) when an XMPP client follows it. The
// links hold no state, so they work after a restart while the provider
// keeps the media; the MAC makes them unguessable and unforgeable.

// mediaKey returns the key of media links: derived from the webhook token
// when there is one (stable across restarts), random otherwise.
func mediaKey(token string) []byte {
	if token == "" {
		return []byte(rand.Text())
	}
	sum := sha256.Sum256([]byte("xgate sms media links\x00" + token))
	return sum[:]
}

func (t *Transport) mediaMAC(acct bridge.AccountID, mediaURL string) string {
	m := hmac.New(sha256.New, t.mediaKey)
	m.Write([]byte(string(acct) + "\x00" + mediaURL))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:18])
}

// mediaAttachments turns an MMS's media into links on the listener (or
// the provider's own URLs when it needs no credentials).
func (t *Transport) mediaAttachments(acct bridge.AccountID, media []provider.Media) []bridge.Attachment {
	var out []bridge.Attachment
	for _, m := range media {
		u := t.s.publicURL + "/m/" + string(acct) + "/" + t.mediaMAC(acct, m.URL) + "/" + base64.RawURLEncoding.EncodeToString([]byte(m.URL))
		out = append(out, bridge.Attachment{URL: u, MIME: m.ContentType})
	}
	return out
}

// serveMedia answers GET /m/ACCOUNT/MAC/URL.
func (t *Transport) serveMedia(w http.ResponseWriter, r *http.Request) {
	parts := strings.SplitN(strings.TrimPrefix(r.URL.Path, "/m/"), "/", 3)
	if len(parts) != 3 {
		http.NotFound(w, r)
		return
	}
	acct := bridge.AccountID(parts[0])
	raw, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil || !hmac.Equal([]byte(parts[1]), []byte(t.mediaMAC(acct, string(raw)))) {
		t.forged.Add(1)
		http.Error(w, "forbidden", http.StatusForbidden)
		return
	}
	s, ok := t.fan.Session(acct)
	var f provider.MediaFetcher
	if ok {
		f, ok = s.(*session).prov.(provider.MediaFetcher)
	}
	if !ok {
		http.Error(w, "the account of this media is not logged in", http.StatusNotFound)
		return
	}
	body, ctype, err := f.FetchMedia(r.Context(), string(raw))
	if err != nil {
		t.log.Warn("MMS media not fetched", "account", string(acct), "err", err)
		http.Error(w, "media not available", http.StatusBadGateway)
		return
	}
	defer body.Close()
	if ctype != "" {
		w.Header().Set("Content-Type", ctype)
	}
	w.Header().Set("X-Content-Type-Options", "nosniff")
	_, _ = io.Copy(w, io.LimitReader(body, maxMediaSize))
}
