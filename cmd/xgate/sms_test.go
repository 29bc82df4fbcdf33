package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/xgate-im/xgate/transports/sms/smsfake"
	"github.com/xgate-im/xgate/xmpp"
	"github.com/xgate-im/xgate/xmpp/xmpptest"
)

const smsToken = "sms-webhook-token-0123456789"

// smsSection is an [[sms]] table for a Twilio-compatible provider at
// base, with one number assigned to alice.
func smsSection(public, base, sid, token string) string {
	return fmt.Sprintf(`[[sms]]
domain = "sms.example.org"
secret = "s3cret"
provider = "twilio"
default_region = "US"
public_url = %q
webhook_token = %q
twilio_base_url = %q
twilio_account_sid = %q
twilio_auth_token = %q
[[sms.numbers]]
number = "(202) 555-0111"
user = "alice@example.org"
contacts = ["+1 202 555 0122"]
`, public, smsToken, base, sid, token)
}

func TestSMSConfig(t *testing.T) {
	t.Setenv("XGATE_TEST_KEY", testKey(t))
	good := minimal + "[webhooks]\nlisten = \"127.0.0.1:8089\"\n" + smsSection("https://gw.example.org/sms", "https://api.twilio.com", smsfake.DefaultAccountSID, "tok")
	cfg, err := parseConfig("x.toml", []byte(good), transportKinds)
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.instances) != 1 || cfg.instances[0].network != "sms" || cfg.instances[0].Name != "sms" {
		t.Fatalf("instances %+v", cfg.instances)
	}
	bad := strings.Replace(good, `number = "(202) 555-0111"`, `number = "555"`, 1)
	bad = strings.Replace(bad, `default_region = "US"`, `default_region = "US"`+"\nnumberz = 1", 1)
	_, err = parseConfig("x.toml", []byte(bad), transportKinds)
	if err == nil || !strings.Contains(err.Error(), "numberz") {
		t.Errorf("unknown key: %v", err)
	}
	bad = strings.Replace(good, `number = "(202) 555-0111"`, `number = "12"`, 1)
	_, err = parseConfig("x.toml", []byte(bad), transportKinds)
	if err == nil || !strings.Contains(err.Error(), "sms[0]") || !strings.Contains(err.Error(), "numbers[0].number") {
		t.Errorf("impossible number: %v", err)
	}
	if strings.Contains(fmt.Sprint(err), "tok\"") {
		t.Error("a secret in an error")
	}
}

// TestServeSMS runs xgate with an [[sms]] section: the assigned number's
// account is provisioned and logged in, and a text to it arrives at the
// host server as a message from the phone's contact JID to its owner.
func TestServeSMS(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	public := "http://" + addr + "/sms"
	fake, err := smsfake.Start(smsfake.Options{InboundURL: public + "/p/" + smsToken + "/inbound"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fake.Close() })

	srv := xmpptest.NewServer(t, "s3cret")
	dir := t.TempDir()
	t.Setenv("XGATE_TEST_KEY", testKey(t))
	doc := fmt.Sprintf("[store]\npath = \"xgate.db\"\nkey_env = \"XGATE_TEST_KEY\"\n[admin]\nlisten = \"127.0.0.1:0\"\n[access]\nallow = [\"*\"]\n[xmpp]\nserver = %q\n[webhooks]\nlisten = %q\n%s",
		srv.Addr(), addr, smsSection(public, fake.URL(), fake.AccountSID(), fake.AuthToken()))
	cfg, err := readConfig(writeFile(t, dir, "config.toml", doc), transportKinds)
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.resolve(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	s := startServe(t, ctx, cfg)
	actx, acancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer acancel()
	conn, err := srv.Accept(actx)
	if err != nil {
		t.Fatal(err)
	}
	// The webhook is answered once the host server confirmed the message
	// (the component's ping to itself came back): the loop below routes
	// what the component sends to its own domain back to it, as a server
	// does.
	answered := make(chan error, 1)
	go func() {
		_, status, err := fake.SendInbound(actx, smsfake.Inbound{From: "+12025550122", To: "+12025550111", Body: "hello xgate"})
		if err == nil && status != 200 {
			err = fmt.Errorf("status %d", status)
		}
		answered <- err
	}()
	for seen := false; !seen; {
		st, err := conn.NextStanza(actx)
		if err != nil {
			t.Fatalf("no message from the phone: %v\n%s", err, s.logs)
		}
		if iq, ok := st.(*xmpp.IQ); ok && iq.To.String() == "sms.example.org" {
			if err := conn.SendStanza(iq); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if m, ok := st.(*xmpp.Message); ok && m.Body == "hello xgate" {
			seen = true
			if m.From.String() != "+12025550122@sms.example.org" || m.To.Bare().String() != "alice@example.org" {
				t.Errorf("message %s → %s", m.From, m.To)
			}
		}
	}
	go func() {
		for {
			st, err := conn.NextStanza(t.Context())
			if err != nil {
				conn.CloseStream()
				return
			}
			if iq, ok := st.(*xmpp.IQ); ok && iq.To.String() == "sms.example.org" {
				_ = conn.SendStanza(iq)
			}
		}
	}()
	if err := <-answered; err != nil {
		t.Fatalf("inbound webhook: %v\n%s", err, s.logs)
	}
	// The transport's counters are in /metrics.
	code, body := httpDo(t, "GET", "http://"+s.addr+"/metrics")
	if code != 200 || !strings.Contains(string(body), `xgate_transport_total{gateway="sms",network="sms",counter="sms_inbound"} 1`) {
		t.Errorf("/metrics %d lacks the SMS counters:\n%s", code, body)
	}
	cancel()
	if err := s.wait(t); err != nil {
		t.Fatalf("serve: %v\n%s", err, s.logs)
	}
	mustContain(t, s.logs.String(), "account assigned", "webhooks listening")
	for _, secret := range []string{fake.AuthToken(), smsToken} {
		if strings.Contains(s.logs.String(), secret) {
			t.Error("a secret was logged")
		}
	}
}

// TestExampleSMSSection checks that config.example.toml's [[sms]] section,
// uncommented, is valid with every key it documents.
func TestExampleSMSSection(t *testing.T) {
	data, err := os.ReadFile("../../config.example.toml")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(data)
	start := strings.Index(doc, "# [webhooks]\n")
	if start < 0 {
		t.Fatal("no [[sms]] section in the example")
	}
	var section []string
	for _, line := range strings.Split(doc[start:], "\n") {
		if !strings.HasPrefix(line, "#") {
			break
		}
		line = strings.TrimPrefix(strings.TrimPrefix(line, "#"), " ")
		// Keys are uncommented; the prose between them stays a comment.
		if strings.HasPrefix(line, "[") || strings.Contains(line, " = ") && !strings.Contains(line, ": ") {
			section = append(section, line)
		}
	}
	t.Setenv("XGATE_TEST_KEY", testKey(t))
	for _, v := range []string{"XGATE_SMS_SECRET", "XGATE_SMS_WEBHOOK_TOKEN", "XGATE_KANNEL_PASSWORD", "XGATE_KANNEL_CALLBACK_SECRET", "XGATE_TWILIO_AUTH_TOKEN"} {
		t.Setenv(v, "example-secret-0123456789")
	}
	c, err := parseConfig("example", []byte(minimal+strings.Join(section, "\n")+"\n"), transportKinds)
	if err != nil {
		t.Fatalf("%v\n%s", err, strings.Join(section, "\n"))
	}
	if len(c.instances) != 1 || c.instances[0].network != "sms" || c.webhooksListen != "127.0.0.1:8089" {
		t.Errorf("instances %+v", c.instances)
	}
	for _, key := range []string{"kannel_secret_env", "twilio_auth_token_env", "user_credentials", "send_burst", "contacts"} {
		if !strings.Contains(strings.Join(section, "\n"), key+" = ") {
			t.Errorf("the example does not set %s", key)
		}
	}
}
