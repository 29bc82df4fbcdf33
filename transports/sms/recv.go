package sms

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/xgate-im/xgate/bridge"
	"github.com/xgate-im/xgate/transports/sms/phone"
	"github.com/xgate-im/xgate/transports/sms/provider"
)

// eventWait bounds how long a webhook waits for its event to be stored
// before it is answered 503 (the provider sends it again).
const eventWait = 20 * time.Second

// fromProvider is the Sink of one provider's webhooks: it hands what they
// parsed to the accounts' sessions through the Fanout, and returns once it
// is stored. A provider speaks only for its own numbers: the shared one for
// the assigned numbers, a user's own account for its number (only), so a
// user's validly signed webhook cannot reach another user's account.
type fromProvider struct {
	t      *Transport
	only   bridge.AccountID // a user's own account; "" for the shared provider
	number phone.Number     // the own account's number
}

// owns reports whether the provider speaks for acct.
func (f fromProvider) owns(acct bridge.AccountID) bool {
	if f.only != "" {
		return acct == f.only
	}
	_, ok := f.t.assignment(phone.Number(acct))
	return ok
}

// refuse logs and counts a webhook about a number its provider does not
// speak for; it is answered 2xx so that it is not sent again.
func (f fromProvider) refuse(what string, acct bridge.AccountID) error {
	f.t.forged.Add(1)
	f.t.log.Warn("webhook about a number its provider does not serve: ignored", "what", what, "number", string(acct))
	return nil
}

var _ provider.Sink = fromProvider{}

// Inbound passes a text from a phone to the account of the number it was
// sent to.
func (f fromProvider) Inbound(ctx context.Context, m provider.Inbound) error {
	return f.inbound(ctx, m, "in/"+string(m.ID))
}

// inbound is Inbound with the event's ID for the Fanout's dedupe: a kept
// text passed on later (admin.go) is a new event, while the bridge still
// delivers the message once by its provider ID.
func (f fromProvider) inbound(ctx context.Context, m provider.Inbound, evID string) error {
	t := f.t
	acct := bridge.AccountID(m.To)
	if f.only != "" {
		if m.To != f.number {
			return f.refuse("text", acct)
		}
		acct = f.only
	}
	ev := bridge.Inbound{
		ID:       evID,
		Order:    string(m.To) + "|" + string(m.From),
		Describe: describe(fmt.Sprintf("text %s from %s to %s", m.ID, m.From, m.To)),
		Route: func(rctx context.Context) ([]bridge.AccountID, bool, error) {
			return t.route(acct, func() error { return t.keep(rctx, m) })
		},
		Handle: func(ctx context.Context, s bridge.Session) error {
			return s.(*session).fromNetworkText(ctx, m)
		},
	}
	return t.dispatch(ctx, ev)
}

// DeliveryReport applies a status change of a sent text and passes a
// final state on as a DeliveryEvent.
func (f fromProvider) DeliveryReport(ctx context.Context, r provider.DeliveryReport) error {
	o, ok, known := f.t.reports.report(r, f.owns)
	if !known {
		f.t.log.Debug("delivery report for an unknown message kept for a while", "id", string(r.ID), "status", r.Status.String())
		return nil
	}
	if !ok {
		if o.text.acct != "" { // the text of another provider's account
			return f.refuse("delivery report", o.text.acct)
		}
		return nil
	}
	return f.t.dispatchOutcome(ctx, o, true)
}

// route names the account of a number: its live session, or none yet
// while it logs in (incomplete: the event comes again). nobody is called
// when no account has the number; its error fails the event.
func (t *Transport) route(acct bridge.AccountID, nobody func() error) ([]bridge.AccountID, bool, error) {
	live, expected, known := t.fan.Awaited(acct)
	if live {
		return []bridge.AccountID{acct}, true, nil
	}
	if !known {
		_, expected = t.assignment(phone.Number(acct))
	}
	if expected {
		return nil, false, nil
	}
	if err := nobody(); err != nil {
		return nil, false, err
	}
	return nil, true, nil
}

// dispatchOutcome passes a text's final delivery state to its account.
// With wait it waits until the state is stored; without, it returns at
// once (a report that came before Send returned: ctx is unused).
func (t *Transport) dispatchOutcome(ctx context.Context, o outcome, wait bool) error {
	if o.newFailure {
		t.failed.Add(1)
	}
	ev := bridge.DeliveryEvent{Chat: o.text.chat, ID: o.text.id, State: o.state, Reason: o.reason}
	in := bridge.Inbound{
		ID:       fmt.Sprintf("dlr/%s/%s/%d", o.text.acct, o.text.id, o.state),
		Order:    string(o.text.acct) + "|" + string(o.text.chat.Peer),
		Describe: describe(fmt.Sprintf("delivery report of %s", o.text.id)),
		Route: func(context.Context) ([]bridge.AccountID, bool, error) {
			return t.route(o.text.acct, func() error {
				t.log.Warn("delivery report for an account that is gone", "account", string(o.text.acct), "id", string(o.text.id))
				return nil
			})
		},
		Handle: func(ctx context.Context, s bridge.Session) error {
			ss := s.(*session)
			if ss.closed.Load() {
				return bridge.ErrSessionClosed
			}
			if err := ss.sink.Emit(ctx, ev); err != nil {
				return err
			}
			t.reports.passed(o)
			return nil
		},
	}
	if !wait {
		return t.fanDispatch(in, func() {})
	}
	return t.dispatch(ctx, in)
}

// dispatch hands an event to the Fanout and waits until it is
// acknowledged (stored). While the event's account is still logging in,
// it hands it over again every notReadyRetry, so a text that comes at
// start-up waits for the login instead of being refused (Twilio does not
// send a refused text again); after eventWait it gives up with
// ErrNotReady or ErrTimeout and the webhook is answered 503.
func (t *Transport) dispatch(ctx context.Context, in bridge.Inbound) error {
	timer := time.NewTimer(eventWait)
	defer timer.Stop()
	for {
		err := t.dispatchOnce(ctx, in, timer.C)
		if !errors.Is(err, ErrNotReady) {
			return err
		}
		if t.onNotReady != nil {
			t.onNotReady()
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-timer.C:
			return err
		case <-time.After(notReadyRetry):
		}
	}
}

// notReadyRetry is how often an event for an account that is logging in
// is handed over again.
const notReadyRetry = 100 * time.Millisecond

func (t *Transport) dispatchOnce(ctx context.Context, in bridge.Inbound, deadline <-chan time.Time) error {
	done := make(chan error, 2)
	route := in.Route
	in.Route = func(ctx context.Context) ([]bridge.AccountID, bool, error) {
		accts, complete, err := route(ctx)
		if !complete && err == nil {
			select {
			case done <- ErrNotReady:
			default:
			}
		}
		return accts, complete, err
	}
	if err := t.fanDispatch(in, func() {
		select {
		case done <- nil:
		default:
		}
	}); err != nil {
		return err
	}
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	case <-deadline:
		return ErrTimeout
	}
}

// fromNetworkText emits a text from a phone as a message of the direct
// chat with that number.
func (s *session) fromNetworkText(ctx context.Context, m provider.Inbound) error {
	if s.closed.Load() {
		return bridge.ErrSessionClosed
	}
	s.note(m.From)
	peer := bridge.UserID(m.From)
	ev := bridge.MessageEvent{
		Chat:   bridge.ChatRef{Kind: bridge.Direct, Peer: peer},
		Sender: peer,
		ID:     bridge.MessageID(m.ID),
		Time:   m.Received,
		Text:   m.Body,
	}
	ev.Attachments = s.t.mediaAttachments(s.acct, m.Media)
	if err := s.sink.Emit(ctx, ev); err != nil {
		return err
	}
	s.t.inbound.Add(1)
	return nil
}

// describe is a fmt.Stringer of a fixed text.
type describe string

func (d describe) String() string { return string(d) }
