package bridge

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/xgate-im/xgate/xmpp"
	"github.com/xgate-im/xgate/xmpp/jid"
)

// recordingWriter is a component that is up and takes every stanza.
type recordingWriter struct {
	mu      sync.Mutex
	written [][]byte
}

func (w *recordingWriter) SendRaw(_ context.Context, b []byte) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.written = append(w.written, b)
	return nil
}
func (w *recordingWriter) TrySendRaw(b []byte) error       { return w.SendRaw(context.Background(), b) }
func (w *recordingWriter) Flush(ctx context.Context) error { return ctx.Err() }
func (w *recordingWriter) FlushLazy(ctx context.Context) error {
	return ctx.Err()
}
func (w *recordingWriter) State() xmpp.State { return xmpp.StateConnected }
func (w *recordingWriter) NewID() string     { return "id" }

// While stored stanzas wait to be flushed and the host server is up, an
// iq answer or a typing notification is sent, not dropped (and counted as
// dropped, which the metric's help says happens only when the component
// cannot take it); a durable stanza still waits behind the stored ones.
func TestEphemeralStanzasPassAStoredBacklog(t *testing.T) {
	db := openTestDB(t)
	w := &recordingWriter{}
	m := newMetrics()
	d := newToXMPP("fake", db, w, jid.MustParse("fake.example.org"), m, slog.New(slog.DiscardHandler))
	if _, err := db.Enqueue(d.queue, []byte("<message id='old'/>")); err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	iq := &xmpp.IQ{Header: xmpp.Header{ID: "q1", From: jid.MustParse("alice@example.org/a"), To: jid.MustParse("fake.example.org"), Type: xmpp.IQGet}}
	d.reply(ctx, iq, nil)
	if err := d.send(ctx, &xmpp.Message{Header: xmpp.Header{ID: "new"}, Body: "new"}); err != nil {
		t.Fatal(err)
	}
	if n := m.Snapshot().Dropped; n != 0 {
		t.Errorf("dropped %d with the host server up", n)
	}
	if len(w.written) != 1 || !strings.Contains(string(w.written[0]), "q1") {
		t.Fatalf("written %q, want the iq answer only", w.written)
	}
	if n, _ := db.OutboxCount(d.queue); n != 2 {
		t.Fatalf("stored %d, want the old and the new message", n)
	}
}
