package kannel

import (
	"context"
	"net/http"
	"testing"
	"unicode/utf8"

	"github.com/xgate-im/xgate/transports/sms/kannel/kanneltest"
	"github.com/xgate-im/xgate/transports/sms/phone"
	"github.com/xgate-im/xgate/transports/sms/provider"
	"github.com/xgate-im/xgate/transports/sms/provider/providertest"
)

// kannelNetwork drives a real Kannel, playing its SMSC, as the far side of
// the conformance suite.
type kannelNetwork struct {
	k       *kanneltest.Kannel
	hookURL string
}

func (n *kannelNetwork) FromPhone(_ context.Context, from, to phone.Number, body string) error {
	return n.k.SendMO(from.String(), to.String(), body)
}

func (n *kannelNetwork) ToPhone(ctx context.Context) (phone.Number, phone.Number, string, error) {
	m, err := n.k.NextMT(ctx)
	if err != nil {
		return "", "", "", err
	}
	body := string(m.Data)
	if m.Type == "ucs-2" || !utf8.Valid(m.Data) {
		body = fromUCS2(m.Data)
	}
	return phone.Number(m.From), phone.Number(m.To), body, nil
}

func (n *kannelNetwork) Forge(ctx context.Context) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet,
		n.hookURL+"/mo?secret=guessed-secret-000&id=x&from=%2B15551230000&to=%2B15559870000&text=forged", nil)
	if err != nil {
		return 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

func TestConformance(t *testing.T) {
	providertest.Run(t, func(t *testing.T, hookURL string) (provider.Provider, providertest.Network) {
		k := kanneltest.Start(t, kanneltest.Options{
			MOURL: hookURL + "/mo?secret=" + testSecret + "&id=%I&from=%p&to=%P&ts=%T&coding=%c&charset=%C&text=%a",
		})
		p, err := New(Config{SendSMSURL: k.SendSMSURL(), Username: kanneltest.Username, Password: kanneltest.Password,
			PublicURL: hookURL, Secret: testSecret}, nil)
		if err != nil {
			t.Fatal(err)
		}
		return p, &kannelNetwork{k: k, hookURL: hookURL}
	})
}
