package main

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/xgate-im/xgate/transports/sms/smsfake"
	"github.com/xgate-im/xgate/xmpp/jid"
)

// The demo's SMS side: a fake Twilio (smsfake) where the demo user has a
// number, assigned by the configuration as an administrator would, and a
// phone that answers each text.

// Numbers of the demo's SMS side, in E.164.
const (
	demoMyNumber  = "+12025550100" // the demo user's
	demoPatNumber = "+12025550123" // Pat's phone, which answers
)

// demoPhones is the fake SMS provider and the webhook address the gateway
// listens on for it.
type demoPhones struct {
	fake    *smsfake.Server
	listen  string // the gateway's [webhooks] listen address
	public  string // its public URL for the SMS instance
	webhook string // the instance's webhook token
}

// startDemoPhones picks a loopback port for the gateway's webhooks and
// starts the fake provider, whose phones answer there.
func startDemoPhones() (*demoPhones, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("demo: sms webhooks: %w", err)
	}
	addr := ln.Addr().String()
	ln.Close() // the gateway listens there; nobody else runs on loopback in between but a race we accept for a demo
	b := make([]byte, 16)
	_, _ = rand.Read(b) // never fails
	p := &demoPhones{listen: addr, public: "http://" + addr + "/sms", webhook: hex.EncodeToString(b)}
	p.fake, err = smsfake.Start(smsfake.Options{
		InboundURL: p.public + "/p/" + p.webhook + "/inbound",
		AutoReply:  patAnswers,
	})
	if err != nil {
		return nil, fmt.Errorf("demo: sms: %w", err)
	}
	return p, nil
}

// patAnswers is Pat's phone: it answers every text.
func patAnswers(m smsfake.Message) (string, bool) {
	if m.To != demoPatNumber {
		return "", false
	}
	return "Pat here, by text: got \"" + strings.TrimSpace(m.Body) + "\"", true
}

func (p *demoPhones) close() { p.fake.Close() }

// smsSection is the demo's [webhooks] and [[sms]] tables; user, when set,
// is given the demo number with Pat as a contact.
func (p *demoPhones) smsSection(domain, secret string, user jid.JID) string {
	q := strconv.Quote
	s := fmt.Sprintf(`
[webhooks]
listen = %s

[[sms]]
domain = %s
secret = %s
provider = "twilio"
default_region = "US"
public_url = %s
webhook_token = %s
twilio_base_url = %s
twilio_account_sid = %s
twilio_auth_token = %s
`, q(p.listen), q(domain), q(secret), q(p.public), q(p.webhook), q(p.fake.URL()), q(p.fake.AccountSID()), q(p.fake.AuthToken()))
	if !user.IsZero() {
		s += fmt.Sprintf(`
[[sms.numbers]]
number = %s
user = %s
contacts = [%s]
`, q(demoMyNumber), q(user.String()), q(demoPatNumber))
	}
	return s
}
