package twilio

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/xgate-im/xgate/transports/sms/phone"
	"github.com/xgate-im/xgate/transports/sms/provider"
)

// maxWebhookBody bounds a webhook's form: 10 media URLs and a 1600
// character body fit many times over.
const maxWebhookBody = 64 << 10

// maxMedia is the most attachments Twilio sends with one message.
const maxMedia = 10

// ErrMalformed: a webhook lacks a field or has an unreadable one; it is
// answered 400.
var ErrMalformed = errors.New("twilio: malformed webhook")

// emptyTwiML answers an inbound webhook without replying to the sender.
const emptyTwiML = `<?xml version="1.0" encoding="UTF-8"?><Response></Response>`

// Webhook returns the handler for Twilio's webhooks (see the package doc):
// POST /inbound and POST /status under the mount point. Answers: 403 for a
// missing or wrong signature, 400 for a malformed webhook, 503 when the
// sink fails (Twilio retries), 200 once stored.
func (p *Provider) Webhook(sink provider.Sink) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /inbound", func(w http.ResponseWriter, r *http.Request) {
		form, ok := p.verified(w, r)
		if !ok {
			return
		}
		m, err := parseInbound(form)
		if !provider.Store(w, r, m, err, sink.Inbound) {
			return
		}
		w.Header().Set("Content-Type", "text/xml")
		_, _ = w.Write([]byte(emptyTwiML))
	})
	mux.HandleFunc("POST /status", func(w http.ResponseWriter, r *http.Request) {
		form, ok := p.verified(w, r)
		if !ok {
			return
		}
		d, err := parseStatus(form)
		if !provider.Store(w, r, d, err, sink.DeliveryReport) {
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	return mux
}

// verified parses the form and checks its signature against the public
// URL, answering 400 or 403 itself when it returns false.
func (p *Provider) verified(w http.ResponseWriter, r *http.Request) (url.Values, bool) {
	r.Body = http.MaxBytesReader(w, r.Body, maxWebhookBody)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "unreadable form", http.StatusBadRequest)
		return nil, false
	}
	public := p.cfg.publicURL() + r.URL.EscapedPath()
	if r.URL.RawQuery != "" {
		public += "?" + r.URL.RawQuery
	}
	sig := r.Header.Get("X-Twilio-Signature")
	if !ValidSignature(p.cfg.AuthToken, public, r.PostForm, sig) &&
		!ValidSignature(p.cfg.AuthToken, togglePort(public), r.PostForm, sig) {
		http.Error(w, "bad signature", http.StatusForbidden)
		return nil, false
	}
	return r.PostForm, true
}

// togglePort returns u with its scheme's default port added when absent,
// or removed when present: Twilio has signed https URLs both with and
// without ":443", so both forms are accepted.
func togglePort(u string) string {
	pu, err := url.Parse(u)
	if err != nil {
		return u
	}
	def := map[string]string{"https": "443", "http": "80"}[pu.Scheme]
	switch pu.Port() {
	case "":
		pu.Host += ":" + def
	case def:
		pu.Host = pu.Hostname()
		if strings.Contains(pu.Host, ":") { // IPv6 literal
			pu.Host = "[" + pu.Host + "]"
		}
	default:
		return u
	}
	return pu.String()
}

// parseInbound reads an incoming message webhook.
func parseInbound(f url.Values) (provider.Inbound, error) {
	sid := f.Get("MessageSid")
	if sid == "" {
		return provider.Inbound{}, malformed("missing MessageSid")
	}
	from, err := phone.ParseWire(f.Get("From"))
	if err != nil {
		return provider.Inbound{}, malformed("From: " + err.Error())
	}
	to, err := phone.ParseWire(f.Get("To"))
	if err != nil {
		return provider.Inbound{}, malformed("To: " + err.Error())
	}
	m := provider.Inbound{ID: provider.MessageID(sid), From: from, To: to, Body: f.Get("Body"), Received: time.Now().UTC()}
	n := 0
	if v := f.Get("NumMedia"); v != "" {
		if n, err = strconv.Atoi(v); err != nil || n < 0 || n > maxMedia {
			return provider.Inbound{}, malformed("NumMedia " + v)
		}
	}
	for i := range n {
		u := f.Get("MediaUrl" + strconv.Itoa(i))
		if pu, err := url.Parse(u); err != nil || (pu.Scheme != "https" && pu.Scheme != "http") || pu.Host == "" {
			return provider.Inbound{}, malformed("MediaUrl" + strconv.Itoa(i))
		}
		m.Media = append(m.Media, provider.Media{URL: u, ContentType: f.Get("MediaContentType" + strconv.Itoa(i))})
	}
	return m, nil
}

// parseStatus reads a status callback.
func parseStatus(f url.Values) (provider.DeliveryReport, error) {
	sid := f.Get("MessageSid")
	if sid == "" {
		return provider.DeliveryReport{}, malformed("missing MessageSid")
	}
	raw := f.Get("MessageStatus")
	if raw == "" {
		raw = f.Get("SmsStatus")
	}
	st := status(raw)
	if st == provider.StatusUnknown {
		return provider.DeliveryReport{}, malformed("MessageStatus " + strconv.Quote(raw))
	}
	d := provider.DeliveryReport{ID: provider.MessageID(sid), Status: st, At: time.Now().UTC()}
	if st.Failed() {
		code, _ := strconv.Atoi(f.Get("ErrorCode"))
		e := classifyCode(code, f.Get("ErrorMessage"))
		e.Kind = provider.Permanent // the message is gone either way
		d.Err = e
	}
	return d, nil
}

type webhookError struct{ what string }

func (e *webhookError) Error() string { return ErrMalformed.Error() + ": " + e.what }
func (e *webhookError) Unwrap() error { return ErrMalformed }

func malformed(what string) error { return &webhookError{what: what} }
