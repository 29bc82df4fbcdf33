package twilio

import (
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/xgate-im/xgate/transports/sms/phone"
	"github.com/xgate-im/xgate/transports/sms/provider"
	"github.com/xgate-im/xgate/transports/sms/smsfake"
)

func TestSignatureKnownAnswer(t *testing.T) {
	// Computed independently (Python's hmac) from the documented rule.
	params := url.Values{"MessageSid": {"SM1"}, "From": {"+15551230000"}, "To": {"+15559870000"}, "Body": {"hi"}, "MediaUrl": {"b", "a"}}
	const want = "Dmm3ACDefQWmcZCmjpG4/N0riOA="
	if got := Signature("token123", "https://gw.example.org/sms/tw/inbound?x=1", params); got != want {
		t.Fatalf("Signature = %q, want %q", got, want)
	}
	if !ValidSignature("token123", "https://gw.example.org/sms/tw/inbound?x=1", params, want) {
		t.Fatal("ValidSignature refuses the right signature")
	}
	for _, bad := range []string{"", "Dmm3ACDefQWmcZCmjpG4/N0riOB=", strings.ToLower(want)} {
		if ValidSignature("token123", "https://gw.example.org/sms/tw/inbound?x=1", params, bad) {
			t.Errorf("ValidSignature accepts %q", bad)
		}
	}
}

func TestSend(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name     string
		out      provider.Outbound
		segments int
		prefix   string
	}{
		{"text", provider.Outbound{From: "+15559870000", To: "+15551230000", Body: "hello"}, 1, "SM"},
		{"unicode long", provider.Outbound{From: "+15559870000", To: "+15551230000", Body: strings.Repeat("ж", 71)}, 2, "SM"},
		{"mms", provider.Outbound{From: "+15559870000", To: "+15551230000", Body: "look", Media: []string{"https://files.example.org/a.jpg", "https://files.example.org/b.png"}}, 1, "MM"},
		{"media only", provider.Outbound{From: "+15559870000", To: "+15551230000", Media: []string{"https://files.example.org/a.jpg"}}, 1, "MM"},
		{"short code", provider.Outbound{From: "12345", To: "+15551230000", Body: "code"}, 1, "SM"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sent, err := e.p.Send(t.Context(), tt.out)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(string(sent.ID), tt.prefix) || sent.Status != provider.StatusQueued || sent.Segments != tt.segments {
				t.Fatalf("Send = %+v", sent)
			}
			msgs, err := e.fake.WaitMessages(t.Context(), i+1)
			if err != nil {
				t.Fatal(err)
			}
			m := msgs[i]
			if m.SID != string(sent.ID) || m.Body != tt.out.Body || m.To != tt.out.To.String() || m.From != tt.out.From.String() ||
				strings.Join(m.MediaURLs, " ") != strings.Join(tt.out.Media, " ") || m.StatusCallback != e.hook.URL+"/hook/status" {
				t.Fatalf("fake recorded %+v for %+v", m, tt.out)
			}
			for _, want := range []provider.Status{provider.StatusSent, provider.StatusDelivered} {
				d := e.rec.NextReport(t, 10*time.Second)
				if d.ID != sent.ID || d.Status != want || d.Err != nil {
					t.Fatalf("report %+v, want %v for %s", d, want, sent.ID)
				}
			}
		})
	}
}

func TestSendErrors(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name  string
		fault smsfake.Fault
		is    error
		after time.Duration
	}{
		{"rate limited", smsfake.RateLimited, provider.ErrRateLimited, time.Second},
		{"429 without code", smsfake.Fault{Status: 429, RetryAfter: "7"}, provider.ErrRateLimited, 7 * time.Second},
		{"unavailable", smsfake.Unavailable, provider.ErrTemporary, 0},
		{"opted out", smsfake.OptedOut, provider.ErrOptedOut, 0},
		{"invalid number", smsfake.InvalidNumber, provider.ErrInvalidNumber, 0},
		{"not mobile", smsfake.Fault{Status: 400, Code: 21614, Message: "'To' number is not a valid mobile number"}, provider.ErrInvalidNumber, 0},
		{"region blocked", smsfake.Fault{Status: 400, Code: 21408, Message: "Permission to send an SMS has not been enabled"}, provider.ErrBlocked, 0},
		{"unknown 4xx", smsfake.Fault{Status: 400, Code: 21999, Message: "something"}, provider.ErrPermanent, 0},
		{"unknown 5xx code", smsfake.Fault{Status: 500, Code: 20500, Message: "Internal Server Error"}, provider.ErrTemporary, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.fake.FailNext(tt.fault)
			_, err := e.p.Send(t.Context(), provider.Outbound{From: "+15559870000", To: "+15551230000", Body: "x"})
			if !errors.Is(err, tt.is) {
				t.Fatalf("Send = %v, want %v", err, tt.is)
			}
			if _, after := provider.Retryable(err); after != tt.after {
				t.Errorf("retry after %v, want %v", after, tt.after)
			}
		})
	}
	t.Run("opted out recipient stays opted out", func(t *testing.T) {
		e.fake.FailTo("+15550000001", smsfake.OptedOut)
		defer e.fake.ClearFaults()
		for range 2 {
			_, err := e.p.Send(t.Context(), provider.Outbound{From: "+15559870000", To: "+15550000001", Body: "x"})
			var pe *provider.Error
			if !errors.As(err, &pe) || pe.Reason != provider.ReasonOptedOut || pe.Code != "21610" {
				t.Fatalf("Send = %v", err)
			}
		}
	})
	t.Run("wrong token", func(t *testing.T) {
		p, err := New(Config{AccountSID: e.fake.AccountSID(), AuthToken: "wrong-token", BaseURL: e.fake.URL(), PublicURL: "https://gw.example.org/tw"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		_, err = p.Send(t.Context(), provider.Outbound{From: "+15559870000", To: "+15551230000", Body: "x"})
		if !errors.Is(err, provider.ErrUnauthorized) || strings.Contains(err.Error(), "wrong-token") {
			t.Fatalf("Send = %v", err)
		}
	})
	t.Run("unreachable", func(t *testing.T) {
		p, err := New(Config{AccountSID: e.fake.AccountSID(), AuthToken: "t", BaseURL: "http://127.0.0.1:1", PublicURL: "https://gw.example.org/tw"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err = p.Send(t.Context(), provider.Outbound{From: "+15559870000", To: "+15551230000", Body: "x"}); !errors.Is(err, provider.ErrTemporary) {
			t.Fatalf("Send = %v", err)
		}
	})
	t.Run("late failure", func(t *testing.T) {
		e.fake.FailDelivery("+15550000002", 30007)
		defer e.fake.ClearFaults()
		sent, err := e.p.Send(t.Context(), provider.Outbound{From: "+15559870000", To: "+15550000002", Body: "x"})
		if err != nil {
			t.Fatal(err)
		}
		if d := e.rec.NextReport(t, 10*time.Second); d.Status != provider.StatusSent {
			t.Fatalf("first report %+v", d)
		}
		d := e.rec.NextReport(t, 10*time.Second)
		if d.ID != sent.ID || d.Status != provider.StatusUndelivered || !errors.Is(d.Err, provider.ErrBlocked) {
			t.Fatalf("report %+v (err %v)", d, d.Err)
		}
	})
}

func TestInbound(t *testing.T) {
	e := newEnv(t)
	jpeg := []byte("\xff\xd8\xff\xe0 not really a jpeg")
	sid, status, err := e.fake.SendInbound(t.Context(), smsfake.Inbound{
		From: "+15551230000", To: "+15559870000", Body: "Grüße 😀",
		Media: []smsfake.MediaFile{{ContentType: "image/jpeg", Data: jpeg}},
	})
	if err != nil || status != http.StatusOK {
		t.Fatalf("SendInbound = %v, %d", err, status)
	}
	m := e.rec.NextInbound(t, 20*time.Second)
	if string(m.ID) != sid || m.From != phone.Number("+15551230000") || m.To != "+15559870000" || m.Body != "Grüße 😀" || len(m.Media) != 1 {
		t.Fatalf("inbound %+v", m)
	}
	if m.Media[0].ContentType != "image/jpeg" {
		t.Errorf("media type %q", m.Media[0].ContentType)
	}
	body, ctype, err := e.p.FetchMedia(t.Context(), m.Media[0].URL)
	if err != nil {
		t.Fatal(err)
	}
	defer body.Close()
	got, _ := io.ReadAll(body)
	if string(got) != string(jpeg) || ctype != "image/jpeg" {
		t.Fatalf("media %q %q", got, ctype)
	}
	// Without credentials the fake refuses, as Twilio does.
	resp, err := http.Get(m.Media[0].URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("media without credentials: %d", resp.StatusCode)
	}
}

func TestInboundNotStored(t *testing.T) {
	e := newEnv(t)
	e.rec.SetFail(true)
	_, status, err := e.fake.SendInbound(t.Context(), smsfake.Inbound{From: "+15551230000", To: "+15559870000", Body: "x"})
	if err == nil || status != http.StatusServiceUnavailable {
		t.Fatalf("SendInbound with a failing store = %v, %d; want 503", err, status)
	}
}

func TestSendThroughMessagingService(t *testing.T) {
	e := newEnv(t)
	p, err := New(Config{AccountSID: e.fake.AccountSID(), AuthToken: e.fake.AuthToken(), BaseURL: e.fake.URL(),
		PublicURL: e.hook.URL + "/hook", MessagingServiceSID: "MG0123456789abcdef0123456789abcdef"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Send(t.Context(), provider.Outbound{To: "+15551230000", Body: "from the pool"}); err != nil {
		t.Fatal(err)
	}
	msgs, err := e.fake.WaitMessages(t.Context(), 1)
	if err != nil {
		t.Fatal(err)
	}
	if msgs[0].From != "" || msgs[0].MessagingServiceSID != "MG0123456789abcdef0123456789abcdef" {
		t.Fatalf("recorded %+v", msgs[0])
	}
}
