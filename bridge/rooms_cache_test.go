package bridge

import (
	"errors"
	"testing"

	"github.com/xgate-im/xgate/store"
)

// The room cache answers both directions as the store does, through
// renames and clashes, and finds the mappings a previous run stored.
func TestRoomCacheFollowsTheStore(t *testing.T) {
	db := openTestDB(t)
	if err := db.PutRoom(store.Room{Transport: "fake", Chat: "C0", Local: "#old", Name: "old"}); err != nil {
		t.Fatal(err)
	}
	c := newRoomCache(db, "fake")
	steps := []struct {
		name    string
		put     *store.Room
		wantErr error
		chat    string
		want    store.Room // the room of chat afterwards, by chat and by its localpart
	}{
		{name: "stored by a previous run", chat: "C0", want: store.Room{Transport: "fake", Chat: "C0", Local: "#old", Name: "old"}},
		{name: "mapped", put: &store.Room{Chat: "C1", Local: "#general", Name: "general"}, chat: "C1",
			want: store.Room{Transport: "fake", Chat: "C1", Local: "#general", Name: "general"}},
		{name: "renamed", put: &store.Room{Chat: "C1", Local: "#general", Name: "lobby"}, chat: "C1",
			want: store.Room{Transport: "fake", Chat: "C1", Local: "#general", Name: "lobby"}},
		{name: "topic and parent", put: &store.Room{Chat: "C1", Local: "#general", Name: "lobby", Topic: "hi", Parent: "G1"}, chat: "C1",
			want: store.Room{Transport: "fake", Chat: "C1", Local: "#general", Name: "lobby", Topic: "hi", Parent: "G1"}},
		{name: "a localpart taken", put: &store.Room{Chat: "C2", Local: "#general"}, wantErr: store.ErrConflict, chat: "C1",
			want: store.Room{Transport: "fake", Chat: "C1", Local: "#general", Name: "lobby", Topic: "hi", Parent: "G1"}},
		{name: "a chat mapped already", put: &store.Room{Chat: "C1", Local: "#other"}, wantErr: store.ErrConflict, chat: "C1",
			want: store.Room{Transport: "fake", Chat: "C1", Local: "#general", Name: "lobby", Topic: "hi", Parent: "G1"}},
	}
	for _, s := range steps {
		if s.put != nil {
			if err := c.put(*s.put); !errors.Is(err, s.wantErr) {
				t.Fatalf("%s: put = %v, want %v", s.name, err, s.wantErr)
			}
		}
		for range 2 { // from the store, then from memory
			got, err := c.byChatID(s.chat)
			if err != nil || got != s.want {
				t.Fatalf("%s: byChatID(%s) = %+v, %v; want %+v", s.name, s.chat, got, err, s.want)
			}
			got, err = c.byLocalpart(s.want.Local)
			if err != nil || got != s.want {
				t.Fatalf("%s: byLocalpart(%s) = %+v, %v; want %+v", s.name, s.want.Local, got, err, s.want)
			}
		}
	}
	if _, err := c.byChatID("C2"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("byChatID(C2) = %v, want ErrNotFound", err)
	}
	if _, err := c.byLocalpart("#other"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("byLocalpart(#other) = %v, want ErrNotFound", err)
	}
}
