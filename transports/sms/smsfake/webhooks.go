package smsfake

import (
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"

	"github.com/xgate-im/xgate/transports/sms/segment"
)

// sign computes X-Twilio-Signature: HMAC-SHA1 keyed with the auth token
// over the URL followed by each POST parameter's name and value, in
// order of name (values of one name in order of value), base64-encoded.
func sign(token, fullURL string, form url.Values) string {
	var b strings.Builder
	b.WriteString(fullURL)
	keys := make([]string, 0, len(form))
	for k := range form {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		vs := append([]string(nil), form[k]...)
		sort.Strings(vs)
		for _, v := range vs {
			b.WriteString(k)
			b.WriteString(v)
		}
	}
	h := hmac.New(sha1.New, []byte(token))
	h.Write([]byte(b.String()))
	return base64.StdEncoding.EncodeToString(h.Sum(nil))
}

// post sends one signed webhook and records it.
func (s *Server) post(ctx context.Context, target string, form url.Values) Callback {
	cb := Callback{URL: target, Form: form}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, strings.NewReader(form.Encode()))
	if err != nil {
		cb.Err = err
	} else {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Twilio-Signature", sign(s.opts.AuthToken, target, form))
		req.Header.Set("User-Agent", "TwilioProxy/1.1")
		resp, err := s.opts.Client.Do(req)
		if err != nil {
			cb.Err = err
		} else {
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
			resp.Body.Close()
			cb.Status = resp.StatusCode
		}
	}
	s.mu.Lock()
	s.callbacks = append(s.callbacks, cb)
	close(s.changed)
	s.changed = make(chan struct{})
	s.mu.Unlock()
	return cb
}

// sendCallbacks owns status callbacks: it posts them one at a time, in
// the order messages and statuses were queued, until Close.
func (s *Server) sendCallbacks() {
	defer s.wg.Done()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-s.done
		cancel()
	}()
	for {
		select {
		case cb := <-s.queue:
			s.post(ctx, cb.URL, cb.Form)
		case <-s.done:
			return
		}
	}
}

// Inbound is a text from a phone to one of the account's numbers.
type Inbound struct {
	From, To, Body string
	// Media are attachments; the fake serves them at Twilio-style media
	// URLs that need the account's credentials.
	Media []MediaFile
}

// MediaFile is one attachment of an Inbound.
type MediaFile struct {
	ContentType string
	Data        []byte
}

// SendInbound posts a signed incoming-message webhook to
// Options.InboundURL and returns the message SID and the answer's HTTP
// status. A transport error or a non-2xx answer is also an error.
func (s *Server) SendInbound(ctx context.Context, in Inbound) (sid string, status int, err error) {
	if s.opts.InboundURL == "" {
		return "", 0, errors.New("smsfake: no InboundURL configured")
	}
	form := s.inboundForm(in)
	sid = form.Get("MessageSid")
	cb := s.post(ctx, s.opts.InboundURL, form)
	if cb.Err != nil {
		return sid, 0, fmt.Errorf("smsfake: inbound webhook: %w", cb.Err)
	}
	if cb.Status < 200 || cb.Status > 299 {
		return sid, cb.Status, fmt.Errorf("smsfake: inbound webhook answered %d", cb.Status)
	}
	return sid, cb.Status, nil
}

// inboundForm builds the incoming-message webhook for in, storing its
// media where the fake serves them.
func (s *Server) inboundForm(in Inbound) url.Values {
	prefix := "SM"
	if len(in.Media) > 0 {
		prefix = "MM"
	}
	sid := newSID(prefix)
	form := url.Values{
		"MessageSid": {sid}, "SmsMessageSid": {sid}, "SmsSid": {sid}, "AccountSid": {s.opts.AccountSID},
		"From": {in.From}, "To": {in.To}, "Body": {in.Body}, "NumMedia": {fmt.Sprint(len(in.Media))},
		"NumSegments": {fmt.Sprint(segment.Segments(in.Body))}, "SmsStatus": {"received"}, "ApiVersion": {"2010-04-01"},
	}
	for i, m := range in.Media {
		mediaSID := newSID("ME")
		s.mu.Lock()
		s.media[sid+"/"+mediaSID] = mediaFile{contentType: m.ContentType, data: append([]byte(nil), m.Data...)}
		s.mu.Unlock()
		form.Set(fmt.Sprintf("MediaUrl%d", i), s.URL()+"/2010-04-01/Accounts/"+s.opts.AccountSID+"/Messages/"+sid+"/Media/"+mediaSID)
		form.Set(fmt.Sprintf("MediaContentType%d", i), m.ContentType)
	}
	return form
}
