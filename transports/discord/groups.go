package discord

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"sync"

	"github.com/bwmarrin/discordgo"

	"github.com/xgate-im/xgate/bridge"
)

// Group chats. A guild's text channels and threads, and group DMs, are
// groups (rooms on the XMPP side). A channel's ChatRef names its guild in
// Parent, a thread's names its channel. Guild membership is what Discord
// checks for channels, so joining a channel needs no Discord call; a
// thread, which anyone of the channel reads, is joined (followed) by a
// personal account when the user joins its room (bridge.GroupJoiner). A
// bot-linked account sees the channels of the guilds its user shares with
// the bot, and joins nothing.

// chanInfo is what the transport knows of a channel, from the Gateway
// (GUILD_CREATE, CHANNEL_*, THREAD_*) or from GET /channels/{id}.
type chanInfo struct {
	ID       string  `json:"id"`
	Type     int     `json:"type"`
	GuildID  string  `json:"guild_id"`
	ParentID string  `json:"parent_id"`
	Name     string  `json:"name"`
	Topic    *string `json:"topic"`
	OwnerID  string  `json:"owner_id"`
	// Recipients are a group DM's people.
	Recipients []me `json:"recipients"`
}

// Channel types (Discord's values) that are groups.
const (
	typeGuildText    = 0
	typeDM           = 1
	typeGroupDM      = 3
	typeAnnouncement = 5
	typeNewsThread   = 10
	typePublicThread = 11
	typePrivThread   = 12
)

func (c chanInfo) isThread() bool {
	return c.Type == typeNewsThread || c.Type == typePublicThread || c.Type == typePrivThread
}

// isGroup reports whether the channel carries messages between many.
func (c chanInfo) isGroup() bool {
	return c.Type == typeGuildText || c.Type == typeAnnouncement || c.Type == typeGroupDM || c.isThread()
}

func (c chanInfo) topic() string {
	if c.Topic == nil {
		return ""
	}
	return *c.Topic
}

// ref is the chat of a group channel.
func (c chanInfo) ref() bridge.ChatRef {
	parent := c.GuildID
	if c.isThread() {
		parent = c.ParentID
	}
	return bridge.ChatRef{Kind: bridge.Group, ID: bridge.ChatID(c.ID), Parent: bridge.ChatID(parent)}
}

// channels is the transport's cache of channels, shared by connections
// (a channel is the same for everyone who sees it).
type channels struct {
	mu   sync.Mutex
	byID map[string]chanInfo
	// guilds are guild names, by ID.
	guilds map[string]string
}

// note records a channel and returns what was known before.
func (cs *channels) note(c chanInfo) (old chanInfo, known bool) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if cs.byID == nil {
		cs.byID = map[string]chanInfo{}
	}
	old, known = cs.byID[c.ID]
	cs.byID[c.ID] = c
	return old, known
}

func (cs *channels) get(id string) (chanInfo, bool) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	c, ok := cs.byID[id]
	return c, ok
}

func (cs *channels) forget(id string) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	delete(cs.byID, id)
}

func (cs *channels) noteGuild(id, name string) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if cs.guilds == nil {
		cs.guilds = map[string]string{}
	}
	cs.guilds[id] = name
}

func (cs *channels) guildName(id string) string {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	return cs.guilds[id]
}

// inGuild returns the group channels and threads known in a guild.
func (cs *channels) inGuild(guild string) []chanInfo {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	var out []chanInfo
	for _, c := range cs.byID {
		if c.GuildID == guild && c.isGroup() {
			out = append(out, c)
		}
	}
	return out
}

// channelInfo returns what is known of a channel, reading it when new.
func (s *Session) channelInfo(ctx context.Context, id string) (chanInfo, error) {
	if c, ok := s.t.chans.get(id); ok {
		return c, nil
	}
	var c chanInfo
	if err := s.c.request(ctx, "get channel", "GET", discordgo.EndpointChannel(id), discordgo.EndpointChannels, nil, &c); err != nil {
		return chanInfo{}, s.checked(ctx, err)
	}
	if c.isGroup() {
		s.t.chans.note(c)
	}
	return c, nil
}

// groupName is how a room shows a channel: "Guild #channel", a thread
// under its channel, a group DM by its name.
func (s *Session) groupName(c chanInfo) string {
	switch {
	case c.Type == typeGroupDM:
		if c.Name != "" {
			return c.Name
		}
		var names string
		for _, u := range c.Recipients {
			if u.ID == s.user {
				continue
			}
			if names != "" {
				names += ", "
			}
			names += u.display()
		}
		return names
	case c.isThread():
		if p, ok := s.t.chans.get(c.ParentID); ok {
			return s.groupName(p) + " › " + c.Name
		}
		return c.Name
	}
	if g := s.t.chans.guildName(c.GuildID); g != "" {
		return g + " #" + c.Name
	}
	return "#" + c.Name
}

// groupInfo describes a group channel.
func (s *Session) groupInfo(c chanInfo) bridge.GroupInfo {
	r := c.ref()
	return bridge.GroupInfo{ID: r.ID, Parent: r.Parent, Name: s.groupName(c), Topic: c.topic(),
		Private: c.Type == typeGroupDM || c.Type == typePrivThread}
}

// userGuild is a guild of GET /users/@me/guilds.
type userGuild struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	OwnerID string `json:"owner_id"`
}

// guilds lists the guilds of the account: for a bot-linked one, those
// its user shares with the bot.
func (s *Session) guilds(ctx context.Context) ([]userGuild, error) {
	var gs []userGuild
	if err := s.c.request(ctx, "guilds", "GET", discordgo.EndpointUserGuilds("@me"), discordgo.EndpointUserGuilds(""), nil, &gs); err != nil {
		return nil, s.checked(ctx, err)
	}
	out := gs[:0]
	for _, g := range gs {
		s.t.chans.noteGuild(g.ID, g.Name)
		ok, err := s.inGuild(ctx, g.ID)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, g)
		}
	}
	return out, nil
}

// inGuild reports whether the account's user is a member of a guild.
// A personal account's connection only sees its own guilds.
func (s *Session) inGuild(ctx context.Context, guild string) (bool, error) {
	if s.kind == kindUser {
		return true, nil
	}
	s.mu.Lock()
	in, ok := s.members[guild]
	s.mu.Unlock()
	if ok {
		return in, nil
	}
	var m member
	err := s.c.request(ctx, "guild member", "GET", discordgo.EndpointGuildMember(guild, s.user), discordgo.EndpointGuildMember(guild, ""), nil, &m)
	switch {
	case errors.Is(err, bridge.ErrNotFound):
		in = false
	case err != nil:
		return false, err
	default:
		in = true
	}
	s.noteMembership(guild, in)
	return in, nil
}

// noteMembership records whether the account's user is in a guild.
func (s *Session) noteMembership(guild string, in bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.members[guild] = in
}

// Groups implements bridge.GroupLister: the text channels of the
// account's guilds, the active threads the Gateway told of, and (for
// personal accounts) group DMs.
func (s *Session) Groups(ctx context.Context) ([]bridge.GroupInfo, error) {
	gs, err := s.guilds(ctx)
	if err != nil {
		return nil, err
	}
	var out []bridge.GroupInfo
	for _, g := range gs {
		var chs []chanInfo
		if err := s.c.request(ctx, "guild channels", "GET", discordgo.EndpointGuildChannels(g.ID), discordgo.EndpointGuildChannels(""), nil, &chs); err != nil {
			return nil, s.checked(ctx, err)
		}
		for _, c := range chs {
			if c.GuildID == "" {
				c.GuildID = g.ID
			}
			if c.isGroup() {
				s.t.chans.note(c)
				out = append(out, s.groupInfo(c))
			}
		}
		for _, c := range s.t.chans.inGuild(g.ID) {
			if c.isThread() {
				out = append(out, s.groupInfo(c))
			}
		}
	}
	if s.kind == kindUser {
		var chs []chanInfo
		if err := s.c.request(ctx, "DM channels", "GET", discordgo.EndpointUserChannels("@me"), discordgo.EndpointUserChannels(""), nil, &chs); err != nil {
			return nil, s.checked(ctx, err)
		}
		for _, c := range chs {
			if c.Type == typeGroupDM {
				s.t.chans.note(c)
				out = append(out, s.groupInfo(c))
			}
		}
	}
	return out, nil
}

// Members implements bridge.GroupMembers: a guild channel's or thread's
// people are its guild's members (the guild owner as RoleOwner), a group
// DM's its recipients. Bots need the Server Members Intent.
func (s *Session) Members(ctx context.Context, chat bridge.ChatID) ([]bridge.GroupMember, error) {
	c, err := s.channelInfo(ctx, string(chat))
	if err != nil {
		return nil, err
	}
	if !c.isGroup() {
		return nil, fmt.Errorf("discord: channel %s is not a group: %w", chat, bridge.ErrNotFound)
	}
	if c.Type == typeGroupDM {
		out := []bridge.GroupMember{{User: bridge.UserID(s.user), Nick: s.name, Self: true}}
		if s.user == c.OwnerID {
			out[0].Role = bridge.RoleOwner
		}
		for _, u := range c.Recipients {
			if u.ID == s.user {
				continue
			}
			r := bridge.RoleMember
			if u.ID == c.OwnerID {
				r = bridge.RoleOwner
			}
			out = append(out, bridge.GroupMember{User: bridge.UserID(u.ID), Nick: u.display(), Role: r})
		}
		return out, nil
	}
	if in, err := s.inGuild(ctx, c.GuildID); err != nil || !in {
		if err == nil {
			err = fmt.Errorf("discord: you are not in the guild of channel %s: %w", chat, bridge.ErrForbidden)
		}
		return nil, err
	}
	var g userGuild
	if err := s.c.request(ctx, "guild", "GET", discordgo.EndpointGuild(c.GuildID), discordgo.EndpointGuild(""), nil, &g); err != nil {
		return nil, s.checked(ctx, err)
	}
	var out []bridge.GroupMember
	after := ""
	for {
		var ms []member
		ep := discordgo.EndpointGuildMembers(c.GuildID)
		q := url.Values{"limit": {"1000"}}
		if after != "" {
			q.Set("after", after)
		}
		if err := s.c.request(ctx, "guild members", "GET", ep+"?"+q.Encode(), ep, nil, &ms); err != nil {
			return nil, s.checked(ctx, err)
		}
		for _, m := range ms {
			if m.User == nil {
				continue
			}
			nick := m.Nick
			if nick == "" {
				nick = m.User.display()
			}
			r := bridge.RoleMember
			if m.User.ID == g.OwnerID {
				r = bridge.RoleOwner
			}
			out = append(out, bridge.GroupMember{User: bridge.UserID(m.User.ID), Nick: nick, Role: r, Self: m.User.ID == s.user})
			after = m.User.ID
		}
		if len(ms) < 1000 {
			return out, nil
		}
	}
}

// SetTopic implements bridge.TopicSetter: the channel's topic (guild text
// channels; a bot needs the Manage Channels permission).
func (s *Session) SetTopic(ctx context.Context, chat bridge.ChatID, topic string) error {
	c, err := s.channelInfo(ctx, string(chat))
	if err != nil {
		return err
	}
	if c.Type != typeGuildText && c.Type != typeAnnouncement {
		return fmt.Errorf("discord: only server text channels have a topic: %w", bridge.ErrUnsupported)
	}
	body := map[string]string{"topic": topic}
	var out chanInfo
	if err := s.c.request(ctx, "set topic", "PATCH", discordgo.EndpointChannel(string(chat)), discordgo.EndpointChannels, body, &out); err != nil {
		return s.checked(ctx, err)
	}
	return nil
}

var _ bridge.GroupJoiner = (*Session)(nil)

// JoinGroup implements bridge.GroupJoiner. A personal account joins a
// thread with PUT /channels/{id}/thread-members/@me (Discord's "join
// thread": it then follows it in Discord's own client); anything else
// needs no call, guild membership being what counts for channels and a
// group DM having only its recipients. A bot-linked account joins
// nothing: a call would make the bot, not the user, a member.
func (s *Session) JoinGroup(ctx context.Context, chat bridge.ChatID) error {
	return s.threadMembership(ctx, chat, "PUT", "join thread")
}

// LeaveGroup implements bridge.GroupJoiner: a personal account leaves a
// thread (DELETE /channels/{id}/thread-members/@me). A guild's channel is
// left only by leaving the guild, and a group DM by closing it, both
// steps for Discord's own client: ErrUnsupported.
func (s *Session) LeaveGroup(ctx context.Context, chat bridge.ChatID) error {
	c, err := s.channelInfo(ctx, string(chat))
	if err != nil {
		return err
	}
	if !c.isThread() {
		return fmt.Errorf("discord: leave the server or the group DM in Discord: %w", bridge.ErrUnsupported)
	}
	return s.threadMembership(ctx, chat, "DELETE", "leave thread")
}

// threadMembership adds the account's user to a thread or takes them out
// of it; nothing for a bot-linked account or a channel that is not a
// thread.
func (s *Session) threadMembership(ctx context.Context, chat bridge.ChatID, method, op string) error {
	c, err := s.channelInfo(ctx, string(chat))
	if err != nil {
		return err
	}
	if s.kind != kindUser || !c.isThread() {
		return nil
	}
	ep := discordgo.EndpointThreadMember(c.ID, "@me")
	if err := s.c.request(ctx, op, method, ep, discordgo.EndpointThreadMembers(""), nil, nil); err != nil {
		return s.checked(ctx, err)
	}
	return nil
}
