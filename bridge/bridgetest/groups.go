package bridgetest

import (
	"context"
	"fmt"
	"slices"

	"github.com/xgate-im/xgate/bridge"
)

// Group chats of the fake network. The session implements the group
// interfaces at all times; a gateway uses them only when the transport
// declares Groups (set Caps).

var (
	_ bridge.GroupLister    = (*session)(nil)
	_ bridge.GroupMembers   = (*session)(nil)
	_ bridge.HistoryFetcher = (*session)(nil)
)

// groupData is the state of the fake's group chats, under Transport.mu.
type groupData struct {
	groups  map[bridge.AccountID][]bridge.GroupInfo
	members map[bridge.ChatID][]bridge.GroupMember
	history map[bridge.ChatID][]bridge.MessageEvent
}

func (t *Transport) groupsLocked() *groupData {
	if t.gd == nil {
		t.gd = &groupData{
			groups:  map[bridge.AccountID][]bridge.GroupInfo{},
			members: map[bridge.ChatID][]bridge.GroupMember{},
			history: map[bridge.ChatID][]bridge.MessageEvent{},
		}
	}
	return t.gd
}

// SetGroups sets the groups an account is in (what Groups returns).
func (t *Transport) SetGroups(acct bridge.AccountID, gs ...bridge.GroupInfo) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.groupsLocked().groups[acct] = gs
}

// SetMembers sets the members of a group (what Members returns).
func (t *Transport) SetMembers(chat bridge.ChatID, ms ...bridge.GroupMember) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.groupsLocked().members[chat] = ms
}

// SetHistory sets the past messages of a chat, oldest first (what History
// pages through).
func (t *Transport) SetHistory(chat bridge.ChatID, evs ...bridge.MessageEvent) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.groupsLocked().history[chat] = evs
}

func (s *session) Groups(context.Context) ([]bridge.GroupInfo, error) {
	s.t.mu.Lock()
	defer s.t.mu.Unlock()
	return slices.Clone(s.t.groupsLocked().groups[s.id]), nil
}

func (s *session) Members(_ context.Context, chat bridge.ChatID) ([]bridge.GroupMember, error) {
	if s.t.BeforeMembers != nil {
		s.t.BeforeMembers(chat)
	}
	s.t.mu.Lock()
	defer s.t.mu.Unlock()
	ms, ok := s.t.groupsLocked().members[chat]
	if !ok {
		return nil, fmt.Errorf("group %s: %w", chat, bridge.ErrNotFound)
	}
	return slices.Clone(ms), nil
}

// History returns up to limit messages older than before, oldest first,
// marked Historical.
func (s *session) History(_ context.Context, chat bridge.ChatRef, before bridge.MessageID, limit int) ([]bridge.MessageEvent, error) {
	s.t.mu.Lock()
	defer s.t.mu.Unlock()
	all := s.t.groupsLocked().history[chat.ID]
	end := len(all)
	if before != "" {
		end = slices.IndexFunc(all, func(ev bridge.MessageEvent) bool { return ev.ID == before })
		if end < 0 {
			return nil, fmt.Errorf("message %s: %w", before, bridge.ErrNotFound)
		}
	}
	out := slices.Clone(all[max(0, end-limit):end])
	for i := range out {
		out[i].Historical = true
	}
	return out, nil
}
