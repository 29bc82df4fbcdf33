package bridge

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/xgate-im/xgate/kit/attach"
	"github.com/xgate-im/xgate/xmpp"
)

// NSHTTPUpload is the namespace of HTTP File Upload (XEP-0363).
const NSHTTPUpload = "urn:xmpp:http:upload:0"

// ErrNoUploadService: the host server has no HTTP upload service the
// gateway may use (none configured or discovered, or it stopped
// answering), so incoming files keep their network's links.
var ErrNoUploadService = errors.New("bridge: no HTTP upload service")

// ErrUploadRefused: the upload service refused a slot (not allowed, over
// quota) or the PUT failed for a reason other than the file's size.
var ErrUploadRefused = errors.New("bridge: upload refused")

// uploadSlot is a slot granted by an upload service (XEP-0363 §4): where
// to PUT the file, with which headers, and where it is then served.
type uploadSlot struct {
	put    string
	header http.Header // only Authorization, Cookie and Expires
	get    string
}

// slotHeaders are the only headers a slot may ask for on the PUT
// (XEP-0363 §4); any other is ignored.
var slotHeaders = []string{"Authorization", "Cookie", "Expires"}

// parseSlot reads the <slot/> of a slot request's result. Both URLs must
// be absolute http or https URLs with a host; headers other than
// slotHeaders are dropped, and newlines are stripped from the values kept
// (a value cannot smuggle in a header of its own).
func parseSlot(el *xmpp.Element) (uploadSlot, error) {
	if el == nil || el.Name.Space != NSHTTPUpload || el.Name.Local != "slot" {
		return uploadSlot{}, fmt.Errorf("%w: the answer has no <slot xmlns=%q/>", ErrUploadRefused, NSHTTPUpload)
	}
	var s uploadSlot
	put, get := el.Child(NSHTTPUpload, "put"), el.Child(NSHTTPUpload, "get")
	if put == nil || get == nil {
		return uploadSlot{}, fmt.Errorf("%w: the slot lacks a put or get URL", ErrUploadRefused)
	}
	var err error
	if s.put, err = slotURL(put.AttrValue("url")); err != nil {
		return uploadSlot{}, fmt.Errorf("%w: put URL: %w", ErrUploadRefused, err)
	}
	if s.get, err = slotURL(get.AttrValue("url")); err != nil {
		return uploadSlot{}, fmt.Errorf("%w: get URL: %w", ErrUploadRefused, err)
	}
	s.header = http.Header{}
	for _, h := range put.Children() {
		if h.Name.Local != "header" || (h.Name.Space != NSHTTPUpload && h.Name.Space != "") {
			continue
		}
		name := http.CanonicalHeaderKey(strings.TrimSpace(h.AttrValue("name")))
		value := strings.TrimSpace(strings.NewReplacer("\r", "", "\n", "").Replace(h.Text()))
		for _, allowed := range slotHeaders {
			if name == allowed && value != "" {
				s.header.Set(name, value)
			}
		}
	}
	return s, nil
}

// slotURL checks one URL of a slot.
func slotURL(raw string) (string, error) {
	if raw == "" {
		return "", errors.New("empty")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", errors.New("not a URL")
	}
	if (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return "", fmt.Errorf("%s: not an absolute http(s) URL", redactURL(raw))
	}
	return raw, nil
}

// slotRefusal maps the error answer to a slot request (XEP-0363 §5) to
// this package's errors: a file too large (with the service's limit in
// maxSize when it says, else 0) wraps attach.ErrTooLarge; a refusal by
// policy or quota wraps ErrUploadRefused; an address that serves no
// upload wraps ErrNoUploadService. The service's text is kept for the log.
func slotRefusal(e *xmpp.StanzaError) (maxSize int64, err error) {
	if e == nil {
		return 0, fmt.Errorf("%w: an error without an error element", ErrUploadRefused)
	}
	detail := string(e.Condition)
	if e.Text != "" {
		detail += ": " + xmpp.Truncate(e.Text, 200)
	}
	if app := e.App; app != nil && app.Name.Space == NSHTTPUpload && app.Name.Local == "file-too-large" {
		maxSize, _ = strconv.ParseInt(strings.TrimSpace(app.ChildText(NSHTTPUpload, "max-file-size")), 10, 64)
		maxSize = max(maxSize, 0)
		return maxSize, fmt.Errorf("%w: the upload service refused it (%s)", attach.ErrTooLarge, detail)
	}
	switch e.Condition {
	case xmpp.CondServiceUnavailable, xmpp.CondFeatureNotImplemented, xmpp.CondItemNotFound,
		xmpp.CondRemoteServerNotFound, xmpp.CondRemoteServerTimeout:
		return 0, fmt.Errorf("%w: %s", ErrNoUploadService, detail)
	}
	return 0, fmt.Errorf("%w: %s", ErrUploadRefused, detail)
}

// slotRequest is the <request/> for a slot (XEP-0363 §4).
func slotRequest(f *attach.File) *xmpp.Element {
	return xmpp.NewElement(NSHTTPUpload, "request",
		"filename", f.Name, "size", strconv.Itoa(len(f.Data)), "content-type", f.MIME)
}

// redactURL keeps the scheme, host and path of a URL: the query of a put
// URL may carry a token.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(invalid URL)"
	}
	return (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}).String()
}
