package slack

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/slack-go/slack"

	"github.com/xgate-im/xgate/bridge"
)

// Group chats: the channels, private channels and group direct messages
// the account's member is in, for the bridge's room side.

var (
	_ bridge.GroupLister  = (*Session)(nil)
	_ bridge.GroupMembers = (*Session)(nil)
)

// groupTypes are the conversation types that are groups (direct messages
// are contacts).
var groupTypes = []string{"public_channel", "private_channel", "mpim"}

// Groups implements bridge.GroupLister: conversations.list, page by page,
// keeping the conversations the member is in, sorted by ID.
func (s *Session) Groups(ctx context.Context) ([]bridge.GroupInfo, error) {
	var out []bridge.GroupInfo
	params := &slack.GetConversationsParameters{Types: groupTypes, ExcludeArchived: true, Limit: 200}
	for {
		chans, next, err := s.api.GetConversationsContext(ctx, params)
		if err != nil {
			return nil, classify("conversations.list", err)
		}
		for _, c := range chans {
			if !c.IsMpIM && !c.IsMember {
				continue // a public channel of the workspace the member is not in
			}
			if c.Name != "" {
				s.dir.putChannel(c.ID, c.Name)
			}
			out = append(out, bridge.GroupInfo{
				ID: bridge.ChatID(c.ID), Name: c.Name, Topic: c.Topic.Value,
				Private: c.IsPrivate || c.IsMpIM, Members: c.NumMembers,
			})
		}
		if next == "" {
			break
		}
		params.Cursor = next
	}
	slices.SortFunc(out, func(a, b bridge.GroupInfo) int { return strings.Compare(string(a.ID), string(b.ID)) })
	return out, nil
}

// groupID checks that a chat ID names a Slack channel or group direct
// message ("C…" or "G…").
func groupID(chat bridge.ChatID) (string, error) {
	if !validID(string(chat), "CG") {
		return "", fmt.Errorf("slack: %q is not a Slack channel: %w", chat, bridge.ErrNotFound)
	}
	return string(chat), nil
}

// Members implements bridge.GroupMembers: conversations.members, page by
// page, each member named by their display name (users.info for members
// the directory does not know). Slack has no per-channel roles that a user
// token can read: everyone is a RoleMember.
func (s *Session) Members(ctx context.Context, chat bridge.ChatID) ([]bridge.GroupMember, error) {
	conv, err := groupID(chat)
	if err != nil {
		return nil, err
	}
	var ids []string
	params := &slack.GetUsersInConversationParameters{ChannelID: conv, Limit: 200}
	for {
		page, next, err := s.api.GetUsersInConversationContext(ctx, params)
		if err != nil {
			return nil, classify("conversations.members", err)
		}
		ids = append(ids, page...)
		if next == "" {
			break
		}
		params.Cursor = next
	}
	out := make([]bridge.GroupMember, 0, len(ids))
	for _, id := range ids {
		nick := id
		if m, err := s.member(ctx, id); err == nil {
			nick = m.display
		} else if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		out = append(out, bridge.GroupMember{User: s.userID(id), Nick: nick, Role: bridge.RoleMember})
	}
	return out, nil
}
