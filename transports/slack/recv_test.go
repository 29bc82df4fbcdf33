package slack

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/xgate-im/xgate/bridge"
	"github.com/xgate-im/xgate/bridge/bridgetest"
)

// Events the fake does not produce, read by the transport as Slack sends
// them: through onEnvelope, as the Socket Mode runner hands them over.
func TestEventsFromEnvelopes(t *testing.T) {
	w := newWorld(t)
	tr := w.transport()
	_, sink, ctx, envelope := w.aliceOnEnvelopes(tr)
	// A marker goes through the conversation's worker after the events
	// before it: once it is out, they were handled.
	marker := func(id string) {
		t.Helper()
		envelope(id, `{"type":"message","subtype":"marker","channel":"`+w.aliceBob+`","ts":"9.000001"}`)
		waitFor(t, sink, func(u bridge.UnknownEvent) bool { return strings.Contains(u.Detail, id) })
	}

	// An event type nobody knows is reported, never dropped silently.
	envelope("EvNew", `{"type":"brand_new_event","channel":"`+w.aliceBob+`"}`)
	u := waitFor(t, sink, func(u bridge.UnknownEvent) bool { return u.Kind == "slack brand_new_event" })
	if !strings.Contains(u.Detail, "EvNew") || !strings.Contains(u.Detail, w.aliceBob) {
		t.Errorf("unknown event %+v", u)
	}
	// So is an unknown message subtype; a message_changed that does not
	// change the text (a link preview) and message_replied are no news.
	envelope("EvSub", `{"type":"message","subtype":"huddle_thread","channel":"`+w.aliceBob+`","user":"`+w.bob.ID+`","ts":"1.000001"}`)
	waitFor(t, sink, func(u bridge.UnknownEvent) bool { return u.Kind == "slack message/huddle_thread" })
	envelope("EvPreview", `{"type":"message","subtype":"message_changed","channel":"`+w.aliceBob+`","channel_type":"im",`+
		`"message":{"type":"message","user":"`+w.bob.ID+`","text":"see https://x.org","ts":"1.000002"},`+
		`"previous_message":{"type":"message","user":"`+w.bob.ID+`","text":"see https://x.org","ts":"1.000002"}}`)
	envelope("EvReplied", `{"type":"message","subtype":"message_replied","channel":"`+w.aliceBob+`","ts":"1.000003"}`)
	marker("EvMarker1")
	if n := count[bridge.EditEvent](sink, nil); n != 0 {
		t.Errorf("a preview became an edit: %s", bridgetest.Describe(sink.Events()))
	}
	// The same event twice (Slack's retry with a new envelope) is
	// delivered once.
	envelope("EvTwice", `{"type":"message","channel":"`+w.aliceBob+`","channel_type":"im","user":"`+w.bob.ID+`","text":"once","ts":"1.000004"}`)
	envelope("EvTwice", `{"type":"message","channel":"`+w.aliceBob+`","channel_type":"im","user":"`+w.bob.ID+`","text":"once","ts":"1.000004"}`)
	marker("EvMarker2")
	if n := count(sink, func(m bridge.MessageEvent) bool { return m.Text == "once" }); n != 1 {
		t.Errorf("delivered %d times", n)
	}
	// Tokens revoked for another member: nothing; for alice: logged out.
	// (Workspace-wide events have a worker of their own.)
	envelope("EvRevOther", `{"type":"tokens_revoked","tokens":{"oauth":["`+w.bob.ID+`"],"bot":[]}}`)
	envelope("EvMarker3", `{"type":"emoji_changed","subtype":"add","name":"x"}`)
	waitFor(t, sink, func(u bridge.UnknownEvent) bool { return strings.Contains(u.Detail, "EvMarker3") })
	if n := count[bridge.LoginStateEvent](sink, nil); n != 0 {
		t.Fatalf("logged out by another member's revocation")
	}
	envelope("EvRev", `{"type":"tokens_revoked","tokens":{"oauth":["`+w.alice.ID+`"],"bot":[]}}`)
	l := waitFor[bridge.LoginStateEvent](t, sink, nil)
	if l.State != bridge.LoggedOut || !strings.Contains(l.Reason, "revoked") {
		t.Errorf("logout %+v", l)
	}
	// Unreadable envelopes are logged and acknowledged, not handled.
	onPayload(t, ctx, tr, "envelope-bad", `{"type":"event_callback","event":{}}`)
}

func TestAppUninstalledLogsOut(t *testing.T) {
	w := newWorld(t)
	tr := w.transport()
	_, aliceSink := w.login(tr, w.aliceTok)
	_, bobSink := w.login(tr, w.bobTok)
	onPayload(t, bounded(t, 5*time.Second), tr, "envelope-1",
		`{"type":"event_callback","team_id":"`+w.team.ID+`","event_id":"EvU","event":{"type":"app_uninstalled"}}`)
	for _, sink := range []*bridgetest.Recorder{aliceSink, bobSink} {
		if l := waitFor[bridge.LoginStateEvent](t, sink, nil); l.State != bridge.LoggedOut || !strings.Contains(l.Reason, "removed") {
			t.Errorf("logout %+v", l)
		}
	}
}

// aliceOnEnvelopes logs alice in on tr and has her session learn her
// direct messages. It returns her session and sink, a context bounded for
// the test, and a function that hands tr the Events API envelope of an
// event (JSON) with event ID id, as the Socket Mode reader does.
func (w *world) aliceOnEnvelopes(tr *Transport) (*Session, *bridgetest.Recorder, context.Context, func(id, event string)) {
	t := w.t
	t.Helper()
	sess, sink := w.login(tr, w.aliceTok)
	ctx := bounded(t, 10*time.Second)
	if _, err := sess.Contacts(ctx); err != nil {
		t.Fatal(err)
	}
	envelope := func(id, event string) {
		t.Helper()
		payload := `{"type":"event_callback","team_id":"` + w.team.ID + `","event_id":"` + id + `","event":` + event + `}`
		onPayload(t, ctx, tr, "envelope-"+id, payload)
	}
	return sess, sink, ctx, envelope
}

// onPayload hands an events_api envelope to the transport as the Socket
// Mode reader does: decoded with its frame.
func onPayload(t testing.TB, ctx context.Context, tr *Transport, envelopeID, payload string) {
	t.Helper()
	f, err := decodeFrame([]byte(`{"type":"events_api","envelope_id":"` + envelopeID + `","payload":` + payload + `}`))
	if err != nil {
		t.Fatal(err)
	}
	tr.onEnvelope(ctx, f.EnvelopeID, f.Payload)
}
