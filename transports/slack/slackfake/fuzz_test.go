package slackfake_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"testing"

	"github.com/xgate-im/xgate/transports/slack/slackfake"
)

func FuzzParseTS(f *testing.F) {
	for _, s := range []string{"1700000000.000100", "1", "1.5", "", "-1", "1.1234567", "+1.0", "1.", ".5", "1e3", "9999999999999999999.1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		us, ok := slackfake.ParseTS(s)
		if !ok {
			return
		}
		if us < 0 {
			t.Fatalf("%q parsed to negative %d", s, us)
		}
		if back, ok := slackfake.ParseTS(slackfake.FormatTS(us)); !ok || back != us {
			t.Fatalf("%q: %d formats to %q which parses to %d, %v", s, us, slackfake.FormatTS(us), back, ok)
		}
	})
}

func FuzzCursor(f *testing.F) {
	f.Add("user", "U000000001", "dXNlcjpVMDYxTkZUVDI=")
	f.Add("next_ts", "1700000000.000100", "")
	f.Add("channel", "C1", "!!!")
	f.Fuzz(func(t *testing.T, kind, key, raw string) {
		slackfake.DecodeCursor(kind, raw) // must not panic
		if key == "" {
			return
		}
		got, ok := slackfake.DecodeCursor(kind, slackfake.EncodeCursor(kind, key))
		if !ok || got != key {
			t.Fatalf("round trip of %q/%q = %q, %v", kind, key, got, ok)
		}
	})
}

func FuzzParseAck(f *testing.F) {
	for _, s := range []string{`{"envelope_id":"e1"}`, `{"envelope_id":"e1","payload":{"x":1}}`, `{}`, `[]`, `null`, `{"envelope_id":3}`, ``} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if id, ok := slackfake.ParseAck(data); ok && id == "" {
			t.Fatal("ok with an empty envelope ID")
		}
	})
}

// FuzzWebAPI sends arbitrary bodies to every method and checks the answer is
// always a Slack-shaped JSON object.
func FuzzWebAPI(f *testing.F) {
	fake := slackfake.New()
	f.Cleanup(fake.Close)
	team := fake.CreateTeam("Fuzz")
	alice := fake.CreateUser(team.ID, slackfake.UserSpec{Name: "alice"})
	tok, botUser := fake.InstallApp(team.ID)
	ch := fake.CreateChannel(team.ID, "general", false, alice.ID, botUser)
	ts := fake.Post(alice.ID, ch.ID, "seed")
	names := slackfake.Methods()
	types := []string{"application/x-www-form-urlencoded", "application/json", "multipart/form-data; boundary=x", ""}

	f.Add(uint8(0), uint8(0), []byte(url.Values{"channel": {ch.ID}, "text": {"hi"}, "ts": {ts}, "timestamp": {ts}, "name": {"x"}}.Encode()))
	f.Add(uint8(5), uint8(1), []byte(`{"channel":"`+ch.ID+`","text":"hi","blocks":[{"type":"divider"}],"thread_ts":"`+ts+`"}`))
	f.Add(uint8(9), uint8(1), []byte(`{"users":"`+alice.ID+`","limit":"-1","cursor":"%%%"}`))
	f.Add(uint8(3), uint8(2), []byte("--x\r\nContent-Disposition: form-data; name=\"channel\"\r\n\r\n"+ch.ID+"\r\n--x--\r\n"))
	f.Add(uint8(7), uint8(3), []byte("profile=%7B%22status_text%22%3A1%7D&oldest=1.2.3"))
	f.Fuzz(func(t *testing.T, method, ctype uint8, body []byte) {
		name := names[int(method)%len(names)]
		req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, fake.APIURL()+name, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", types[int(ctype)%len(types)])
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		out, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var answer struct {
			OK    *bool  `json:"ok"`
			Error string `json:"error"`
		}
		if resp.StatusCode != http.StatusOK || json.Unmarshal(out, &answer) != nil || answer.OK == nil || (!*answer.OK && answer.Error == "") {
			t.Fatalf("%s %q: %d %s", name, body, resp.StatusCode, out)
		}
	})
}
