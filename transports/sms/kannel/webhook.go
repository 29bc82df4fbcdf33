package kannel

import (
	"crypto/subtle"
	"errors"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/xgate-im/xgate/transports/sms/phone"
	"github.com/xgate-im/xgate/transports/sms/provider"
)

// maxBody bounds a post-url body: 255 parts of 140 bytes, with room.
const maxBody = 64 << 10

// Errors of callback parsing; a request failing with one is answered 400.
var (
	// ErrMalformed: a callback lacks a field or has an unreadable one.
	ErrMalformed = errors.New("kannel: malformed callback")
)

// Webhook returns the handler for smsbox's callbacks (see the package
// doc): GET or POST /mo and GET /dlr, relative to the mount point.
// Answers: 403 for a wrong source or secret, 400 for a malformed
// callback, 503 when the sink fails (Kannel retries), 200 once stored.
func (p *Provider) Webhook(sink provider.Sink) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/mo", func(w http.ResponseWriter, r *http.Request) {
		if !p.authorized(w, r) {
			return
		}
		m, err := parseMO(r)
		if !provider.Store(w, r, m, err, sink.Inbound) {
			return
		}
		w.WriteHeader(http.StatusOK)
	})
	mux.HandleFunc("GET /dlr", func(w http.ResponseWriter, r *http.Request) {
		if !p.authorized(w, r) {
			return
		}
		d, err := parseDLR(r)
		if !provider.Store(w, r, d, err, sink.DeliveryReport) {
			return
		}
		w.WriteHeader(http.StatusOK)
	})
	return mux
}

// authorized checks the source address and the shared secret, answering
// 403 when either is wrong.
func (p *Provider) authorized(w http.ResponseWriter, r *http.Request) bool {
	ok := p.allowedSource(r.RemoteAddr)
	secret := r.URL.Query().Get("secret")
	if subtle.ConstantTimeCompare([]byte(secret), []byte(p.cfg.Secret)) != 1 {
		ok = false
	}
	if !ok {
		http.Error(w, "forbidden", http.StatusForbidden)
	}
	return ok
}

func (p *Provider) allowedSource(remote string) bool {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	addr, err := netip.ParseAddr(host)
	if err != nil {
		return false
	}
	addr = addr.Unmap()
	if len(p.cfg.AllowedSources) == 0 {
		return addr.IsLoopback()
	}
	for _, pre := range p.cfg.AllowedSources {
		if pre.Contains(addr) {
			return true
		}
	}
	return false
}

// parseMO reads a get-url (text in the query) or post-url (text in the
// body) callback.
func parseMO(r *http.Request) (provider.Inbound, error) {
	q := r.URL.Query()
	id := q.Get("id")
	if id == "" {
		return provider.Inbound{}, malformed("missing id (%I)")
	}
	from, err := number(q.Get("from"), r.Header.Get("X-Kannel-From"))
	if err != nil {
		return provider.Inbound{}, malformed("from: " + err.Error())
	}
	to, err := number(q.Get("to"), r.Header.Get("X-Kannel-To"))
	if err != nil {
		return provider.Inbound{}, malformed("to: " + err.Error())
	}
	var raw []byte
	switch r.Method {
	case http.MethodGet:
		raw = []byte(q.Get("text"))
	case http.MethodPost:
		raw, err = io.ReadAll(http.MaxBytesReader(nil, r.Body, maxBody))
		if err != nil {
			return provider.Inbound{}, malformed("body too large or unreadable")
		}
	default:
		return provider.Inbound{}, malformed("method " + r.Method)
	}
	coding := firstOf(q.Get("coding"), r.Header.Get("X-Kannel-Coding"))
	charset := firstOf(q.Get("charset"), r.Header.Get("X-Kannel-Charset"), contentCharset(r.Header.Get("Content-Type")))
	body, err := decodeText(raw, coding, charset)
	if err != nil {
		return provider.Inbound{}, err
	}
	return provider.Inbound{
		ID:       provider.MessageID(id),
		From:     from,
		To:       to,
		Body:     body,
		Received: unixTime(firstOf(q.Get("ts"), r.Header.Get("X-Kannel-Time"))),
	}, nil
}

// parseDLR reads a dlr-url callback made by Send's dlr-url.
func parseDLR(r *http.Request) (provider.DeliveryReport, error) {
	q := r.URL.Query()
	id := q.Get("id")
	if id == "" {
		return provider.DeliveryReport{}, malformed("missing id")
	}
	typ, err := strconv.Atoi(q.Get("type"))
	if err != nil {
		return provider.DeliveryReport{}, malformed("type is not a number")
	}
	status, ok := dlrStatus[typ]
	if !ok {
		return provider.DeliveryReport{}, malformed("unknown DLR type " + q.Get("type"))
	}
	d := provider.DeliveryReport{ID: provider.MessageID(id), Status: status, At: unixTime(q.Get("ts"))}
	if status.Failed() {
		d.Err = provider.NewError(name, provider.Permanent, provider.ReasonOther, "DLR "+q.Get("type"), q.Get("answer"), nil)
	}
	return d, nil
}

// dlrStatus maps Kannel's DLR types (%d) to statuses.
var dlrStatus = map[int]provider.Status{
	1:  provider.StatusDelivered,
	2:  provider.StatusUndelivered,
	4:  provider.StatusQueued,
	8:  provider.StatusSent,
	16: provider.StatusFailed,
}

// number reads a number Kannel passed (see phone.ParseWire).
func number(values ...string) (phone.Number, error) {
	return phone.ParseWire(firstOf(values...))
}

// decodeText turns a callback's text into UTF-8. UCS-2 (coding 2) is
// big-endian UTF-16 unless smsbox already recoded it (mo-recode, charset
// UTF-8); other codings are UTF-8 when valid, else Latin-1 (Kannel's
// default for GSM text without recoding).
func decodeText(raw []byte, coding, charset string) (string, error) {
	cs := strings.ToUpper(charset)
	switch {
	case cs == "UTF-8" && utf8.Valid(raw):
		return string(raw), nil
	case coding == "2" || strings.HasPrefix(cs, "UTF-16") || cs == "UCS-2" || cs == "UCS-2BE":
		if len(raw)%2 != 0 {
			return "", malformed("odd-length UCS-2 text")
		}
		u := make([]uint16, len(raw)/2)
		for i := range u {
			u[i] = uint16(raw[2*i])<<8 | uint16(raw[2*i+1])
		}
		return string(utf16.Decode(u)), nil
	case utf8.Valid(raw):
		return string(raw), nil
	default:
		rs := make([]rune, len(raw))
		for i, b := range raw {
			rs[i] = rune(b)
		}
		return string(rs), nil
	}
}

func contentCharset(ct string) string {
	_, params, ok := strings.Cut(ct, "charset=")
	if !ok {
		return ""
	}
	params, _, _ = strings.Cut(params, ";")
	return strings.Trim(strings.TrimSpace(params), `"`)
}

func unixTime(s string) time.Time {
	if sec, err := strconv.ParseInt(s, 10, 64); err == nil && sec > 0 {
		return time.Unix(sec, 0).UTC()
	}
	return time.Now().UTC()
}

func firstOf(values ...string) string {
	for _, v := range values {
		if v != "" {
			return v
		}
	}
	return ""
}

func malformed(what string) error {
	return &callbackError{what: what}
}

type callbackError struct{ what string }

func (e *callbackError) Error() string { return ErrMalformed.Error() + ": " + e.what }
func (e *callbackError) Unwrap() error { return ErrMalformed }
