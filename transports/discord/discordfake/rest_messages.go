package discordfake

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"unicode"
)

// buildMessageLocked turns a create or execute body into a message for a
// channel, with Discord's validation.
func (s *Server) buildMessageLocked(c *call, ch *channel, b *messageBody, known []string) (*message, int, any) {
	if f := s.unknownFieldsLocked(c.route, b, known); f != "" && s.opts.strictBodies {
		st, e := formErr(f, "UNKNOWN_FIELD", "Unknown field.")
		return nil, st, e
	}
	m := &message{channelID: ch.id, typ: msgDefault, embeds: cleanEmbeds(b.Embeds), nonce: b.nonce(),
		tts: b.TTS, flags: b.Flags & (1<<2 | 1<<12), allowedMentions: rawOrNil(b.AllowedMentions)}
	if b.Content != nil {
		m.content = *b.Content
	}
	if st, e, ok := checkContent(m.content); !ok {
		return nil, st, e
	}
	size := 0
	for _, f := range b.files {
		size += len(f.data)
	}
	if size > MaxUpload {
		st, e := apiErr(http.StatusRequestEntityTooLarge, codeEntityTooLarge, "Request entity too large")
		return nil, st, e
	}
	for _, f := range b.files {
		f.id = s.ids.next()
		m.attachments = append(m.attachments, f)
	}
	if m.content == "" && len(m.embeds) == 0 && len(m.attachments) == 0 {
		st, e := apiErr(http.StatusBadRequest, codeEmptyMessage, "Cannot send an empty message")
		return nil, st, e
	}
	replyAuthor := ""
	if r := b.Reference; r != nil {
		refCh := ch
		if r.ChannelID != "" {
			refCh = s.channels[r.ChannelID]
		}
		var ref *message
		if refCh != nil {
			ref = refCh.byID[r.MessageID]
		}
		if ref == nil {
			if r.FailIfNotExists == nil || *r.FailIfNotExists {
				st, e := formErr("message_reference", "MESSAGE_REFERENCE_UNKNOWN_MESSAGE", "Unknown message")
				return nil, st, e
			}
		} else {
			m.typ, m.refID, m.refChannelID, replyAuthor = msgReply, ref.id, refCh.id, ref.authorID
		}
	}
	ids, everyone, ok := s.mentionsLocked(m.content, m.allowedMentions, replyAuthor)
	if !ok {
		st, e := formErr("allowed_mentions", "MESSAGE_ALLOWED_MENTIONS_PARSE_EXCLUSIVE", "parse:[\"users\"] and users: [ids...] are mutually exclusive.")
		return nil, st, e
	}
	m.mentions, m.mentionEveryone = ids, everyone
	return m, 0, nil
}

func rawOrNil(r json.RawMessage) json.RawMessage {
	if len(r) == 0 || string(r) == "null" {
		return nil
	}
	return slices.Clone(r)
}

// cleanEmbeds keeps a non-empty JSON array of embeds; null or [] give nil.
func cleanEmbeds(r json.RawMessage) json.RawMessage {
	var arr []json.RawMessage
	if json.Unmarshal(r, &arr) != nil || len(arr) == 0 {
		return nil
	}
	return slices.Clone(r)
}

// rementionLocked recomputes the mentions of an edited message; the reply
// ping, if there was one, stays. It reports false for invalid
// allowed_mentions.
func (s *Server) rementionLocked(m *message, content string, am json.RawMessage) bool {
	ids, everyone, ok := s.mentionsLocked(content, am, "")
	if !ok {
		return false
	}
	if m.typ == msgReply {
		if rc := s.channels[m.refChannelID]; rc != nil {
			if rm := rc.byID[m.refID]; rm != nil && slices.Contains(m.mentions, rm.authorID) && !slices.Contains(ids, rm.authorID) {
				ids = append(ids, rm.authorID)
			}
		}
	}
	m.mentions, m.mentionEveryone = ids, everyone
	return true
}

// postLocked stores a new message and dispatches MESSAGE_CREATE.
func (s *Server) postLocked(ch *channel, m *message) {
	m.id = s.ids.next()
	m.channelID = ch.id
	ch.add(m)
	s.emitMessageLocked(ch, m, "MESSAGE_CREATE")
}

func restCreateMessage(s *Server, c *call) (int, any) {
	ch, st, e := s.channelFor(c)
	if ch == nil {
		return st, e
	}
	if ch.kind == DM && !s.mayDMLocked(ch, c.me.id) {
		return apiErr(http.StatusForbidden, codeCannotDM, "Cannot send messages to this user")
	}
	b, err := parseMessageBody(c)
	if err != nil {
		return badJSON()
	}
	m, st, e := s.buildMessageLocked(c, ch, b, createFields)
	if m == nil {
		return st, e
	}
	m.authorID = c.me.id
	s.postLocked(ch, m)
	return http.StatusOK, s.messageJSON(ch, m, c.me.id, false, false)
}

// mayDMLocked reports whether a user may write in a DM: Discord requires
// the two to share a guild or be friends.
func (s *Server) mayDMLocked(ch *channel, from string) bool {
	for _, to := range ch.recipients {
		if to == from {
			continue
		}
		if !s.sharesGuild(from, to) && !slices.Contains(s.users[from].friends, to) {
			return false
		}
	}
	return true
}

// messageFor resolves the channel and message of a route.
func (s *Server) messageFor(c *call) (*channel, *message, int, any) {
	ch, st, e := s.channelFor(c)
	if ch == nil {
		return nil, nil, st, e
	}
	m := ch.byID[c.params["message.id"]]
	if m == nil {
		st, e := apiErr(http.StatusNotFound, codeUnknownMessage, "Unknown Message")
		return nil, nil, st, e
	}
	return ch, m, 0, nil
}

func restGetMessage(s *Server, c *call) (int, any) {
	ch, m, st, e := s.messageFor(c)
	if m == nil {
		return st, e
	}
	return http.StatusOK, s.messageJSON(ch, m, c.me.id, c.tok.bot && c.tok.privileged&IntentMessageContent == 0, false)
}

func restListMessages(s *Server, c *call) (int, any) {
	ch, st, e := s.channelFor(c)
	if ch == nil {
		return st, e
	}
	limit, ok := queryLimit(c, 50, 100)
	if !ok {
		return limitErr(100)
	}
	before, hasBefore, ok1 := snowflakeParam(c, "before")
	after, hasAfter, ok2 := snowflakeParam(c, "after")
	if !ok1 || !ok2 {
		return formErr("before", "NUMBER_TYPE_COERCE", "Value is not snowflake.")
	}
	var picked []*message
	switch {
	case hasAfter && !hasBefore: // the oldest `limit` after the ID
		for _, m := range ch.msgs {
			if idNum(m.id) > after && len(picked) < limit {
				picked = append(picked, m)
			}
		}
	default: // the newest `limit`, before the ID if given
		for i := len(ch.msgs) - 1; i >= 0 && len(picked) < limit; i-- {
			m := ch.msgs[i]
			if (!hasBefore || idNum(m.id) < before) && (!hasAfter || idNum(m.id) > after) {
				picked = append(picked, m)
			}
		}
		slices.Reverse(picked)
	}
	hide := c.tok.bot && c.tok.privileged&IntentMessageContent == 0
	out := make([]wireMessage, 0, len(picked))
	for i := len(picked) - 1; i >= 0; i-- { // newest first, as Discord
		out = append(out, s.messageJSON(ch, picked[i], c.me.id, hide, false))
	}
	return http.StatusOK, out
}

func restEditMessage(s *Server, c *call) (int, any) {
	ch, m, st, e := s.messageFor(c)
	if m == nil {
		return st, e
	}
	if m.authorID != c.me.id || m.webhookID != "" {
		return apiErr(http.StatusForbidden, codeEditOthers, "Cannot edit a message authored by another user")
	}
	return s.applyEditLocked(c, ch, m)
}

// applyEditLocked applies an edit body (content, embeds, allowed_mentions,
// flags, attachments to keep) and dispatches MESSAGE_UPDATE.
func (s *Server) applyEditLocked(c *call, ch *channel, m *message) (int, any) {
	b, err := parseMessageBody(c)
	if err != nil {
		return badJSON()
	}
	if f := s.unknownFieldsLocked(c.route, b, editFields); f != "" && s.opts.strictBodies {
		return formErr(f, "UNKNOWN_FIELD", "Unknown field.")
	}
	content := m.content
	if b.Content != nil {
		content = *b.Content
	}
	if st, e, ok := checkContent(content); !ok {
		return st, e
	}
	embeds := m.embeds
	if b.Embeds != nil {
		embeds = cleanEmbeds(b.Embeds)
	}
	if content == "" && len(embeds) == 0 && len(m.attachments) == 0 && len(b.files) == 0 {
		return apiErr(http.StatusBadRequest, codeEmptyMessage, "Cannot send an empty message")
	}
	am := m.allowedMentions
	if b.AllowedMentions != nil {
		am = rawOrNil(b.AllowedMentions)
	}
	if !s.rementionLocked(m, content, am) {
		return formErr("allowed_mentions", "MESSAGE_ALLOWED_MENTIONS_PARSE_EXCLUSIVE", "parse:[\"users\"] and users: [ids...] are mutually exclusive.")
	}
	m.content, m.allowedMentions, m.embeds = content, am, embeds
	if b.Attachments != nil {
		var keep []*attachment
		for _, ref := range *b.Attachments {
			id := strings.Trim(string(ref.ID), `"`)
			for _, a := range m.attachments {
				if a.id == id {
					keep = append(keep, a)
				}
			}
		}
		m.attachments = keep
	}
	for _, f := range b.files {
		f.id = s.ids.next()
		m.attachments = append(m.attachments, f)
	}
	m.edited = formatTimestamp(s.opts.now())
	s.emitMessageLocked(ch, m, "MESSAGE_UPDATE")
	viewer := m.authorID
	if c.me != nil {
		viewer = c.me.id
	}
	return http.StatusOK, s.messageJSON(ch, m, viewer, false, false)
}

func restDeleteMessage(s *Server, c *call) (int, any) {
	ch, m, st, e := s.messageFor(c)
	if m == nil {
		return st, e
	}
	if m.authorID != c.me.id {
		return apiErr(http.StatusForbidden, codeMissingPerms, "Missing Permissions")
	}
	s.deleteLocked(ch, m)
	return http.StatusNoContent, nil
}

func (s *Server) deleteLocked(ch *channel, m *message) {
	ch.remove(m.id)
	s.emitMessageDeleteLocked(ch, m.id)
}

// parseEmoji reads a reaction emoji path segment: a Unicode emoji, or
// "name:id" for a custom one.
func parseEmoji(v string) (emoji, bool) {
	if name, id, ok := strings.Cut(v, ":"); ok {
		if _, okID := parseSnowflake(id); !okID || name == "" {
			return emoji{}, false
		}
		return emoji{name: name, id: id}, true
	}
	for _, r := range v {
		if r > unicode.MaxASCII {
			return emoji{name: v}, true
		}
	}
	// Plain ASCII such as "thumbsup" or ":thumbsup:" is not an emoji;
	// only the keycap bases (# * 0-9) followed by non-ASCII marks are.
	return emoji{}, false
}

func (s *Server) reactLocked(ch *channel, m *message, userID string, e emoji) bool {
	for _, r := range m.reactions {
		if r.emoji.key() == e.key() {
			if slices.Contains(r.users, userID) {
				return false
			}
			r.users = append(r.users, userID)
			s.emitReactionLocked(ch, m, userID, e, "MESSAGE_REACTION_ADD")
			return true
		}
	}
	m.reactions = append(m.reactions, &reaction{emoji: e, users: []string{userID}})
	s.emitReactionLocked(ch, m, userID, e, "MESSAGE_REACTION_ADD")
	return true
}

func (s *Server) unreactLocked(ch *channel, m *message, userID string, e emoji) bool {
	for i, r := range m.reactions {
		if r.emoji.key() == e.key() && slices.Contains(r.users, userID) {
			r.users = slices.DeleteFunc(r.users, func(u string) bool { return u == userID })
			if len(r.users) == 0 {
				m.reactions = slices.Delete(m.reactions, i, i+1)
			}
			s.emitReactionLocked(ch, m, userID, e, "MESSAGE_REACTION_REMOVE")
			return true
		}
	}
	return false
}

func restAddReaction(s *Server, c *call) (int, any) {
	ch, m, st, e := s.messageFor(c)
	if m == nil {
		return st, e
	}
	em, ok := parseEmoji(c.params["emoji"])
	if !ok {
		return apiErr(http.StatusBadRequest, codeUnknownEmoji, "Unknown Emoji")
	}
	s.reactLocked(ch, m, c.me.id, em)
	return http.StatusNoContent, nil
}

func restRemoveOwnReaction(s *Server, c *call) (int, any) {
	ch, m, st, e := s.messageFor(c)
	if m == nil {
		return st, e
	}
	em, ok := parseEmoji(c.params["emoji"])
	if !ok {
		return apiErr(http.StatusBadRequest, codeUnknownEmoji, "Unknown Emoji")
	}
	s.unreactLocked(ch, m, c.me.id, em)
	return http.StatusNoContent, nil
}

func restRemoveReaction(s *Server, c *call) (int, any) {
	if c.params["user.id"] == c.me.id {
		return restRemoveOwnReaction(s, c)
	}
	if _, m, st, e := s.messageFor(c); m == nil {
		return st, e
	}
	return apiErr(http.StatusForbidden, codeMissingPerms, "Missing Permissions")
}

func restTyping(s *Server, c *call) (int, any) {
	ch, st, e := s.channelFor(c)
	if ch == nil {
		return st, e
	}
	s.emitTypingLocked(ch, c.me.id, s.opts.now().Unix())
	return http.StatusNoContent, nil
}

type threadBody struct {
	Name                string `json:"name"`
	AutoArchiveDuration int    `json:"auto_archive_duration"`
	Type                int    `json:"type"`
}

func parseThreadBody(c *call) (threadBody, int, any, bool) {
	var b threadBody
	if json.Unmarshal(c.body, &b) != nil {
		st, e := badJSON()
		return b, st, e, false
	}
	if n := len([]rune(b.Name)); n < 1 || n > 100 {
		st, e := formErr("name", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length.")
		return b, st, e, false
	}
	return b, 0, nil, true
}

func restThreadFromMessage(s *Server, c *call) (int, any) {
	ch, m, st, e := s.messageFor(c)
	if m == nil {
		return st, e
	}
	if ch.kind != GuildText {
		return apiErr(http.StatusBadRequest, codeWrongChannelType, "Cannot execute action on this channel type")
	}
	b, st, e, ok := parseThreadBody(c)
	if !ok {
		return st, e
	}
	if m.threadID != "" {
		return apiErr(http.StatusBadRequest, codeThreadExists, "A thread has already been created for this message")
	}
	t := s.startThreadLocked(ch, m, b.Name, c.me.id, PublicThread)
	return http.StatusCreated, s.channelJSON(t, c.me.id)
}

func restThread(s *Server, c *call) (int, any) {
	ch, st, e := s.channelFor(c)
	if ch == nil {
		return st, e
	}
	if ch.kind != GuildText {
		return apiErr(http.StatusBadRequest, codeWrongChannelType, "Cannot execute action on this channel type")
	}
	b, st, e, ok := parseThreadBody(c)
	if !ok {
		return st, e
	}
	kind := PrivateThread // the default of API v9
	if b.Type == int(PublicThread) {
		kind = PublicThread
	}
	t := s.startThreadLocked(ch, nil, b.Name, c.me.id, kind)
	return http.StatusCreated, s.channelJSON(t, c.me.id)
}

// startThreadLocked creates a thread in a guild text channel, from a
// message (the thread then has the message's ID) or standalone, and
// dispatches THREAD_CREATE.
func (s *Server) startThreadLocked(parent *channel, from *message, name, ownerID string, kind ChannelType) *channel {
	id := ""
	if from != nil {
		id = from.id
	} else {
		id = s.ids.next()
	}
	t := &channel{id: id, guildID: parent.guildID, parentID: parent.id, name: name, kind: kind, ownerID: ownerID,
		threadMembers: []string{ownerID}, byID: map[string]*message{}}
	s.channels[id] = t
	s.channelOrder = append(s.channelOrder, id)
	g := s.guilds[parent.guildID]
	g.channels = append(g.channels, id)
	if from != nil {
		from.threadID = id
		from.flags |= flagHasThread
	}
	s.emitChannelCreateLocked(t)
	if from != nil {
		s.emitMessageLocked(parent, from, "MESSAGE_UPDATE")
	}
	return t
}
