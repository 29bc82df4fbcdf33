package discordfake

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
)

// Message is a snapshot of a stored message.
type Message struct {
	ID, ChannelID, GuildID string
	AuthorID               string // the user; "" for webhook messages
	WebhookID              string
	Username, Avatar       string // webhook messages: the name and avatar hash shown
	Type                   int    // 0 default, 19 reply
	Content                string
	Embeds                 json.RawMessage
	Attachments            []Attachment
	Mentions               []string // user IDs pinged
	MentionEveryone        bool
	AllowedMentions        json.RawMessage // as sent; nil when absent
	ReferenceID            string          // the replied message
	EditedTimestamp        string          // "" if never edited
	Reactions              []Reaction
	ThreadID               string // a thread started from the message
	Nonce                  string
	TTS                    bool
	Flags                  int
}

// Attachment is a file of a message.
type Attachment struct {
	ID, Filename, ContentType string
	Data                      []byte
	URL                       string // a signed link that expires after 24 hours, like Discord's CDN
}

// Reaction is one emoji on a message ("👍", or "name:id" for custom emoji)
// and who added it.
type Reaction struct {
	Emoji string
	Users []string
}

func (s *Server) messageSnapshot(c *channel, m *message) Message {
	out := Message{ID: m.id, ChannelID: c.id, GuildID: c.guildID, AuthorID: m.authorID, WebhookID: m.webhookID,
		Type: m.typ, Content: m.content, Embeds: slices.Clone(m.embeds), Mentions: slices.Clone(m.mentions),
		MentionEveryone: m.mentionEveryone, AllowedMentions: slices.Clone(m.allowedMentions), ReferenceID: m.refID,
		EditedTimestamp: m.edited, ThreadID: m.threadID, Nonce: m.nonce, TTS: m.tts, Flags: m.flags}
	if m.webhookID != "" {
		out.AuthorID, out.Username, out.Avatar = "", m.hookName, m.hookAvatar
	}
	for _, a := range m.attachments {
		out.Attachments = append(out.Attachments, Attachment{ID: a.id, Filename: a.filename, ContentType: a.contentType,
			Data: slices.Clone(a.data), URL: s.attachmentURL(c.id, a)})
	}
	for _, r := range m.reactions {
		out.Reactions = append(out.Reactions, Reaction{Emoji: r.emoji.key(), Users: slices.Clone(r.users)})
	}
	return out
}

// Messages returns every message of a channel, oldest first; nil for an
// unknown channel.
func (s *Server) Messages(channelID string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.channels[channelID]
	if c == nil {
		return nil
	}
	out := make([]Message, 0, len(c.msgs))
	for _, m := range c.msgs {
		out = append(out, s.messageSnapshot(c, m))
	}
	return out
}

// Message returns one message of a channel.
func (s *Server) Message(channelID, messageID string) (Message, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.channels[channelID]
	if c == nil || c.byID[messageID] == nil {
		return Message{}, false
	}
	return s.messageSnapshot(c, c.byID[messageID]), true
}

// WaitMessage waits until a message of the channel satisfies match
// (messages already there count) and returns it. It returns ctx's error,
// wrapped, if ctx ends first.
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
		return Message{}, fmt.Errorf("discordfake: wait for message in %s: %w", channelID, err)
	}
	return found, nil
}

// WaitUntil calls cond after every change of the server's state (messages,
// calls, sockets, dispatches written…) until it returns true. cond runs
// without the lock held, so it may call the other inspection methods. It
// returns ctx's error, or ErrClosed once the server is closed.
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

// CallCount returns how many requests a REST route (named as in Routes) or
// an unknown route (as listed by UnknownRoutes) received, whatever their
// outcome.
func (s *Server) CallCount(route string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[route]
}

// RateLimited returns how many requests were answered 429.
func (s *Server) RateLimited() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rateLimited
}

// InvalidRequests returns how many requests were answered 401, 403 or 429,
// the answers Discord counts towards its ban of clients that make 10,000
// invalid requests in 10 minutes.
func (s *Server) InvalidRequests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.invalid
}

// UnknownRoutes returns the requests the fake does not implement, as
// "METHOD /path", in first-call order.
func (s *Server) UnknownRoutes() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.unknown)
}

// UnknownFields returns the top-level JSON fields of a route's request
// bodies that Discord does not document (message create, edit and webhook
// bodies are checked), e.g. discordgo's "ID" and "Channel" in edits.
func (s *Server) UnknownFields(route string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.unknownFields[route])
}

// Connections returns the number of live Gateway sockets.
func (s *Server) Connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.gw.conns)
}

// SessionInfo is a snapshot of a Gateway session.
type SessionInfo struct {
	ID, UserID string
	Bot        bool
	Intents    Intent
	Seq        int  // last sequence number dispatched
	Sent       int  // last sequence number written to the attached socket (0 if none)
	Connected  bool // a socket is attached
	Resumes    int
	Invalid    bool
}

// Sessions returns every Gateway session, in creation order.
func (s *Server) Sessions() []SessionInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []SessionInfo{}
	for _, id := range s.gw.sessionOrder {
		ss := s.gw.sessions[id]
		si := SessionInfo{ID: ss.id, UserID: ss.userID, Bot: ss.bot, Intents: ss.intents, Seq: ss.seq(),
			Connected: ss.conn != nil, Resumes: ss.resumes, Invalid: ss.invalid}
		if ss.conn != nil {
			si.Sent = ss.conn.sent
		}
		out = append(out, si)
	}
	return out
}

// Dispatches returns the dispatches of a session (the last 10,000), in
// sequence order, whether written to a socket yet or not.
func (s *Server) Dispatches(sessionID string) []Dispatch {
	s.mu.Lock()
	defer s.mu.Unlock()
	ss := s.gw.sessions[sessionID]
	if ss == nil {
		return nil
	}
	return slices.Clone(ss.dispatched)
}

// Identifies returns every IDENTIFY received, refused ones included, oldest
// first.
func (s *Server) Identifies() []Identify {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.gw.identifies)
}

// LastIdentify returns the last IDENTIFY received.
func (s *Server) LastIdentify() (Identify, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.gw.identifies) == 0 {
		return Identify{}, false
	}
	return s.gw.identifies[len(s.gw.identifies)-1], true
}

// User returns a snapshot of a user, presence included.
func (s *Server) User(id string) (User, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.users[id]
	if u == nil {
		return User{}, false
	}
	return userSnapshot(u), true
}

// Guild returns a snapshot of a guild.
func (s *Server) Guild(id string) (Guild, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.guilds[id]
	if g == nil {
		return Guild{}, false
	}
	return guildSnapshot(g), true
}

// Channel returns a snapshot of a channel, DM or thread.
func (s *Server) Channel(id string) (Channel, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.channels[id]
	if c == nil {
		return Channel{}, false
	}
	return channelSnapshot(c), true
}
