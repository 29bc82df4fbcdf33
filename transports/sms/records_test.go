package sms

import (
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/xgate-im/xgate/bridge"
	"github.com/xgate-im/xgate/store"
	"github.com/xgate-im/xgate/transports/sms/phone"
	"github.com/xgate-im/xgate/transports/sms/provider"
	"github.com/xgate-im/xgate/xmpp"
)

// hosted returns a Transport given its Host by a gateway (not run) on a
// store at path.
func hosted(t *testing.T, path string) *Transport {
	t.Helper()
	key, err := store.ParseKey([]byte(strings.Repeat("5a", 32)))
	if err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(path, store.Options{Key: key})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	tr, err := New(Config{DefaultRegion: "US", PublicURL: "http://127.0.0.1:1/sms", UserCredentials: true}, testLog(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bridge.New(bridge.Config{Name: "sms", Component: xmpp.ComponentConfig{Addr: "127.0.0.1:1", Domain: gwDomain, Secret: "s"},
		Webhooks: bridge.NewWebhooks()}, tr, db, nil); err != nil {
		t.Fatal(err)
	}
	return tr
}

// A text's parts are stored until its final state reached the bridge: a
// new tracker on the same store (a restart) folds later reports into it;
// then its records are gone. Records older than trackedKeep are pruned.
func TestTrackerStored(t *testing.T) {
	path := filepath.Join(t.TempDir(), "xgate.db")
	tr := hosted(t, path)
	chat := bridge.ChatRef{Kind: bridge.Direct, Peer: peerNumber}
	tr.reports.sent("+12025550111", chat, "p1", []provider.MessageID{"p1", "p2"})
	tr.reports.sent("+12025550111", chat, "old", []provider.MessageID{"old"})
	owns := func(bridge.AccountID) bool { return true }

	again := newTracker()
	again.rec = tr.host
	if _, changed, known := again.report(provider.DeliveryReport{ID: "p2", Status: provider.StatusDelivered}, owns); !known || changed {
		t.Fatalf("part 2 after a restart: known %v changed %v", known, changed)
	}
	restarted := newTracker() // the state of part 2 was stored too
	restarted.rec = tr.host
	o, changed, known := restarted.report(provider.DeliveryReport{ID: "p1", Status: provider.StatusDelivered}, owns)
	if !known || !changed || o.state != bridge.Delivered || o.text.id != "p1" || o.text.chat != chat || o.text.acct != "+12025550111" {
		t.Fatalf("part 1 after a restart: %+v %v %v", o, changed, known)
	}
	restarted.passed(o)
	left, err := tr.host.List("")
	if err != nil {
		t.Fatal(err)
	}
	if len(left) != 1 || left[textPrefix+"old"] == nil {
		t.Fatalf("records left %v, want only the other text's", left)
	}
	restarted.now = func() time.Time { return time.Now().Add(trackedKeep + time.Hour) }
	restarted.pruneStored()
	if left, _ := tr.host.List(""); len(left) != 0 {
		t.Fatalf("records left after pruning %v", left)
	}
}

// The admins hear about one unassigned number at most once per
// noticeEvery, and about at most noticeMax numbers in that time.
func TestNoticeDue(t *testing.T) {
	tr, err := New(Config{DefaultRegion: "US", PublicURL: "http://127.0.0.1:1/sms", UserCredentials: true}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !tr.noticeDue("+12025550100") || tr.noticeDue("+12025550100") {
		t.Fatal("the same number was noticed twice")
	}
	for i := 1; i < noticeMax; i++ {
		if !tr.noticeDue(phone.Number("+120255501" + string(rune('0'+i/10)) + string(rune('0'+i%10)))) {
			t.Fatalf("number %d not noticed", i)
		}
	}
	if tr.noticeDue("+12025550199") {
		t.Fatalf("more than %d numbers noticed", noticeMax)
	}
	tr.nmu.Lock()
	for n := range tr.noticed {
		tr.noticed[n] = time.Now().Add(-noticeEvery)
	}
	tr.nmu.Unlock()
	if !tr.noticeDue("+12025550100") {
		t.Fatal("not noticed again after noticeEvery")
	}
}

// BenchmarkTrackerStored is the tracker's cost per single-part text with
// the gateway's store (fsync on): the record stored at send, removed when
// the delivery report passed on.
func BenchmarkTrackerStored(b *testing.B) {
	key, err := store.ParseKey([]byte(strings.Repeat("5a", 32)))
	if err != nil {
		b.Fatal(err)
	}
	db, err := store.Open(filepath.Join(b.TempDir(), "xgate.db"), store.Options{Key: key})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	tr, err := New(Config{DefaultRegion: "US", PublicURL: "http://127.0.0.1:1/sms", UserCredentials: true}, nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := bridge.New(bridge.Config{Name: "sms", Component: xmpp.ComponentConfig{Addr: "127.0.0.1:1", Domain: gwDomain, Secret: "s"},
		Webhooks: bridge.NewWebhooks()}, tr, db, nil); err != nil {
		b.Fatal(err)
	}
	chat := bridge.ChatRef{Kind: bridge.Direct, Peer: peerNumber}
	owns := func(bridge.AccountID) bool { return true }
	b.ResetTimer()
	for i := range b.N {
		id := provider.MessageID("SM" + strconv.Itoa(i))
		tr.reports.sent("+12025550111", chat, bridge.MessageID(id), []provider.MessageID{id})
		o, changed, _ := tr.reports.report(provider.DeliveryReport{ID: id, Status: provider.StatusDelivered}, owns)
		if !changed {
			b.Fatal("not delivered")
		}
		tr.reports.passed(o)
	}
}

// Texts to an unassigned number are kept up to keptMax; beyond, they are
// counted and logged, not stored.
func TestKeptBounded(t *testing.T) {
	tr := hosted(t, filepath.Join(t.TempDir(), "xgate.db"))
	defer func(n int) { keptMax = n }(keptMax)
	keptMax = 2
	for i := range 3 {
		m := provider.Inbound{ID: provider.MessageID("SM" + strconv.Itoa(i)), From: peerNumber, To: "+12025550177", Body: "x"}
		if err := tr.keep(t.Context(), m); err != nil {
			t.Fatal(err)
		}
	}
	if n := tr.keptCount("+12025550177"); n != 2 {
		t.Fatalf("%d kept, want 2", n)
	}
	if s := tr.Stats(); s.Unassigned != 3 {
		t.Fatalf("stats %+v", s)
	}
}
