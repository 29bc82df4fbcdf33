package sms

import (
	"log/slog"
	"sync"
	"time"

	"github.com/xgate-im/xgate/bridge"
	"github.com/xgate-im/xgate/transports/sms/provider"
)

// Bounds of what the tracker remembers.
const (
	// ReportWait is how long a delivery report for an ID Send has not
	// returned yet is kept (Kannel can report before sendsms answers).
	ReportWait     = 10 * time.Minute
	trackedMax     = 100000
	trackedKeep    = 7 * 24 * time.Hour
	earlyReportMax = 10000
)

// sentText is one message the user sent, possibly as several provider
// messages (parts).
type sentText struct {
	acct  bridge.AccountID
	chat  bridge.ChatRef
	id    bridge.MessageID // the ID the bridge knows
	parts map[provider.MessageID]provider.Status
	// failure is why a part failed ("" while none did).
	failure string
	// passed: the final state reached the bridge.
	passed bool
	at     time.Time
}

// outcome is what a report changed: a final state to pass on.
type outcome struct {
	text   sentText
	state  bridge.DeliveryState
	reason string
	// newFailure: this report is the one that failed the text.
	newFailure bool
}

// tracker maps provider message IDs to the texts they belong to, and
// folds the parts' statuses into one final state. Safe for concurrent use.
//
// With a record store (the gateway's, bridge.Host) every text it tracks
// is also stored, until its final state reached the bridge: a report that
// arrives after a restart still finds its text (records.go).
type tracker struct {
	mu    sync.Mutex
	byID  map[provider.MessageID]*sentText
	early map[provider.MessageID][]provider.DeliveryReport
	now   func() time.Time
	rec   records // nil: memory only
	log   *slog.Logger
}

func newTracker() *tracker {
	return &tracker{byID: map[provider.MessageID]*sentText{}, early: map[provider.MessageID][]provider.DeliveryReport{}, now: time.Now,
		log: slog.New(slog.DiscardHandler)}
}

// sent records a text's parts and applies the reports that came early.
func (t *tracker) sent(acct bridge.AccountID, chat bridge.ChatRef, id bridge.MessageID, parts []provider.MessageID) []outcome {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.pruneLocked()
	st := &sentText{acct: acct, chat: chat, id: id, parts: map[provider.MessageID]provider.Status{}, at: t.now()}
	for _, p := range parts {
		st.parts[p] = provider.StatusAccepted
		t.byID[p] = st
	}
	t.storeLocked(st, true)
	var last *outcome
	for _, p := range parts {
		for _, r := range t.early[p] {
			if o, ok := t.applyLocked(st, r); ok {
				last = &o
			}
		}
		delete(t.early, p)
	}
	if last == nil {
		return nil
	}
	return []outcome{*last}
}

// report applies a delivery report if owns accepts the text's account.
// known is false when no text has the ID yet: the report is kept for
// ReportWait.
func (t *tracker) report(r provider.DeliveryReport, owns func(bridge.AccountID) bool) (o outcome, changed, known bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	st := t.byID[r.ID]
	if st == nil {
		st = t.loadLocked(r.ID)
	}
	if st != nil && !owns(st.acct) {
		return outcome{text: sentText{acct: st.acct}}, false, true
	}
	if st == nil {
		if len(t.early) < earlyReportMax {
			r.At = t.now() // kept from now on, whatever the service's clock says
			t.early[r.ID] = append(t.early[r.ID], r)
		}
		return outcome{}, false, false
	}
	before := st.parts[r.ID]
	o, changed = t.applyLocked(st, r)
	if now := st.parts[r.ID]; now != before && now.Final() && !changed {
		// A part is done and the text is not: what a later report of
		// another part needs. (Intermediate statuses are not stored; a
		// text done is passed on, and its records removed.)
		t.storeLocked(st, false)
	}
	return o, changed, true
}

// applyLocked moves one part forward (never back from a final status) and
// returns the text's final state while it is known and not yet passed on
// to the bridge: failed as soon as one part failed, delivered once every
// part was. A report repeated after a failed hand-over yields it again.
func (t *tracker) applyLocked(st *sentText, r provider.DeliveryReport) (outcome, bool) {
	cur, ok := st.parts[r.ID]
	if !ok {
		return outcome{}, false
	}
	newFailure := false
	if !cur.Final() && r.Status != provider.StatusUnknown && (r.Status.Final() || r.Status > cur) {
		st.parts[r.ID] = r.Status
		if r.Status.Failed() && st.failure == "" {
			st.failure = failureText(r)
			newFailure = true
		}
	}
	if st.passed {
		return outcome{}, false
	}
	if st.failure != "" {
		return outcome{text: *st, state: bridge.Failed, reason: st.failure, newFailure: newFailure}, true
	}
	for _, s := range st.parts {
		if s != provider.StatusDelivered {
			return outcome{}, false
		}
	}
	return outcome{text: *st, state: bridge.Delivered}, true
}

// failureText says why a report failed, for the sender.
func failureText(r provider.DeliveryReport) string {
	reason := r.Status.String()
	if r.Err != nil {
		reason = reasonText(r.Err)
	}
	return "not delivered: " + reason
}

// passed records that a text's final state reached the bridge; its
// stored record is removed.
func (t *tracker) passed(o outcome) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for id := range o.text.parts {
		if st := t.byID[id]; st != nil {
			st.passed = true
		}
	}
	t.forgetLocked(o.text)
}

// pruneLocked forgets early reports older than ReportWait and, when too
// many texts are tracked, those older than trackedKeep.
func (t *tracker) pruneLocked() {
	now := t.now()
	for id, rs := range t.early {
		if len(rs) > 0 && now.Sub(rs[0].At) > ReportWait {
			delete(t.early, id)
		}
	}
	if len(t.byID) < trackedMax {
		return
	}
	for id, st := range t.byID {
		if st.passed || now.Sub(st.at) > trackedKeep {
			delete(t.byID, id)
		}
	}
}
