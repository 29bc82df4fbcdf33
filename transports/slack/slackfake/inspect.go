package slackfake

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
)

// Message is a snapshot of a stored message.
type Message struct {
	Channel     string
	TS          string
	User        string // author; "" for bot posts with a custom username or icon
	BotID       string // set for posts by the app's bot
	Username    string // custom username (chat:write.customize)
	IconURL     string
	IconEmoji   string
	Subtype     string // "", "bot_message", "thread_broadcast", "channel_join", "file_share"
	Text        string
	ThreadTS    string // the thread's parent ts for replies ("" otherwise)
	Blocks      json.RawMessage
	Attachments json.RawMessage
	EditedBy    string
	EditedTS    string
	Reactions   []Reaction
	Files       []string // file IDs
	ClientMsgID string
}

// Reaction is one emoji on a message and who added it.
type Reaction struct {
	Name  string
	Users []string
}

// File is a snapshot of an uploaded file.
type File struct {
	ID       string
	TeamID   string
	User     string
	Name     string
	Title    string
	Mimetype string
	Channels []string
	Content  []byte
}

func messageSnapshot(cv *conv, m *message) Message {
	out := Message{
		Channel: cv.id, TS: m.ts, User: m.user, BotID: m.botID, Username: m.username,
		IconURL: m.iconURL, IconEmoji: m.iconEmoji, Subtype: m.subtype, Text: m.text,
		Blocks: slices.Clone(m.blocks), Attachments: slices.Clone(m.attachments),
		EditedBy: m.editedBy, EditedTS: m.editedTS, Files: slices.Clone(m.files), ClientMsgID: m.clientMsgID,
	}
	if m.threadTS != m.ts {
		out.ThreadTS = m.threadTS
	}
	for _, r := range m.reactions {
		out.Reactions = append(out.Reactions, Reaction{Name: r.name, Users: slices.Clone(r.users)})
	}
	return out
}

// Messages returns every message of a conversation, thread replies
// included, oldest first. It returns nil for an unknown conversation.
func (s *Server) Messages(channelID string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	cv := s.convs[channelID]
	if cv == nil {
		return nil
	}
	out := make([]Message, 0, len(cv.msgs))
	for _, m := range cv.msgs {
		out = append(out, messageSnapshot(cv, m))
	}
	return out
}

// WaitMessage waits until a message of the conversation satisfies match
// (messages already there count) and returns it. match runs without the
// server's lock held. It returns ctx's error, wrapped, if ctx ends first.
func (s *Server) WaitMessage(ctx context.Context, channelID string, match func(Message) bool) (Message, error) {
	var found Message
	err := s.WaitUntil(ctx, func() bool {
		for _, m := range s.Messages(channelID) {
			if match(m) {
				found = m
				return true
			}
		}
		return false
	})
	if err != nil {
		return Message{}, fmt.Errorf("slackfake: wait for message in %s: %w", channelID, err)
	}
	return found, nil
}

// WaitUntil calls cond after every change of the server's state (messages,
// acks, connections, calls…) until it returns true. cond runs without the
// lock held, so it may call the other inspection methods. It returns ctx's
// error, or ErrClosed once the server is closed.
func (s *Server) WaitUntil(ctx context.Context, cond func() bool) error {
	for {
		s.mu.Lock()
		changed, closed := s.changed, s.closed
		s.mu.Unlock()
		if cond() {
			return nil
		}
		if closed {
			return ErrClosed
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// CallCount returns how many Web API calls of a method were made, whether
// they succeeded, failed or were rate limited.
func (s *Server) CallCount(method string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[method]
}

// UnknownMethods returns the names of methods called that the fake does not
// implement, in first-call order. Each of those calls answered
// unknown_method.
func (s *Server) UnknownMethods() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.unknown)
}

// Acked returns how many Socket Mode envelopes were acknowledged.
func (s *Server) Acked() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sm.acked
}

// Pending returns how many envelopes are not acknowledged yet, queued or in
// flight.
func (s *Server) Pending() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.sm.byID)
}

// Delivered returns how many envelope frames were written to sockets,
// redeliveries included.
func (s *Server) Delivered() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sm.sent
}

// Redeliveries returns how many times envelopes were queued to be sent
// again: because they were not acknowledged within the ack timeout
// (timedOut), or because the connection they were in flight on went away
// (connectionLost).
func (s *Server) Redeliveries() (timedOut, connectionLost int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sm.timedOut, s.sm.connLost
}

// Connections returns the number of live Socket Mode connections, including
// ones told to disconnect that the client has not closed yet.
func (s *Server) Connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.sm.conns)
}

// User returns a snapshot of a user.
func (s *Server) User(id string) (User, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.users[id]
	if u == nil {
		return User{}, false
	}
	return s.userSnapshotLocked(u), true
}

// Channel returns a snapshot of a conversation.
func (s *Server) Channel(id string) (Channel, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cv := s.convs[id]
	if cv == nil {
		return Channel{}, false
	}
	return channelSnapshot(cv), true
}

// File returns a snapshot of an uploaded file, its bytes included.
func (s *Server) File(id string) (File, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.files[id]
	if f == nil {
		return File{}, false
	}
	return File{ID: f.id, TeamID: f.teamID, User: f.userID, Name: f.name, Title: f.title,
		Mimetype: f.mimetype, Channels: slices.Clone(f.channels), Content: slices.Clone(f.data)}, true
}
