package slackfake

import (
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"
)

// convVisibleLocked finds a conversation the caller may see: public
// channels of its team, and other conversations it is a member of.
func (s *Server) convVisibleLocked(c *call, id string) *conv {
	cv := s.convs[id]
	if cv == nil || cv.teamID != c.tok.teamID {
		return nil
	}
	if cv.kind != PublicChannel && !cv.isMember(c.tok.userID) {
		return nil
	}
	return cv
}

// convReadableLocked is convVisibleLocked plus Slack's rule that bots read
// only conversations they are in.
func (s *Server) convReadableLocked(c *call, id string) (*conv, string) {
	cv := s.convVisibleLocked(c, id)
	if cv == nil {
		return nil, "channel_not_found"
	}
	if c.tok.kind == kindBot && !cv.isMember(c.tok.userID) {
		return nil, "not_in_channel"
	}
	return cv, ""
}

func apiConversationsList(s *Server, c *call) (any, string) {
	types := map[ConvKind]bool{}
	for _, name := range strings.Split(c.str("types"), ",") {
		switch strings.TrimSpace(name) {
		case "", "public_channel":
			types[PublicChannel] = true
		case "private_channel":
			types[PrivateChannel] = true
		case "im":
			types[IM] = true
		case "mpim":
			types[MPIM] = true
		default:
			return nil, "invalid_types"
		}
	}
	var list []*conv
	for _, id := range s.teams[c.tok.teamID].convs {
		cv := s.convVisibleLocked(c, id)
		if cv != nil && types[cv.kind] && !(cv.archived && c.flag("exclude_archived")) {
			list = append(list, cv)
		}
	}
	limit, ok := c.limit(100, 1000)
	if !ok {
		return nil, "invalid_limit"
	}
	start := 0
	if cur := c.str("cursor"); cur != "" {
		id, ok := decodeCursor("channel", cur)
		if start = slices.IndexFunc(list, func(cv *conv) bool { return cv.id == id }); !ok || start < 0 {
			return nil, "invalid_cursor"
		}
	}
	end := min(start+limit, len(list))
	out := make([]wireConv, 0, end-start)
	for _, cv := range list[start:end] {
		out = append(out, s.wireConvLocked(cv, c.tok.userID, true))
	}
	meta := wireMeta{}
	if end < len(list) {
		meta.NextCursor = encodeCursor("channel", list[end].id)
	}
	return struct {
		Channels []wireConv `json:"channels"`
		Meta     wireMeta   `json:"response_metadata"`
	}{out, meta}, ""
}

func apiConversationsInfo(s *Server, c *call) (any, string) {
	cv := s.convVisibleLocked(c, c.str("channel"))
	if cv == nil {
		return nil, "channel_not_found"
	}
	return struct {
		Channel wireConv `json:"channel"`
	}{s.wireConvLocked(cv, c.tok.userID, c.flag("include_num_members"))}, ""
}

func apiConversationsMembers(s *Server, c *call) (any, string) {
	cv := s.convVisibleLocked(c, c.str("channel"))
	if cv == nil {
		return nil, "channel_not_found"
	}
	limit, ok := c.limit(100, 1000)
	if !ok {
		return nil, "invalid_limit"
	}
	start := 0
	if cur := c.str("cursor"); cur != "" {
		id, ok := decodeCursor("member", cur)
		if start = slices.Index(cv.members, id); !ok || start < 0 {
			return nil, "invalid_cursor"
		}
	}
	end := min(start+limit, len(cv.members))
	meta := wireMeta{}
	if end < len(cv.members) {
		meta.NextCursor = encodeCursor("member", cv.members[end])
	}
	return struct {
		Members []string `json:"members"`
		Meta    wireMeta `json:"response_metadata"`
	}{slices.Clone(cv.members[start:end]), meta}, ""
}

func apiConversationsOpen(s *Server, c *call) (any, string) {
	type resp struct {
		NoOp        bool `json:"no_op,omitempty"`
		AlreadyOpen bool `json:"already_open,omitempty"`
		Channel     any  `json:"channel"`
	}
	if id := c.str("channel"); id != "" {
		cv := s.convVisibleLocked(c, id)
		switch {
		case cv == nil:
			return nil, "channel_not_found"
		case cv.kind != IM && cv.kind != MPIM:
			return nil, "method_not_supported_for_channel_type"
		}
		return resp{NoOp: true, AlreadyOpen: true, Channel: s.wireConvLocked(cv, c.tok.userID, false)}, ""
	}
	if c.str("users") == "" {
		return nil, "users_list_not_supplied"
	}
	ids := []string{c.tok.userID}
	for _, id := range strings.Split(c.str("users"), ",") {
		id = strings.TrimSpace(id)
		u := s.userVisibleLocked(c, id)
		if u == nil {
			return nil, "user_not_found"
		}
		if u.deleted {
			return nil, "user_disabled"
		}
		ids = append(ids, id)
	}
	if len(slices.Compact(slices.Sorted(slices.Values(ids)))) > 9 {
		return nil, "too_many_users"
	}
	cv, created := s.openDMLocked("conversations.open", c.tok.teamID, ids)
	r := resp{NoOp: !created, AlreadyOpen: !created}
	if cv.kind == IM && !c.flag("return_im") {
		r.Channel = struct {
			ID string `json:"id"`
		}{cv.id}
	} else {
		r.Channel = s.wireConvLocked(cv, c.tok.userID, false)
	}
	return r, ""
}

// window is the oldest/latest/inclusive filter of history methods.
type window struct {
	oldest, latest int64
	inclusive      bool
}

func (c *call) window() (window, string) {
	w := window{oldest: -1, latest: 1 << 62, inclusive: c.flag("inclusive")}
	if v := c.str("oldest"); v != "" {
		us, ok := parseTS(v)
		if !ok {
			return w, "invalid_ts_oldest"
		}
		w.oldest = us
	}
	if v := c.str("latest"); v != "" {
		us, ok := parseTS(v)
		if !ok {
			return w, "invalid_ts_latest"
		}
		w.latest = us
	}
	return w, ""
}

func (w window) contains(ts string) bool {
	us, _ := parseTS(ts)
	if w.inclusive {
		return us >= w.oldest && us <= w.latest
	}
	return us > w.oldest && us < w.latest
}

type historyResp struct {
	Messages []wireMessage `json:"messages"`
	HasMore  bool          `json:"has_more"`
	PinCount int           `json:"pin_count"`
	Meta     wireMeta      `json:"response_metadata"`
}

// page cuts a list of messages after an optional cursor ("next_ts" key: the
// first ts not yet returned) and renders up to limit of them.
func (s *Server) pageLocked(c *call, cv *conv, list []*message, def, max int) (any, string) {
	limit, ok := c.limit(def, max)
	if !ok {
		return nil, "invalid_limit"
	}
	start := 0
	if cur := c.str("cursor"); cur != "" {
		ts, ok := decodeCursor("next_ts", cur)
		if start = slices.IndexFunc(list, func(m *message) bool { return m.ts == ts }); !ok || start < 0 {
			return nil, "invalid_cursor"
		}
	}
	end := min(start+limit, len(list))
	r := historyResp{Messages: make([]wireMessage, 0, end-start), HasMore: end < len(list)}
	withMetadata := c.flag("include_all_metadata")
	for _, m := range list[start:end] {
		w := s.wireMessageLocked(cv, m)
		if withMetadata {
			w.Metadata = m.metadata
		}
		r.Messages = append(r.Messages, w)
	}
	if r.HasMore {
		r.Meta.NextCursor = encodeCursor("next_ts", list[end].ts)
	}
	return r, ""
}

func apiConversationsHistory(s *Server, c *call) (any, string) {
	cv, code := s.convReadableLocked(c, c.str("channel"))
	if code != "" {
		return nil, code
	}
	w, code := c.window()
	if code != "" {
		return nil, code
	}
	var list []*message // newest first
	for _, m := range slices.Backward(cv.msgs) {
		top := m.threadTS == "" || m.threadTS == m.ts || m.subtype == "thread_broadcast"
		if top && w.contains(m.ts) {
			list = append(list, m)
		}
	}
	return s.pageLocked(c, cv, list, 100, 999)
}

func apiConversationsReplies(s *Server, c *call) (any, string) {
	cv, code := s.convReadableLocked(c, c.str("channel"))
	if code != "" {
		return nil, code
	}
	w, code := c.window()
	if code != "" {
		return nil, code
	}
	parent := cv.threadParent(c.str("ts"))
	if parent == nil {
		return nil, "thread_not_found"
	}
	list := []*message{parent}
	for _, m := range cv.replies(parent.ts) {
		if w.contains(m.ts) {
			list = append(list, m)
		}
	}
	return s.pageLocked(c, cv, list, 1000, 1000)
}

func apiConversationsMark(s *Server, c *call) (any, string) {
	cv := s.convVisibleLocked(c, c.str("channel"))
	if cv == nil {
		return nil, "channel_not_found"
	}
	if !cv.isMember(c.tok.userID) {
		return nil, "not_in_channel"
	}
	ts := c.str("ts")
	if _, ok := parseTS(ts); !ok {
		return nil, "invalid_timestamp"
	}
	cv.lastRead[c.tok.userID] = ts
	return nil, ""
}

func apiConversationsJoin(s *Server, c *call) (any, string) {
	cv := s.convVisibleLocked(c, c.str("channel"))
	switch {
	case cv == nil:
		return nil, "channel_not_found"
	case cv.kind != PublicChannel:
		return nil, "method_not_supported_for_channel_type"
	case cv.archived:
		return nil, "is_archived"
	}
	r := struct {
		Channel wireConv  `json:"channel"`
		Warning string    `json:"warning,omitempty"`
		Meta    *wireMeta `json:"response_metadata,omitempty"`
	}{}
	if !s.joinLocked(cv, c.tok.userID) {
		r.Warning = "already_in_channel"
		r.Meta = &wireMeta{Warnings: []string{"already_in_channel"}}
	}
	r.Channel = s.wireConvLocked(cv, c.tok.userID, false)
	return r, ""
}

// joinLocked adds a member like Slack does when someone joins: a
// channel_join message and a member_joined_channel event. It reports false
// if the user was already a member.
func (s *Server) joinLocked(cv *conv, userID string) bool {
	if !cv.addMember(userID) {
		return false
	}
	s.postLocked(cv, &message{user: userID, subtype: "channel_join", text: fmt.Sprintf("<@%s> has joined the channel", userID)})
	s.emitMemberJoinedLocked(cv, userID, "")
	return true
}

// maxTopicLen is Slack's limit on a topic, in characters.
const maxTopicLen = 250

func apiConversationsLeave(s *Server, c *call) (any, string) {
	cv := s.convVisibleLocked(c, c.str("channel"))
	switch {
	case cv == nil:
		return nil, "channel_not_found"
	case cv.kind == IM:
		return nil, "method_not_supported_for_channel_type"
	case cv.archived:
		return nil, "is_archived"
	case !cv.isMember(c.tok.userID):
		// Slack answers "ok":false without an error here; the fake says
		// "ok":true, which clients read the same way (no error).
		return struct {
			NotInChannel bool `json:"not_in_channel"`
		}{true}, ""
	case len(cv.members) == 1:
		return nil, "last_member"
	}
	cv.removeMember(c.tok.userID)
	s.postLocked(cv, &message{user: c.tok.userID, subtype: "channel_leave", text: fmt.Sprintf("<@%s> has left the channel", c.tok.userID)})
	s.emitMemberLeftLocked(cv, c.tok.userID)
	return nil, ""
}

func apiConversationsSetTopic(s *Server, c *call) (any, string) {
	cv := s.convVisibleLocked(c, c.str("channel"))
	switch {
	case cv == nil:
		return nil, "channel_not_found"
	case cv.kind == IM:
		return nil, "method_not_supported_for_channel_type"
	case cv.archived:
		return nil, "is_archived"
	case !cv.isMember(c.tok.userID):
		return nil, "not_in_channel"
	}
	topic := c.params.Get("topic")
	if utf8.RuneCountInString(topic) > maxTopicLen {
		return nil, "too_long"
	}
	cv.topic = wireTopic{Value: topic, Creator: c.tok.userID, LastSet: s.clock.unix()}
	s.postLocked(cv, &message{user: c.tok.userID, subtype: "channel_topic", text: fmt.Sprintf("<@%s> set the channel topic: %s", c.tok.userID, topic)})
	return struct {
		Channel wireConv `json:"channel"`
	}{s.wireConvLocked(cv, c.tok.userID, false)}, ""
}
