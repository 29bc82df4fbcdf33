package store

import (
	"testing"
)

func TestStats(t *testing.T) {
	db := openTestDB(t)
	empty, err := db.Stats()
	if err != nil || empty.Accounts != 0 || empty.Contacts != 0 || empty.MessageRefs != 0 || empty.OutboxItems != 0 || empty.FileBytes == 0 {
		t.Errorf("Stats of an empty DB = %+v, %v", empty, err)
	}
	fillDB(t, db)
	if _, err := db.Enqueue("q", nil); err != nil {
		t.Fatal(err)
	}
	got, err := db.Stats()
	if err != nil {
		t.Fatal(err)
	}
	want := Stats{Accounts: 1, Contacts: 1, MessageRefs: 1, OutboxItems: 2, FileBytes: got.FileBytes}
	if got != want || got.FileBytes < empty.FileBytes {
		t.Errorf("Stats = %+v, want %+v", got, want)
	}
}
