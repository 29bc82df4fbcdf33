package slackfake_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"testing"

	"github.com/slack-go/slack"
)

// Message metadata given to chat.postMessage is kept and returned by
// conversations.history with include_all_metadata, and only then; a
// malformed one is refused.
func TestMessageMetadata(t *testing.T) {
	f := newFixture(t)
	ctx := testCtx(t)
	alice := f.client(f.fake.IssueUserToken(f.team.ID, f.alice.ID))
	md := slack.SlackMetadata{EventType: "xgate_sent", EventPayload: map[string]any{"origin": "7:x7"}}
	_, ts, err := alice.PostMessageContext(ctx, f.general.ID, slack.MsgOptionText("with metadata", false), slack.MsgOptionMetadata(md))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := alice.PostMessageContext(ctx, f.general.ID, slack.MsgOptionText("without", false)); err != nil {
		t.Fatal(err)
	}
	for _, include := range []bool{true, false} {
		resp, err := alice.GetConversationHistoryContext(ctx, &slack.GetConversationHistoryParameters{ChannelID: f.general.ID, IncludeAllMetadata: include})
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		for _, m := range resp.Messages {
			o, _ := m.Metadata.EventPayload["origin"].(string)
			got[m.Text] = m.Metadata.EventType + " " + o
		}
		want := map[string]string{"with metadata": " ", "without": " "}
		if include {
			want["with metadata"] = "xgate_sent 7:x7"
		}
		if got["with metadata"] != want["with metadata"] || got["without"] != want["without"] {
			t.Errorf("include_all_metadata=%v: %q, want %q (ts %s)", include, got, want, ts)
		}
	}
	tests := []struct{ name, metadata string }{
		{"not JSON", "{"},
		{"no event type", `{"event_payload":{"a":"b"}}`},
		{"no payload", `{"event_type":"x"}`},
	}
	token := f.fake.IssueUserToken(f.team.ID, f.alice.ID)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := http.PostForm(f.fake.APIURL()+"chat.postMessage", url.Values{
				"token": {token}, "channel": {f.general.ID}, "text": {"x"}, "metadata": {tc.metadata},
			})
			if err != nil {
				t.Fatal(err)
			}
			var r struct {
				OK    bool   `json:"ok"`
				Error string `json:"error"`
			}
			err = json.NewDecoder(resp.Body).Decode(&r)
			resp.Body.Close()
			if err != nil || r.OK || r.Error != "invalid_metadata_format" {
				t.Errorf("got %+v, %v; want invalid_metadata_format", r, err)
			}
		})
	}
}
