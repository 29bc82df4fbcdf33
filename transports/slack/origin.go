package slack

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/slack-go/slack"

	"github.com/xgate-im/xgate/bridge"
)

// The gateway names each message it posts (bridge.OutgoingMessage.Origin)
// in the message's metadata (chat.postMessage "metadata"), of the event
// type below with the name under "origin" in its payload. Slack keeps it
// with the message: conversations.history returns it with
// include_all_metadata, and a message event that carries it tells the
// bridge that the message is the copy of one sent from XMPP.

// originEventType is the metadata event type of the gateway's posts.
const originEventType = "xgate_sent"

// originKey is the key of the Origin in the metadata's payload.
const originKey = "origin"

var _ bridge.SentFinder = (*Session)(nil)

// wireMetadata is a message's metadata as Slack sends it.
type wireMetadata struct {
	EventType    string         `json:"event_type"`
	EventPayload map[string]any `json:"event_payload"`
}

// origin returns the Origin in a message's metadata, "" if none (m may be
// nil).
func (m *wireMetadata) origin() string {
	if m == nil || m.EventType != originEventType {
		return ""
	}
	s, _ := m.EventPayload[originKey].(string)
	return s
}

// originMetadata returns the metadata to post a message with.
func originMetadata(origin string) slack.SlackMetadata {
	return slack.SlackMetadata{EventType: originEventType, EventPayload: map[string]any{originKey: origin}}
}

// maxFindPages bounds the history pages FindSent reads.
const maxFindPages = 20

// FindSent implements bridge.SentFinder: it reads the history of the
// chat's conversation since since (conversations.history with
// include_all_metadata, newest first, at most maxFindPages pages) for the
// account's own messages whose metadata names one of origins.
func (s *Session) FindSent(ctx context.Context, chat bridge.ChatRef, since time.Time, origins []string) (map[string]bridge.MessageID, error) {
	want := make(map[string]bool, len(origins))
	for _, o := range origins {
		want[o] = true
	}
	conv, _, err := s.historyConversation(ctx, chat)
	if err != nil {
		return nil, err
	}
	params := &slack.GetConversationHistoryParameters{
		ChannelID: conv, Limit: maxHistoryPage, IncludeAllMetadata: true,
		Oldest: strconv.FormatInt(since.Unix(), 10) + ".000000",
	}
	found := map[string]bridge.MessageID{}
	for range maxFindPages {
		resp, err := s.api.GetConversationHistoryContext(ctx, params)
		if err != nil {
			return nil, classify("conversations.history", err)
		}
		for i := range resp.Messages {
			m := &resp.Messages[i].Msg
			if m.User != s.user || m.Metadata.EventType != originEventType {
				continue
			}
			if o, _ := m.Metadata.EventPayload[originKey].(string); want[o] {
				found[o] = bridge.MessageID(m.Timestamp)
			}
		}
		if len(found) == len(want) || !resp.HasMore || resp.ResponseMetaData.NextCursor == "" {
			return found, nil
		}
		params.Cursor = resp.ResponseMetaData.NextCursor
	}
	return found, fmt.Errorf("slack: looking for messages sent since %s: more than %d pages of history", since.Format(time.RFC3339), maxFindPages)
}
