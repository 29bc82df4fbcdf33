package slack

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/xgate-im/xgate/bridge"
)

func TestIDs(t *testing.T) {
	tests := []struct {
		id    bridge.UserID
		local string // "" when id is refused
	}{
		{"T0123ABCD.U0456EFGH", "u0456efgh.t0123abcd"},
		{"E01.W02", "w02.e01"},
		{"T1.USLACKBOT", "uslackbot.t1"},
		{"T1.U", ""},
		{"T1", ""},
		{"t1.U2", ""},
		{"T1.B2", ""},
		{"T1.U2.U3", ""},
		{"T1.U2 ", ""},
		{"T1.Ü2", ""},
		{"", ""},
	}
	for _, tc := range tests {
		t.Run(string(tc.id), func(t *testing.T) {
			local := ContactLocalpart(tc.id)
			if local != tc.local {
				t.Fatalf("ContactLocalpart = %q, want %q", local, tc.local)
			}
			_, _, err := ParseUserID(tc.id)
			if (err == nil) != (tc.local != "") || (err != nil && !errors.Is(err, ErrBadID)) {
				t.Fatalf("ParseUserID: %v", err)
			}
			if tc.local == "" {
				return
			}
			for _, l := range []string{local, strings.ToUpper(local)} {
				back, err := ParseContactLocalpart(l)
				if err != nil || back != tc.id {
					t.Errorf("ParseContactLocalpart(%q) = %q, %v", l, back, err)
				}
			}
		})
	}
	for _, bad := range []string{"", "u1", "u1.", ".t1", "u1.t1.x", "b1.t1", "u-1.t1", "u1.c1"} {
		if _, err := ParseContactLocalpart(bad); !errors.Is(err, ErrBadID) {
			t.Errorf("ParseContactLocalpart(%q) = %v", bad, err)
		}
	}
}

// FuzzContactLocalpart checks that localparts round-trip and that parsing
// accepts exactly what ContactLocalpart makes.
func FuzzContactLocalpart(f *testing.F) {
	for _, s := range []string{"u0456efgh.t0123abcd", "W1.E2", "uslackbot.t1", "u1", "ü.t", "u1.t1.t2", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, local string) {
		id, err := ParseContactLocalpart(local)
		if err != nil {
			return
		}
		if got := ContactLocalpart(id); got != strings.ToLower(local) {
			t.Fatalf("ContactLocalpart(ParseContactLocalpart(%q)) = %q", local, got)
		}
		if _, _, err := ParseUserID(id); err != nil {
			t.Fatalf("ParseUserID(%q): %v", id, err)
		}
	})
}

func TestConfig(t *testing.T) {
	dir := t.TempDir()
	tokFile := filepath.Join(dir, "app.token")
	if err := os.WriteFile(tokFile, []byte("xapp-1-A1-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("XGATE_TEST_SLACK_BOT", "xoxb-env")
	tests := []struct {
		name string
		cfg  Config
		errs []string // substrings of the error, nil when valid
	}{
		{"minimal", Config{AppToken: "xapp-1"}, nil},
		{"everything", Config{APIURL: "http://127.0.0.1:1/api", AppTokenFile: tokFile, BotTokenEnv: "XGATE_TEST_SLACK_BOT",
			InstallURL: "https://slack.com/oauth/v2/authorize?client_id=1", Roster: "all", PresencePoll: Duration(time.Minute), PostRate: 0.5, PostBurst: 1}, nil},
		{"no app token", Config{}, []string{"app_token: missing"}},
		{"two app tokens", Config{AppToken: "xapp-1", AppTokenEnv: "X"}, []string{"app_token: set only one"}},
		{"wrong app token", Config{AppToken: "xoxb-1"}, []string{"app_token: must be an app-level token"}},
		{"empty file", Config{AppTokenFile: empty}, []string{"app_token_file: " + empty + " is empty"}},
		{"missing file", Config{AppTokenFile: filepath.Join(dir, "nope")}, []string{"app_token_file: open"}},
		{"unset env", Config{AppTokenEnv: "XGATE_TEST_UNSET"}, []string{"app_token_env: environment variable XGATE_TEST_UNSET is not set"}},
		{"wrong bot token", Config{AppToken: "xapp-1", BotToken: "xoxp-1"}, []string{"bot_token: must be a bot token"}},
		{"bad URL", Config{AppToken: "xapp-1", APIURL: "slack.com"}, []string{"api_url:"}},
		{"bad install URL", Config{AppToken: "xapp-1", InstallURL: "ftp://x"}, []string{"install_url:"}},
		{"bad roster", Config{AppToken: "xapp-1", Roster: "everyone"}, []string{`roster: "everyone"`}},
		{"negative poll", Config{AppToken: "xapp-1", PresencePoll: Duration(-time.Second)}, []string{"presence_poll:"}},
		{"bad rate", Config{AppToken: "xapp-1", PostRate: -1, PostBurst: -2}, []string{"post_rate:", "post_burst:"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			if tc.errs == nil {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, ErrConfig) {
				t.Fatalf("got %v, want ErrConfig", err)
			}
			for _, want := range tc.errs {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("%q does not say %q", err, want)
				}
			}
		})
	}
	s, err := Config{AppToken: "xapp-1", APIURL: "http://127.0.0.1:1/api"}.settings()
	if err != nil || s.apiURL != "http://127.0.0.1:1/api/" || s.roster != RosterDMs || s.presencePoll != DefaultPresencePoll ||
		s.postRate != DefaultPostRate || s.postBurst != DefaultPostBurst {
		t.Errorf("defaults: %+v %v", s, err)
	}
	var d Duration
	if err := d.UnmarshalText([]byte("90s")); err != nil || time.Duration(d) != 90*time.Second {
		t.Errorf("duration %v %v", d, err)
	}
	if err := d.UnmarshalText([]byte("soon")); err == nil {
		t.Error("accepted a bad duration")
	}
}

func TestConfigHidesTokens(t *testing.T) {
	c := Config{AppToken: "xapp-SECRET", BotToken: "xoxb-SECRET", BotTokenEnv: "X"}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x"} {
		if s := fmt.Sprintf(verb, c); strings.Contains(s, "SECRET") {
			t.Errorf("%s shows a token: %s", verb, s)
		}
	}
	if s := c.LogValue().String(); strings.Contains(s, "SECRET") {
		t.Errorf("LogValue shows a token: %s", s)
	}
	if err := (&c).Validate(); err == nil || strings.Contains(err.Error(), "SECRET") {
		t.Errorf("Validate: %v", err)
	}
}

func TestClassify(t *testing.T) {
	tests := []struct {
		err   error
		want  error
		retry time.Duration // for rate limits
	}{
		{&slack.RateLimitedError{RetryAfter: 3 * time.Second}, bridge.ErrTemporary, 3 * time.Second},
		{slack.StatusCodeError{Code: http.StatusTooManyRequests, Status: "429"}, bridge.ErrTemporary, 0},
		{slack.StatusCodeError{Code: 503, Status: "503 Service Unavailable"}, bridge.ErrTemporary, -1},
		{slack.SlackErrorResponse{Err: "ratelimited"}, bridge.ErrTemporary, 0},
		{slack.SlackErrorResponse{Err: "channel_not_found"}, bridge.ErrNotFound, -1},
		{slack.SlackErrorResponse{Err: "user_not_found"}, bridge.ErrNotFound, -1},
		{slack.SlackErrorResponse{Err: "not_in_channel"}, bridge.ErrForbidden, -1},
		{slack.SlackErrorResponse{Err: "is_archived"}, bridge.ErrForbidden, -1},
		{slack.SlackErrorResponse{Err: "msg_too_long"}, bridge.ErrInvalidInput, -1},
		{slack.SlackErrorResponse{Err: "invalid_auth"}, bridge.ErrAuth, -1},
		{slack.SlackErrorResponse{Err: "token_revoked"}, bridge.ErrAuth, -1},
		{slack.SlackErrorResponse{Err: "account_inactive"}, bridge.ErrAuth, -1},
		{slack.SlackErrorResponse{Err: "internal_error"}, bridge.ErrTemporary, -1},
		{slack.SlackErrorResponse{Err: "unknown_method"}, bridge.ErrUnsupported, -1},
		{errors.New("dial tcp: connection refused"), bridge.ErrTemporary, -1},
	}
	for _, tc := range tests {
		t.Run(tc.err.Error(), func(t *testing.T) {
			err := classify("chat.postMessage", tc.err)
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), "chat.postMessage") {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			var rl *bridge.RateLimitError
			if isRL := errors.As(err, &rl); isRL != (tc.retry >= 0) || (isRL && rl.RetryAfter != tc.retry) {
				t.Fatalf("rate limit %v, want retry after %v", err, tc.retry)
			}
		})
	}
	if err := classify("x", slack.SlackErrorResponse{Err: "something_new"}); errors.Is(err, bridge.ErrTemporary) || errors.Is(err, bridge.ErrAuth) {
		t.Errorf("unknown code: %v", err)
	}
	if r := authReason(classify("x", slack.SlackErrorResponse{Err: "token_revoked"})); r != "the token was revoked in Slack (token_revoked)" {
		t.Errorf("reason %q", r)
	}
	if classify("x", nil) != nil {
		t.Error("nil error classified")
	}
}

func TestSplitStatus(t *testing.T) {
	tests := []struct{ in, emoji, text string }{
		{"", "", ""},
		{"Lunch", "", "Lunch"},
		{"🍔 Lunch", ":hamburger:", "Lunch"},
		{"🍔", ":hamburger:", ""},
		{"  Out   of office  ", "", "Out of office"},
		{"🍔Lunch", "", "🍔Lunch"},
		{strings.Repeat("a", 120), "", strings.Repeat("a", 99) + "…"},
	}
	for _, tc := range tests {
		emoji, text := splitStatus(tc.in)
		if emoji != tc.emoji || text != tc.text {
			t.Errorf("splitStatus(%q) = %q, %q; want %q, %q", tc.in, emoji, text, tc.emoji, tc.text)
		}
	}
}

func TestTSTime(t *testing.T) {
	tests := []struct {
		ts   string
		want time.Time
	}{
		{"1700000000.000100", time.Unix(1700000000, 100_000)},
		{"1700000000.1", time.Unix(1700000000, 100_000_000)},
		{"1700000000", time.Unix(1700000000, 0)},
		{"", time.Time{}},
		{"x.1", time.Time{}},
		{"-1.0", time.Time{}},
		{"1.x", time.Time{}},
	}
	for _, tc := range tests {
		if got := tsTime(tc.ts); !got.Equal(tc.want) {
			t.Errorf("tsTime(%q) = %v, want %v", tc.ts, got, tc.want)
		}
	}
}

func TestParseEnvelope(t *testing.T) {
	tests := []struct {
		name    string
		payload string
		want    inbound // raw not compared
		err     bool
	}{
		{"message", `{"type":"event_callback","team_id":"T1","event_id":"Ev1","event_context":"ctx","event":{"type":"message","channel":"D1","user":"U1","text":"hi"}}`,
			inbound{team: "T1", eventID: "Ev1", eventContext: "ctx", typ: "message", channel: "D1"}, false},
		{"edit", `{"type":"event_callback","team_id":"T1","event_id":"Ev2","event":{"type":"message","subtype":"message_changed","channel":"C9"}}`,
			inbound{team: "T1", eventID: "Ev2", typ: "message", subtype: "message_changed", channel: "C9"}, false},
		{"reaction", `{"type":"event_callback","team_id":"T1","event_id":"Ev3","event":{"type":"reaction_added","item":{"type":"message","channel":"D2","ts":"1.2"}}}`,
			inbound{team: "T1", eventID: "Ev3", typ: "reaction_added", channel: "D2"}, false},
		{"workspace-wide", `{"type":"event_callback","team_id":"T1","event_id":"Ev4","event":{"type":"user_change","user":{"id":"U1"}}}`,
			inbound{team: "T1", eventID: "Ev4", typ: "user_change"}, false},
		{"channel object", `{"type":"event_callback","team_id":"T1","event_id":"Ev5","event":{"type":"channel_created","channel":{"id":"C5"}}}`,
			inbound{team: "T1", eventID: "Ev5", typ: "channel_created"}, false},
		{"team from authorizations", `{"type":"event_callback","authorizations":[{"team_id":"T7","user_id":"U1"}],"event":{"type":"team_join"}}`,
			inbound{team: "T7", typ: "team_join"}, false},
		{"full message", `{"type":"event_callback","team_id":"T1","event_id":"Ev6","event":{"type":"message","channel":"D1","channel_type":"im","user":"U1","text":"hi","ts":"1.2","thread_ts":"1.1","bot_id":"B1","files":[{"name":"a.png","mimetype":"image/png","size":3}],"edited":{"user":"U1","ts":"1.3"},"blocks":[{"type":"rich_text"}]}}`,
			inbound{team: "T1", eventID: "Ev6", typ: "message", channel: "D1"}, false},
		{"message changed", `{"type":"event_callback","team_id":"T1","event_id":"Ev7","event":{"type":"message","subtype":"message_changed","channel":"D1","message":{"user":"U1","text":"b","ts":"1.2"},"previous_message":{"user":"U1","text":"a","ts":"1.2"}}}`,
			inbound{team: "T1", eventID: "Ev7", typ: "message", subtype: "message_changed", channel: "D1"}, false},
		{"message with metadata", `{"type":"event_callback","team_id":"T1","event_id":"Ev9","event":{"type":"message","channel":"D1","user":"U1","text":"hi","ts":"1.2","metadata":{"event_type":"xgate_sent","event_payload":{"origin":"7:x7"}}}}`,
			inbound{team: "T1", eventID: "Ev9", typ: "message", channel: "D1"}, false},
		{"im_created", `{"type":"event_callback","team_id":"T1","event_id":"Ev8","event":{"type":"im_created","user":"U2","channel":{"id":"D3"}}}`,
			inbound{team: "T1", eventID: "Ev8", typ: "im_created", channel: "D3"}, false},
		{"not a callback", `{"type":"url_verification"}`, inbound{}, true},
		{"no team", `{"type":"event_callback","event":{"type":"message"}}`, inbound{}, true},
		{"no type", `{"type":"event_callback","team_id":"T1","event":{}}`, inbound{}, true},
		{"bad channel", `{"type":"event_callback","team_id":"T1","event":{"type":"message","channel":"../x"}}`, inbound{}, true},
		{"not JSON", `{`, inbound{}, true},
		{"event not an object", `{"type":"event_callback","team_id":"T1","event":3}`, inbound{}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in, err := parseEnvelope([]byte(tc.payload))
			if tc.err {
				if err == nil {
					t.Fatalf("accepted: %+v", in)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			checkOnePass(t, in)
			if (in.msg != nil) != (in.typ == "message") {
				t.Errorf("message decoded with the frame: %v", in.msg != nil)
			}
			in.raw, in.msg, in.reaction = nil, nil, nil
			if fmt.Sprintf("%+v", *in) != fmt.Sprintf("%+v", tc.want) {
				t.Errorf("got %+v, want %+v", *in, tc.want)
			}
		})
	}
}

func TestDecodeFrame(t *testing.T) {
	tests := []struct {
		name, frame   string
		typ, envelope string
		err           bool
	}{
		{"hello", `{"type":"hello","num_connections":1}`, "hello", "", false},
		{"disconnect", `{"type":"disconnect","reason":"refresh_requested"}`, "disconnect", "", false},
		{"event", `{"type":"events_api","envelope_id":"E1","payload":{"type":"event_callback","team_id":"T1","event":{"type":"message","channel":"D1"}}}`, "events_api", "E1", false},
		{"event payload of a wrong shape", `{"type":"events_api","envelope_id":"E2","payload":{"type":"event_callback","team_id":5}}`, "events_api", "E2", true},
		{"event not an object", `{"type":"events_api","envelope_id":"E3","payload":{"type":"event_callback","team_id":"T1","event":3}}`, "events_api", "E3", true},
		{"slash command", `{"type":"slash_commands","envelope_id":"E4","payload":{"command":"/x","team_id":"T1","authorizations":{"a":1}}}`, "slash_commands", "E4", false},
		{"not JSON", `{"type":"events_api","envelope_id":"E5"`, "", "", true},
		{"type after the payload", `{"envelope_id":"E6","payload":{"type":"event_callback","team_id":"T1","event":{"type":"message","channel":"D1"}},"type":"events_api"}`, "events_api", "E6", false},
		{"wrong payload, type after it", `{"envelope_id":"E7","payload":{"type":"event_callback","team_id":[]},"type":"events_api"}`, "events_api", "E7", true},
		{"null payload", `{"type":"events_api","envelope_id":"E8","payload":null}`, "events_api", "E8", false},
		{"names in another case", `{"TYPE":"hello","Envelope_ID":"E9"}`, "hello", "E9", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, err := decodeFrame([]byte(tc.frame))
			if (err != nil) != tc.err || f.Type != tc.typ || f.EnvelopeID != tc.envelope {
				t.Errorf("decodeFrame = %q %q, %v", f.Type, f.EnvelopeID, err)
			}
		})
	}
}

// FuzzDecodeFrame checks decodeFrame against encoding/json: a frame that
// encoding/json reads has the same type, envelope and reason, and one it
// cannot read is refused.
func FuzzDecodeFrame(f *testing.F) {
	f.Add([]byte(sampleFrame))
	f.Add([]byte(`{"type":"hello","num_connections":1}`))
	f.Add([]byte(`{"type":"slash_commands","envelope_id":"E4","payload":{"team_id":5}}`))
	f.Add([]byte(`{"envelope_id":"E7","payload":{"type":"event_callback","team_id":[]},"type":"events_api"}`))
	f.Add([]byte(`{"type":"events_api","envelope_id":"E1","payload":{"type":"event_callback","team_id":"T1","event":{"type":"message","channel":{"id":"D1"},"user":7}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var want struct {
			Type       string          `json:"type"`
			EnvelopeID string          `json:"envelope_id"`
			Reason     string          `json:"reason"`
			Payload    json.RawMessage `json:"payload"`
		}
		stdErr := json.Unmarshal(data, &want)
		got, err := decodeFrame(data)
		if stdErr != nil {
			if err == nil {
				t.Fatalf("read %+v where encoding/json fails: %v", got, stdErr)
			}
			return
		}
		if got.Type != want.Type || got.EnvelopeID != want.EnvelopeID || got.Reason != want.Reason {
			t.Fatalf("read %q %q %q, encoding/json %q %q %q", got.Type, got.EnvelopeID, got.Reason, want.Type, want.EnvelopeID, want.Reason)
		}
		if err == nil && got.Payload != nil {
			if in, err := envelopeEvent(got.Payload); err == nil {
				checkOnePass(t, in)
			}
		}
	})
}

// checkOnePass checks that an event decoded with its frame reads as the
// same event decoded on its own from its bytes, as sessions did before.
func checkOnePass(t *testing.T, in *inbound) {
	t.Helper()
	if in.msg != nil {
		var want msgEvent
		if err := json.Unmarshal(in.raw, &want); err == nil && !reflect.DeepEqual(*in.msg, want) {
			t.Errorf("message read in one pass as %+v, on its own as %+v", *in.msg, want)
		}
	}
	if in.reaction != nil {
		var want reactionEvent
		if err := json.Unmarshal(in.raw, &want); err == nil && !reflect.DeepEqual(*in.reaction, want) {
			t.Errorf("reaction read in one pass as %+v, on its own as %+v", *in.reaction, want)
		}
	}
}

// FuzzParseEnvelope checks that any payload is either refused or read into
// an event with a valid team and, if any, conversation.
func FuzzParseEnvelope(f *testing.F) {
	f.Add([]byte(`{"type":"event_callback","team_id":"T1","event_id":"Ev1","event":{"type":"message","channel":"D1"}}`))
	f.Add([]byte(`{"type":"event_callback","authorizations":[{"team_id":"T7"}],"event":{"type":"reaction_added","item":{"channel":"C1"}}}`))
	f.Add([]byte(`{"type":"event_callback","team_id":"T1","event":{"type":"channel_created","channel":{"id":"C5"}}}`))
	f.Add([]byte(`{"type":"event_callback","team_id":"T1","event":null}`))
	f.Add([]byte(`[]`))
	f.Add([]byte(`{"type":"event_callback","team_id":"T1","event":{"type":"message","channel":"D1","user":{"id":"U1"},"files":[{"name":"a"}]}}`))
	f.Fuzz(func(t *testing.T, payload []byte) {
		in, err := parseEnvelope(payload)
		if err != nil {
			return
		}
		if !validID(in.team, teamKinds) || in.typ == "" || (in.channel != "" && !validID(in.channel, "CDG")) {
			t.Fatalf("accepted %+v", in)
		}
		checkOnePass(t, in)
	})
}

// TestDecodedFrameOwnsItsBytes checks that nothing decoded from a frame
// refers to the frame's bytes, which the reader reuses for the next one.
func TestDecodedFrameOwnsItsBytes(t *testing.T) {
	data := []byte(string(sampleFrame))
	f, err := decodeFrame(data)
	if err != nil {
		t.Fatal(err)
	}
	in, err := envelopeEvent(f.Payload)
	if err != nil {
		t.Fatal(err)
	}
	before := fmt.Sprintf("%q %+v %+v %q", f.EnvelopeID, *in, *in.msg, in.raw)
	for i := range data {
		data[i] = 'x'
	}
	if after := fmt.Sprintf("%q %+v %+v %q", f.EnvelopeID, *in, *in.msg, in.raw); after != before {
		t.Fatalf("the frame's bytes changed what was decoded:\n%s\n%s", before, after)
	}
}
