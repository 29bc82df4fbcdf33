package store

import (
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"go.etcd.io/bbolt"
)

func TestRooms(t *testing.T) {
	db := openTestDB(t)
	general := Room{Transport: "slack", Chat: "g\x1fT1\x1fC1", Local: "general", Parent: "T1", Name: "general", Topic: "hi"}
	if err := db.PutRoom(general); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		r    Room
		want error
	}{
		{"same again", general, nil},
		{"new name and topic", Room{Transport: "slack", Chat: general.Chat, Local: "general", Parent: "T1", Name: "général", Topic: "new"}, nil},
		{"chat moved to another localpart", Room{Transport: "slack", Chat: general.Chat, Local: "other"}, ErrConflict},
		{"localpart taken by another chat", Room{Transport: "slack", Chat: "g\x1fT1\x1fC2", Local: "general"}, ErrConflict},
		{"same localpart on another instance", Room{Transport: "slack-work", Chat: "g\x1fT1\x1fC2", Local: "general"}, nil},
		{"second room", Room{Transport: "slack", Chat: "g\x1fT1\x1fC2", Local: "random"}, nil},
		{"empty chat", Room{Transport: "slack", Local: "x"}, ErrInvalid},
		{"NUL in localpart", Room{Transport: "slack", Chat: "c", Local: "a\x00b"}, ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { wantErr(t, "PutRoom", db.PutRoom(tt.r), tt.want) })
	}
	got, err := db.RoomByChat("slack", general.Chat)
	if err != nil || got.Local != "general" || got.Name != "général" || got.Topic != "new" || got.Parent != "T1" {
		t.Fatalf("RoomByChat = %+v, %v", got, err)
	}
	got, err = db.RoomByLocal("slack", "random")
	if err != nil || got.Chat != "g\x1fT1\x1fC2" {
		t.Fatalf("RoomByLocal = %+v, %v", got, err)
	}
	rooms, err := db.Rooms("slack")
	if err != nil || len(rooms) != 2 || rooms[0].Local != "general" || rooms[1].Local != "random" {
		t.Fatalf("Rooms = %+v, %v", rooms, err)
	}
	wantErr(t, "DeleteRoom", db.DeleteRoom("slack", general.Chat), nil)
	wantErr(t, "DeleteRoom again", db.DeleteRoom("slack", general.Chat), ErrNotFound)
	_, err = db.RoomByLocal("slack", "general")
	wantErr(t, "RoomByLocal after delete", err, ErrNotFound)
	// The freed localpart can name another chat.
	wantErr(t, "PutRoom reusing", db.PutRoom(Room{Transport: "slack", Chat: "g\x1fT1\x1fC3", Local: "general"}), nil)
}

// A store written by the schema-1 bridge (bridge/testdata holds the same
// file, written by bridge.TestWriteSchema1Fixture before the chat-keyed
// core) opens, upgrades to the current schema and keeps every record.
func TestMigrateSchema1Fixture(t *testing.T) {
	path := filepath.Join(t.TempDir(), "xgate.db")
	src, err := os.Open("testdata/schema1.db")
	if err != nil {
		t.Fatal(err)
	}
	dst, _ := os.Create(path)
	if _, err := io.Copy(dst, src); err != nil {
		t.Fatal(err)
	}
	src.Close()
	dst.Close()
	var before int
	rawView(t, path, func(tx *bbolt.Tx) error {
		before, err = readVersion(tx)
		return err
	})
	if before != 1 {
		t.Fatalf("fixture at schema %d, want 1", before)
	}
	key, err := ParseKey([]byte(strings.Repeat("ab", 32)))
	if err != nil {
		t.Fatal(err)
	}
	db, err := Open(path, Options{Key: key, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if v, err := db.SchemaVersion(); err != nil || v != latestVersion(migrations) {
		t.Fatalf("SchemaVersion = %d, %v", v, err)
	}
	if err := db.Verify(); err != nil {
		t.Fatalf("Verify after upgrade: %v", err)
	}
	accts, err := db.Accounts("fake")
	if err != nil || len(accts) != 1 || accts[0].Remote != "acct-a" || accts[0].Secrets["token"] != "good-a" {
		t.Fatalf("accounts %v %v", accts, err)
	}
	if r, err := db.RemoteMessageID("fake|alice@example.org|acct-a|bob", "x1"); err != nil || r != "m1" {
		t.Fatalf("message ref x1 = %q, %v", r, err)
	}
	queues, err := db.OutboxQueues()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"tx\x1efake\x1ealice@example.org\x1eacct-a\x1ebob", "xmpp\x1efake"}
	if !slices.Equal(queues, want) {
		t.Fatalf("queues %q, want %q", queues, want)
	}
	// Three actions towards the network; towards XMPP, bob's message and
	// the stanzas the gateway could not write when the host went away.
	if n, err := db.OutboxCount(want[0]); err != nil || n != 3 {
		t.Fatalf("queued towards the network: %d, %v", n, err)
	}
	items, err := db.OutboxPeek(want[1], 0)
	if err != nil || !slices.ContainsFunc(items, func(it OutboxItem) bool { return strings.Contains(string(it.Payload), "while you were away") }) {
		t.Fatalf("queued towards XMPP: %d items, %v", len(items), err)
	}
	if since, err := db.SeenSince(); err != nil || since.IsZero() {
		t.Fatalf("SeenSince of an upgraded file with accounts = %v, %v", since, err)
	}
	if rooms, err := db.Rooms("fake"); err != nil || len(rooms) != 0 {
		t.Fatalf("rooms %v %v", rooms, err)
	}
}

// rawView reads a closed database file directly through bbolt.
func rawView(t testing.TB, path string, fn func(tx *bbolt.Tx) error) {
	t.Helper()
	bdb, err := bbolt.Open(path, 0o600, &bbolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatalf("bbolt.Open: %v", err)
	}
	defer bdb.Close()
	if err := bdb.View(fn); err != nil {
		t.Fatalf("raw view: %v", err)
	}
}
