package sms

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/xgate-im/xgate/bridge"
	"github.com/xgate-im/xgate/transports/sms/provider"
	"github.com/xgate-im/xgate/transports/sms/segment"
)

// maxMedia is the most attachments one MMS carries (Twilio's limit).
const maxMedia = 10

// Send texts msg to the chat's number, as one or more provider messages
// (see chunks), after the number's rate limit. XEP-0066 links become MMS
// media when the provider carries MMS, and stay in the text otherwise.
// The returned ID is the first part's provider ID; delivery reports of
// every part come back as one DeliveryEvent.
func (s *session) Send(ctx context.Context, chat bridge.ChatRef, msg bridge.OutgoingMessage) (bridge.MessageID, error) {
	if s.closed.Load() {
		return "", bridge.ErrSessionClosed
	}
	to, err := peerOf(chat)
	if err != nil {
		return "", err
	}
	text := msg.Text
	var media []string
	for _, a := range msg.Attachments {
		if s.caps.MMS && len(media) < maxMedia {
			media = append(media, a.URL)
			continue
		}
		if !strings.Contains(text, a.URL) {
			text = strings.TrimSpace(text + " " + a.URL)
		}
	}
	var ids []provider.MessageID
	for i, body := range chunks(text, s.caps) {
		if err := s.t.limit.Wait(ctx, s.number); err != nil {
			return "", err
		}
		out := provider.Outbound{From: s.number, To: to, Body: body}
		if i == 0 {
			out.Media = media
		}
		sent, err := s.prov.Send(ctx, out)
		if err != nil {
			return "", s.sendError(ctx, err)
		}
		ids = append(ids, sent.ID)
		s.t.segments.Add(int64(segment.Segments(body)))
	}
	s.t.sent.Add(1)
	id := bridge.MessageID(ids[0])
	for _, o := range s.t.reports.sent(s.acct, chat, id, ids) {
		// Reports that came before Send returned: passed on once the
		// bridge has the ID (it waits for the ID pair of a send in flight).
		_ = s.t.dispatchOutcome(ctx, o, false)
	}
	return id, nil
}

// chunks cuts text into what one Send carries: the whole text when the
// provider concatenates it within its limits, otherwise groups of SMS
// parts (package segment) that fit them.
func chunks(text string, pc provider.Capabilities) []string {
	fits := func(t string) bool {
		if pc.MaxBody > 0 && len([]rune(t)) > pc.MaxBody {
			return false
		}
		n := segment.Segments(t)
		if !pc.Concatenates {
			return n == 1
		}
		return pc.MaxSegments == 0 || n <= pc.MaxSegments
	}
	if fits(text) {
		return []string{text}
	}
	var out []string
	cur := ""
	for _, p := range segment.Split(text) {
		if cur != "" && fits(cur+p) {
			cur += p
			continue
		}
		if cur != "" {
			out = append(out, cur)
		}
		cur = p
	}
	return append(out, cur)
}

// sendError maps a provider's error onto the bridge's: rate limits and
// temporary failures are retried from the queue; definitive failures
// bounce to the sender with the provider's reason; refused credentials
// log the account out.
func (s *session) sendError(ctx context.Context, err error) error {
	pe, ok := providerError(err)
	if !ok {
		return fmt.Errorf("%w: %w", bridge.ErrTemporary, err)
	}
	switch pe.Kind {
	case provider.RateLimited:
		return &bridge.RateLimitError{RetryAfter: pe.RetryAfter, Err: err}
	case provider.Temporary:
		return fmt.Errorf("%w: %w", bridge.ErrTemporary, err)
	}
	why := reasonText(pe)
	s.t.failed.Add(1)
	switch pe.Reason {
	case provider.ReasonUnauthorized:
		reason := "the SMS provider refused the credentials of " + s.number.String() + ": " + why
		if e := s.sink.Emit(ctx, bridge.LoginStateEvent{State: bridge.LoggedOut, Reason: reason}); e != nil {
			s.t.log.Warn("log-out not reported", "account", string(s.acct), "err", e)
		}
		return fmt.Errorf("%w: %s", bridge.ErrAuth, why)
	case provider.ReasonInvalidNumber:
		return fmt.Errorf("%w: %s", bridge.ErrNotFound, why)
	case provider.ReasonOptedOut, provider.ReasonBlocked:
		return fmt.Errorf("%w: %s", bridge.ErrForbidden, why)
	case provider.ReasonRejected:
		return fmt.Errorf("%w: %s", bridge.ErrInvalidInput, why)
	}
	return errors.New(why)
}

// reasonText is a provider error in words for the sender: the reason, the
// provider's own message and its code.
func reasonText(pe *provider.Error) string {
	s := pe.Reason.String()
	if pe.Message != "" {
		s += ": " + pe.Message
	}
	if pe.Code != "" {
		s += " (" + pe.Provider + " " + pe.Code + ")"
	}
	return s
}
