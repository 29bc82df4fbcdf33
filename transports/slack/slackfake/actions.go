package slackfake

import (
	"encoding/json"
	"fmt"
	"slices"
)

// The methods below act as Slack users would in a Slack client. Each
// changes state and sends the app the events Slack would send. They panic on
// unknown IDs and on actions Slack would not allow (posting where the user
// is not a member), since those are mistakes in the calling test or demo.

// PostOption adjusts a message posted with Post.
type PostOption func(*postConfig)

type postConfig struct {
	threadTS  string
	broadcast bool
	blocks    json.RawMessage
}

// WithThread posts the message as a reply in the thread of ts (a reply's ts
// is taken as its thread's).
func WithThread(ts string) PostOption { return func(p *postConfig) { p.threadTS = ts } }

// WithBroadcast also shows a thread reply in the channel (subtype
// thread_broadcast). It needs WithThread.
func WithBroadcast() PostOption { return func(p *postConfig) { p.broadcast = true } }

// WithBlocks attaches Block Kit blocks (a JSON array) to the message.
func WithBlocks(blocks json.RawMessage) PostOption {
	return func(p *postConfig) { p.blocks = slices.Clone(blocks) }
}

// Post posts a message as a user and returns its ts.
func (s *Server) Post(userID, channelID, text string, opts ...PostOption) string {
	var pc postConfig
	for _, o := range opts {
		o(&pc)
	}
	if pc.blocks != nil && !json.Valid(pc.blocks) {
		panic("slackfake: Post: blocks are not valid JSON")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cv, u := s.mustMember("Post", userID, channelID)
	m := &message{user: u.id, text: text, blocks: pc.blocks, clientMsgID: s.ids.uuid("client_msg")}
	if pc.threadTS != "" {
		parent := cv.threadParent(pc.threadTS)
		if parent == nil {
			panic(fmt.Sprintf("slackfake: Post: no message %s in %s", pc.threadTS, channelID))
		}
		m.threadTS = parent.ts
		if pc.broadcast {
			m.subtype = "thread_broadcast"
		}
	}
	s.postLocked(cv, m)
	s.notifyLocked()
	return m.ts
}

// Edit changes the text of a message as a user (message_changed).
func (s *Server) Edit(userID, channelID, ts, text string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cv, u := s.mustMember("Edit", userID, channelID)
	m := s.mustMessage("Edit", cv, ts)
	s.editLocked(cv, m, u.id, func(m *message) { m.text = text })
	s.notifyLocked()
}

// Delete deletes a message as a user (message_deleted).
func (s *Server) Delete(userID, channelID, ts string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cv, _ := s.mustMember("Delete", userID, channelID)
	s.deleteLocked(cv, s.mustMessage("Delete", cv, ts))
	s.notifyLocked()
}

// React adds a reaction as a user (reaction_added); a repeat does nothing.
func (s *Server) React(userID, channelID, ts, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cv, u := s.mustMember("React", userID, channelID)
	s.reactLocked(cv, s.mustMessage("React", cv, ts), u.id, name)
	s.notifyLocked()
}

// Unreact removes a user's reaction (reaction_removed); without one it does
// nothing.
func (s *Server) Unreact(userID, channelID, ts, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cv, u := s.mustMember("Unreact", userID, channelID)
	s.unreactLocked(cv, s.mustMessage("Unreact", cv, ts), u.id, name)
	s.notifyLocked()
}

// Join adds a user to a channel: a channel_join message and a
// member_joined_channel event. Joining twice does nothing.
func (s *Server) Join(userID, channelID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cv := s.mustConv("Join", channelID)
	if u := s.mustUser("Join", userID); u.teamID != cv.teamID {
		panic(fmt.Sprintf("slackfake: Join: user %s is not in team %s", userID, cv.teamID))
	}
	s.joinLocked(cv, userID)
	s.notifyLocked()
}

// UserJoinTeam creates a user like CreateUser and announces it (team_join).
func (s *Server) UserJoinTeam(teamID string, spec UserSpec) User {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.createUserLocked("UserJoinTeam", teamID, spec)
	s.emitUserLocked(u, "team_join")
	s.notifyLocked()
	return s.userSnapshotLocked(u)
}

// CreateChannelAs creates a channel as a user, who becomes its first member
// and creator, with the other members joined: channel_created (public
// channels only) and member_joined_channel for each member.
func (s *Server) CreateChannelAs(creatorID, name string, private bool, memberIDs ...string) Channel {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.mustUser("CreateChannelAs", creatorID)
	kind := PublicChannel
	if private {
		kind = PrivateChannel
	}
	cv := s.createConvLocked("CreateChannelAs", u.teamID, kind, name, []string{creatorID})
	if kind == PublicChannel {
		s.emitChannelCreatedLocked(cv)
	}
	s.emitMemberJoinedLocked(cv, creatorID, "")
	for _, id := range memberIDs {
		if s.mustUser("CreateChannelAs", id).teamID != u.teamID {
			panic(fmt.Sprintf("slackfake: CreateChannelAs: user %s is not in team %s", id, u.teamID))
		}
		if cv.addMember(id) {
			s.emitMemberJoinedLocked(cv, id, creatorID)
		}
	}
	s.notifyLocked()
	return channelSnapshot(cv)
}

// SetPresence sets a user's presence: "active", "auto" (same as active) or
// "away". Slack sends presence only over RTM, so no event is sent; the app
// sees the change through users.getPresence.
func (s *Server) SetPresence(userID, presence string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.mustUser("SetPresence", userID)
	switch presence {
	case "active", "auto":
		u.away = false
	case "away":
		u.away = true
	default:
		panic(fmt.Sprintf("slackfake: SetPresence: bad presence %q", presence))
	}
	s.notifyLocked()
}

// SetStatus sets a user's status text and emoji (user_change).
func (s *Server) SetStatus(userID, text, emoji string) {
	s.UpdateProfile(userID, func(p *Profile) {
		p.StatusText, p.StatusEmoji, p.StatusExpiration = text, emoji, 0
	})
}

// UpdateProfile changes a user's profile with fn (user_change).
func (s *Server) UpdateProfile(userID string, fn func(*Profile)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.mustUser("UpdateProfile", userID)
	p := u.profile
	fn(&p)
	s.setProfileLocked(u, p)
	s.notifyLocked()
}

// DeactivateUser deactivates a user (user_change with deleted true); their
// tokens answer account_inactive from then on.
func (s *Server) DeactivateUser(userID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.mustUser("DeactivateUser", userID)
	u.deleted = true
	s.forgetInstallationsLocked()
	u.updated = s.clock.unix()
	s.emitUserLocked(u, "user_change")
	s.notifyLocked()
}

// mustMember resolves a conversation and a user who is a member of it.
func (s *Server) mustMember(op, userID, channelID string) (*conv, *user) {
	cv := s.mustConv(op, channelID)
	u := s.mustUser(op, userID)
	if !cv.isMember(u.id) {
		panic(fmt.Sprintf("slackfake: %s: user %s is not a member of %s", op, userID, channelID))
	}
	return cv, u
}
