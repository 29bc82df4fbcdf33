package discordfake

import (
	"encoding/json"
	"slices"
	"strings"
)

// Routing of events to sessions. A bot session gets an event only if it
// identified with the event's intent; user-account sessions get every event
// they can see (Discord's user clients do not use intents).

// emitLocked appends an event to every valid session of the users `to`
// accepts that has the intent. payload renders the event for one session;
// nil skips that session.
func (s *Server) emitLocked(typ string, intent Intent, to func(userID string) bool, payload func(ss *session) any) {
	for _, id := range s.gw.sessionOrder {
		ss := s.gw.sessions[id]
		if ss.invalid || !to(ss.userID) {
			continue
		}
		if ss.bot && intent != 0 && ss.intents&intent == 0 {
			continue
		}
		if p := payload(ss); p != nil {
			s.appendLocked(ss, typ, p, false)
		}
	}
}

// emitChannelLocked sends an event about a channel to the sessions of users
// who can see it, with the guild or the direct-message intent.
func (s *Server) emitChannelLocked(c *channel, typ string, guildIntent, dmIntent Intent, payload func(ss *session) any) {
	intent := guildIntent
	if c.kind.isPrivate() {
		intent = dmIntent
	}
	s.emitLocked(typ, intent, func(u string) bool { return s.canSee(u, c) }, payload)
}

func hidesContent(ss *session) bool { return ss.bot && ss.intents&IntentMessageContent == 0 }

func (s *Server) emitMessageLocked(c *channel, m *message, typ string) {
	s.emitChannelLocked(c, typ, IntentGuildMessages, IntentDirectMessages, func(ss *session) any {
		return s.messageJSON(c, m, ss.userID, hidesContent(ss), true)
	})
}

func (s *Server) emitMessageDeleteLocked(c *channel, id string) {
	d := map[string]string{"id": id, "channel_id": c.id}
	if c.guildID != "" {
		d["guild_id"] = c.guildID
	}
	s.emitChannelLocked(c, "MESSAGE_DELETE", IntentGuildMessages, IntentDirectMessages, func(*session) any { return d })
}

func (s *Server) emitReactionLocked(c *channel, m *message, userID string, e emoji, typ string) {
	d := map[string]any{"user_id": userID, "channel_id": c.id, "message_id": m.id,
		"emoji": wireEmoji{ID: nullable(e.id), Name: e.name}, "burst": false, "type": 0}
	if c.guildID != "" {
		d["guild_id"] = c.guildID
		if typ == "MESSAGE_REACTION_ADD" {
			d["member"] = s.memberJSON(s.guilds[c.guildID], userID, true)
		}
	}
	if typ == "MESSAGE_REACTION_ADD" {
		author := m.authorID
		if m.webhookID != "" {
			author = m.webhookID
		}
		d["message_author_id"] = author
	}
	s.emitChannelLocked(c, typ, IntentGuildMessageReactions, IntentDirectMessageReactions, func(*session) any { return d })
}

func (s *Server) emitTypingLocked(c *channel, userID string, unix int64) {
	d := map[string]any{"channel_id": c.id, "user_id": userID, "timestamp": unix}
	if c.guildID != "" {
		d["guild_id"] = c.guildID
		d["member"] = s.memberJSON(s.guilds[c.guildID], userID, true)
	}
	s.emitChannelLocked(c, "TYPING_START", IntentGuildMessageTyping, IntentDirectMessageTyping, func(ss *session) any {
		if ss.userID == userID {
			return nil // Discord does not echo your own typing
		}
		return d
	})
}

// emitPresenceLocked sends a user's presence to the sessions that share a
// guild with them (one event per guild, with GUILD_PRESENCES) and to the
// user-account sessions of their friends (without guild_id).
func (s *Server) emitPresenceLocked(u *user) {
	for _, g := range s.guildsOf(u.id) {
		p := s.presenceJSON(u, g.id)
		s.emitLocked("PRESENCE_UPDATE", IntentGuildPresences, func(v string) bool {
			return v != u.id && slices.Contains(g.members, v)
		}, func(*session) any { return p })
	}
	p := s.presenceJSON(u, "")
	s.emitLocked("PRESENCE_UPDATE", 0, func(v string) bool { return slices.Contains(u.friends, v) },
		func(ss *session) any {
			if ss.bot {
				return nil
			}
			return p
		})
}

// emitChannelCreateLocked announces a new channel: guild channels to the
// guild's sessions (GUILDS), private channels to the recipients'
// user-account sessions (bots are not told about DMs since API v8).
func (s *Server) emitChannelCreateLocked(c *channel) {
	typ := "CHANNEL_CREATE"
	if c.kind.isThread() {
		typ = "THREAD_CREATE"
	}
	s.emitChannelLocked(c, typ, IntentGuilds, 0, func(ss *session) any {
		if c.kind.isPrivate() && ss.bot {
			return nil
		}
		w := s.channelJSON(c, ss.userID)
		w.NewlyCreated = c.kind.isThread()
		return w
	})
}

func (s *Server) emitMemberAddLocked(g *guild, userID string) {
	m := s.memberJSON(g, userID, true)
	m.GuildID = g.id
	s.emitLocked("GUILD_MEMBER_ADD", IntentGuildMembers, func(v string) bool {
		return v != userID && slices.Contains(g.members, v)
	}, func(*session) any { return m })
	s.emitLocked("GUILD_CREATE", IntentGuilds, func(v string) bool { return v == userID }, func(ss *session) any {
		return s.guildCreateJSON(g, ss.userID, ss.intents, ss.bot)
	})
}

func (s *Server) emitRelationshipLocked(a, b *user) {
	for _, pair := range [][2]*user{{a, b}, {b, a}} {
		me, other := pair[0], pair[1]
		r := wireRelationship{ID: other.id, Type: 1, User: s.userJSON(other)}
		s.emitLocked("RELATIONSHIP_ADD", 0, func(v string) bool { return v == me.id }, func(ss *session) any {
			if ss.bot {
				return nil
			}
			return r
		})
	}
}

// presenceFromGatewayLocked applies a client's op 3 Presence Update.
// Activities are kept as name, type, state and url (discordgo sends
// created_at as a date string where Discord documents an integer).
func (s *Server) presenceFromGatewayLocked(userID string, d json.RawMessage) {
	var p struct {
		Status     string `json:"status"`
		Activities []struct {
			Name  string `json:"name"`
			Type  int    `json:"type"`
			State string `json:"state,omitempty"`
			URL   string `json:"url,omitempty"`
		} `json:"activities"`
	}
	if json.Unmarshal(d, &p) != nil {
		return
	}
	acts, _ := marshal(p.Activities)
	if p.Activities == nil {
		acts = []byte("[]")
	}
	s.setPresenceLocked(s.users[userID], p.Status, acts)
}

func (s *Server) setPresenceLocked(u *user, status string, activities json.RawMessage) {
	switch status {
	case "online", "idle", "dnd", "invisible", "offline":
	default:
		status = "online"
	}
	u.status, u.activities = status, activities
	s.emitPresenceLocked(u)
}

// requestMembersLocked answers op 8 Request Guild Members with one
// GUILD_MEMBERS_CHUNK per guild asked: members whose username starts with
// the query (all for ""; bots need GUILD_MEMBERS for that), or the listed
// user IDs, up to the limit (0: no limit).
func (s *Server) requestMembersLocked(ss *session, d json.RawMessage) {
	var r struct {
		GuildID   json.RawMessage `json:"guild_id"` // a string, or a list (discordgo sends a list)
		Query     *string         `json:"query"`
		Limit     int             `json:"limit"`
		UserIDs   []string        `json:"user_ids"`
		Nonce     string          `json:"nonce"`
		Presences bool            `json:"presences"`
	}
	if json.Unmarshal(d, &r) != nil {
		return
	}
	var ids []string
	if json.Unmarshal(r.GuildID, &ids) != nil {
		var one string
		json.Unmarshal(r.GuildID, &one)
		ids = []string{one}
	}
	for _, gid := range ids {
		g := s.guilds[gid]
		if g == nil || !slices.Contains(g.members, ss.userID) {
			continue
		}
		all := r.Query != nil && *r.Query == "" && r.UserIDs == nil
		if ss.bot && all && ss.intents&IntentGuildMembers == 0 {
			continue // Discord answers nothing without the intent
		}
		members := []wireMember{}
		var pres []wirePresence
		for _, uid := range g.members {
			u := s.users[uid]
			match := all || slices.Contains(r.UserIDs, uid) ||
				(r.Query != nil && *r.Query != "" && strings.HasPrefix(strings.ToLower(u.username), strings.ToLower(*r.Query)))
			if !match || (r.Limit > 0 && len(members) >= r.Limit) {
				continue
			}
			members = append(members, s.memberJSON(g, uid, true))
			if r.Presences {
				pres = append(pres, s.presenceJSON(u, ""))
			}
		}
		chunk := map[string]any{"guild_id": g.id, "members": members, "chunk_index": 0, "chunk_count": 1}
		if r.Nonce != "" {
			chunk["nonce"] = r.Nonce
		}
		if r.Presences {
			chunk["presences"] = pres
		}
		s.appendLocked(ss, "GUILD_MEMBERS_CHUNK", chunk, true)
	}
}
