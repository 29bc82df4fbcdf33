package slack

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/slack-go/slack"

	"github.com/xgate-im/xgate/bridge"
)

// Group chats: the channels, private channels and group direct messages
// the account's member is in, for the bridge's room side.

var (
	_ bridge.GroupLister  = (*Session)(nil)
	_ bridge.GroupMembers = (*Session)(nil)
	_ bridge.GroupJoiner  = (*Session)(nil)
	_ bridge.TopicSetter  = (*Session)(nil)
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
			g := bridge.GroupInfo{
				ID: bridge.ChatID(c.ID), Name: c.Name, Topic: c.Topic.Value,
				Private: c.IsPrivate || c.IsMpIM, Members: c.NumMembers,
			}
			if c.IsMpIM {
				if name := s.mpimName(ctx, c.Name); name != "" {
					g.Name, g.Handle = name, c.Name
				}
			}
			out = append(out, g)
		}
		if next == "" {
			break
		}
		params.Cursor = next
	}
	slices.SortFunc(out, func(a, b bridge.GroupInfo) int { return strings.Compare(string(a.ID), string(b.ID)) })
	return out, nil
}

// mpimHandles reads the members' handles out of a group DM's name, which
// Slack makes "mpdm-" + the handles joined by "--" + "-1"; ok is false
// for a name not made so.
func mpimHandles(name string) (handles []string, ok bool) {
	rest, ok := strings.CutPrefix(name, "mpdm-")
	if !ok {
		return nil, false
	}
	i := strings.LastIndexByte(rest, '-')
	if i <= 0 || i == len(rest)-1 || strings.Trim(rest[i+1:], "0123456789") != "" {
		return nil, false
	}
	for _, h := range strings.Split(rest[:i], "--") {
		if h == "" {
			return nil, false
		}
		handles = append(handles, h)
	}
	return handles, true
}

// mpimName names a group DM by its other members' display names ("Bob,
// Carol"), read from the member list (one users.list when one of them is
// unknown); a handle that names nobody known stays as it is. "" when the
// name is not a group DM's.
func (s *Session) mpimName(ctx context.Context, name string) string {
	handles, ok := mpimHandles(name)
	if !ok {
		return ""
	}
	find := func(h string) (member, bool) {
		m, ok := s.dir.find(h)
		return m, ok && strings.EqualFold(m.handle, h)
	}
	for _, h := range handles {
		if _, known := find(h); !known {
			_ = s.loadMembers(ctx) // without the list, handles name them
			break
		}
	}
	me, _ := s.dir.member(s.user)
	var names []string
	for _, h := range handles {
		if me.handle != "" && strings.EqualFold(h, me.handle) {
			continue
		}
		if m, ok := find(h); ok && m.display != "" {
			h = m.display
		}
		names = append(names, h)
	}
	if len(names) == 0 {
		return ""
	}
	return strings.Join(names, ", ")
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
	unknown := 0
	for _, id := range ids {
		if _, ok := s.dir.member(id); !ok {
			unknown++
		}
	}
	if unknown > memberLookups {
		// One users.list (a page per 200 people) rather than a users.info
		// each: a join must not wait on a thousand calls.
		if err := s.loadMembers(ctx); err != nil {
			return nil, err
		}
	}
	out := make([]bridge.GroupMember, 0, len(ids))
	lookups := 0
	for _, id := range ids {
		nick := id
		m, ok := s.dir.member(id)
		if !ok && lookups < memberLookups {
			lookups++
			m, ok = s.lookUpMember(ctx, id)
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
		}
		if ok {
			nick = m.display
		}
		out = append(out, bridge.GroupMember{User: s.userID(id), Nick: nick, Role: bridge.RoleMember, Self: id == s.user})
	}
	return out, nil
}

// memberLookups bounds the users.info calls of one Members: beyond it
// the member list is read instead (users.list), and people it does not
// hold (from other workspaces of a shared channel) beyond it are named
// by their ID.
const memberLookups = 20

// lookUpMember reads one member with users.info.
func (s *Session) lookUpMember(ctx context.Context, id string) (member, bool) {
	m, err := s.member(ctx, id)
	return m, err == nil
}

// JoinGroup implements bridge.GroupJoiner with conversations.join. Only
// public channels can be joined that way; Slack refuses it for private
// channels and group DMs, which a member sees only when already in them,
// so that refusal means there is nothing to do.
func (s *Session) JoinGroup(ctx context.Context, chat bridge.ChatID) error {
	conv, err := groupID(chat)
	if err != nil {
		return err
	}
	ch, _, _, err := s.api.JoinConversationContext(ctx, conv)
	if hasCode(err, "method_not_supported_for_channel_type") {
		return nil
	}
	if err != nil {
		return classify("conversations.join", err)
	}
	if ch != nil && ch.Name != "" {
		s.dir.putChannel(ch.ID, ch.Name)
	}
	return nil
}

// LeaveGroup implements bridge.GroupJoiner with conversations.leave;
// leaving a group the member is not in succeeds.
func (s *Session) LeaveGroup(ctx context.Context, chat bridge.ChatID) error {
	conv, err := groupID(chat)
	if err != nil {
		return err
	}
	if _, err := s.api.LeaveConversationContext(ctx, conv); err != nil {
		return classify("conversations.leave", err)
	}
	return nil
}

// maxTopicRunes is the longest topic Slack takes.
const maxTopicRunes = 250

// SetTopic implements bridge.TopicSetter with conversations.setTopic. The
// topic is plain text on both sides.
func (s *Session) SetTopic(ctx context.Context, chat bridge.ChatID, topic string) error {
	conv, err := groupID(chat)
	if err != nil {
		return err
	}
	if n := utf8.RuneCountInString(topic); n > maxTopicRunes {
		return fmt.Errorf("slack: the topic is %d characters long, Slack takes at most %d: %w", n, maxTopicRunes, bridge.ErrInvalidInput)
	}
	if _, err := s.api.SetTopicOfConversationContext(ctx, conv, topic); err != nil {
		return classify("conversations.setTopic", err)
	}
	return nil
}

// memberEvent is a member_joined_channel or member_left_channel event.
type memberEvent struct {
	User    string `json:"user"`
	Channel string `json:"channel"`
}

// onMembership reports a member joining a group (named by their display
// name) or leaving it; the account's own member leaving is the account
// leaving the group.
func (s *Session) onMembership(ctx context.Context, ev *memberEvent, left bool) error {
	if _, err := groupID(bridge.ChatID(ev.Channel)); err != nil {
		return nil // not a group: nothing for the rooms
	}
	if left && ev.User == s.user {
		return s.emit(ctx, bridge.GroupEvent{Group: bridge.GroupInfo{ID: bridge.ChatID(ev.Channel)}, Left: true})
	}
	m := bridge.GroupMember{User: s.userID(ev.User), Nick: ev.User, Role: bridge.RoleMember}
	if !left {
		if mb, err := s.member(ctx, ev.User); err == nil {
			m.Nick = mb.display
		} else if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	return s.emit(ctx, bridge.MemberEvent{Chat: bridge.ChatID(ev.Channel), Member: m, Left: left})
}

// onTopic reports a group's new topic (a channel_topic or group_topic
// message). A message without its topic field has the channel's topic
// read (conversations.info).
func (s *Session) onTopic(ctx context.Context, ev *msgEvent) error {
	if _, err := groupID(bridge.ChatID(ev.Channel)); err != nil {
		return nil
	}
	var topic string
	if ev.Topic != nil {
		topic = *ev.Topic
	} else {
		ch, err := s.api.GetConversationInfoContext(ctx, &slack.GetConversationInfoInput{ChannelID: ev.Channel})
		if err != nil {
			return classify("conversations.info", err)
		}
		topic = ch.Topic.Value
	}
	return s.emit(ctx, bridge.TopicEvent{Chat: bridge.ChatID(ev.Channel), Topic: topic, By: s.userID(ev.User)})
}
