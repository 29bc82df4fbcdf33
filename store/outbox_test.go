package store

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestOutbox(t *testing.T) {
	db := openTestDB(t)
	clock := &fakeClock{t: time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)}
	db.now = clock.now

	enqueue := []struct {
		queue   string
		payload string
		wantSeq uint64
	}{
		{"slack|alice", "m1", 1},
		{"slack|alice", "m2", 2},
		{"discord|bob", "d1", 1},
		{"slack|alice", "m3", 3},
		{"slack|alice|thread", "t1", 1}, // a queue whose name extends another
	}
	for _, e := range enqueue {
		seq, err := db.Enqueue(e.queue, []byte(e.payload))
		if err != nil || seq != e.wantSeq {
			t.Errorf("Enqueue(%s, %s) = %d, %v; want %d", e.queue, e.payload, seq, err, e.wantSeq)
		}
	}
	if n, err := db.OutboxLen(); err != nil || n != 5 {
		t.Errorf("OutboxLen = %d, %v; want 5", n, err)
	}
	queues, err := db.OutboxQueues()
	if want := []string{"discord|bob", "slack|alice", "slack|alice|thread"}; err != nil || !reflect.DeepEqual(queues, want) {
		t.Errorf("OutboxQueues = %q, %v; want %q", queues, err, want)
	}

	peekPayloads := func(queue string, max int) string {
		items, err := db.OutboxPeek(queue, max)
		if err != nil {
			t.Fatalf("OutboxPeek: %v", err)
		}
		s := ""
		for _, it := range items {
			s += fmt.Sprintf("%d:%s ", it.Seq, it.Payload)
		}
		return s
	}
	peeks := []struct {
		queue string
		max   int
		want  string
	}{
		{"slack|alice", 0, "1:m1 2:m2 3:m3 "},
		{"slack|alice", 2, "1:m1 2:m2 "},
		{"slack|alice", -1, "1:m1 2:m2 3:m3 "},
		{"discord|bob", 10, "1:d1 "},
		{"nobody", 10, ""},
	}
	for _, p := range peeks {
		if got := peekPayloads(p.queue, p.max); got != p.want {
			t.Errorf("OutboxPeek(%s, %d) = %q, want %q", p.queue, p.max, got, p.want)
		}
	}

	// Update persists the retry state, and the payload it is given.
	items, _ := db.OutboxPeek("slack|alice", 1)
	it := items[0]
	if !it.Enqueued.Equal(clock.t) || it.Attempts != 0 || !it.NotBefore.IsZero() {
		t.Errorf("fresh item: %+v", it)
	}
	it.Attempts, it.NotBefore, it.LastError, it.Payload = 2, clock.t.Add(time.Minute), "rate limited", []byte("changed")
	if err := db.OutboxUpdate(it); err != nil {
		t.Fatal(err)
	}
	items, _ = db.OutboxPeek("slack|alice", 1)
	got := items[0]
	if got.Attempts != 2 || !got.NotBefore.Equal(it.NotBefore) || got.LastError != "rate limited" || string(got.Payload) != "changed" {
		t.Errorf("after OutboxUpdate: %+v", got)
	}
	// Without a payload, the stored one is kept.
	it.Payload = nil
	if err := db.OutboxUpdate(it); err != nil {
		t.Fatal(err)
	}
	if items, _ = db.OutboxPeek("slack|alice", 1); string(items[0].Payload) != "changed" {
		t.Errorf("an update without payload changed it: %q", items[0].Payload)
	}

	// Ack: missing seqs are ignored, the counter follows.
	if err := db.OutboxAck("slack|alice", 1, 3, 99); err != nil {
		t.Fatal(err)
	}
	if err := db.OutboxAck("slack|alice"); err != nil {
		t.Errorf("OutboxAck with no seqs: %v", err)
	}
	if got := peekPayloads("slack|alice", 0); got != "2:m2 " {
		t.Errorf("after ack: %q", got)
	}
	if n, _ := db.OutboxLen(); n != 3 {
		t.Errorf("OutboxLen after ack = %d, want 3", n)
	}
	wantErr(t, "OutboxUpdate of an acked item", db.OutboxUpdate(OutboxItem{Queue: "slack|alice", Seq: 1}), ErrNotFound)

	// An emptied queue disappears from OutboxQueues and never reuses a seq.
	if err := db.OutboxAck("discord|bob", 1); err != nil {
		t.Fatal(err)
	}
	queues, _ = db.OutboxQueues()
	if want := []string{"slack|alice", "slack|alice|thread"}; !reflect.DeepEqual(queues, want) {
		t.Errorf("OutboxQueues after emptying discord|bob = %q, want %q", queues, want)
	}
	if seq, err := db.Enqueue("discord|bob", nil); err != nil || seq != 2 {
		t.Errorf("Enqueue to emptied queue = %d, %v; want 2", seq, err)
	}

	errs := []struct {
		name string
		err  error
		want error
	}{
		{"enqueue empty queue", second(db.Enqueue("", []byte("x"))), ErrInvalid},
		{"enqueue NUL queue", second(db.Enqueue("a\x00b", []byte("x"))), ErrInvalid},
		{"peek invalid", second(db.OutboxPeek("", 1)), ErrInvalid},
		{"update invalid", db.OutboxUpdate(OutboxItem{}), ErrInvalid},
		{"update missing", db.OutboxUpdate(OutboxItem{Queue: "nobody", Seq: 1}), ErrNotFound},
		{"ack invalid", db.OutboxAck("", 1), ErrInvalid},
		{"ack missing queue", db.OutboxAck("nobody", 1), nil},
	}
	for _, e := range errs {
		wantErr(t, e.name, e.err, e.want)
	}
}

func TestOutboxPayloadIsCopied(t *testing.T) {
	db := openTestDB(t)
	p := []byte("hello")
	if _, err := db.Enqueue("q", p); err != nil {
		t.Fatal(err)
	}
	p[0] = 'J'
	items, err := db.OutboxPeek("q", 1)
	if err != nil || string(items[0].Payload) != "hello" {
		t.Fatalf("payload = %q, %v", items[0].Payload, err)
	}
	items[0].Payload[0] = 'Y'
	again, _ := db.OutboxPeek("q", 1)
	if string(again[0].Payload) != "hello" {
		t.Errorf("payload changed through a returned slice: %q", again[0].Payload)
	}
}

func TestEnqueueAllKeepsOrder(t *testing.T) {
	db := openTestDB(t)
	if _, err := db.Enqueue("q", []byte("first")); err != nil {
		t.Fatal(err)
	}
	seqs, err := db.EnqueueAll("q", []byte("a"), []byte("b"), []byte("c"))
	if err != nil {
		t.Fatal(err)
	}
	if len(seqs) != 3 || seqs[0] != 2 || seqs[2] != 4 {
		t.Fatalf("seqs %v", seqs)
	}
	items, err := db.OutboxPeek("q", 0)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, it := range items {
		got = append(got, string(it.Payload))
	}
	if strings.Join(got, ",") != "first,a,b,c" {
		t.Fatalf("order %v", got)
	}
	if n, _ := db.OutboxLen(); n != 4 {
		t.Fatalf("len %d", n)
	}
	if _, err := db.EnqueueAll("q"); !errors.Is(err, ErrInvalid) {
		t.Fatalf("empty EnqueueAll: %v", err)
	}
}

func TestOutboxDone(t *testing.T) {
	db := openTestDB(t)
	seq, err := db.Enqueue("q", []byte("m"))
	if err != nil {
		t.Fatal(err)
	}
	ref := MessageRef{Scope: "s", XMPPID: "x1", RemoteID: "r1"}
	if err := db.OutboxDone("q", seq, ref); err != nil {
		t.Fatal(err)
	}
	if n, _ := db.OutboxLen(); n != 0 {
		t.Fatalf("len %d", n)
	}
	if r, err := db.RemoteMessageID("s", "x1"); err != nil || r != "r1" {
		t.Fatalf("ref %q %v", r, err)
	}
	// Done twice is harmless; bad refs are refused before anything changes.
	if err := db.OutboxDone("q", seq); err != nil {
		t.Fatal(err)
	}
	seq2, _ := db.Enqueue("q", []byte("m2"))
	if err := db.OutboxDone("q", seq2, MessageRef{Scope: "", XMPPID: "x", RemoteID: "r"}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("bad ref: %v", err)
	}
	if n, _ := db.OutboxLen(); n != 1 {
		t.Fatalf("item removed despite a bad ref: len %d", n)
	}
}

func TestOutboxPeekAfter(t *testing.T) {
	db := openTestDB(t)
	for i := range 5 {
		if _, err := db.Enqueue("q", []byte(fmt.Sprint("m", i+1))); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.Enqueue("q|longer", []byte("other")); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		after uint64
		max   int
		want  string
	}{
		{0, 0, "1 2 3 4 5 "},
		{2, 0, "3 4 5 "},
		{2, 2, "3 4 "},
		{5, 0, ""},
		{99, 0, ""},
		{^uint64(0), 0, ""},
	}
	for _, tc := range tests {
		items, err := db.OutboxPeekAfter("q", tc.after, tc.max)
		if err != nil {
			t.Fatal(err)
		}
		got := ""
		for _, it := range items {
			got += fmt.Sprint(it.Seq, " ")
		}
		if got != tc.want {
			t.Errorf("OutboxPeekAfter(q, %d, %d) = %q, want %q", tc.after, tc.max, got, tc.want)
		}
	}
}

// OutboxDoneAll removes several items of a queue and records their refs in
// one transaction; seqs already gone are ignored, and a bad ref changes
// nothing.
func TestOutboxDoneAll(t *testing.T) {
	db := openTestDB(t)
	for i := range 4 {
		if _, err := db.Enqueue("q", []byte(fmt.Sprint("m", i+1))); err != nil {
			t.Fatal(err)
		}
	}
	ref := func(x, r string) MessageRef { return MessageRef{Scope: "s", XMPPID: x, RemoteID: r} }
	if err := db.OutboxDoneAll("q", OutboxCompletion{Seq: 1, Refs: []MessageRef{ref("x1", "r1")}}, OutboxCompletion{Seq: 3}, OutboxCompletion{Seq: 99, Refs: []MessageRef{ref("x9", "r9")}}); err != nil {
		t.Fatal(err)
	}
	items, _ := db.OutboxPeek("q", 0)
	if len(items) != 2 || items[0].Seq != 2 || items[1].Seq != 4 {
		t.Fatalf("left %+v", items)
	}
	if n, _ := db.OutboxLen(); n != 2 {
		t.Errorf("OutboxLen %d, want 2", n)
	}
	for x, want := range map[string]string{"x1": "r1", "x9": "r9"} {
		if r, err := db.RemoteMessageID("s", x); err != nil || r != want {
			t.Errorf("ref of %s: %q %v", x, r, err)
		}
	}
	if err := db.OutboxDoneAll("q"); err != nil {
		t.Errorf("OutboxDoneAll with nothing: %v", err)
	}
	err := db.OutboxDoneAll("q", OutboxCompletion{Seq: 2}, OutboxCompletion{Seq: 4, Refs: []MessageRef{{Scope: "", XMPPID: "x", RemoteID: "r"}}})
	if !errors.Is(err, ErrInvalid) {
		t.Fatalf("bad ref: %v", err)
	}
	if n, _ := db.OutboxLen(); n != 2 {
		t.Errorf("items removed despite a bad ref: len %d", n)
	}
}

// OutboxDoneQueues records the completions of several queues in one
// commit; a bad queue name or ref fails the call with nothing written.
func TestOutboxDoneQueues(t *testing.T) {
	db := openTestDB(t)
	for _, q := range []string{"a", "b"} {
		for i := range 2 {
			if _, err := db.Enqueue(q, []byte(fmt.Sprint(q, i))); err != nil {
				t.Fatal(err)
			}
		}
	}
	ref := func(x, r string) MessageRef { return MessageRef{Scope: "s", XMPPID: x, RemoteID: r} }
	st0, _ := db.Stats()
	err := db.OutboxDoneQueues(
		QueueCompletions{Queue: "a", Done: []OutboxCompletion{{Seq: 1, Refs: []MessageRef{ref("xa", "ra")}}}},
		QueueCompletions{Queue: "b", Done: []OutboxCompletion{{Seq: 1, Refs: []MessageRef{ref("xb", "rb")}}, {Seq: 2}}},
		QueueCompletions{Queue: "c"},
	)
	if err != nil {
		t.Fatal(err)
	}
	if st1, _ := db.Stats(); st1.Commits-st0.Commits != 1 {
		t.Errorf("%d commits for three queues, want 1", st1.Commits-st0.Commits)
	}
	for q, want := range map[string]int{"a": 1, "b": 0} {
		if items, _ := db.OutboxPeek(q, 0); len(items) != want {
			t.Errorf("queue %s holds %d items, want %d", q, len(items), want)
		}
	}
	if n, _ := db.OutboxLen(); n != 1 {
		t.Errorf("OutboxLen %d, want 1", n)
	}
	for x, want := range map[string]string{"xa": "ra", "xb": "rb"} {
		if r, err := db.RemoteMessageID("s", x); err != nil || r != want {
			t.Errorf("ref of %s: %q %v", x, r, err)
		}
	}
	for _, bad := range [][]QueueCompletions{
		{{Queue: "a", Done: []OutboxCompletion{{Seq: 2}}}, {Queue: "", Done: []OutboxCompletion{{Seq: 1}}}},
		{{Queue: "a", Done: []OutboxCompletion{{Seq: 2}}}, {Queue: "b", Done: []OutboxCompletion{{Seq: 9, Refs: []MessageRef{{XMPPID: "x", RemoteID: "r"}}}}}},
	} {
		if err := db.OutboxDoneQueues(bad...); !errors.Is(err, ErrInvalid) {
			t.Errorf("bad call: %v", err)
		}
		if n, _ := db.OutboxLen(); n != 1 {
			t.Errorf("items removed by a failed call: len %d", n)
		}
	}
}
