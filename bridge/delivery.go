package bridge

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/xgate-im/xgate/store"
	"github.com/xgate-im/xgate/xmpp"
	"github.com/xgate-im/xgate/xmpp/jid"
)

// Delivery reports (Capabilities.DeliveryReports).
//
// A transport that reports what became of a message after the network
// accepted it (an SMS delivery report) declares DeliveryReports. The bridge
// then remembers, for each message the user sent through it, who sent it
// (the full JID of the client) and whether a XEP-0184 receipt was asked
// for, in the KV namespace sentNS, stored before the message's ID pair so
// that an early report finds it:
//
//   - the receipt is sent when the network reports Delivered, not when it
//     accepted the message;
//   - a late failure is an error on the message addressed to the client
//     that sent it: host servers drop message errors sent to a bare JID
//     (RFC 6121 §8.5.2.1.1), so the user would never see one.
//
// The record is removed when a final state (Delivered, Failed) arrives,
// and records older than the message retention are pruned. Without the
// capability the bridge sends the receipt when Send returns, and a
// DeliveryEvent becomes a stanza to the user's bare JID.

// sentNS is the KV namespace of the sent-message records.
const sentNS = "sent"

// sentRecord is what the bridge remembers of a message the user sent to a
// network that reports delivery.
type sentRecord struct {
	User    string    `json:"u"` // full JID of the sender
	XMPPID  string    `json:"x"` // the stanza's id
	Receipt bool      `json:"r,omitempty"`
	At      time.Time `json:"t"`
}

// sentLog stores the sent-message records.
type sentLog struct{ db *store.DB }

func sentKey(scope string, remote MessageID) string { return scope + chatKeySep + string(remote) }

// put remembers the sender of a message sent as remote in scope.
func (l *sentLog) put(scope string, remote MessageID, ri toNetworkItem) error {
	if l == nil || remote == "" || ri.ID == "" {
		return nil
	}
	b, err := json.Marshal(sentRecord{User: ri.User, XMPPID: ri.ID, Receipt: ri.Receipt, At: time.Now().UTC()})
	if err != nil {
		return err
	}
	return l.db.KVPut(sentNS, sentKey(scope, remote), b)
}

// get returns the record of a message, if there is one.
func (l *sentLog) get(scope string, remote MessageID) (sentRecord, bool) {
	var r sentRecord
	if l == nil || remote == "" {
		return r, false
	}
	b, err := l.db.KVGet(sentNS, sentKey(scope, remote))
	if err != nil || json.Unmarshal(b, &r) != nil {
		return sentRecord{}, false
	}
	return r, true
}

// drop forgets the record of a message.
func (l *sentLog) drop(scope string, remote MessageID) error {
	err := l.db.KVDelete(sentNS, sentKey(scope, remote))
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	return err
}

// prune removes the records of gateway older than before; it returns how
// many it removed.
func (l *sentLog) prune(gateway string, before time.Time) (int, error) {
	all, err := l.db.KVList(sentNS, gateway+"|")
	if err != nil {
		return 0, err
	}
	n := 0
	for k, v := range all {
		var r sentRecord
		if json.Unmarshal(v, &r) == nil && !r.At.Before(before) {
			continue
		}
		if err := l.db.KVDelete(sentNS, k); err != nil && !errors.Is(err, store.ErrNotFound) {
			return n, err
		}
		n++
	}
	return n, nil
}

// noteSent records a message the network accepted, when the transport
// reports delivery. It reports whether the receipt waits for the report.
func (q *toNetwork) noteSent(key chatKey, ri toNetworkItem, refs []store.MessageRef) bool {
	if !q.caps.DeliveryReports || ri.Kind != kindMessage || len(refs) == 0 {
		return false
	}
	if err := q.sent.put(key.scope(q.name), MessageID(refs[0].RemoteID), ri); err != nil {
		q.log.Error("recording a sent message for its delivery report", "err", err)
		return false
	}
	return true
}

// onDelivery passes a delivery state on to the user. See the comment at
// the top of this file.
func (f *fromNetwork) onDelivery(ctx context.Context, acc *account, ev DeliveryEvent) error {
	c, key, err := f.chatPeer(ctx, acc, ev.Chat, "")
	if err != nil {
		return f.unmapped(acc, "delivery", err)
	}
	if !f.info.Capabilities.DeliveryReports {
		return f.out.sendConfirmed(ctx, deliveryStanza(c, ev))
	}
	scope := key.scope(f.name)
	c.TargetID(ev.ID) // waits for a send in flight to store its records
	rec, ok := f.sent.get(scope, ev.ID)
	if !ok {
		if ev.State == Delivered {
			// Nothing says a receipt was asked for: none is sent.
			return nil
		}
		return f.out.sendConfirmed(ctx, deliveryStanza(c, ev))
	}
	if to, err := jid.Parse(rec.User); err == nil && ev.State != Read {
		c.To = to
	}
	var m *xmpp.Message
	if ev.State != Delivered || rec.Receipt {
		m = deliveryStanza(c, ev)
	}
	if m != nil {
		if err := f.out.sendConfirmed(ctx, m); err != nil {
			return err
		}
	}
	if ev.State == Delivered || ev.State == Failed {
		if err := f.sent.drop(scope, ev.ID); err != nil {
			acc.log.Warn("forgetting a reported message", "err", err)
		}
	}
	return nil
}
