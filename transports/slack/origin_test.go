package slack

import (
	"encoding/json"
	"maps"
	"testing"
	"time"

	"github.com/xgate-im/xgate/bridge"
)

func TestMetadataOrigin(t *testing.T) {
	tests := []struct {
		name, metadata, want string
	}{
		{"ours", `{"event_type":"xgate_sent","event_payload":{"origin":"7:x7"}}`, "7:x7"},
		{"another app's", `{"event_type":"task_created","event_payload":{"origin":"7:x7"}}`, ""},
		{"not a string", `{"event_type":"xgate_sent","event_payload":{"origin":7}}`, ""},
		{"no payload", `{"event_type":"xgate_sent"}`, ""},
		{"none", `null`, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var m *wireMetadata
			if err := json.Unmarshal([]byte(tc.metadata), &m); err != nil {
				t.Fatal(err)
			}
			if got := m.origin(); got != tc.want {
				t.Errorf("origin %q, want %q", got, tc.want)
			}
		})
	}
	in, err := parseEnvelope([]byte(`{"type":"event_callback","team_id":"T1","event_id":"Ev1","event":{"type":"message","channel":"D1","user":"U1","text":"hi","ts":"1.2","metadata":{"event_type":"xgate_sent","event_payload":{"origin":"7:x7"}}}}`))
	if err != nil || in.msg == nil || in.msg.Metadata.origin() != "7:x7" {
		t.Fatalf("event read as %+v, %v", in, err)
	}
}

// A message sent with an Origin carries it in its metadata, and FindSent
// finds it there: only the account's own messages with one of the Origins
// asked for, since the time given.
func TestFindSent(t *testing.T) {
	w := newWorld(t)
	tr := w.transport()
	sess, _ := w.login(tr, w.aliceTok)
	ctx := bounded(t, 10*time.Second)
	chat := bridge.ChatRef{Kind: bridge.Direct, Peer: w.uid(w.bob)}
	before := time.Now().Add(-time.Minute)
	ids := map[string]bridge.MessageID{}
	for _, o := range []string{"1:a", "2:b", ""} {
		id, err := sess.Send(ctx, chat, bridge.OutgoingMessage{Text: "text " + o, Origin: o})
		if err != nil {
			t.Fatal(err)
		}
		ids[o] = id
	}
	w.fake.Post(w.bob.ID, w.aliceBob, "bob's")
	found, err := sess.FindSent(ctx, chat, before, []string{"1:a", "2:b", "3:c"})
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]bridge.MessageID{"1:a": ids["1:a"], "2:b": ids["2:b"]}; !maps.Equal(found, want) {
		t.Errorf("found %v, want %v", found, want)
	}
	later, err := sess.FindSent(ctx, chat, time.Now().Add(time.Hour), []string{"1:a"})
	if err != nil || len(later) != 0 {
		t.Errorf("found %v, %v since an hour from now", later, err)
	}
}
