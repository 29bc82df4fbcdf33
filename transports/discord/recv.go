package discord

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/xgate-im/xgate/bridge"
)

// From Discord. Every dispatch of a connection is decoded here, on the
// connection's reader goroutine, into a bridge.Inbound for the Fanout:
// which accounts it concerns (Route), how a session turns it into events
// (Handle), and its order key (the channel). Direct messages are routed
// to their account; guild events (groups.go, grouprecv.go) to every
// account that may be in the guild.

// onUserEvent handles a dispatch of a personal account's connection:
// every event concerns that account.
func (t *Transport) onUserEvent(ctx context.Context, c *conn, e *discordgo.Event) {
	only := func(context.Context) ([]bridge.AccountID, bool, error) {
		return []bridge.AccountID{c.account}, true, nil
	}
	t.onEvent(ctx, c, e, func(string, string) func(context.Context) ([]bridge.AccountID, bool, error) { return only })
}

// onBotEvent handles a dispatch of the bot's connection. A DM with a
// person concerns the bot-linked account that last wrote to them through
// the bot; presence and profile changes concern every bot-linked account
// (each keeps what is about its contacts).
func (t *Transport) onBotEvent(ctx context.Context, c *conn, e *discordgo.Event) {
	t.onEvent(ctx, c, e, func(channel, author string) func(context.Context) ([]bridge.AccountID, bool, error) {
		return func(context.Context) ([]bridge.AccountID, bool, error) {
			if channel == "" { // about people, not a chat
				return t.fanout.Group(kindBot), true, nil
			}
			peer := author
			if peer == "" || peer == c.selfID() {
				peer = t.botDMPeer(channel)
			}
			if a, ok := t.replyRoute(peer); ok {
				return []bridge.AccountID{a}, true, nil
			}
			if peer != "" {
				t.log.Info("a direct message to the bot from someone nobody on XMPP wrote to through it; not bridged", "discord_user", peer)
			}
			return nil, true, nil
		}
	})
}

// router names the route of an event of a channel (or "" for one about
// people), given its author when known.
type router func(channel, author string) func(context.Context) ([]bridge.AccountID, bool, error)

// onEvent decodes a dispatch and hands it to the Fanout.
func (t *Transport) onEvent(ctx context.Context, c *conn, e *discordgo.Event, route router) {
	in := bridge.Inbound{Describe: describe(e.Type)}
	switch e.Type {
	case "READY":
		t.onReady(ctx, c, e.RawData)
		return
	case "MESSAGE_CREATE", "MESSAGE_UPDATE":
		var m discordgo.Message
		var extra struct {
			Nonce json.RawMessage `json:"nonce"`
		}
		if json.Unmarshal(e.RawData, &m) != nil || json.Unmarshal(e.RawData, &extra) != nil || m.ID == "" {
			t.log.Warn("undecodable Discord event", "type", e.Type)
			return
		}
		if cs, ok := t.bridgedChannel(m.ChannelID); ok && c.bot && m.GuildID != "" {
			edit := e.Type == "MESSAGE_UPDATE"
			in.ID, in.Order = "m:"+m.ID, "community:"+m.ChannelID
			if edit {
				in.ID = "u:" + m.ID + ":" + m.EditedTimestamp.String()
			}
			if cs == nil {
				waitingInbound(&in)
				break
			}
			cs.inbound(&in, func(ctx context.Context, s *communitySession) error { return s.fromMessage(ctx, &m, edit) })
			break
		}
		if m.GuildID != "" {
			t.guildMessage(c, &m)
		}
		if c.bot && m.GuildID == "" && e.Type == "MESSAGE_CREATE" && m.Author != nil && m.Author.ID != c.selfID() &&
			strings.EqualFold(strings.TrimSpace(m.Content), unlinkCommand) {
			uctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			t.unlink(uctx, m.Author.ID, m.ChannelID)
			cancel()
			return
		}
		if e.Type == "MESSAGE_UPDATE" && (m.Author == nil || m.EditedTimestamp == nil) {
			return // an embed was added, a thread started from it: nothing to show
		}
		nonce := strings.Trim(string(extra.Nonce), `"`)
		author := ""
		if m.Author != nil {
			author = m.Author.ID
		}
		edit := e.Type == "MESSAGE_UPDATE"
		in.ID, in.Order = "m:"+m.ID, m.ChannelID
		if edit {
			in.ID = "u:" + m.ID + ":" + m.EditedTimestamp.String()
		}
		in.Route = route(m.ChannelID, author)
		if m.GuildID != "" {
			in.Route = t.groupRoute(c)
		}
		in.Handle = func(ctx context.Context, s bridge.Session) error {
			return s.(*Session).fromMessage(ctx, &m, nonce, edit, false)
		}
	case "MESSAGE_DELETE":
		var d struct {
			ID        string `json:"id"`
			ChannelID string `json:"channel_id"`
			GuildID   string `json:"guild_id"`
		}
		if json.Unmarshal(e.RawData, &d) != nil {
			return
		}
		if cs, ok := t.bridgedChannel(d.ChannelID); ok && c.bot && d.GuildID != "" {
			in.ID, in.Order = "d:"+d.ID, "community:"+d.ChannelID
			if cs == nil {
				waitingInbound(&in)
				break
			}
			cs.inbound(&in, func(ctx context.Context, s *communitySession) error { return s.fromDelete(ctx, d.ID) })
			break
		}
		in.ID, in.Order, in.Route = "d:"+d.ID, d.ChannelID, route(d.ChannelID, "")
		if d.GuildID != "" {
			in.Route = t.groupRoute(c)
		}
		in.Handle = func(ctx context.Context, s bridge.Session) error {
			return s.(*Session).fromDelete(ctx, d.ChannelID, d.GuildID, d.ID)
		}
	case "MESSAGE_REACTION_ADD", "MESSAGE_REACTION_REMOVE":
		var r struct {
			UserID    string            `json:"user_id"`
			ChannelID string            `json:"channel_id"`
			MessageID string            `json:"message_id"`
			GuildID   string            `json:"guild_id"`
			Emoji     discordgo.Emoji   `json:"emoji"`
			Member    *discordgo.Member `json:"member"`
		}
		if json.Unmarshal(e.RawData, &r) != nil {
			return
		}
		in.ID = fmt.Sprintf("r:%s:%s:%s:%d", e.Type, r.MessageID, r.UserID, c.nextSeq())
		if cs, ok := t.bridgedChannel(r.ChannelID); ok && c.bot && r.GuildID != "" {
			in.Order = "community:" + r.ChannelID
			if cs == nil {
				waitingInbound(&in)
				break
			}
			cs.inbound(&in, func(ctx context.Context, s *communitySession) error {
				return s.fromReaction(ctx, r.MessageID, r.UserID, r.Member)
			})
			break
		}
		in.Order, in.Route = r.ChannelID, route(r.ChannelID, r.UserID)
		if r.GuildID != "" {
			in.Route = t.groupRoute(c)
		}
		in.Handle = func(ctx context.Context, s bridge.Session) error {
			return s.(*Session).fromReaction(ctx, r.ChannelID, r.GuildID, r.MessageID, r.UserID)
		}
	case "TYPING_START":
		var ty struct {
			UserID    string `json:"user_id"`
			ChannelID string `json:"channel_id"`
			GuildID   string `json:"guild_id"`
		}
		if json.Unmarshal(e.RawData, &ty) != nil {
			return
		}
		in.Order, in.Route = ty.ChannelID, route(ty.ChannelID, ty.UserID)
		if ty.GuildID != "" {
			in.Route = t.groupRoute(c)
		}
		in.Handle = func(ctx context.Context, s bridge.Session) error {
			return s.(*Session).fromTyping(ctx, ty.ChannelID, ty.GuildID, ty.UserID)
		}
	case "GUILD_CREATE":
		var g struct {
			Presences []presenceUpdate `json:"presences"`
		}
		if c.bot && json.Unmarshal(e.RawData, &g) == nil {
			for _, p := range g.Presences {
				t.notePresence(p)
			}
		}
		t.onGuildCreate(c, e.RawData)
		return
	case "GUILD_DELETE":
		t.onGuildDelete(ctx, c, e.RawData)
		return
	case "CHANNEL_CREATE", "CHANNEL_UPDATE", "CHANNEL_DELETE", "THREAD_CREATE", "THREAD_UPDATE", "THREAD_DELETE":
		t.onChannelEvent(ctx, c, e.Type, e.RawData)
		return
	case "GUILD_MEMBER_REMOVE":
		t.onMemberEvent(ctx, c, e.Type, e.RawData)
		return
	case "PRESENCE_UPDATE":
		var p presenceUpdate
		if json.Unmarshal(e.RawData, &p) != nil || p.User.ID == "" {
			return
		}
		if c.bot {
			t.notePresence(p)
		}
		in.Order, in.Route = "presence:"+p.User.ID, route("", "")
		in.Handle = func(ctx context.Context, s bridge.Session) error {
			return s.(*Session).fromPresence(ctx, p)
		}
	case "RELATIONSHIP_ADD", "USER_UPDATE", "GUILD_MEMBER_UPDATE", "GUILD_MEMBER_ADD":
		if e.Type == "GUILD_MEMBER_ADD" {
			t.onMemberEvent(ctx, c, e.Type, e.RawData)
		}
		u := userOf(e.Type, e.RawData)
		if u.ID == "" {
			return
		}
		in.Order, in.Route = "presence:"+u.ID, route("", "")
		in.Handle = func(ctx context.Context, s bridge.Session) error {
			return s.(*Session).fromUser(ctx, u)
		}
	default:
		return
	}
	c.dispatch(ctx, in)
}

// describe is an event's name in logs.
type describe string

func (d describe) String() string { return string(d) }

// guildMessage is a message in a guild channel: not bridged until the
// bridge has rooms. A bot message with empty content that is not ours
// means Discord withholds message content: the admin is told once.
func (t *Transport) guildMessage(c *conn, m *discordgo.Message) {
	if c.bot && m.Content == "" && len(m.Embeds) == 0 && len(m.Attachments) == 0 && m.Type == discordgo.MessageTypeDefault &&
		m.Author != nil && m.Author.ID != c.selfID() {
		t.warnOnce("message_content",
			"Discord sends the bot messages without their content: the Message Content Intent is not granted. "+
				"Enable it in the Developer Portal (Applications → your app → Bot → Privileged Gateway Intents → Message Content Intent) "+
				"and keep message_content in the intents of the [[discord]] section",
			"channel", m.ChannelID)
	}
}

// privateChannel is a DM channel as READY and CHANNEL_CREATE give it.
type privateChannel struct {
	ID           string   `json:"id"`
	Type         int      `json:"type"`
	Recipients   []me     `json:"recipients"`
	RecipientIDs []string `json:"recipient_ids"`
	LastMessage  string   `json:"last_message_id"`
}

// onReady records the DM channels a personal account's READY lists.
func (t *Transport) onReady(ctx context.Context, c *conn, raw json.RawMessage) {
	var r struct {
		PrivateChannels []privateChannel `json:"private_channels"`
		Presences       []presenceUpdate `json:"presences"`
	}
	if json.Unmarshal(raw, &r) == nil {
		t.notePrivateChannels(c, r.PrivateChannels)
	}
	if !c.bot {
		// A person's READY carries their friends' presences: the roster
		// starts right.
		only := func(context.Context) ([]bridge.AccountID, bool, error) {
			return []bridge.AccountID{c.account}, true, nil
		}
		for _, p := range r.Presences {
			if p.User.ID == "" {
				continue
			}
			c.dispatch(ctx, bridge.Inbound{
				Order: "presence:" + p.User.ID, Describe: describe("READY presence"), Route: only,
				Handle: func(ctx context.Context, s bridge.Session) error { return s.(*Session).fromPresence(ctx, p) },
			})
		}
	}
	if !c.bot {
		if s, ok := t.fanout.Session(c.account); ok {
			s.(*Session).catchUp(ctx, r.PrivateChannels)
		}
		return
	}
	// A new bot session: each bot-linked account reads its chats from its
	// cursors, before the new session's events.
	t.catchMu.Lock()
	t.botLive = true
	accts := t.fanout.Group(kindBot)
	t.catchMu.Unlock()
	for _, a := range accts {
		if s, ok := t.fanout.Session(a); ok {
			s.(*Session).catchUp(ctx, nil)
		}
	}
}

// notePrivateChannels records the peers of one-to-one DM channels.
func (t *Transport) notePrivateChannels(c *conn, chs []privateChannel) {
	if c.bot {
		return // a bot learns its DMs from their messages
	}
	s, ok := t.fanout.Session(c.account)
	if !ok {
		return
	}
	for _, ch := range chs {
		ids := ch.RecipientIDs
		for _, u := range ch.Recipients {
			ids = append(ids, u.ID)
		}
		ids = slices.DeleteFunc(ids, func(id string) bool { return id == s.(*Session).user })
		if ch.Type == int(discordgo.ChannelTypeDM) && len(ids) == 1 {
			s.(*Session).notePeer(ch.ID, ids[0])
		}
	}
}

// userOf reads the user an event is about.
func userOf(typ string, raw json.RawMessage) me {
	var v struct {
		me
		User *me    `json:"user"`
		Nick string `json:"nick"`
	}
	if json.Unmarshal(raw, &v) != nil {
		return me{}
	}
	if v.User != nil && typ != "USER_UPDATE" {
		return *v.User
	}
	return v.me
}

// sortMessages orders messages oldest first.
func sortMessages(ms []*discordgo.Message) {
	slices.SortFunc(ms, func(a, b *discordgo.Message) int {
		switch {
		case snowflakeLess(a.ID, b.ID):
			return -1
		case snowflakeLess(b.ID, a.ID):
			return 1
		}
		return 0
	})
}

// notePresence remembers the last presence the bot saw of a user.
func (t *Transport) notePresence(p presenceUpdate) {
	if p.User.ID == "" {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.presences[p.User.ID] = p
	close(t.presenceChanged)
	t.presenceChanged = make(chan struct{})
}

// knownPresence returns the last presence the bot saw of a user.
func (t *Transport) knownPresence(id string) (presenceUpdate, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	p, ok := t.presences[id]
	return p, ok
}
