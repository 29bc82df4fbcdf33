package store

import (
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
)

func TestKV(t *testing.T) {
	db := openTestDB(t)
	puts := []struct{ ns, key, value string }{
		{"cursor", "slack/T1", "1700000000.000100"},
		{"cursor", "slack/T2", "1700000000.000200"},
		{"cursor", "discord/G1", "9999"},
		{"cursorx", "slack/T1", "other namespace"},
		{"room", "a", ""},
	}
	for _, p := range puts {
		if err := db.KVPut(p.ns, p.key, []byte(p.value)); err != nil {
			t.Fatalf("KVPut(%s, %s): %v", p.ns, p.key, err)
		}
	}
	if v, err := db.KVGet("cursor", "slack/T1"); err != nil || string(v) != "1700000000.000100" {
		t.Errorf("KVGet = %q, %v", v, err)
	}
	if v, err := db.KVGet("room", "a"); err != nil || v == nil || len(v) != 0 {
		t.Errorf("KVGet of an empty value = %#v, %v; want empty, found", v, err)
	}
	if err := db.KVPut("room", "nil", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := db.KVGet("room", "nil"); err != nil {
		t.Errorf("KVGet of a nil value: %v", err)
	}

	lists := []struct {
		ns, prefix string
		want       map[string][]byte
	}{
		{"cursor", "slack/", map[string][]byte{"slack/T1": []byte("1700000000.000100"), "slack/T2": []byte("1700000000.000200")}},
		{"cursor", "", map[string][]byte{"slack/T1": []byte("1700000000.000100"), "slack/T2": []byte("1700000000.000200"), "discord/G1": []byte("9999")}},
		{"cursorx", "", map[string][]byte{"slack/T1": []byte("other namespace")}},
		{"nothing", "", map[string][]byte{}},
	}
	for _, l := range lists {
		got, err := db.KVList(l.ns, l.prefix)
		if err != nil || !reflect.DeepEqual(got, l.want) {
			t.Errorf("KVList(%s, %s) = %q, %v; want %q", l.ns, l.prefix, got, err, l.want)
		}
	}

	// Returned slices are copies.
	v, _ := db.KVGet("cursor", "discord/G1")
	v[0] = 'X'
	if again, _ := db.KVGet("cursor", "discord/G1"); string(again) != "9999" {
		t.Errorf("value changed through a returned slice: %q", again)
	}
	in := []byte("abc")
	if err := db.KVPut("ns", "k", in); err != nil {
		t.Fatal(err)
	}
	in[0] = 'X'
	if got, _ := db.KVGet("ns", "k"); string(got) != "abc" {
		t.Errorf("value changed through the caller's slice: %q", got)
	}

	// Secrets: separate from plain values, one form per key.
	if err := db.KVPutSecret("oauth", "refresh", []byte("s3cret")); err != nil {
		t.Fatal(err)
	}
	if got, err := db.KVGetSecret("oauth", "refresh"); err != nil || string(got) != "s3cret" {
		t.Errorf("KVGetSecret = %q, %v", got, err)
	}
	if _, err := db.KVGet("oauth", "refresh"); !errorsIs(err, ErrNotFound) {
		t.Errorf("KVGet of a secret key: %v, want ErrNotFound", err)
	}
	if l, _ := db.KVList("oauth", ""); len(l) != 0 {
		t.Errorf("KVList lists secrets: %q", l)
	}
	if err := db.KVPut("oauth", "refresh", []byte("plain now")); err != nil {
		t.Fatal(err)
	}
	if _, err := db.KVGetSecret("oauth", "refresh"); !errorsIs(err, ErrNotFound) {
		t.Errorf("secret kept after KVPut of the same key: %v", err)
	}
	if err := db.KVPutSecret("oauth", "refresh", []byte("secret again")); err != nil {
		t.Fatal(err)
	}
	if _, err := db.KVGet("oauth", "refresh"); !errorsIs(err, ErrNotFound) {
		t.Errorf("plain value kept after KVPutSecret: %v", err)
	}
	if err := db.KVDelete("oauth", "refresh"); err != nil {
		t.Errorf("KVDelete of a secret: %v", err)
	}
	if err := db.KVDelete("cursor", "slack/T1"); err != nil {
		t.Errorf("KVDelete: %v", err)
	}

	errs := []struct {
		name string
		err  error
		want error
	}{
		{"get deleted", second(db.KVGet("cursor", "slack/T1")), ErrNotFound},
		{"get secret deleted", second(db.KVGetSecret("oauth", "refresh")), ErrNotFound},
		{"delete missing", db.KVDelete("cursor", "slack/T1"), ErrNotFound},
		{"put empty ns", db.KVPut("", "k", nil), ErrInvalid},
		{"put empty key", db.KVPut("ns", "", nil), ErrInvalid},
		{"put NUL key", db.KVPut("ns", "a\x00b", nil), ErrInvalid},
		{"put secret NUL ns", db.KVPutSecret("n\x00s", "k", nil), ErrInvalid},
		{"get invalid", second(db.KVGet("ns", "")), ErrInvalid},
		{"get secret invalid", second(db.KVGetSecret("", "k")), ErrInvalid},
		{"delete invalid", db.KVDelete("ns", "\x00"), ErrInvalid},
		{"list invalid ns", second(db.KVList("", "")), ErrInvalid},
		{"list NUL prefix", second(db.KVList("ns", "a\x00")), ErrInvalid},
	}
	for _, e := range errs {
		wantErr(t, e.name, e.err, e.want)
	}
}

// Deletions go through the batcher: many at once share commits, and one
// of a missing key commits nothing.
func TestKVDeleteShareCommits(t *testing.T) {
	db := openTestDB(t)
	const keys = 64
	for i := range keys {
		if err := db.KVPut("askgw", fmt.Sprint("gw/u", i), nil); err != nil {
			t.Fatal(err)
		}
	}
	commits := func() uint64 { return commitCount(t, db) }
	c0 := commits()
	if err := db.KVDelete("askgw", "gw/nobody"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("deleting a missing key: %v", err)
	}
	if c := commits() - c0; c != 0 {
		t.Errorf("deleting a missing key committed %d times", c)
	}
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range keys {
		wg.Go(func() {
			<-start
			if err := db.KVDelete("askgw", fmt.Sprint("gw/u", i)); err != nil {
				t.Error(err)
			}
		})
	}
	close(start)
	wg.Wait()
	if left, err := db.KVList("askgw", ""); err != nil || len(left) != 0 {
		t.Fatalf("left after the deletions: %v %v", left, err)
	}
	// Each ran alone before: 64 commits.
	if c := commits() - c0; c >= keys {
		t.Errorf("%d concurrent deletions took %d commits", keys, c)
	}
}
