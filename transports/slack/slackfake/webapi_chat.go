package slackfake

import (
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"
)

// maxTextLen is Slack's limit on message text.
const maxTextLen = 40000

// postLocked stores a new message in a conversation and tells the app. The
// message gets its ts and team here.
func (s *Server) postLocked(cv *conv, m *message) *message {
	m.ts = s.clock.next()
	m.team = cv.teamID
	cv.add(m)
	s.emitMessageLocked(cv, m)
	return m
}

// resolveTargetLocked finds where chat.postMessage posts: a conversation ID,
// a channel name ("#general" or "general") or a user ID (the DM with them).
func (s *Server) resolveTargetLocked(c *call, target string) (*conv, string) {
	if cv := s.convVisibleLocked(c, target); cv != nil {
		return cv, ""
	}
	if u := s.userVisibleLocked(c, target); u != nil {
		cv, _ := s.openDMLocked("chat.postMessage", c.tok.teamID, []string{c.tok.userID, u.id})
		return cv, ""
	}
	name := strings.TrimPrefix(target, "#")
	for _, id := range s.teams[c.tok.teamID].convs {
		cv := s.convVisibleLocked(c, id)
		if cv != nil && cv.name == name && (cv.kind == PublicChannel || cv.kind == PrivateChannel) {
			return cv, ""
		}
	}
	return nil, "channel_not_found"
}

// checkPostable applies Slack's rules on who may post where.
func checkPostable(c *call, cv *conv) string {
	switch {
	case cv.archived:
		return "is_archived"
	case !cv.isMember(c.tok.userID):
		return "not_in_channel"
	}
	return ""
}

// jsonArrayParam reads a parameter that must hold a JSON array; present
// reports whether it was given at all.
func jsonArrayParam(c *call, name string) (raw json.RawMessage, present, ok bool) {
	v := c.str(name)
	if v == "" {
		return nil, false, true
	}
	var arr []json.RawMessage
	if json.Unmarshal([]byte(v), &arr) != nil {
		return nil, true, false
	}
	return json.RawMessage(v), true, true
}

// content reads text, blocks and attachments as chat.postMessage and
// chat.update take them.
type content struct {
	text                string
	blocks, attachments json.RawMessage
	hasBlocks, hasAtt   bool
}

func readContent(c *call) (content, string) {
	var ct content
	var ok bool
	ct.text = c.params.Get("text")
	if ct.blocks, ct.hasBlocks, ok = jsonArrayParam(c, "blocks"); !ok {
		return ct, "invalid_blocks"
	}
	if ct.attachments, ct.hasAtt, ok = jsonArrayParam(c, "attachments"); !ok {
		return ct, "invalid_attachments"
	}
	if strings.TrimSpace(ct.text) == "" && len(ct.blocks) <= 2 && len(ct.attachments) <= 2 {
		return ct, "no_text"
	}
	if utf8.RuneCountInString(ct.text) > maxTextLen {
		return ct, "msg_too_long"
	}
	return ct, ""
}

func apiChatPostMessage(s *Server, c *call) (any, string) {
	cv, code := s.resolveTargetLocked(c, c.str("channel"))
	if code != "" {
		return nil, code
	}
	if code := checkPostable(c, cv); code != "" {
		return nil, code
	}
	ct, code := readContent(c)
	if code != "" {
		return nil, code
	}
	m := &message{user: c.tok.userID, text: ct.text, blocks: ct.blocks, attachments: ct.attachments}
	if v := c.str("metadata"); v != "" {
		var md struct {
			EventType    string                     `json:"event_type"`
			EventPayload map[string]json.RawMessage `json:"event_payload"`
		}
		if json.Unmarshal([]byte(v), &md) != nil || md.EventType == "" || md.EventPayload == nil {
			return nil, "invalid_metadata_format"
		}
		m.metadata = json.RawMessage(v)
	}
	if ts := c.str("thread_ts"); ts != "" {
		parent := cv.threadParent(ts)
		if parent == nil {
			return nil, "invalid_thread_ts"
		}
		m.threadTS = parent.ts
		if c.flag("reply_broadcast") {
			m.subtype = "thread_broadcast"
		}
	}
	if c.tok.kind == kindBot {
		m.botID, m.appID = c.tok.botID, s.appID
		m.username, m.iconURL, m.iconEmoji = c.str("username"), c.str("icon_url"), c.str("icon_emoji")
		if m.username != "" || m.iconURL != "" || m.iconEmoji != "" {
			m.user = ""
			if m.subtype == "" {
				m.subtype = "bot_message"
			}
		}
	}
	s.postLocked(cv, m)
	return struct {
		Channel string      `json:"channel"`
		TS      string      `json:"ts"`
		Message wireMessage `json:"message"`
	}{cv.id, m.ts, s.wireMessageLocked(cv, m)}, ""
}

// mayModify reports whether the caller wrote the message: the bot for its
// bot's posts, a user for their own.
func mayModify(c *call, m *message) bool {
	if c.tok.kind == kindBot {
		return m.botID == c.tok.botID
	}
	return m.botID == "" && m.user == c.tok.userID
}

func apiChatUpdate(s *Server, c *call) (any, string) {
	cv := s.convVisibleLocked(c, c.str("channel"))
	if cv == nil {
		return nil, "channel_not_found"
	}
	m := cv.byTS[c.str("ts")]
	if m == nil {
		return nil, "message_not_found"
	}
	if !mayModify(c, m) {
		return nil, "cant_update_message"
	}
	ct, code := readContent(c)
	if code != "" {
		return nil, code
	}
	s.editLocked(cv, m, c.tok.userID, func(m *message) {
		m.text = ct.text
		if ct.hasBlocks {
			m.blocks = ct.blocks
		}
		if ct.hasAtt {
			m.attachments = ct.attachments
		}
	})
	return struct {
		Channel string      `json:"channel"`
		TS      string      `json:"ts"`
		Text    string      `json:"text"`
		Message wireMessage `json:"message"`
	}{cv.id, m.ts, m.text, s.wireMessageLocked(cv, m)}, ""
}

// editLocked changes a message, marks it edited and sends message_changed.
func (s *Server) editLocked(cv *conv, m *message, editor string, change func(*message)) {
	prev := s.wireMessageLocked(cv, m)
	change(m)
	m.editedBy, m.editedTS = editor, s.clock.next()
	s.emitMessageChangedLocked(cv, prev, s.wireMessageLocked(cv, m), m.editedTS)
}

func apiChatDelete(s *Server, c *call) (any, string) {
	cv := s.convVisibleLocked(c, c.str("channel"))
	if cv == nil {
		return nil, "channel_not_found"
	}
	m := cv.byTS[c.str("ts")]
	if m == nil {
		return nil, "message_not_found"
	}
	if !mayModify(c, m) {
		return nil, "cant_delete_message"
	}
	s.deleteLocked(cv, m)
	return struct {
		Channel string `json:"channel"`
		TS      string `json:"ts"`
	}{cv.id, m.ts}, ""
}

// deleteLocked removes a message and sends message_deleted.
func (s *Server) deleteLocked(cv *conv, m *message) {
	prev := s.wireMessageLocked(cv, m)
	cv.removeMessage(m.ts)
	s.emitMessageDeletedLocked(cv, prev, s.clock.next())
}

func apiChatGetPermalink(s *Server, c *call) (any, string) {
	cv := s.convVisibleLocked(c, c.str("channel"))
	if cv == nil {
		return nil, "channel_not_found"
	}
	m := cv.byTS[c.str("message_ts")]
	if m == nil {
		return nil, "message_not_found"
	}
	return struct {
		Channel   string `json:"channel"`
		Permalink string `json:"permalink"`
	}{cv.id, s.permalinkLocked(cv, m)}, ""
}

// reactionName matches emoji names as reactions take them, optionally with
// a skin tone ("thumbsup::skin-tone-2").
var reactionName = regexp.MustCompile(`^[a-z0-9_+'\-]+(::skin-tone-[2-6])?$`)

func reactionTarget(s *Server, c *call) (*conv, *message, string, string) {
	cv := s.convVisibleLocked(c, c.str("channel"))
	if cv == nil {
		return nil, nil, "", "channel_not_found"
	}
	m := cv.byTS[c.str("timestamp")]
	if m == nil {
		return nil, nil, "", "message_not_found"
	}
	name := strings.Trim(c.str("name"), ":")
	if !reactionName.MatchString(name) {
		return nil, nil, "", "invalid_name"
	}
	return cv, m, name, ""
}

func apiReactionsAdd(s *Server, c *call) (any, string) {
	cv, m, name, code := reactionTarget(s, c)
	if code != "" {
		return nil, code
	}
	if !s.reactLocked(cv, m, c.tok.userID, name) {
		return nil, "already_reacted"
	}
	return nil, ""
}

func apiReactionsRemove(s *Server, c *call) (any, string) {
	cv, m, name, code := reactionTarget(s, c)
	if code != "" {
		return nil, code
	}
	if !s.unreactLocked(cv, m, c.tok.userID, name) {
		return nil, "no_reaction"
	}
	return nil, ""
}

// reactLocked adds a reaction and sends reaction_added; false if the user
// had already reacted so.
func (s *Server) reactLocked(cv *conv, m *message, userID, name string) bool {
	i := slices.IndexFunc(m.reactions, func(r *reaction) bool { return r.name == name })
	if i < 0 {
		m.reactions = append(m.reactions, &reaction{name: name})
		i = len(m.reactions) - 1
	}
	r := m.reactions[i]
	if slices.Contains(r.users, userID) {
		return false
	}
	r.users = append(r.users, userID)
	s.emitReactionLocked(cv, m, userID, name, true)
	return true
}

// unreactLocked removes a reaction and sends reaction_removed; false if
// there was none.
func (s *Server) unreactLocked(cv *conv, m *message, userID, name string) bool {
	i := slices.IndexFunc(m.reactions, func(r *reaction) bool { return r.name == name })
	if i < 0 || !slices.Contains(m.reactions[i].users, userID) {
		return false
	}
	r := m.reactions[i]
	r.users = slices.DeleteFunc(r.users, func(u string) bool { return u == userID })
	if len(r.users) == 0 {
		m.reactions = slices.Delete(m.reactions, i, i+1)
	}
	s.emitReactionLocked(cv, m, userID, name, false)
	return true
}
