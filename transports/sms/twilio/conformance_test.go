package twilio

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/xgate-im/xgate/transports/sms/phone"
	"github.com/xgate-im/xgate/transports/sms/provider"
	"github.com/xgate-im/xgate/transports/sms/provider/providertest"
	"github.com/xgate-im/xgate/transports/sms/smsfake"
)

// twilioNetwork drives smsfake as the far side of the conformance suite.
type twilioNetwork struct {
	fake    *smsfake.Server
	hookURL string
	seen    int
}

func (n *twilioNetwork) FromPhone(ctx context.Context, from, to phone.Number, body string) error {
	_, _, err := n.fake.SendInbound(ctx, smsfake.Inbound{From: from.String(), To: to.String(), Body: body})
	return err
}

func (n *twilioNetwork) ToPhone(ctx context.Context) (phone.Number, phone.Number, string, error) {
	msgs, err := n.fake.WaitMessages(ctx, n.seen+1)
	if err != nil {
		return "", "", "", err
	}
	m := msgs[n.seen]
	n.seen++
	return phone.Number(m.From), phone.Number(m.To), m.Body, nil
}

func (n *twilioNetwork) Forge(ctx context.Context) (int, error) {
	form := url.Values{"MessageSid": {"SMforged"}, "From": {"+15551230000"}, "To": {"+15559870000"}, "Body": {"forged"}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, n.hookURL+"/inbound", strings.NewReader(form.Encode()))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Twilio-Signature", Signature("not-the-token", n.hookURL+"/inbound", form))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

func TestConformance(t *testing.T) {
	providertest.Run(t, func(t *testing.T, hookURL string) (provider.Provider, providertest.Network) {
		fake, err := smsfake.Start(smsfake.Options{InboundURL: hookURL + "/inbound", Contract: loadContract(t)})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			fake.Close()
			for _, v := range fake.Violations() {
				t.Errorf("request violates Twilio's API description: %s", v)
			}
		})
		p, err := New(Config{AccountSID: fake.AccountSID(), AuthToken: fake.AuthToken(), BaseURL: fake.URL(), PublicURL: hookURL}, nil)
		if err != nil {
			t.Fatal(err)
		}
		return p, &twilioNetwork{fake: fake, hookURL: hookURL}
	})
}
