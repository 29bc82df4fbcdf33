package slack

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/slack-go/slack"

	"github.com/xgate-im/xgate/bridge"
)

// conversation returns the Slack conversation of a chat: a group's
// channel, a direct chat's ID when the bridge knows it, else the direct
// message with its peer, opened if needed.
func (s *Session) conversation(ctx context.Context, chat bridge.ChatRef) (string, error) {
	if chat.Kind == bridge.Group && s.community != "" && string(chat.ID) == s.community {
		return s.community, nil // a bridged channel (community.go)
	}
	if chat.Kind == bridge.Group {
		return groupID(chat.ID)
	}
	if chat.ID != "" {
		return string(chat.ID), nil
	}
	peer, err := s.memberOf(chat.Peer)
	if err != nil {
		return "", err
	}
	return s.openIM(ctx, peer)
}

// outgoingText converts a message of the XMPP user to Slack mrkdwn, with the
// links of its attachments (Slack shows a preview of them).
func (s *Session) outgoingText(msg bridge.OutgoingMessage) (string, error) {
	text := StyledToMrkdwn(msg.Text, s.dir)
	for _, a := range msg.Attachments {
		if a.URL == "" || strings.Contains(text, a.URL) {
			continue
		}
		if text != "" {
			text += "\n"
		}
		text += a.URL
	}
	if strings.TrimSpace(text) == "" {
		return "", fmt.Errorf("slack: the message is empty: %w", bridge.ErrInvalidInput)
	}
	if n := len([]rune(text)); n > maxMessageRunes {
		return "", fmt.Errorf("slack: the message is %d characters long, Slack takes at most %d: %w", n, maxMessageRunes, bridge.ErrInvalidInput)
	}
	return text, nil
}

// Send implements bridge.Session: chat.postMessage in the channel of a
// group or the direct message with the peer, behind the conversation's rate limiter. The message shows
// as written by the account's member.
func (s *Session) Send(ctx context.Context, chat bridge.ChatRef, msg bridge.OutgoingMessage) (bridge.MessageID, error) {
	text, err := s.outgoingText(msg)
	if err != nil {
		return "", err
	}
	conv, err := s.conversation(ctx, chat)
	if err != nil {
		s.noteAuth(ctx, err)
		return "", err
	}
	if err := s.waitTurn(ctx, conv); err != nil {
		return "", err
	}
	c := s.channel(conv)
	// XMPP clients may put any string in <thread>: only a Slack timestamp
	// names a thread.
	thread := string(msg.Thread)
	if !isTS(thread) {
		thread = ""
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	post := s.startPost(conv, thread, text)
	ts, err := s.postMessage(ctx, conv, thread, text, msg.Origin)
	if err != nil && thread != "" && hasCode(err, "invalid_thread_ts", "thread_not_found") {
		// The thread is gone: better in the conversation than nowhere.
		s.repost(post, "")
		ts, err = s.postMessage(ctx, conv, "", text, msg.Origin)
	}
	if err != nil {
		ts = ""
	}
	s.endPost(post, ts) // its echo is expected from now on
	if err != nil {
		return "", s.sendError(ctx, conv, chat, "chat.postMessage", err)
	}
	return bridge.MessageID(ts), nil
}

// sendError classifies a failure of a request in a conversation; a
// conversation that is gone is forgotten so that the next message opens it
// again, and a token that stopped working logs the account out (reported
// once, like the other places that notice it).
func (s *Session) sendError(ctx context.Context, conv string, chat bridge.ChatRef, op string, err error) error {
	err = classify(op, err)
	s.noteAuth(ctx, err)
	if errors.Is(err, bridge.ErrNotFound) && chat.ID == "" {
		s.mu.Lock()
		if peer, ok := s.imPeers.get(conv); ok {
			s.imPeers.del(conv)
			s.ims.del(peer)
		}
		s.mu.Unlock()
		s.t.forgetIM(s.team, conv)
	}
	return err
}

// Edit implements bridge.Editor with chat.update.
func (s *Session) Edit(ctx context.Context, chat bridge.ChatRef, id bridge.MessageID, msg bridge.OutgoingMessage) error {
	text, err := s.outgoingText(msg)
	if err != nil {
		return err
	}
	conv, err := s.conversation(ctx, chat)
	if err != nil {
		return err
	}
	c := s.channel(conv)
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, _, _, err := s.api.UpdateMessageContext(ctx, conv, string(id), slack.MsgOptionText(text, false)); err != nil {
		return s.sendError(ctx, conv, chat, "chat.update", err)
	}
	s.expectEcho(echoKey{kind: "edit", channel: conv, ts: string(id)})
	return nil
}

// Retract implements bridge.Retractor with chat.delete.
func (s *Session) Retract(ctx context.Context, chat bridge.ChatRef, id bridge.MessageID) error {
	conv, err := s.conversation(ctx, chat)
	if err != nil {
		return err
	}
	c := s.channel(conv)
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, _, err := s.api.DeleteMessageContext(ctx, conv, string(id)); err != nil {
		if hasCode(err, "message_not_found") {
			return nil // already gone: what the user wanted
		}
		return s.sendError(ctx, conv, chat, "chat.delete", err)
	}
	s.expectEcho(echoKey{kind: "delete", channel: conv, ts: string(id)})
	return nil
}

// React implements bridge.Reactor: it reads the account's current
// reactions on the message and adds and removes reactions to match emojis.
// Emojis Slack has no name for are left out; if none of them has one, it
// fails with bridge.ErrInvalidInput.
func (s *Session) React(ctx context.Context, chat bridge.ChatRef, id bridge.MessageID, emojis []string) error {
	conv, err := s.conversation(ctx, chat)
	if err != nil {
		return err
	}
	var want []string
	var refused []string
	for _, e := range emojis {
		name, ok := ReactionName(e)
		if !ok {
			refused = append(refused, e)
			continue
		}
		if !slices.Contains(want, name) {
			want = append(want, name)
		}
	}
	if len(want) == 0 && len(refused) > 0 {
		return fmt.Errorf("slack: Slack has no reaction for %s: %w", strings.Join(refused, " "), bridge.ErrInvalidInput)
	}
	msg, err := s.message(ctx, conv, string(id))
	if err != nil {
		return s.sendError(ctx, conv, chat, "conversations.history", err)
	}
	have := reactionsOf(msg, s.user)
	c := s.channel(conv)
	c.mu.Lock()
	defer c.mu.Unlock()
	ref := slack.NewRefToMessage(conv, string(id))
	for _, name := range want {
		if slices.Contains(have, name) {
			continue
		}
		if err := s.api.AddReactionContext(ctx, name, ref); err != nil && !hasCode(err, "already_reacted") {
			return s.sendError(ctx, conv, chat, "reactions.add", err)
		}
		s.expectEcho(echoKey{kind: "react+", channel: conv, ts: string(id), name: name})
	}
	for _, name := range have {
		if slices.Contains(want, name) {
			continue
		}
		if err := s.api.RemoveReactionContext(ctx, name, ref); err != nil && !hasCode(err, "no_reaction") {
			return s.sendError(ctx, conv, chat, "reactions.remove", err)
		}
		s.expectEcho(echoKey{kind: "react-", channel: conv, ts: string(id), name: name})
	}
	return nil
}

// MarkRead implements bridge.ReadMarker with conversations.mark.
func (s *Session) MarkRead(ctx context.Context, chat bridge.ChatRef, id bridge.MessageID) error {
	conv, err := s.conversation(ctx, chat)
	if err != nil {
		return err
	}
	if err := s.api.MarkConversationContext(ctx, conv, string(id)); err != nil {
		return classify("conversations.mark", err)
	}
	return nil
}

// message reads one message of a conversation: from its history, or, for a
// thread reply, from the thread.
func (s *Session) message(ctx context.Context, conv, ts string) (slack.Message, error) {
	h, err := s.api.GetConversationHistoryContext(ctx, &slack.GetConversationHistoryParameters{
		ChannelID: conv, Latest: ts, Oldest: ts, Inclusive: true, Limit: 1,
	})
	if err != nil {
		return slack.Message{}, err
	}
	for _, m := range h.Messages {
		if m.Timestamp == ts {
			return m, nil
		}
	}
	replies, _, _, err := s.api.GetConversationRepliesContext(ctx, &slack.GetConversationRepliesParameters{
		ChannelID: conv, Timestamp: ts, Latest: ts, Oldest: ts, Inclusive: true, Limit: 1,
	})
	if err != nil && !hasCode(err, "thread_not_found") {
		return slack.Message{}, err
	}
	for _, m := range replies {
		if m.Timestamp == ts {
			return m, nil
		}
	}
	return slack.Message{}, slack.SlackErrorResponse{Err: "message_not_found"}
}

// reactionsOf returns the names of the reactions member put on a message.
func reactionsOf(m slack.Message, member string) []string {
	var out []string
	for _, r := range m.Reactions {
		if slices.Contains(r.Users, member) {
			out = append(out, r.Name)
		}
	}
	return out
}

// isTS reports whether s looks like a Slack message timestamp
// ("1700000000.000100").
func isTS(s string) bool {
	sec, frac, ok := strings.Cut(s, ".")
	if !ok || len(sec) == 0 || len(sec) > 12 || len(frac) == 0 || len(frac) > 9 {
		return false
	}
	for _, c := range sec + frac {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
