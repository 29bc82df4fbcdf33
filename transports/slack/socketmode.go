package slack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"

	"github.com/xgate-im/xgate/bridge"
)

// Run implements bridge.Runner: it keeps the instance's one Socket Mode
// connection (app-level token) and hands its events to the router until
// ctx ends. slack-go reconnects by itself when Slack asks (disconnect
// envelopes) or the connection breaks; envelopes not acknowledged by then
// come again on the new connection. Run fails only when Slack refuses the
// app-level token.
func (t *Transport) Run(ctx context.Context) error {
	if t.set.botToken != "" {
		t.identifyBot(ctx)
	}
	api := slack.New(t.set.botToken, t.options(slack.OptionAppLevelToken(t.set.appToken))...)
	smc := socketmode.New(api, socketmode.OptionLog(debugLog{t.log}))
	t.router.ack = func(ctx context.Context, id string) error { return smc.AckCtx(ctx, id, nil) }

	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	t.router.start(runCtx)
	errc := make(chan error, 1)
	go func() { errc <- smc.RunContext(runCtx) }()
	var err error
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case err = <-errc:
			break loop
		case evt := <-smc.Events:
			t.onSocketEvent(runCtx, smc, evt)
		}
	}
	cancel()
	if err == nil {
		err = <-errc
	}
	t.router.wait()
	if ctx.Err() != nil || errors.Is(err, context.Canceled) {
		return nil
	}
	return fmt.Errorf("slack: Socket Mode stopped: Slack refused the app-level token (%v); check app_token: %w", err, bridge.ErrAuth)
}

// identifyBot learns the app's bot in its workspace, to recognize its
// posts. A failure is logged: only that recognition is lost.
func (t *Transport) identifyBot(ctx context.Context) {
	actx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	at, err := t.client(t.set.botToken).AuthTestContext(actx)
	if err != nil {
		t.log.Warn("checking bot_token", "err", classify("auth.test", err))
		return
	}
	t.mu.Lock()
	t.bots[at.TeamID] = botInfo{userID: at.UserID, botID: at.BotID}
	t.mu.Unlock()
}

// onSocketEvent handles one item of the Socket Mode client: envelopes go
// to the router, everything else is logged. Every envelope is
// acknowledged, also those this transport has no use for.
func (t *Transport) onSocketEvent(ctx context.Context, smc *socketmode.Client, evt socketmode.Event) {
	switch evt.Type {
	case socketmode.EventTypeConnecting:
		t.log.Debug("Socket Mode connecting")
	case socketmode.EventTypeConnected:
		t.mu.Lock()
		if t.connected.IsZero() {
			t.connected = time.Now()
		}
		t.mu.Unlock()
		t.log.Info("Socket Mode connected")
	case socketmode.EventTypeHello:
		t.log.Debug("Socket Mode hello")
	case socketmode.EventTypeConnectionError:
		t.log.Warn("Socket Mode connection failed; retrying", "err", eventError(evt))
	case socketmode.EventTypeInvalidAuth:
		t.log.Error("Socket Mode refused the app-level token")
	case socketmode.EventTypeEventsAPI:
		if evt.Request != nil {
			t.onEnvelope(ctx, evt.Request.EnvelopeID, evt.Request.Payload)
		}
	case socketmode.EventTypeErrorBadMessage:
		// slack-go could not read it, often an event type it does not know:
		// read the envelope here.
		bad, _ := evt.Data.(*socketmode.ErrorBadMessage)
		if bad == nil {
			return
		}
		var req socketmode.Request
		if json.Unmarshal(bad.Message, &req) != nil || req.EnvelopeID == "" {
			t.log.Warn("unreadable Socket Mode message", "err", bad.Cause)
			return
		}
		if req.Type == socketmode.RequestTypeEventsAPI {
			t.onEnvelope(ctx, req.EnvelopeID, req.Payload)
			return
		}
		t.log.Warn("unsupported Socket Mode envelope", "type", req.Type, "err", bad.Cause)
		t.router.acknowledge(ctx, []string{req.EnvelopeID})
	case socketmode.EventTypeIncomingError, socketmode.EventTypeErrorWriteFailed:
		t.log.Debug("Socket Mode transfer failed", "type", evt.Type, "err", eventError(evt))
	default:
		// Interactivity and slash commands: the app does not offer any.
		if evt.Request != nil && evt.Request.EnvelopeID != "" {
			t.log.Warn("unsupported Socket Mode envelope", "type", evt.Type)
			t.router.acknowledge(ctx, []string{evt.Request.EnvelopeID})
		}
	}
}

// onEnvelope routes one events_api envelope.
func (t *Transport) onEnvelope(ctx context.Context, envelopeID string, payload []byte) {
	in, err := parseEnvelope(payload)
	if err != nil {
		// It will never read better: acknowledge it so that it does not
		// come back, and say so.
		t.log.Warn("unreadable Events API envelope", "envelope", envelopeID, "err", err)
		t.router.acknowledge(ctx, []string{envelopeID})
		return
	}
	t.router.dispatch(ctx, envelopeID, in)
}

// eventError returns the error carried by a Socket Mode client event.
func eventError(evt socketmode.Event) error {
	switch d := evt.Data.(type) {
	case *slack.ConnectionErrorEvent:
		return d.ErrorObj
	case *slack.IncomingEventError:
		return d.ErrorObj
	case *socketmode.ErrorWriteFailed:
		return d.Cause
	case error:
		return d
	}
	return nil
}
