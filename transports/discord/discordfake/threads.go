package discordfake

import (
	"net/http"
	"slices"
)

// Thread membership: PUT and DELETE /channels/{id}/thread-members/@me add
// the caller to a thread's members and take them out (204 both, also when
// nothing changes). Only threads have members (50024 otherwise); a private
// thread is joined only by those in it already (50001), as without Manage
// Threads on Discord. Starting a thread makes its owner its first member.
// No THREAD_MEMBER(S)_UPDATE is dispatched.

// threadFor resolves the thread of a thread-members route.
func (s *Server) threadFor(c *call) (*channel, int, any) {
	t, st, e := s.channelFor(c)
	if t == nil {
		return nil, st, e
	}
	if !t.kind.isThread() {
		st, e := apiErr(http.StatusBadRequest, codeWrongChannelType, "Cannot execute action on this channel type")
		return nil, st, e
	}
	return t, 0, nil
}

func restJoinThread(s *Server, c *call) (int, any) {
	t, st, e := s.threadFor(c)
	if t == nil {
		return st, e
	}
	in := slices.Contains(t.threadMembers, c.me.id)
	if !in && t.kind == PrivateThread {
		return apiErr(http.StatusForbidden, codeMissingAccess, "Missing Access")
	}
	if !in {
		t.threadMembers = append(t.threadMembers, c.me.id)
	}
	return http.StatusNoContent, nil
}

func restLeaveThread(s *Server, c *call) (int, any) {
	t, st, e := s.threadFor(c)
	if t == nil {
		return st, e
	}
	t.threadMembers = slices.DeleteFunc(t.threadMembers, func(u string) bool { return u == c.me.id })
	return http.StatusNoContent, nil
}
