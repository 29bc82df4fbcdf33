package discordfake

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"unicode/utf8"
)

// Guild channels as groups: topics (PATCH /channels/{id}, CHANNEL_UPDATE)
// and members leaving (GUILD_MEMBER_REMOVE, GUILD_DELETE).

// MaxUpload is the most bytes of files one message may carry, as Discord
// allows in DMs and servers without boosts; more answers 413 with code
// 40005.
const MaxUpload = 10 << 20

// maxTopic is the longest topic Discord accepts, in characters.
const maxTopic = 1024

// modifyFields are the fields of PATCH /channels/{id} the fake applies;
// the others Discord documents are accepted and ignored.
var modifyFields = []string{"name", "topic", "type", "position", "nsfw", "rate_limit_per_user", "bitrate",
	"user_limit", "permission_overwrites", "parent_id", "rtc_region", "video_quality_mode",
	"default_auto_archive_duration", "flags", "available_tags", "default_reaction_emoji",
	"default_thread_rate_limit_per_user", "default_sort_order", "default_forum_layout",
	"archived", "auto_archive_duration", "locked", "invitable", "applied_tags", "icon"}

func restModifyChannel(s *Server, c *call) (int, any) {
	ch, st, e := s.channelFor(c)
	if ch == nil {
		return st, e
	}
	if ch.kind == DM {
		return apiErr(http.StatusForbidden, codeWrongChannelType, "Cannot execute action on a DM channel")
	}
	var raw map[string]json.RawMessage
	if json.Unmarshal(c.body, &raw) != nil {
		return badJSON()
	}
	for k := range raw {
		if !slices.Contains(modifyFields, k) && s.opts.strictBodies {
			return formErr(k, "UNKNOWN_FIELD", "Unknown field.")
		}
	}
	var b struct {
		Name  *string `json:"name"`
		Topic *string `json:"topic"`
	}
	if json.Unmarshal(c.body, &b) != nil {
		return badJSON()
	}
	if b.Topic != nil {
		if ch.kind != GuildText {
			return formErr("topic", "BASE_TYPE_BAD_CHANNEL_TYPE", "This field is not valid for this channel type.")
		}
		if utf8.RuneCountInString(*b.Topic) > maxTopic {
			return formErr("topic", "BASE_TYPE_MAX_LENGTH", fmt.Sprintf("Must be %d or fewer in length.", maxTopic))
		}
		ch.topic = *b.Topic
	}
	if b.Name != nil {
		if n := utf8.RuneCountInString(*b.Name); n < 1 || n > 100 {
			return formErr("name", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length.")
		}
		ch.name = *b.Name
	}
	s.emitChannelUpdateLocked(ch)
	s.notifyLocked()
	return http.StatusOK, s.channelJSON(ch, c.me.id)
}

// emitChannelUpdateLocked announces a changed channel (CHANNEL_UPDATE, or
// THREAD_UPDATE for a thread).
func (s *Server) emitChannelUpdateLocked(c *channel) {
	typ := "CHANNEL_UPDATE"
	if c.kind.isThread() {
		typ = "THREAD_UPDATE"
	}
	s.emitChannelLocked(c, typ, IntentGuilds, 0, func(ss *session) any {
		if c.kind.isPrivate() && ss.bot {
			return nil
		}
		return s.channelJSON(c, ss.userID)
	})
}

// SetTopic sets a guild text channel's topic as a user would in Discord's
// channel settings (CHANNEL_UPDATE); "" removes it.
func (s *Server) SetTopic(userID, channelID, topic string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.mustMember("SetTopic", userID, channelID)
	if c.kind != GuildText || utf8.RuneCountInString(topic) > maxTopic {
		panic(fmt.Sprintf("discordfake: SetTopic: channel %s cannot have this topic", channelID))
	}
	c.topic = topic
	s.emitChannelUpdateLocked(c)
	s.notifyLocked()
}

// RemoveMember removes a user from a guild, as leaving or a kick does
// (GUILD_MEMBER_REMOVE to the other members' sessions, with GUILD_MEMBERS
// for bots; GUILD_DELETE to the user's). The guild's owner cannot leave.
func (s *Server) RemoveMember(guildID, userID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.mustGuild("RemoveMember", guildID)
	u := s.mustUser("RemoveMember", userID)
	if !slices.Contains(g.members, userID) || g.ownerID == userID {
		panic(fmt.Sprintf("discordfake: RemoveMember: %s cannot leave guild %s", userID, guildID))
	}
	g.members = slices.DeleteFunc(g.members, func(id string) bool { return id == userID })
	delete(g.nicks, userID)
	delete(g.joined, userID)
	d := map[string]any{"guild_id": g.id, "user": s.userJSON(u)}
	s.emitLocked("GUILD_MEMBER_REMOVE", IntentGuildMembers, func(v string) bool {
		return slices.Contains(g.members, v)
	}, func(*session) any { return d })
	s.emitLocked("GUILD_DELETE", IntentGuilds, func(v string) bool { return v == userID }, func(*session) any {
		return map[string]any{"id": g.id}
	})
	s.notifyLocked()
}

// restReactors lists the users who reacted with an emoji (up to limit,
// default 25, max 100, after a user ID), by user ID.
func restReactors(s *Server, c *call) (int, any) {
	_, m, st, e := s.messageFor(c)
	if m == nil {
		return st, e
	}
	em, ok := parseEmoji(c.params["emoji"])
	if !ok {
		return apiErr(http.StatusBadRequest, codeUnknownEmoji, "Unknown Emoji")
	}
	limit, ok := queryLimit(c, 25, 100)
	if !ok {
		return limitErr(100)
	}
	after, _, ok := snowflakeParam(c, "after")
	if !ok {
		return formErr("after", "NUMBER_TYPE_COERCE", "Value is not snowflake.")
	}
	out := []wireUser{}
	for _, r := range m.reactions {
		if r.emoji.key() != em.key() {
			continue
		}
		ids := slices.Clone(r.users)
		slices.SortFunc(ids, cmpID)
		for _, id := range ids {
			if idNum(id) > after && len(out) < limit {
				out = append(out, s.userJSON(s.users[id]))
			}
		}
	}
	return http.StatusOK, out
}

// CreateGroupDM creates a group DM of people (not bots), its owner first,
// with a name ("" for none) (CHANNEL_CREATE to their user-account
// sessions).
func (s *Server) CreateGroupDM(ownerID, name string, others ...string) Channel {
	s.mu.Lock()
	defer s.mu.Unlock()
	ids := append([]string{ownerID}, others...)
	for _, id := range ids {
		if s.mustUser("CreateGroupDM", id).bot {
			panic("discordfake: CreateGroupDM: bots cannot be in group DMs")
		}
	}
	if len(ids) < 2 || len(ids) > 10 {
		panic("discordfake: CreateGroupDM: a group DM has 2 to 10 people")
	}
	c := &channel{id: s.ids.next(), kind: GroupDM, name: name, recipients: ids, byID: map[string]*message{}}
	s.channels[c.id] = c
	s.channelOrder = append(s.channelOrder, c.id)
	s.emitChannelCreateLocked(c)
	s.notifyLocked()
	return channelSnapshot(c)
}
