package discordfake

import (
	"encoding/json"
	"fmt"
	"slices"
)

// Intent is a set of Gateway intents, the bit field a session sends in
// IDENTIFY.
type Intent uint64

// The Gateway intents, with Discord's bit values.
const (
	IntentGuilds                 Intent = 1 << 0
	IntentGuildMembers           Intent = 1 << 1 // privileged
	IntentGuildPresences         Intent = 1 << 8 // privileged
	IntentGuildMessages          Intent = 1 << 9
	IntentGuildMessageReactions  Intent = 1 << 10
	IntentGuildMessageTyping     Intent = 1 << 11
	IntentDirectMessages         Intent = 1 << 12
	IntentDirectMessageReactions Intent = 1 << 13
	IntentDirectMessageTyping    Intent = 1 << 14
	IntentMessageContent         Intent = 1 << 15 // privileged
)

// PrivilegedIntents are the intents an application must be granted (in the
// developer portal; here with IssueBotToken) before it may identify with them.
const PrivilegedIntents = IntentGuildMembers | IntentGuildPresences | IntentMessageContent

// allIntents is every bit Discord defines (up to 1<<25); others answer 4013.
const allIntents Intent = 1<<26 - 1

// ChannelType is a Discord channel type.
type ChannelType int

// The channel types the fake knows, with Discord's values.
const (
	GuildText     ChannelType = 0
	DM            ChannelType = 1
	GroupDM       ChannelType = 3
	PublicThread  ChannelType = 11
	PrivateThread ChannelType = 12
)

func (t ChannelType) isThread() bool  { return t == PublicThread || t == PrivateThread }
func (t ChannelType) isPrivate() bool { return t == DM || t == GroupDM }

// Message types used by the fake.
const (
	msgDefault       = 0
	msgThreadCreated = 18
	msgReply         = 19
)

// Message flags used by the fake.
const flagHasThread = 1 << 5

type user struct {
	id, username, globalName, avatar string
	bot                              bool
	status                           string          // "online", "idle", "dnd", "invisible", "offline"
	activities                       json.RawMessage // JSON array
	friends                          []string
}

type guild struct {
	id, name, ownerID string
	created           string // timestamp of creation
	members           []string
	nicks             map[string]string
	joined            map[string]string // user -> joined_at
	channels          []string          // guild channels and threads in creation order
}

type channel struct {
	id, guildID, name, parentID string
	topic                       string // guild text channels
	kind                        ChannelType
	recipients                  []string // private channels
	ownerID                     string   // threads
	threadMembers               []string // threads: their members, the owner first
	msgs                        []*message
	byID                        map[string]*message
	webhooks                    []string
}

type attachment struct {
	id, filename, contentType string
	data                      []byte
}

type message struct {
	id, channelID, authorID string
	webhookID               string
	hookName, hookAvatar    string
	typ, flags              int
	content                 string
	embeds                  json.RawMessage
	attachments             []*attachment
	mentions                []string
	mentionEveryone         bool
	allowedMentions         json.RawMessage
	refChannelID, refID     string
	edited                  string
	nonce                   string
	tts                     bool
	threadID                string
	reactions               []*reaction
}

type reaction struct {
	emoji emoji
	users []string
}

// emoji is a reaction emoji: a Unicode name, or a custom name and ID.
type emoji struct{ name, id string }

func (e emoji) key() string {
	if e.id != "" {
		return e.name + ":" + e.id
	}
	return e.name
}

type token struct {
	value      string
	userID     string
	bot        bool
	privileged Intent // granted privileged intents (bots)
	revoked    bool
}

type webhook struct {
	id, token, channelID, guildID string
	name, avatar                  string
	creatorID, appID              string
}

func (c *channel) add(m *message) {
	c.msgs = append(c.msgs, m)
	c.byID[m.id] = m
}

func (c *channel) remove(id string) {
	delete(c.byID, id)
	c.msgs = slices.DeleteFunc(c.msgs, func(m *message) bool { return m.id == id })
}

func (c *channel) lastMessageID() string {
	if len(c.msgs) == 0 {
		return ""
	}
	return c.msgs[len(c.msgs)-1].id
}

// Lookups; all need s.mu held. The must* forms panic on unknown IDs because
// the Go API treats them as programming errors in the calling test or demo.

func (s *Server) mustUser(op, id string) *user {
	u := s.users[id]
	if u == nil {
		panic(fmt.Sprintf("discordfake: %s: unknown user %q", op, id))
	}
	return u
}

func (s *Server) mustGuild(op, id string) *guild {
	g := s.guilds[id]
	if g == nil {
		panic(fmt.Sprintf("discordfake: %s: unknown guild %q", op, id))
	}
	return g
}

func (s *Server) mustChannel(op, id string) *channel {
	c := s.channels[id]
	if c == nil {
		panic(fmt.Sprintf("discordfake: %s: unknown channel %q", op, id))
	}
	return c
}

func (s *Server) mustMessage(op string, c *channel, id string) *message {
	m := c.byID[id]
	if m == nil {
		panic(fmt.Sprintf("discordfake: %s: no message %s in channel %s", op, id, c.id))
	}
	return m
}

// canSee reports whether a user may read a channel: guild channels and
// threads by the guild's members (the fake has no permission overwrites),
// private channels by their recipients.
func (s *Server) canSee(userID string, c *channel) bool {
	if c.kind.isPrivate() {
		return slices.Contains(c.recipients, userID)
	}
	g := s.guilds[c.guildID]
	return g != nil && slices.Contains(g.members, userID)
}

// sharesGuild reports whether two users are members of a common guild.
func (s *Server) sharesGuild(a, b string) bool {
	for _, g := range s.guilds {
		if slices.Contains(g.members, a) && slices.Contains(g.members, b) {
			return true
		}
	}
	return false
}

// guildsOf returns the guilds a user is a member of, in creation order.
func (s *Server) guildsOf(userID string) []*guild {
	var out []*guild
	for _, id := range s.guildOrder {
		if g := s.guilds[id]; slices.Contains(g.members, userID) {
			out = append(out, g)
		}
	}
	return out
}

// dmBetween returns the DM channel of two users, or nil.
func (s *Server) dmBetween(a, b string) *channel {
	for _, id := range s.channelOrder {
		c := s.channels[id]
		if c.kind == DM && slices.Contains(c.recipients, a) && slices.Contains(c.recipients, b) {
			return c
		}
	}
	return nil
}
