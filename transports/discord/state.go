package discord

import (
	"fmt"
	"strings"
	"sync"
)

// Durable state. What the transport must remember across a restart of
// xgate is kept in a State (the store's key-value namespace of the
// instance, wired by cmd/xgate): which XMPP account gets what a person
// writes to the bot ("route/PERSON" → account ID), the person of each of
// the bot's DM channels ("dm/CHANNEL" → user ID), which XMPP account a
// Discord user is linked to ("link/USER" → the link's secret, also in the
// account's settings), and each account's newest message delivered per
// channel ("cursor/ACCOUNT/CHANNEL" → message ID), from which catch-up
// reads after a restart or a new Gateway session.

// State is a small durable key-value store. Get reports ok false for a
// missing key; List returns the keys under a prefix with their values.
// Implementations are safe for concurrent use.
type State interface {
	Get(key string) (value string, ok bool, err error)
	Put(key, value string) error
	Delete(key string) error
	List(prefix string) (map[string]string, error)
}

// UseState makes the transport keep its durable state in st. Call it
// before Run and the first Login; without it the state lives in memory
// and is lost with the process.
func (t *Transport) UseState(st State) { t.state = st }

// MemoryState is a State in memory: for tests, and the default.
type MemoryState struct {
	mu sync.Mutex
	m  map[string]string
}

var _ State = (*MemoryState)(nil)

// Get implements State.
func (m *MemoryState) Get(key string) (string, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	v, ok := m.m[key]
	return v, ok, nil
}

// Put implements State.
func (m *MemoryState) Put(key, value string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.m == nil {
		m.m = map[string]string{}
	}
	m.m[key] = value
	return nil
}

// Delete implements State.
func (m *MemoryState) Delete(key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.m, key)
	return nil
}

// List implements State.
func (m *MemoryState) List(prefix string) (map[string]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := map[string]string{}
	for k, v := range m.m {
		if strings.HasPrefix(k, prefix) {
			out[k] = v
		}
	}
	return out, nil
}

// Keys of the state.
func routeKey(peer string) string           { return "route/" + peer }
func dmKey(channel string) string           { return "dm/" + channel }
func linkKey(user string) string            { return "link/" + user }
func cursorPrefix(acct string) string       { return "cursor/" + acct + "/" }
func cursorKey(acct, channel string) string { return cursorPrefix(acct) + channel }
func stateErr(op, key string, err error) error {
	return fmt.Errorf("discord: state %s %s: %w", op, key, err)
}

// remember writes a value, logging a failure: the state is a memory for
// later, and what happens now goes on without it.
func (t *Transport) remember(key, value string) {
	if err := t.state.Put(key, value); err != nil {
		t.log.Error("could not save Discord state; it may be lost at a restart", "err", stateErr("put", key, err))
	}
}

// recall reads a value; a failure reads as absent, and is logged.
func (t *Transport) recall(key string) (string, bool) {
	v, ok, err := t.state.Get(key)
	if err != nil {
		t.log.Error("could not read Discord state", "err", stateErr("get", key, err))
		return "", false
	}
	return v, ok
}
