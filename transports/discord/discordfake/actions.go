package discordfake

import (
	"encoding/json"
	"fmt"
	"slices"
)

// PostOption adjusts a message posted with Post.
type PostOption func(*postConfig)

type postConfig struct {
	replyTo string
	files   []*attachment
	embeds  json.RawMessage
}

// ReplyTo makes the message a reply (type 19, message_reference) to a
// message of the same channel; its author is pinged as Discord does by
// default.
func ReplyTo(messageID string) PostOption { return func(p *postConfig) { p.replyTo = messageID } }

// WithAttachment attaches a file.
func WithAttachment(filename, contentType string, data []byte) PostOption {
	return func(p *postConfig) {
		p.files = append(p.files, &attachment{filename: filename, contentType: contentType, data: slices.Clone(data)})
	}
}

// WithEmbeds attaches embeds (a JSON array of embed objects).
func WithEmbeds(embeds json.RawMessage) PostOption {
	return func(p *postConfig) { p.embeds = slices.Clone(embeds) }
}

// Post posts a message as a user (MESSAGE_CREATE) and returns its ID.
// Mentions (<@id>, @everyone) in the content ping as with no
// allowed_mentions.
func (s *Server) Post(userID, channelID, content string, opts ...PostOption) string {
	var pc postConfig
	for _, o := range opts {
		o(&pc)
	}
	if pc.embeds != nil && !json.Valid(pc.embeds) {
		panic("discordfake: Post: embeds are not valid JSON")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.mustMember("Post", userID, channelID)
	m := &message{authorID: userID, content: content, embeds: cleanEmbeds(pc.embeds), typ: msgDefault}
	for _, f := range pc.files {
		f.id = s.ids.next()
		m.attachments = append(m.attachments, f)
	}
	replyAuthor := ""
	if pc.replyTo != "" {
		ref := s.mustMessage("Post", c, pc.replyTo)
		m.typ, m.refID, m.refChannelID, replyAuthor = msgReply, ref.id, c.id, ref.authorID
	}
	m.mentions, m.mentionEveryone, _ = s.mentionsLocked(content, nil, replyAuthor)
	s.postLocked(c, m)
	s.notifyLocked()
	return m.id
}

// Edit changes the content of a user's message (MESSAGE_UPDATE).
func (s *Server) Edit(userID, channelID, messageID, content string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.mustMember("Edit", userID, channelID)
	m := s.mustMessage("Edit", c, messageID)
	if m.authorID != userID || m.webhookID != "" {
		panic(fmt.Sprintf("discordfake: Edit: message %s is not by %s", messageID, userID))
	}
	s.rementionLocked(m, content, m.allowedMentions)
	m.content = content
	m.edited = formatTimestamp(s.opts.now())
	s.emitMessageLocked(c, m, "MESSAGE_UPDATE")
	s.notifyLocked()
}

// Delete deletes a message as a user (MESSAGE_DELETE). Users may delete
// their own messages, and guild owners any message of their guild.
func (s *Server) Delete(userID, channelID, messageID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.mustMember("Delete", userID, channelID)
	m := s.mustMessage("Delete", c, messageID)
	if m.authorID != userID && (c.guildID == "" || s.guilds[c.guildID].ownerID != userID) {
		panic(fmt.Sprintf("discordfake: Delete: %s may not delete message %s", userID, messageID))
	}
	s.deleteLocked(c, m)
	s.notifyLocked()
}

// React adds a reaction as a user (MESSAGE_REACTION_ADD): a Unicode emoji
// ("👍") or a custom one ("name:id"). A repeat does nothing.
func (s *Server) React(userID, channelID, messageID, emojiName string) {
	e, ok := parseEmoji(emojiName)
	if !ok {
		panic(fmt.Sprintf("discordfake: React: %q is not an emoji", emojiName))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.mustMember("React", userID, channelID)
	s.reactLocked(c, s.mustMessage("React", c, messageID), userID, e)
	s.notifyLocked()
}

// Unreact removes a user's reaction (MESSAGE_REACTION_REMOVE); without one
// it does nothing.
func (s *Server) Unreact(userID, channelID, messageID, emojiName string) {
	e, ok := parseEmoji(emojiName)
	if !ok {
		panic(fmt.Sprintf("discordfake: Unreact: %q is not an emoji", emojiName))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.mustMember("Unreact", userID, channelID)
	s.unreactLocked(c, s.mustMessage("Unreact", c, messageID), userID, e)
	s.notifyLocked()
}

// Typing shows a user typing in a channel (TYPING_START).
func (s *Server) Typing(userID, channelID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.mustMember("Typing", userID, channelID)
	s.emitTypingLocked(c, userID, s.opts.now().Unix())
	s.notifyLocked()
}

// Activity is a presence activity (type 0 playing, 2 listening, 3 watching,
// 4 custom status with State as its text, 5 competing).
type Activity struct {
	Name  string `json:"name"`
	Type  int    `json:"type"`
	State string `json:"state,omitempty"`
	URL   string `json:"url,omitempty"`
}

// SetPresence sets a user's status ("online", "idle", "dnd", "invisible",
// "offline") and activities (PRESENCE_UPDATE to sessions that share a
// guild, with GUILD_PRESENCES, and to friends' user-account sessions).
func (s *Server) SetPresence(userID, status string, activities ...Activity) {
	switch status {
	case "online", "idle", "dnd", "invisible", "offline":
	default:
		panic(fmt.Sprintf("discordfake: SetPresence: bad status %q", status))
	}
	acts, _ := marshal(activities)
	if activities == nil {
		acts = []byte("[]")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.setPresenceLocked(s.mustUser("SetPresence", userID), status, acts)
	s.notifyLocked()
}

// StartThread starts a public thread from a message as a user
// (THREAD_CREATE; the parent message gets the thread, MESSAGE_UPDATE). The
// thread's ID is the message's, as on Discord.
func (s *Server) StartThread(userID, channelID, messageID, name string) Channel {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.mustMember("StartThread", userID, channelID)
	m := s.mustMessage("StartThread", c, messageID)
	if c.kind != GuildText || m.threadID != "" {
		panic(fmt.Sprintf("discordfake: StartThread: no thread possible from %s", messageID))
	}
	t := s.startThreadLocked(c, m, name, userID, PublicThread)
	s.notifyLocked()
	return channelSnapshot(t)
}

// mustMember resolves a channel a user can see.
func (s *Server) mustMember(op, userID, channelID string) *channel {
	c := s.mustChannel(op, channelID)
	s.mustUser(op, userID)
	if !s.canSee(userID, c) {
		panic(fmt.Sprintf("discordfake: %s: user %s cannot see channel %s", op, userID, channelID))
	}
	return c
}
