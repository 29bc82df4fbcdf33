package discordfake

import (
	"bytes"
	"encoding/json"
	"slices"
	"strconv"
)

// The JSON objects of Discord's API, in the shape Discord sends them:
// snowflakes as strings, absent optional values as null.

type wireUser struct {
	ID            string  `json:"id"`
	Username      string  `json:"username"`
	Avatar        *string `json:"avatar"`
	Discriminator string  `json:"discriminator"`
	GlobalName    *string `json:"global_name"`
	PublicFlags   int     `json:"public_flags"`
	Flags         int     `json:"flags"`
	Bot           bool    `json:"bot,omitempty"`
}

type wireMember struct {
	User     *wireUser `json:"user,omitempty"`
	Nick     *string   `json:"nick"`
	Avatar   *string   `json:"avatar"`
	Roles    []string  `json:"roles"`
	JoinedAt string    `json:"joined_at"`
	Deaf     bool      `json:"deaf"`
	Mute     bool      `json:"mute"`
	Flags    int       `json:"flags"`
	GuildID  string    `json:"guild_id,omitempty"` // GUILD_MEMBER_ADD only
}

type wireChannel struct {
	ID            string          `json:"id"`
	Type          ChannelType     `json:"type"`
	GuildID       string          `json:"guild_id,omitempty"`
	Name          *string         `json:"name,omitempty"`
	Position      *int            `json:"position,omitempty"`
	Topic         *string         `json:"topic,omitempty"`
	ParentID      *string         `json:"parent_id,omitempty"`
	LastMessageID *string         `json:"last_message_id"`
	Recipients    []wireUser      `json:"recipients,omitempty"`
	OwnerID       string          `json:"owner_id,omitempty"`
	Flags         int             `json:"flags"`
	Thread        *wireThreadMeta `json:"thread_metadata,omitempty"`
	MessageCount  *int            `json:"message_count,omitempty"`
	MemberCount   *int            `json:"member_count,omitempty"`
	NewlyCreated  bool            `json:"newly_created,omitempty"` // THREAD_CREATE only
}

type wireThreadMeta struct {
	Archived            bool   `json:"archived"`
	AutoArchiveDuration int    `json:"auto_archive_duration"`
	ArchiveTimestamp    string `json:"archive_timestamp"`
	Locked              bool   `json:"locked"`
	CreateTimestamp     string `json:"create_timestamp"`
}

type wireRole struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Permissions string `json:"permissions"`
	Position    int    `json:"position"`
	Color       int    `json:"color"`
	Hoist       bool   `json:"hoist"`
	Managed     bool   `json:"managed"`
	Mentionable bool   `json:"mentionable"`
	Flags       int    `json:"flags"`
}

type wireGuild struct {
	ID          string     `json:"id"`
	Name        string     `json:"name"`
	Icon        *string    `json:"icon"`
	OwnerID     string     `json:"owner_id"`
	Roles       []wireRole `json:"roles"`
	Emojis      []struct{} `json:"emojis"`
	Features    []string   `json:"features"`
	MemberCount int        `json:"member_count,omitempty"`
	// GUILD_CREATE only:
	JoinedAt    string          `json:"joined_at,omitempty"`
	Large       *bool           `json:"large,omitempty"`
	Unavailable *bool           `json:"unavailable,omitempty"`
	Members     []wireMember    `json:"members,omitempty"`
	Channels    []wireChannel   `json:"channels,omitempty"`
	Threads     []wireChannel   `json:"threads,omitempty"`
	Presences   []wirePresence  `json:"presences,omitempty"`
	VoiceStates json.RawMessage `json:"voice_states,omitempty"`
}

// wireUserGuild is the partial guild of GET /users/@me/guilds.
type wireUserGuild struct {
	ID          string   `json:"id"`
	Name        string   `json:"name"`
	Icon        *string  `json:"icon"`
	Owner       bool     `json:"owner"`
	Permissions string   `json:"permissions"`
	Features    []string `json:"features"`
}

type wireEmoji struct {
	ID   *string `json:"id"`
	Name string  `json:"name"`
}

type wireReaction struct {
	Count int       `json:"count"`
	Me    bool      `json:"me"`
	Emoji wireEmoji `json:"emoji"`
}

type wireAttachment struct {
	ID          string `json:"id"`
	Filename    string `json:"filename"`
	Size        int    `json:"size"`
	URL         string `json:"url"`
	ProxyURL    string `json:"proxy_url"`
	ContentType string `json:"content_type,omitempty"`
}

type wireReference struct {
	Type      int    `json:"type"`
	MessageID string `json:"message_id"`
	ChannelID string `json:"channel_id"`
	GuildID   string `json:"guild_id,omitempty"`
}

type wireMessage struct {
	ID                string           `json:"id"`
	Type              int              `json:"type"`
	Content           string           `json:"content"`
	ChannelID         string           `json:"channel_id"`
	GuildID           string           `json:"guild_id,omitempty"`
	Author            wireUser         `json:"author"`
	Member            *wireMember      `json:"member,omitempty"`
	Attachments       []wireAttachment `json:"attachments"`
	Embeds            json.RawMessage  `json:"embeds"`
	Mentions          []wireUser       `json:"mentions"`
	MentionRoles      []string         `json:"mention_roles"`
	Pinned            bool             `json:"pinned"`
	MentionEveryone   bool             `json:"mention_everyone"`
	TTS               bool             `json:"tts"`
	Timestamp         string           `json:"timestamp"`
	EditedTimestamp   *string          `json:"edited_timestamp"`
	Flags             int              `json:"flags"`
	Components        []struct{}       `json:"components"`
	Nonce             string           `json:"nonce,omitempty"`
	WebhookID         string           `json:"webhook_id,omitempty"`
	ApplicationID     string           `json:"application_id,omitempty"`
	Reactions         []wireReaction   `json:"reactions,omitempty"`
	MessageReference  *wireReference   `json:"message_reference,omitempty"`
	ReferencedMessage *wireMessage     `json:"referenced_message,omitempty"`
	Thread            *wireChannel     `json:"thread,omitempty"`
}

type wireWebhook struct {
	ID            string    `json:"id"`
	Type          int       `json:"type"`
	GuildID       string    `json:"guild_id"`
	ChannelID     string    `json:"channel_id"`
	Name          string    `json:"name"`
	Avatar        *string   `json:"avatar"`
	Token         string    `json:"token"`
	ApplicationID *string   `json:"application_id"`
	User          *wireUser `json:"user,omitempty"`
}

type wirePresence struct {
	User struct {
		ID string `json:"id"`
	} `json:"user"`
	GuildID      string            `json:"guild_id,omitempty"`
	Status       string            `json:"status"`
	Activities   json.RawMessage   `json:"activities"`
	ClientStatus map[string]string `json:"client_status"`
}

type wireRelationship struct {
	ID       string   `json:"id"`
	Type     int      `json:"type"` // 1: friend
	Nickname *string  `json:"nickname"`
	User     wireUser `json:"user"`
}

// wireError is the body of every REST error.
type wireError struct {
	Message string          `json:"message"`
	Code    int             `json:"code"`
	Errors  json.RawMessage `json:"errors,omitempty"`
}

// marshal encodes JSON as Discord does, without escaping <, > and &.
func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

func strPtr(s string) *string { return &s }

func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func (s *Server) userJSON(u *user) wireUser {
	w := wireUser{ID: u.id, Username: u.username, Avatar: nullable(u.avatar), Discriminator: "0",
		GlobalName: nullable(u.globalName), Bot: u.bot}
	if u.bot {
		w.Discriminator = "0000"
	}
	return w
}

func (s *Server) memberJSON(g *guild, userID string, withUser bool) wireMember {
	m := wireMember{Nick: nullable(g.nicks[userID]), Roles: []string{}, JoinedAt: g.joined[userID]}
	if withUser {
		u := s.userJSON(s.users[userID])
		m.User = &u
	}
	return m
}

// channelJSON is a channel as the user viewer sees it: a private
// channel's recipients are the others, never the viewer, as on Discord.
func (s *Server) channelJSON(c *channel, viewer string) wireChannel {
	w := wireChannel{ID: c.id, Type: c.kind, GuildID: c.guildID, LastMessageID: nullable(c.lastMessageID())}
	if c.kind.isPrivate() {
		for _, id := range c.recipients {
			if id != viewer || len(c.recipients) == 1 {
				w.Recipients = append(w.Recipients, s.userJSON(s.users[id]))
			}
		}
		if c.kind == GroupDM {
			w.Name = strPtr(c.name)
			w.OwnerID = c.recipients[0]
		}
		return w
	}
	w.Name = strPtr(c.name)
	if c.kind.isThread() {
		w.ParentID = strPtr(c.parentID)
		w.OwnerID = c.ownerID
		n, members := len(c.msgs), 1
		w.MessageCount, w.MemberCount = &n, &members
		created := timestampOf(c.id)
		w.Thread = &wireThreadMeta{AutoArchiveDuration: 1440, ArchiveTimestamp: created, CreateTimestamp: created}
		return w
	}
	pos := slices.Index(s.guilds[c.guildID].channels, c.id)
	w.Position, w.Topic = &pos, nullable(c.topic)
	return w
}

func (s *Server) guildJSON(g *guild) wireGuild {
	return wireGuild{ID: g.id, Name: g.name, OwnerID: g.ownerID, Features: []string{}, Emojis: []struct{}{},
		Roles:       []wireRole{{ID: g.id, Name: "@everyone", Permissions: "1071698660929"}},
		MemberCount: len(g.members)}
}

// guildCreateJSON is the full guild of GUILD_CREATE as a member sees it.
func (s *Server) guildCreateJSON(g *guild, viewer string, intents Intent, bot bool) wireGuild {
	w := s.guildJSON(g)
	f := false
	w.JoinedAt, w.Large, w.Unavailable = g.joined[viewer], &f, &f
	w.VoiceStates = json.RawMessage("[]")
	for _, id := range g.members {
		if bot && intents&IntentGuildMembers == 0 && id != viewer {
			continue // without GUILD_MEMBERS, Discord sends only the bot itself
		}
		w.Members = append(w.Members, s.memberJSON(g, id, true))
	}
	for _, id := range g.channels {
		c := s.channels[id]
		if c.kind.isThread() {
			w.Threads = append(w.Threads, s.channelJSON(c, viewer))
		} else {
			w.Channels = append(w.Channels, s.channelJSON(c, viewer))
		}
	}
	if !bot || intents&IntentGuildPresences != 0 {
		for _, id := range g.members {
			if u := s.users[id]; u.status != "offline" && u.status != "invisible" {
				w.Presences = append(w.Presences, s.presenceJSON(u, ""))
			}
		}
	}
	if w.Channels == nil {
		w.Channels = []wireChannel{}
	}
	if w.Threads == nil {
		w.Threads = []wireChannel{}
	}
	return w
}

func (s *Server) presenceJSON(u *user, guildID string) wirePresence {
	p := wirePresence{GuildID: guildID, Status: u.status, Activities: u.activities, ClientStatus: map[string]string{}}
	p.User.ID = u.id
	if p.Status == "invisible" {
		p.Status = "offline"
	}
	if p.Status != "offline" {
		p.ClientStatus["desktop"] = p.Status
	}
	if len(p.Activities) == 0 {
		p.Activities = json.RawMessage("[]")
	}
	return p
}

// messageJSON renders a message as viewer sees it: reactions' "me" is the
// viewer's; without the MESSAGE_CONTENT intent (hideContent) content,
// embeds and attachments are empty unless Discord's exceptions apply.
func (s *Server) messageJSON(c *channel, m *message, viewer string, hideContent, inGateway bool) wireMessage {
	w := wireMessage{ID: m.id, Type: m.typ, Content: m.content, ChannelID: c.id, Timestamp: timestampOf(m.id),
		EditedTimestamp: nullable(m.edited), Flags: m.flags, Nonce: m.nonce, TTS: m.tts,
		MentionRoles: []string{}, Components: []struct{}{}, Embeds: m.embeds, WebhookID: m.webhookID,
		Mentions: []wireUser{}, Attachments: []wireAttachment{}, MentionEveryone: m.mentionEveryone}
	if len(w.Embeds) == 0 {
		w.Embeds = json.RawMessage("[]")
	}
	if m.webhookID != "" {
		w.Author = wireUser{ID: m.webhookID, Username: m.hookName, Avatar: nullable(m.hookAvatar), Discriminator: "0000", Bot: true}
		if h := s.webhooks[m.webhookID]; h != nil && h.appID != "" {
			w.ApplicationID = h.appID
		}
	} else {
		w.Author = s.userJSON(s.users[m.authorID])
	}
	if inGateway && c.guildID != "" {
		w.GuildID = c.guildID
		if m.webhookID == "" {
			mem := s.memberJSON(s.guilds[c.guildID], m.authorID, false)
			w.Member = &mem
		}
	}
	for _, id := range m.mentions {
		w.Mentions = append(w.Mentions, s.userJSON(s.users[id]))
	}
	for _, a := range m.attachments {
		u := s.attachmentURL(c.id, a)
		w.Attachments = append(w.Attachments, wireAttachment{ID: a.id, Filename: a.filename, Size: len(a.data),
			URL: u, ProxyURL: u, ContentType: a.contentType})
	}
	for _, r := range m.reactions {
		w.Reactions = append(w.Reactions, wireReaction{Count: len(r.users), Me: slices.Contains(r.users, viewer),
			Emoji: wireEmoji{ID: nullable(r.emoji.id), Name: r.emoji.name}})
	}
	if m.refID != "" {
		w.MessageReference = &wireReference{MessageID: m.refID, ChannelID: m.refChannelID, GuildID: c.guildID}
		if m.typ == msgReply {
			if rc := s.channels[m.refChannelID]; rc != nil {
				if rm := rc.byID[m.refID]; rm != nil {
					ref := s.messageJSON(rc, rm, viewer, hideContent, false)
					ref.ReferencedMessage, ref.MessageReference = nil, nil
					w.ReferencedMessage = &ref
				}
			}
		}
	}
	if m.threadID != "" {
		if t := s.channels[m.threadID]; t != nil {
			tw := s.channelJSON(t, "")
			w.Thread = &tw
		}
	}
	if hideContent && !contentVisible(c, m, viewer) {
		w.Content, w.Embeds, w.Attachments = "", json.RawMessage("[]"), []wireAttachment{}
	}
	return w
}

// contentVisible is Discord's exception list for apps without the
// MESSAGE_CONTENT intent: their own messages, DMs, and messages that
// mention them.
func contentVisible(c *channel, m *message, viewer string) bool {
	return m.authorID == viewer || c.kind.isPrivate() || slices.Contains(m.mentions, viewer)
}

func itoa(n int) string { return strconv.Itoa(n) }
