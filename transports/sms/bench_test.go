package sms

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/xgate-im/xgate/bridge"
	"github.com/xgate-im/xgate/bridge/bridgetest"
	"github.com/xgate-im/xgate/transports/sms/smsfake"
	"github.com/xgate-im/xgate/transports/sms/twilio"
)

// BenchmarkFromNetwork: one signed Twilio webhook through the transport
// (signature check, parse, Fanout, Emit to a recording Sink) and its
// answer, over loopback HTTP. The Recorder's cost is included.
func BenchmarkFromNetwork(b *testing.B) {
	srv, mux := benchListener(b)
	base := srv + "/sms"
	tr, err := New(Config{Provider: KindTwilio, DefaultRegion: "US", PublicURL: base, WebhookToken: testToken,
		TwilioAccountSID: smsfake.DefaultAccountSID, TwilioAuthToken: smsfake.DefaultAuthToken,
		Numbers: []NumberConfig{{Number: assignedNumber, User: "alice@example.org"}}}, nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	tr.MountWebhooks(testMux{mux})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go tr.Run(ctx)
	sess, err := tr.Login(ctx, tr.Assignments()[0].Account, bridgetest.NewRecorder())
	if err != nil {
		b.Fatal(err)
	}
	defer sess.Close()
	u := base + "/p/" + testToken + "/inbound"
	cl := &http.Client{}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		form := url.Values{"MessageSid": {newSID("SM")}, "From": {peerNumber}, "To": {assignedNumber}, "Body": {"hello from a phone"}}
		req, _ := http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Twilio-Signature", twilio.Signature(smsfake.DefaultAuthToken, u, form))
		resp, err := cl.Do(req)
		if err != nil || resp.StatusCode != 200 {
			b.Fatalf("%v %v", resp, err)
		}
		resp.Body.Close()
	}
}

// BenchmarkToNetwork: one Send through the transport to smsfake (rate
// limit, chunking, the provider's request, tracking for delivery reports),
// status callbacks off.
func BenchmarkToNetwork(b *testing.B) {
	fake, err := smsfake.Start(smsfake.Options{Statuses: []string{}})
	if err != nil {
		b.Fatal(err)
	}
	defer fake.Close()
	tr, err := New(Config{Provider: KindTwilio, DefaultRegion: "US", PublicURL: "http://127.0.0.1:1/sms", WebhookToken: testToken,
		TwilioBaseURL: fake.URL(), TwilioAccountSID: fake.AccountSID(), TwilioAuthToken: fake.AuthToken(),
		Numbers:  []NumberConfig{{Number: assignedNumber, User: "alice@example.org"}},
		SendRate: 1000, SendBurst: 1000}, nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	sess, err := tr.Login(ctx, tr.Assignments()[0].Account, bridgetest.NewRecorder())
	if err != nil {
		b.Fatal(err)
	}
	defer sess.Close()
	chat := bridge.ChatRef{Kind: bridge.Direct, Peer: peerNumber}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := sess.Send(ctx, chat, bridge.OutgoingMessage{Text: "hello from xmpp"}); err != nil {
			b.Fatal(err)
		}
	}
}
