package discord

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/bwmarrin/discordgo"

	"github.com/xgate-im/xgate/bridge"
)

// Community bridging: the bot takes part in a bridge group for one guild
// text channel. The channel's messages (MESSAGE_CREATE, MESSAGE_UPDATE,
// MESSAGE_DELETE on the bot's connection) go through the Fanout, like
// every other event, to a session of their own (communitySession, under a
// pseudo-account), so they keep the order per channel and stay pending on
// the connection until the session's Sink took them. What the group's
// other members say is posted through a webhook of the channel, under
// their own name and picture, with allowed_mentions set explicitly; the
// webhook's own messages are recognized by its ID and never come back.

var (
	_ bridge.CommunityBridger = (*Transport)(nil)
	_ bridge.Session          = (*communitySession)(nil)
	_ bridge.Relay            = (*communitySession)(nil)
	_ bridge.Editor           = (*communitySession)(nil)
	_ bridge.Retractor        = (*communitySession)(nil)
	_ bridge.Reactor          = (*communitySession)(nil)
)

// webhookName names the webhook xgate makes in a bridged channel, and
// finds again after a restart.
const webhookName = "xgate bridge"

// communityAccount is the pseudo-account of a bridged channel: no valid
// bot: or user: account, so it belongs to no group of the Fanout.
func communityAccount(channel string) bridge.AccountID {
	return bridge.AccountID("community:" + channel)
}

// communitySession posts into a bridged channel and hands its events to
// the bridge group.
type communitySession struct {
	t       *Transport
	channel string
	guild   string
	hookID  string
	hook    string // the webhook's execute URL, with its token
	sink    bridge.Sink

	mu     sync.Mutex
	closed bool
}

// BridgeChannel implements bridge.CommunityBridger. It needs the bot: the
// channel must be a text channel of a guild the bot is in, and the bot
// needs the Manage Webhooks permission there (and Message Content to read
// what people write).
func (t *Transport) BridgeChannel(ctx context.Context, chat bridge.ChatID, sink bridge.Sink) (bridge.Session, error) {
	s, err := t.bridgeChannel(ctx, chat, sink)
	if err != nil {
		if errors.Is(err, bridge.ErrNotFound) || errors.Is(err, bridge.ErrForbidden) || errors.Is(err, bridge.ErrUnsupported) {
			t.unbridge(string(chat)) // its events are let go again
		}
		return nil, err
	}
	return s, nil
}

func (t *Transport) bridgeChannel(ctx context.Context, chat bridge.ChatID, sink bridge.Sink) (*communitySession, error) {
	if t.bot == nil {
		return nil, fmt.Errorf("discord: bridging a channel needs bot_token: %w", bridge.ErrUnsupported)
	}
	channel := string(chat)
	if !isSnowflake(channel) {
		return nil, fmt.Errorf("discord: %q is not a channel ID: %w", channel, bridge.ErrNotFound)
	}
	var ch struct {
		GuildID string `json:"guild_id"`
		Type    int    `json:"type"`
	}
	if err := t.bot.request(ctx, "get channel", "GET", discordgo.EndpointChannel(channel), discordgo.EndpointChannel(channel), nil, &ch); err != nil {
		return nil, err
	}
	if ch.GuildID == "" || ch.Type != int(discordgo.ChannelTypeGuildText) {
		return nil, fmt.Errorf("discord: channel %s is not a guild text channel: %w", channel, bridge.ErrUnsupported)
	}
	var hooks []struct {
		ID    string `json:"id"`
		Name  string `json:"name"`
		Token string `json:"token"`
	}
	ep := discordgo.EndpointChannelWebhooks(channel)
	if err := t.bot.request(ctx, "list webhooks", "GET", ep, ep, nil, &hooks); err != nil {
		return nil, err
	}
	s := &communitySession{t: t, channel: channel, guild: ch.GuildID, sink: sink}
	for _, h := range hooks {
		if h.Name == webhookName && h.Token != "" {
			s.hookID, s.hook = h.ID, discordgo.EndpointWebhookToken(h.ID, h.Token)
			break
		}
	}
	if s.hook == "" {
		var h struct {
			ID    string `json:"id"`
			Token string `json:"token"`
		}
		if err := t.bot.request(ctx, "create webhook", "POST", ep, ep, map[string]string{"name": webhookName}, &h); err != nil {
			return nil, err
		}
		s.hookID, s.hook = h.ID, discordgo.EndpointWebhookToken(h.ID, h.Token)
	}
	t.mu.Lock()
	if t.bridged == nil {
		t.bridged = map[string]*communitySession{}
	}
	t.bridged[channel] = s
	t.mu.Unlock()
	t.fanout.Attach(communityAccount(channel), s)
	return s, nil
}

// WillBridge implements bridge.CommunityBridger: the channel's events
// stay pending on the bot's connection until BridgeChannel opened it.
func (t *Transport) WillBridge(chat bridge.ChatID) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.bridged == nil {
		t.bridged = map[string]*communitySession{}
	}
	if _, ok := t.bridged[string(chat)]; !ok {
		t.bridged[string(chat)] = nil
	}
}

// bridgedChannel returns the community session of a bridged channel, and
// whether the channel is bridged (or going to be: then the session is
// nil).
func (t *Transport) bridgedChannel(channel string) (*communitySession, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	s, ok := t.bridged[channel]
	return s, ok
}

// unbridge forgets a channel that cannot be bridged.
func (t *Transport) unbridge(channel string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.bridged[channel] == nil {
		delete(t.bridged, channel)
	}
}

// waitingInbound makes an event of a channel not bridged yet stay pending.
func waitingInbound(in *bridge.Inbound) {
	in.Route = func(context.Context) ([]bridge.AccountID, bool, error) { return nil, false, nil }
	in.Handle = func(context.Context, bridge.Session) error { return nil }
}

// communityInbound fills in an event of a bridged channel for the Fanout;
// handle runs on the channel's community session.
func (s *communitySession) inbound(in *bridge.Inbound, handle func(ctx context.Context, s *communitySession) error) {
	acct := communityAccount(s.channel)
	in.Order = "community:" + s.channel
	in.Route = func(context.Context) ([]bridge.AccountID, bool, error) {
		if _, ok := s.t.fanout.Session(acct); !ok {
			return nil, true, nil
		}
		return []bridge.AccountID{acct}, true, nil
	}
	in.Handle = func(ctx context.Context, bs bridge.Session) error {
		cs, ok := bs.(*communitySession)
		if !ok {
			return nil
		}
		return handle(ctx, cs)
	}
}

// emit hands an event to the group.
func (s *communitySession) emit(ctx context.Context, ev bridge.Event) error {
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		return bridge.ErrSessionClosed
	}
	return s.sink.Emit(ctx, ev)
}

// fromMessage emits a new or edited message of the channel, unless it is
// our webhook's or the bot's own.
func (s *communitySession) fromMessage(ctx context.Context, m *discordgo.Message, edit bool) error {
	if m.Author == nil || m.WebhookID == s.hookID || m.Author.ID == s.t.bot.selfID() {
		return nil
	}
	if m.Type != discordgo.MessageTypeDefault && m.Type != discordgo.MessageTypeReply {
		return nil // joins, pins, boosts: not conversation
	}
	chat := bridge.ChatRef{Kind: bridge.Group, ID: bridge.ChatID(m.ChannelID)}
	text, mentions := FromDiscord(m.Content, namesOf(m))
	sender := bridge.UserID(m.Author.ID)
	if edit {
		return s.emit(ctx, bridge.EditEvent{Chat: chat, Sender: sender, ID: bridge.MessageID(m.ID), Text: text, Mentions: mentions, Time: timeOf(m)})
	}
	ev := bridge.MessageEvent{Chat: chat, Sender: sender, ID: bridge.MessageID(m.ID), Time: m.Timestamp, Text: text, Mentions: mentions}
	if m.Type == discordgo.MessageTypeReply && m.MessageReference != nil {
		ev.ReplyTo = bridge.MessageID(m.MessageReference.MessageID)
	}
	ev.SenderName = displayName(m.Author)
	if m.Member != nil && m.Member.Nick != "" {
		ev.SenderName = m.Member.Nick
	}
	if m.Author.Avatar != "" {
		ev.SenderAvatarURL = m.Author.AvatarURL("")
	}
	for _, a := range m.Attachments {
		ev.Attachments = append(ev.Attachments, bridge.Attachment{URL: a.URL, Name: a.Filename, MIME: a.ContentType, Size: int64(a.Size)})
	}
	return s.emit(ctx, ev)
}

// fromDelete emits the deletion of a message of the channel.
func (s *communitySession) fromDelete(ctx context.Context, id string) error {
	return s.emit(ctx, bridge.RetractionEvent{Chat: bridge.ChatRef{Kind: bridge.Group, ID: bridge.ChatID(s.channel)}, ID: bridge.MessageID(id)})
}

// relayed is the body of a webhook execution or edit.
type relayed struct {
	Content         string          `json:"content"`
	Username        string          `json:"username,omitempty"`
	AvatarURL       string          `json:"avatar_url,omitempty"`
	AllowedMentions allowedMentions `json:"allowed_mentions"`
}

// relayMentions: a relayed message may ping the users it names, never
// @everyone, @here or a role.
func relayMentions() allowedMentions { return allowedMentions{Parse: []string{"users"}} }

// SendAs implements bridge.Relay: it executes the channel's webhook under
// msg.SenderName and msg.SenderAvatarURL. A text longer than one message
// is cut; the ID returned is the last part's.
func (s *communitySession) SendAs(ctx context.Context, chat bridge.ChatRef, msg bridge.OutgoingMessage) (bridge.MessageID, error) {
	if string(chat.ID) != s.channel {
		return "", fmt.Errorf("discord: %s is not the bridged channel: %w", chat.ID, bridge.ErrNotFound)
	}
	text := msg.Text
	for _, a := range msg.Attachments {
		text = strings.TrimPrefix(text+"\n"+a.URL, "\n")
	}
	name := webhookUsername(msg.SenderName)
	var last string
	prefix := ""
	if msg.ReplyTo != "" && isSnowflake(string(msg.ReplyTo)) {
		// A webhook cannot make a Discord reply: a link to the message
		// answered, which Discord shows as a jump to it, stands for it.
		prefix = replyLine(s.guild, s.channel, string(msg.ReplyTo))
	}
	for i, part := range toDiscordParts(text, prefix, maxMessageRunes) {
		if i > 0 {
			part = strings.TrimPrefix(part, prefix) // the link once, on the first part
		}
		var m struct {
			ID string `json:"id"`
		}
		body := relayed{Content: part, Username: name, AvatarURL: msg.SenderAvatarURL, AllowedMentions: relayMentions()}
		if err := s.t.bot.request(ctx, "execute webhook", "POST", s.hook+"?wait=true", discordgo.EndpointWebhook(s.hookID), body, &m); err != nil {
			if last != "" {
				break // the first parts are out
			}
			return "", err
		}
		last = m.ID
	}
	return bridge.MessageID(last), nil
}

// replyLine introduces a relayed reply: a small line linking to the
// message answered.
func replyLine(guild, channel, id string) string {
	return "-# ↪ https://discord.com/channels/" + guild + "/" + channel + "/" + id + "\n"
}

// React implements bridge.Reactor: the bot's reactions on a message of the
// channel become emojis (the bridge group passes the reactions of
// everyone on its other members; a bot cannot react under their names).
func (s *communitySession) React(ctx context.Context, _ bridge.ChatRef, id bridge.MessageID, emojis []string) error {
	m, err := getMessage(ctx, s.t.bot, s.channel, string(id))
	if err != nil {
		return err
	}
	var have []string
	for _, r := range m.Reactions {
		if r.Me && r.Emoji != nil {
			have = append(have, r.Emoji.APIName())
		}
	}
	for _, e := range emojis {
		if !slices.Contains(have, e) {
			if err := react(ctx, s.t.bot, s.channel, string(id), e, false); err != nil {
				return err
			}
		}
	}
	for _, e := range have {
		if !slices.Contains(emojis, e) {
			if err := react(ctx, s.t.bot, s.channel, string(id), e, true); err != nil {
				return err
			}
		}
	}
	return nil
}

// fromReaction emits a person's whole set of reactions on a message of
// the channel; the bot's own are the group's and are not.
func (s *communitySession) fromReaction(ctx context.Context, id, user string, member *discordgo.Member) error {
	if user == s.t.bot.selfID() {
		return nil
	}
	m, err := getMessage(ctx, s.t.bot, s.channel, id)
	if err != nil {
		if errors.Is(err, bridge.ErrNotFound) {
			return nil // deleted meanwhile
		}
		return err
	}
	emojis := []string{}
	for _, r := range m.Reactions {
		if r.Emoji == nil {
			continue
		}
		ep := discordgo.EndpointMessageReactions(s.channel, id, url.PathEscape(r.Emoji.APIName()))
		var us []me
		if err := s.t.bot.request(ctx, "reactors", "GET", ep+"?limit=100", discordgo.EndpointMessageReactions(s.channel, "", ""), nil, &us); err != nil {
			return err
		}
		if slices.ContainsFunc(us, func(u me) bool { return u.ID == user }) {
			emojis = append(emojis, emojiText(r.Emoji))
		}
	}
	ev := bridge.ReactionEvent{Chat: bridge.ChatRef{Kind: bridge.Group, ID: bridge.ChatID(s.channel)}, Sender: bridge.UserID(user), ID: bridge.MessageID(id), Emojis: emojis}
	if member != nil {
		ev.SenderName = member.Nick
		if ev.SenderName == "" && member.User != nil {
			ev.SenderName = displayName(member.User)
		}
	}
	return s.emit(ctx, ev)
}

// Edit implements bridge.Editor for the webhook's messages.
func (s *communitySession) Edit(ctx context.Context, _ bridge.ChatRef, id bridge.MessageID, msg bridge.OutgoingMessage) error {
	content := ToDiscord(msg.Text)
	if utf8.RuneCountInString(content) > maxMessageRunes {
		return fmt.Errorf("discord: a correction of %d characters: %w: %w", utf8.RuneCountInString(content), ErrTooLong, bridge.ErrInvalidInput)
	}
	ep := s.hook + "/messages/" + string(id)
	return s.t.bot.request(ctx, "edit webhook message", "PATCH", ep, discordgo.EndpointWebhook(s.hookID), relayed{Content: content, AllowedMentions: relayMentions()}, nil)
}

// Retract implements bridge.Retractor for the webhook's messages.
func (s *communitySession) Retract(ctx context.Context, _ bridge.ChatRef, id bridge.MessageID) error {
	ep := s.hook + "/messages/" + string(id)
	return s.t.bot.request(ctx, "delete webhook message", "DELETE", ep, discordgo.EndpointWebhook(s.hookID), nil, nil)
}

// Send implements bridge.Session: a bridged channel is only posted into
// under other people's names (SendAs).
func (s *communitySession) Send(context.Context, bridge.ChatRef, bridge.OutgoingMessage) (bridge.MessageID, error) {
	return "", fmt.Errorf("discord: a bridged channel takes relayed messages only: %w", bridge.ErrUnsupported)
}

// Contacts implements bridge.Session: a bridged channel has no roster.
func (s *communitySession) Contacts(context.Context) ([]bridge.Contact, error) { return nil, nil }

// Close implements bridge.Session: the channel's events stop.
func (s *communitySession) Close() error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.t.fanout.Detach(communityAccount(s.channel), s)
	s.t.mu.Lock()
	if s.t.bridged[s.channel] == s {
		s.t.bridged[s.channel] = nil // still to be bridged: kept pending
	}
	s.t.mu.Unlock()
	return nil
}

// webhookUsername makes a name Discord accepts for a webhook message: 1 to
// 80 characters, without "discord" or "clyde" (which it refuses): a
// zero-width space is put inside those words.
func webhookUsername(name string) string {
	name = strings.TrimSpace(name)
	for _, w := range []struct {
		bad string
		cut int
	}{{"discord", 4}, {"clyde", 3}} {
		for i := 0; i+len(w.bad) <= len(name); i++ {
			if strings.EqualFold(name[i:i+len(w.bad)], w.bad) {
				name = name[:i+w.cut] + "\u200B" + name[i+w.cut:]
			}
		}
	}
	if utf8.RuneCountInString(name) > 80 {
		name = string([]rune(name)[:80])
	}
	if name == "" {
		name = "someone"
	}
	return name
}
