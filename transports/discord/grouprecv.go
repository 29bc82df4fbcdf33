package discord

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"

	"github.com/bwmarrin/discordgo"

	"github.com/xgate-im/xgate/bridge"
)

// Group events from Discord: channels and threads appearing, changing
// (their topic) and going, members joining and leaving. A bot's event
// concerns every bot-linked account; each session keeps those of the
// guilds its user is in.

// groupRoute routes an event of a guild: to a personal account's own
// session, or to every bot-linked account (each checks its membership).
func (t *Transport) groupRoute(c *conn) func(context.Context) ([]bridge.AccountID, bool, error) {
	return func(context.Context) ([]bridge.AccountID, bool, error) {
		if !c.bot {
			return []bridge.AccountID{c.account}, true, nil
		}
		return t.fanout.Group(kindBot), true, nil
	}
}

// onChannelEvent handles CHANNEL_CREATE/UPDATE/DELETE and
// THREAD_CREATE/UPDATE/DELETE of group channels: a GroupEvent, and a
// TopicEvent when the topic changed.
func (t *Transport) onChannelEvent(ctx context.Context, c *conn, typ string, raw json.RawMessage) {
	var ch chanInfo
	if json.Unmarshal(raw, &ch) != nil || ch.ID == "" {
		return
	}
	if !ch.isGroup() {
		if typ == "CHANNEL_CREATE" {
			var pc privateChannel
			if json.Unmarshal(raw, &pc) == nil {
				t.notePrivateChannels(c, []privateChannel{pc})
			}
		}
		return
	}
	left := typ == "CHANNEL_DELETE" || typ == "THREAD_DELETE"
	if left {
		if old, known := t.chans.get(ch.ID); known {
			ch = old
		}
		t.chans.forget(ch.ID)
	} else {
		t.chans.note(ch)
	}
	prev, had := c.noteTopic(ch.ID, ch.topic(), left)
	topicChanged := typ == "CHANNEL_UPDATE" && (had && prev != ch.topic() || !had && ch.topic() != "")
	c.dispatch(ctx, bridge.Inbound{
		ID: fmt.Sprintf("c:%s:%s:%d", typ, ch.ID, c.nextSeq()), Order: ch.ID, Describe: describe(typ), Route: t.groupRoute(c),
		Handle: func(ctx context.Context, bs bridge.Session) error {
			s := bs.(*Session)
			if s.isClosed() {
				return bridge.ErrSessionClosed
			}
			if ch.GuildID != "" {
				if in, err := s.inGuild(ctx, ch.GuildID); err != nil || !in {
					return err
				}
			}
			if err := s.sink.Emit(ctx, bridge.GroupEvent{Group: s.groupInfo(ch), Left: left}); err != nil {
				return err
			}
			if topicChanged {
				return s.sink.Emit(ctx, bridge.TopicEvent{Chat: bridge.ChatID(ch.ID), Topic: ch.topic()})
			}
			return nil
		},
	})
}

// noteTopic records the topic of a channel as this connection saw it,
// and returns the one it saw before.
func (c *conn) noteTopic(channel, topic string, gone bool) (prev string, had bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	prev, had = c.topics[channel]
	if gone {
		delete(c.topics, channel)
	} else {
		c.topics[channel] = topic
	}
	return prev, had
}

// onGuildCreate records a guild's name, channels and threads.
func (t *Transport) onGuildCreate(c *conn, raw json.RawMessage) {
	var g struct {
		ID       string     `json:"id"`
		Name     string     `json:"name"`
		Channels []chanInfo `json:"channels"`
		Threads  []chanInfo `json:"threads"`
	}
	if json.Unmarshal(raw, &g) != nil || g.ID == "" {
		return
	}
	t.chans.noteGuild(g.ID, g.Name)
	for _, ch := range append(g.Channels, g.Threads...) {
		ch.GuildID = g.ID
		if ch.isGroup() {
			t.chans.note(ch)
			c.noteTopic(ch.ID, ch.topic(), false)
		}
	}
}

// onMemberEvent handles GUILD_MEMBER_ADD and GUILD_MEMBER_REMOVE: a
// MemberEvent in each group channel of the guild, for the accounts in it.
// The account's own user joining or leaving is a GroupEvent instead.
func (t *Transport) onMemberEvent(ctx context.Context, c *conn, typ string, raw json.RawMessage) {
	var m struct {
		GuildID string `json:"guild_id"`
		Nick    string `json:"nick"`
		User    me     `json:"user"`
	}
	if json.Unmarshal(raw, &m) != nil || m.GuildID == "" || m.User.ID == "" {
		return
	}
	left := typ == "GUILD_MEMBER_REMOVE"
	nick := m.Nick
	if nick == "" {
		nick = m.User.display()
	}
	c.dispatch(ctx, bridge.Inbound{
		ID: fmt.Sprintf("g:%s:%s:%s:%d", typ, m.GuildID, m.User.ID, c.nextSeq()), Order: "guild:" + m.GuildID,
		Describe: describe(typ), Route: t.groupRoute(c),
		Handle: func(ctx context.Context, bs bridge.Session) error {
			s := bs.(*Session)
			if s.isClosed() {
				return bridge.ErrSessionClosed
			}
			if m.User.ID == s.user {
				s.noteMembership(m.GuildID, !left)
				for _, ch := range t.chans.inGuild(m.GuildID) {
					if err := s.sink.Emit(ctx, bridge.GroupEvent{Group: s.groupInfo(ch), Left: left}); err != nil {
						return err
					}
				}
				return nil
			}
			if in, err := s.inGuild(ctx, m.GuildID); err != nil || !in {
				return err
			}
			for _, ch := range t.chans.inGuild(m.GuildID) {
				ev := bridge.MemberEvent{Chat: bridge.ChatID(ch.ID), Member: bridge.GroupMember{User: bridge.UserID(m.User.ID), Nick: nick}, Left: left}
				if err := s.sink.Emit(ctx, ev); err != nil {
					return err
				}
			}
			return nil
		},
	})
}

// onGuildDelete handles a personal account leaving a guild (or the bot
// being removed from one): its channels are left.
func (t *Transport) onGuildDelete(ctx context.Context, c *conn, raw json.RawMessage) {
	var g struct {
		ID          string `json:"id"`
		Unavailable bool   `json:"unavailable"`
	}
	if json.Unmarshal(raw, &g) != nil || g.ID == "" || g.Unavailable {
		return // an outage, not a departure
	}
	chs := t.chans.inGuild(g.ID)
	c.dispatch(ctx, bridge.Inbound{
		ID: fmt.Sprintf("gd:%s:%d", g.ID, c.nextSeq()), Order: "guild:" + g.ID, Describe: describe("GUILD_DELETE"), Route: t.groupRoute(c),
		Handle: func(ctx context.Context, bs bridge.Session) error {
			s := bs.(*Session)
			if s.isClosed() {
				return bridge.ErrSessionClosed
			}
			if c.bot {
				s.noteMembership(g.ID, false)
			}
			for _, ch := range chs {
				if err := s.sink.Emit(ctx, bridge.GroupEvent{Group: s.groupInfo(ch), Left: true}); err != nil {
					return err
				}
			}
			return nil
		},
	})
}

// chatOf places a channel: a group (with its ChatRef) or a DM with its
// peer. guild is the event's guild_id, when it had one.
func (s *Session) chatOf(ctx context.Context, channel, guild string) (bridge.ChatRef, chanInfo, error) {
	if guild == "" {
		s.mu.Lock()
		p, ok := s.peers[channel]
		s.mu.Unlock()
		if !ok && s.kind == kindBot {
			p = s.t.botDMPeer(channel)
			ok = p != ""
		}
		if ok {
			return bridge.ChatRef{Kind: bridge.Direct, ID: bridge.ChatID(channel), Peer: bridge.UserID(p)}, chanInfo{}, nil
		}
	}
	c, err := s.channelInfo(ctx, channel)
	if err != nil {
		return bridge.ChatRef{}, chanInfo{}, err
	}
	if c.isGroup() {
		if c.GuildID != "" {
			in, err := s.inGuild(ctx, c.GuildID)
			if err != nil {
				return bridge.ChatRef{}, chanInfo{}, err
			}
			if !in {
				return bridge.ChatRef{}, chanInfo{}, errNotMember
			}
		}
		return c.ref(), c, nil
	}
	peer, err := s.peerOf(ctx, channel)
	if err != nil {
		return bridge.ChatRef{}, chanInfo{}, err
	}
	return bridge.ChatRef{Kind: bridge.Direct, ID: bridge.ChatID(channel), Peer: bridge.UserID(peer)}, chanInfo{}, nil
}

// reactionsOf returns the emojis a user has on a message of a group: for
// each emoji on it, whether the user is among its reactors.
func (s *Session) reactionsOf(ctx context.Context, m *discordgo.Message, user string) ([]string, error) {
	var out []string
	for _, r := range m.Reactions {
		if r.Emoji == nil {
			continue
		}
		if user == s.c.selfID() {
			if r.Me {
				out = append(out, emojiText(r.Emoji))
			}
			continue
		}
		ep := discordgo.EndpointMessageReactions(m.ChannelID, m.ID, url.PathEscape(r.Emoji.APIName()))
		var us []me
		if err := s.c.request(ctx, "reactors", "GET", ep+"?limit=100", discordgo.EndpointMessageReactions(m.ChannelID, "", ""), nil, &us); err != nil {
			return nil, s.checked(ctx, err)
		}
		if slices.ContainsFunc(us, func(u me) bool { return u.ID == user }) {
			out = append(out, emojiText(r.Emoji))
		}
	}
	return out, nil
}
