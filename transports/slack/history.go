package slack

import (
	"context"
	"fmt"
	"slices"

	"github.com/slack-go/slack"

	"github.com/xgate-im/xgate/bridge"
)

var _ bridge.HistoryFetcher = (*Session)(nil)

// maxHistoryPage is the most messages conversations.history returns at
// once.
const maxHistoryPage = 999

// historySubtypes are the subtypes of past messages that are messages to
// show (the rest are joins, topic changes and the like).
var historySubtypes = []string{"", "thread_broadcast", "me_message", "file_share", "bot_message"}

// History implements bridge.HistoryFetcher with conversations.history: up
// to limit messages of a direct message or group older than before ("" for
// the newest), oldest first, converted like live ones and marked
// Historical. Thread replies are not included (only those also sent to the
// conversation); the app's own posts and notices such as joins are skipped.
func (s *Session) History(ctx context.Context, chat bridge.ChatRef, before bridge.MessageID, limit int) ([]bridge.MessageEvent, error) {
	if limit <= 0 {
		return nil, fmt.Errorf("slack: history of %d messages: %w", limit, bridge.ErrInvalidInput)
	}
	if before != "" && !isTS(string(before)) {
		return nil, fmt.Errorf("slack: %q is not a Slack message: %w", before, bridge.ErrInvalidInput)
	}
	conv, channelType, err := s.historyConversation(ctx, chat)
	if err != nil {
		return nil, err
	}
	params := &slack.GetConversationHistoryParameters{ChannelID: conv, Latest: string(before), Limit: min(limit, maxHistoryPage)}
	var out []bridge.MessageEvent // newest first
	for len(out) < limit {
		resp, err := s.api.GetConversationHistoryContext(ctx, params)
		if err != nil {
			return nil, classify("conversations.history", err)
		}
		for i := range resp.Messages {
			m := &resp.Messages[i].Msg
			if len(out) == limit || !slices.Contains(historySubtypes, m.SubType) || s.t.isOurBot(s.team, m.User, m.BotID) {
				continue
			}
			if chat.Kind == bridge.Group {
				s.resolveMentions(ctx, m.Text) // done for direct messages only when live
			}
			ev, _, err := s.messageFromNetwork(ctx, conv, channelType, wireMsgOf(m))
			if err != nil {
				return nil, err
			}
			ev.Historical = true
			out = append(out, ev)
		}
		if !resp.HasMore || resp.ResponseMetaData.NextCursor == "" {
			break
		}
		params.Cursor = resp.ResponseMetaData.NextCursor
	}
	slices.Reverse(out)
	return out, nil
}

// historyConversation returns the Slack conversation of a chat whose
// history is read, and its channel type as events name it.
func (s *Session) historyConversation(ctx context.Context, chat bridge.ChatRef) (conv, channelType string, err error) {
	if chat.Kind == bridge.Group {
		conv, err = groupID(chat.ID)
		return conv, "", err
	}
	conv, err = s.conversation(ctx, chat)
	return conv, "im", err
}

// wireMsgOf takes what the conversion reads from a slack-go message.
func wireMsgOf(m *slack.Msg) *wireMsg {
	w := &wireMsg{
		Type: m.Type, Subtype: m.SubType, User: m.User, BotID: m.BotID, Text: m.Text,
		TS: m.Timestamp, ThreadTS: m.ThreadTimestamp,
	}
	for _, f := range m.Files {
		w.Files = append(w.Files, wireFile{
			Name: f.Name, Title: f.Title, Mimetype: f.Mimetype, Size: int64(f.Size), URLPrivate: f.URLPrivate, Permalink: f.Permalink,
		})
	}
	return w
}
