package sms

import (
	"encoding/json"
	"errors"
	"time"

	"github.com/xgate-im/xgate/bridge"
	"github.com/xgate-im/xgate/transports/sms/provider"
)

// records is the durable store the transport keeps its state in: the
// gateway's (bridge.Host), once it is given (UseHost).
type records interface {
	Put(key string, value []byte) error
	Get(key string) ([]byte, error)
	Delete(key string) error
	List(prefix string) (map[string][]byte, error)
}

var _ records = (*bridge.Host)(nil)

// Record keys of sent texts: the text under its first part's ID, and
// each part's ID pointing at it.
const (
	textPrefix = "dlr/"
	partPrefix = "dlp/"
)

// storedText is a sentText as stored.
type storedText struct {
	Acct    bridge.AccountID                       `json:"a"`
	Chat    bridge.ChatRef                         `json:"c"`
	ID      bridge.MessageID                       `json:"i"`
	Parts   map[provider.MessageID]provider.Status `json:"p"`
	Failure string                                 `json:"f,omitempty"`
	At      time.Time                              `json:"t"`
}

// firstPart is the part a text is stored under: its bridge ID's.
func firstPart(st *sentText) provider.MessageID { return provider.MessageID(st.id) }

// storeLocked stores a text (and, when it is new, its parts' keys).
func (t *tracker) storeLocked(st *sentText, isNew bool) {
	if t.rec == nil {
		return
	}
	b, err := json.Marshal(storedText{Acct: st.acct, Chat: st.chat, ID: st.id, Parts: st.parts, Failure: st.failure, At: st.at})
	if err == nil {
		err = t.rec.Put(textPrefix+string(firstPart(st)), b)
	}
	if isNew {
		for p := range st.parts {
			if err != nil {
				break
			}
			if p != firstPart(st) {
				err = t.rec.Put(partPrefix+string(p), []byte(firstPart(st)))
			}
		}
	}
	if err != nil {
		t.log.Error("storing a sent text for its delivery reports", "id", string(st.id), "err", err)
	}
}

// loadLocked reads the text a part belongs to from the store (after a
// restart) and tracks it again; nil when none is stored.
func (t *tracker) loadLocked(id provider.MessageID) *sentText {
	if t.rec == nil {
		return nil
	}
	first := id
	if v, err := t.rec.Get(partPrefix + string(id)); err == nil {
		first = provider.MessageID(v)
	}
	b, err := t.rec.Get(textPrefix + string(first))
	if err != nil {
		if !errors.Is(err, bridge.ErrNoRecord) {
			t.log.Error("reading a sent text", "id", string(id), "err", err)
		}
		return nil
	}
	var s storedText
	if err := json.Unmarshal(b, &s); err != nil {
		t.log.Error("a sent text's record does not read", "id", string(id), "err", err)
		return nil
	}
	if _, ok := s.Parts[id]; !ok {
		return nil
	}
	st := &sentText{acct: s.Acct, chat: s.Chat, id: s.ID, parts: s.Parts, failure: s.Failure, at: s.At}
	for p := range st.parts {
		t.byID[p] = st
	}
	return st
}

// forgetLocked removes a text's records.
func (t *tracker) forgetLocked(st sentText) {
	if t.rec == nil {
		return
	}
	for p := range st.parts {
		key := partPrefix + string(p)
		if p == firstPart(&st) {
			key = textPrefix + string(p)
		}
		if err := t.rec.Delete(key); err != nil {
			t.log.Warn("removing a reported text's record", "id", string(st.id), "err", err)
		}
	}
}

// pruneStored removes the records of texts older than trackedKeep (their
// reports never came).
func (t *tracker) pruneStored() {
	if t.rec == nil {
		return
	}
	all, err := t.rec.List(textPrefix)
	if err != nil {
		t.log.Error("listing sent texts", "err", err)
		return
	}
	cut := t.now().Add(-trackedKeep)
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, b := range all {
		var s storedText
		if json.Unmarshal(b, &s) != nil || s.At.After(cut) {
			continue
		}
		t.forgetLocked(sentText{id: s.ID, parts: s.Parts})
	}
}
