package slack

import (
	"context"
	"fmt"

	"github.com/slack-go/slack"

	"github.com/xgate-im/xgate/bridge"
)

var _ bridge.Relay = (*Session)(nil)

// SendAs implements bridge.Relay: chat.postMessage in a group through the
// app's bot (bot_token, with the chat:write.customize scope), under
// msg.SenderName and with msg.SenderAvatarURL as its picture. The bot joins
// a public channel it is not in. Without a bot token for the account's
// workspace it fails with ErrUnsupported; direct messages are never
// relayed. The bot's posts are not reflected back (isOurBot).
func (s *Session) SendAs(ctx context.Context, chat bridge.ChatRef, msg bridge.OutgoingMessage) (bridge.MessageID, error) {
	bot, ok := s.relayBot()
	if !ok {
		return "", fmt.Errorf("slack: relaying needs the app's bot_token for workspace %s: %w", s.team, bridge.ErrUnsupported)
	}
	if chat.Kind != bridge.Group {
		return "", fmt.Errorf("slack: only group chats are relayed: %w", bridge.ErrUnsupported)
	}
	conv, err := groupID(chat.ID)
	if err != nil {
		return "", err
	}
	if msg.SenderName == "" {
		return "", fmt.Errorf("slack: a relayed message needs a sender name: %w", bridge.ErrInvalidInput)
	}
	text, err := s.outgoingText(msg)
	if err != nil {
		return "", err
	}
	opts := []slack.MsgOption{slack.MsgOptionText(text, false), slack.MsgOptionUsername(msg.SenderName)}
	if msg.SenderAvatarURL != "" {
		opts = append(opts, slack.MsgOptionIconURL(msg.SenderAvatarURL))
	}
	if thread := string(msg.Thread); isTS(thread) {
		opts = append(opts, slack.MsgOptionTS(thread))
	}
	if err := s.waitTurn(ctx, conv); err != nil {
		return "", err
	}
	c := s.channel(conv)
	c.mu.Lock()
	defer c.mu.Unlock()
	_, ts, err := bot.PostMessageContext(ctx, conv, opts...)
	if hasCode(err, "not_in_channel") {
		if _, _, _, jerr := bot.JoinConversationContext(ctx, conv); jerr != nil {
			return "", classify("conversations.join", jerr)
		}
		_, ts, err = bot.PostMessageContext(ctx, conv, opts...)
	}
	if err != nil {
		return "", classify("chat.postMessage", err)
	}
	return bridge.MessageID(ts), nil
}

// relayBot returns a client for the app's bot when it is known to be in
// the account's workspace.
func (s *Session) relayBot() (*slack.Client, bool) {
	if s.t.set.botToken == "" {
		return nil, false
	}
	s.t.mu.Lock()
	_, ok := s.t.bots[s.team]
	s.t.mu.Unlock()
	if !ok {
		return nil, false
	}
	return s.t.client(s.t.set.botToken), true
}
