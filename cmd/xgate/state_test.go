package main

import (
	"maps"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/xgate-im/xgate/store"
)

// TestKVState: the Discord transport's durable state lives in the store,
// in its instance's namespace, and reads back what was written.
func TestKVState(t *testing.T) {
	db, _ := openTestStore(t)
	st := kvState{db: db, ns: "state/discord"}
	other := kvState{db: db, ns: "state/discord2"}
	if _, ok, err := st.Get("route/1"); ok || err != nil {
		t.Fatalf("missing key: ok %v, %v", ok, err)
	}
	for k, v := range map[string]string{"route/1": "bot:9", "cursor/bot:9/5": "77", "cursor/bot:9/6": "78", "cursor/bot:8/5": "1"} {
		if err := st.Put(k, v); err != nil {
			t.Fatal(err)
		}
	}
	if v, ok, err := st.Get("route/1"); v != "bot:9" || !ok || err != nil {
		t.Errorf("get: %q %v %v", v, ok, err)
	}
	if _, ok, _ := other.Get("route/1"); ok {
		t.Error("another instance sees the state")
	}
	got, err := st.List("cursor/bot:9/")
	if want := map[string]string{"cursor/bot:9/5": "77", "cursor/bot:9/6": "78"}; err != nil || !maps.Equal(got, want) {
		t.Errorf("list %v %v, want %v", got, err, want)
	}
	if err := st.Delete("route/1"); err != nil {
		t.Fatal(err)
	}
	if err := st.Delete("route/1"); err != nil {
		t.Errorf("deleting a missing key: %v", err)
	}
	if _, ok, _ := st.Get("route/1"); ok {
		t.Error("deleted key still there")
	}
}

// BenchmarkKVStateCursor is the cost of what the Discord transport writes
// per message delivered to an account: one cursor, synced to disk.
func BenchmarkKVStateCursor(b *testing.B) {
	k, err := store.GenerateKey()
	if err != nil {
		b.Fatal(err)
	}
	key, err := store.ParseKey([]byte(k))
	if err != nil {
		b.Fatal(err)
	}
	db, err := store.Open(filepath.Join(b.TempDir(), "xgate.db"), store.Options{Key: key})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	st := kvState{db: db, ns: "state/discord"}
	b.ResetTimer()
	for i := range b.N {
		if err := st.Put("cursor/bot:1/"+strconv.Itoa(i%50), strconv.Itoa(i)); err != nil {
			b.Fatal(err)
		}
	}
}
