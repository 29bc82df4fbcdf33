package bridge

import (
	"encoding/json"
	"testing"

	"github.com/xgate-im/xgate/store"
)

func TestChatKeyNames(t *testing.T) {
	acct := store.AccountKey{User: "alice@example.org", Transport: "slack", Remote: "T1.U1"}
	tests := []struct {
		name        string
		chat        ChatRef
		queue, scop string
	}{
		{"direct, as schema 1 named it", ChatRef{Kind: Direct, Peer: "T1.U2"},
			"tx\x1eslack\x1ealice@example.org\x1eT1.U1\x1eT1.U2", "slack|alice@example.org|T1.U1|T1.U2"},
		{"direct with a conversation ID is the same chat", ChatRef{Kind: Direct, ID: "D9", Peer: "T1.U2"},
			"tx\x1eslack\x1ealice@example.org\x1eT1.U1\x1eT1.U2", "slack|alice@example.org|T1.U1|T1.U2"},
		{"direct with the separator in the peer", ChatRef{Kind: Direct, Peer: "g\x1f\x1fC1"},
			"tx\x1eslack\x1ealice@example.org\x1eT1.U1\x1ed\x1fg\x1f\x1fC1", "slack|alice@example.org|T1.U1|d\x1fg\x1f\x1fC1"},
		{"group", ChatRef{Kind: Group, ID: "C1"},
			"tx\x1eslack\x1ealice@example.org\x1eT1.U1\x1eg\x1f\x1fC1", "slack|alice@example.org|T1.U1|g\x1f\x1fC1"},
		{"thread in its channel", ChatRef{Kind: Group, ID: "1700000000.000100", Parent: "C1"},
			"tx\x1eslack\x1ealice@example.org\x1eT1.U1\x1eg\x1fC1\x1f1700000000.000100", "slack|alice@example.org|T1.U1|g\x1fC1\x1f1700000000.000100"},
	}
	seen := map[string]string{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := chatKey{Account: acct, Chat: tt.chat}
			if got := k.queue("slack"); got != tt.queue {
				t.Errorf("queue = %q, want %q", got, tt.queue)
			}
			if got := k.scope("slack"); got != tt.scop {
				t.Errorf("scope = %q, want %q", got, tt.scop)
			}
			if other, ok := seen[k.name()]; ok && other != string(tt.chat.Peer) {
				t.Errorf("name %q shared with another chat", k.name())
			}
			seen[k.name()] = string(tt.chat.Peer)
		})
	}
}

// Items queued by schema 1 name only their peer; new ones name their chat
// when it is more than that.
func TestQueuedItemChat(t *testing.T) {
	var old toNetworkItem
	if err := json.Unmarshal([]byte(`{"kind":"message","user":"alice@example.org/a","account":"acct-a","contact":"bob@fake.example.org","peer":"bob","id":"q0","text":"q0"}`), &old); err != nil {
		t.Fatal(err)
	}
	if c := old.chat(); c != (ChatRef{Kind: Direct, Peer: "bob"}) {
		t.Fatalf("schema-1 item chat %+v", c)
	}
	thread := ChatRef{Kind: Group, ID: "1.2", Parent: "C1"}
	b, _ := json.Marshal(toNetworkItem{Kind: kindMessage, Chat: &thread})
	var back toNetworkItem
	if err := json.Unmarshal(b, &back); err != nil || back.chat() != thread {
		t.Fatalf("round trip %s: %+v %v", b, back.chat(), err)
	}
}
