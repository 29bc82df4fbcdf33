package discord

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/xgate-im/xgate/bridge"
)

// A session's side of incoming events: it places an event in a chat
// (which DM, with whom, whether the user wrote it elsewhere) and emits it.

// peerOf returns the other person of a DM channel, reading the channel
// when it is new to the session. A group DM is not a direct chat.
func (s *Session) peerOf(ctx context.Context, channel string) (string, error) {
	s.mu.Lock()
	p, ok := s.peers[channel]
	s.mu.Unlock()
	if ok {
		return p, nil
	}
	if s.kind == kindBot {
		if p := s.t.botDMPeer(channel); p != "" {
			return p, nil
		}
	}
	var ch privateChannel
	if err := s.c.request(ctx, "get channel", "GET", discordgo.EndpointChannel(channel), discordgo.EndpointChannels, nil, &ch); err != nil {
		return "", s.checked(ctx, err)
	}
	var others []string
	for _, u := range ch.Recipients {
		if u.ID != s.user && u.ID != s.c.selfID() {
			others = append(others, u.ID)
		}
	}
	if ch.Type != int(discordgo.ChannelTypeDM) || len(others) != 1 {
		return "", fmt.Errorf("discord: channel %s is not a direct chat: %w", channel, bridge.ErrUnsupported)
	}
	s.notePeer(channel, others[0])
	return others[0], nil
}

// sender returns who wrote a message as the bridge names them, and
// whether it is the account's user writing from another client. ok is
// false for a message that is not to be bridged: the echo of one this
// session sent, or, in a DM, one the bot sent for someone else (in a
// group, the bot's messages for other XMPP users are shown as the bot's).
func (s *Session) sender(author, nonce string, group bool) (sender string, fromSelf, ok bool) {
	switch {
	case author == s.user:
		return author, true, !s.ours(nonce)
	case s.kind == kindBot && author == s.c.selfID():
		return author, false, group && !s.ours(nonce)
	}
	return author, false, true
}

// fromMessage emits a new or edited message of a DM or a group. A
// historical one (read at login) is marked so, and skipped when the user
// wrote it: it may be one they sent from XMPP before a restart, whose
// nonce is forgotten.
func (s *Session) fromMessage(ctx context.Context, m *discordgo.Message, nonce string, edit, historical bool) error {
	if s.isClosed() {
		return bridge.ErrSessionClosed
	}
	if m.Author == nil {
		return nil
	}
	chat, _, err := s.chatOf(ctx, m.ChannelID, m.GuildID)
	if errors.Is(err, errNotMember) {
		return nil
	}
	if err != nil {
		return err
	}
	sender, fromSelf, ok := s.sender(m.Author.ID, nonce, chat.Kind == bridge.Group)
	if !ok || historical && fromSelf {
		return nil
	}
	text, mentions := FromDiscord(m.Content, namesOf(m))
	if edit {
		return s.sink.Emit(ctx, bridge.EditEvent{
			Chat: chat, Sender: bridge.UserID(sender), FromSelf: fromSelf, ID: bridge.MessageID(m.ID),
			Text: text, Mentions: mentions, Time: timeOf(m),
		})
	}
	ev := s.messageEvent(chat, m, sender, fromSelf, text, mentions)
	ev.Historical = historical
	if err := s.sink.Emit(ctx, ev); err != nil {
		return err
	}
	s.noteCursor(m.ChannelID, m.ID)
	return nil
}

// messageEvent builds the event of a new message.
func (s *Session) messageEvent(chat bridge.ChatRef, m *discordgo.Message, sender string, fromSelf bool, text string, mentions []bridge.Mention) bridge.MessageEvent {
	ev := bridge.MessageEvent{
		Chat: chat, Sender: bridge.UserID(sender), FromSelf: fromSelf, ID: bridge.MessageID(m.ID),
		Time: m.Timestamp, Text: text, Mentions: mentions,
	}
	if chat.Kind == bridge.Group && m.Author != nil {
		ev.SenderName = displayName(m.Author)
		if m.Member != nil && m.Member.Nick != "" {
			ev.SenderName = m.Member.Nick
		}
	}
	if m.Type == discordgo.MessageTypeReply && m.MessageReference != nil {
		ev.ReplyTo = bridge.MessageID(m.MessageReference.MessageID)
	}
	// Discord's attachment links expire (after about a day): the bridge
	// re-hosts them (Transport.FileFetcher, files.go).
	for _, a := range m.Attachments {
		ev.Attachments = append(ev.Attachments, bridge.Attachment{URL: a.URL, Name: a.Filename, MIME: a.ContentType, Size: int64(a.Size)})
	}
	return ev
}

// timeOf is when a message was last changed.
func timeOf(m *discordgo.Message) time.Time {
	if m.EditedTimestamp != nil {
		return *m.EditedTimestamp
	}
	return m.Timestamp
}

// namesOf resolves the users a message mentions from the message itself.
func namesOf(m *discordgo.Message) Names {
	return Names{User: func(id string) string {
		for _, u := range m.Mentions {
			if u != nil && u.ID == id {
				return displayName(u)
			}
		}
		return ""
	}}
}

// displayName is a user's global name, else their username.
func displayName(u *discordgo.User) string {
	if u.GlobalName != "" {
		return u.GlobalName
	}
	return u.Username
}

// fromDelete emits the deletion of a message.
func (s *Session) fromDelete(ctx context.Context, channel, guild, id string) error {
	if s.isClosed() {
		return bridge.ErrSessionClosed
	}
	chat, _, err := s.chatOf(ctx, channel, guild)
	if errors.Is(err, errNotMember) {
		return nil
	}
	if err != nil {
		return err
	}
	// Discord does not say who deleted it; in a DM only its author can, in
	// a group the bridge knows the message's sender.
	return s.sink.Emit(ctx, bridge.RetractionEvent{Chat: chat, Sender: chat.Peer, ID: bridge.MessageID(id)})
}

// fromReaction emits the full set of user's reactions on a message: it
// reads the message (in a DM its reactions are the two people's, in a
// group each emoji's reactors are listed).
func (s *Session) fromReaction(ctx context.Context, channel, guild, id, user string) error {
	if s.isClosed() {
		return bridge.ErrSessionClosed
	}
	chat, _, err := s.chatOf(ctx, channel, guild)
	if errors.Is(err, errNotMember) {
		return nil
	}
	if err != nil {
		return err
	}
	group := chat.Kind == bridge.Group
	sender, fromSelf, ok := s.sender(user, "", group)
	if !ok || group && user == s.c.selfID() && s.kind == kindBot {
		return nil // the bot's reactions are the XMPP users' own
	}
	m, err := getMessage(ctx, s.c, channel, id)
	if err != nil {
		return s.checked(ctx, err)
	}
	var emojis []string
	if group {
		if emojis, err = s.reactionsOf(ctx, m, user); err != nil {
			return err
		}
	} else {
		for _, r := range m.Reactions {
			if r.Emoji == nil {
				continue
			}
			mine := 0
			if r.Me {
				mine = 1
			}
			// The reactor is the session's user (Me) or the peer (the rest).
			if (user == s.c.selfID() && r.Me) || (user != s.c.selfID() && r.Count-mine > 0) {
				emojis = append(emojis, emojiText(r.Emoji))
			}
		}
	}
	return s.sink.Emit(ctx, bridge.ReactionEvent{
		Chat: chat, Sender: bridge.UserID(sender), FromSelf: fromSelf, ID: bridge.MessageID(id), Emojis: emojis,
	})
}

// emojiText shows an emoji: itself, or a custom one by its name.
func emojiText(e *discordgo.Emoji) string {
	if e.ID != "" {
		return ":" + e.Name + ":"
	}
	return e.Name
}

// fromTyping emits that someone else is typing.
func (s *Session) fromTyping(ctx context.Context, channel, guild, user string) error {
	if s.isClosed() {
		return bridge.ErrSessionClosed
	}
	if user == s.user || user == s.c.selfID() {
		return nil
	}
	chat, _, err := s.chatOf(ctx, channel, guild)
	if errors.Is(err, errNotMember) {
		return nil
	}
	if err != nil {
		return err
	}
	return s.sink.Emit(ctx, bridge.TypingEvent{Chat: chat, Sender: bridge.UserID(user), State: bridge.TypingComposing})
}

// noteBotDM remembers the person of one of the bot's DM channels.
func (t *Transport) noteBotDM(channel, peer string) {
	t.mu.Lock()
	old := t.botDMs[channel]
	t.botDMs[channel] = peer
	t.mu.Unlock()
	if old != peer {
		t.remember(dmKey(channel), peer)
	}
}

// botDMPeer returns the person of one of the bot's DM channels, if known.
func (t *Transport) botDMPeer(channel string) string {
	t.mu.Lock()
	p, ok := t.botDMs[channel]
	t.mu.Unlock()
	if ok {
		return p
	}
	if p, ok = t.recall(dmKey(channel)); ok {
		t.mu.Lock()
		t.botDMs[channel] = p
		t.mu.Unlock()
	}
	return p
}

// setReplyRoute makes account the one that gets what peer writes to the bot.
func (t *Transport) setReplyRoute(peer string, account bridge.AccountID) {
	t.mu.Lock()
	old := t.replyTo[peer]
	t.replyTo[peer] = account
	t.mu.Unlock()
	if old != account {
		t.remember(routeKey(peer), string(account))
	}
}

// replyRoute returns the account that gets what peer writes to the bot.
func (t *Transport) replyRoute(peer string) (bridge.AccountID, bool) {
	t.mu.Lock()
	a, ok := t.replyTo[peer]
	t.mu.Unlock()
	if ok {
		return a, true
	}
	v, ok := t.recall(routeKey(peer))
	if ok {
		a = bridge.AccountID(v)
		t.mu.Lock()
		t.replyTo[peer] = a
		t.mu.Unlock()
	}
	return a, ok
}
