package bridge

import (
	"log/slog"
	"testing"

	"github.com/xgate-im/xgate/xmpp/jid"
)

// A chat's room JID is made once from its name, a second chat of the same
// name gets "~2", and a renamed chat keeps its JID.
func TestRoomJIDsAreStable(t *testing.T) {
	db := openTestDB(t)
	r := &rooms{name: "fake", domain: jid.MustParse("fake.example.org"), db: db, log: slog.New(slog.DiscardHandler)}
	steps := []struct {
		chat ChatID
		name string
		want string
	}{
		{"C1", "General", "#general@fake.example.org"},
		{"C2", "general", "#general~2@fake.example.org"},
		{"C1", "renamed", "#general@fake.example.org"},
		{"C3", "", "#c3@fake.example.org"},
		{"C3", "named later", "#c3@fake.example.org"},
		{"C4", "Design Team", `#design\20team@fake.example.org`},
	}
	for _, s := range steps {
		got, err := r.roomFor(ChatRef{Kind: Group, ID: s.chat}, s.name)
		if err != nil || got.String() != s.want {
			t.Errorf("roomFor(%s, %q) = %s, %v; want %s", s.chat, s.name, got, err, s.want)
		}
	}
	chat, rm, err := r.chatOf(`#design\20team`)
	if err != nil || chat.ID != "C4" || rm.Name != "Design Team" {
		t.Errorf("chatOf: %+v %+v %v", chat, rm, err)
	}
	// A parent learnt later is recorded.
	if _, err := r.roomFor(ChatRef{Kind: Group, ID: "C4", Parent: "G1"}, ""); err != nil {
		t.Fatal(err)
	}
	if chat, _, err := r.chatOf(`#design\20team`); err != nil || chat.Parent != "G1" {
		t.Errorf("parent not recorded: %+v %v", chat, err)
	}
	if _, _, err := r.chatOf("#nowhere"); err == nil {
		t.Error("chatOf an unknown room succeeded")
	}
	if err := db.Verify(); err != nil {
		t.Error(err)
	}
}
