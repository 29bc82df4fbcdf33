package slackfake

import (
	"maps"
	"slices"
)

// methods is the Web API: every implemented method and the token kinds it
// accepts. Anything else answers unknown_method.
var methods = map[string]apiMethod{
	"auth.test":                      {apiAuthTest, anyToken},
	"team.info":                      {apiTeamInfo, anyToken},
	"bots.info":                      {apiBotsInfo, anyToken},
	"emoji.list":                     {apiEmojiList, anyToken},
	"apps.connections.open":          {apiConnectionsOpen, appOnly},
	"apps.event.authorizations.list": {apiEventAuthorizations, appOnly},
	"users.list":                     {apiUsersList, anyToken},
	"users.info":                     {apiUsersInfo, anyToken},
	"users.getPresence":              {apiUsersGetPresence, anyToken},
	"users.setPresence":              {apiUsersSetPresence, anyToken},
	"users.profile.get":              {apiUsersProfileGet, anyToken},
	"users.profile.set":              {apiUsersProfileSet, userOnly},
	"conversations.list":             {apiConversationsList, anyToken},
	"conversations.info":             {apiConversationsInfo, anyToken},
	"conversations.members":          {apiConversationsMembers, anyToken},
	"conversations.open":             {apiConversationsOpen, anyToken},
	"conversations.history":          {apiConversationsHistory, anyToken},
	"conversations.replies":          {apiConversationsReplies, anyToken},
	"conversations.mark":             {apiConversationsMark, anyToken},
	"conversations.join":             {apiConversationsJoin, anyToken},
	"conversations.leave":            {apiConversationsLeave, anyToken},
	"conversations.setTopic":         {apiConversationsSetTopic, anyToken},
	"chat.postMessage":               {apiChatPostMessage, anyToken},
	"chat.update":                    {apiChatUpdate, anyToken},
	"chat.delete":                    {apiChatDelete, anyToken},
	"chat.getPermalink":              {apiChatGetPermalink, anyToken},
	"reactions.add":                  {apiReactionsAdd, anyToken},
	"reactions.remove":               {apiReactionsRemove, anyToken},
	"files.getUploadURLExternal":     {apiFilesGetUploadURL, anyToken},
	"files.completeUploadExternal":   {apiFilesCompleteUpload, anyToken},
}

// Methods returns the names of the Web API methods the fake implements.
func Methods() []string { return slices.Sorted(maps.Keys(methods)) }

func apiAuthTest(s *Server, c *call) (any, string) {
	t := s.teams[c.tok.teamID]
	u := s.users[c.tok.userID]
	return struct {
		URL                 string `json:"url"`
		Team                string `json:"team"`
		User                string `json:"user"`
		TeamID              string `json:"team_id"`
		UserID              string `json:"user_id"`
		BotID               string `json:"bot_id,omitempty"`
		IsEnterpriseInstall bool   `json:"is_enterprise_install"`
	}{"https://" + t.domain + ".slack.com/", t.name, u.name, t.id, u.id, c.tok.botID, false}, ""
}

type wireTeam struct {
	ID          string         `json:"id"`
	Name        string         `json:"name"`
	Domain      string         `json:"domain"`
	EmailDomain string         `json:"email_domain"`
	Icon        map[string]any `json:"icon"`
	IsVerified  bool           `json:"is_verified"`
}

func apiTeamInfo(s *Server, c *call) (any, string) {
	id := c.str("team")
	if id == "" {
		id = c.tok.teamID
	}
	if id != c.tok.teamID {
		return nil, "team_not_found"
	}
	t := s.teams[id]
	icon := map[string]any{"image_default": true}
	for _, n := range []string{"34", "44", "68", "88", "102", "132", "230"} {
		icon["image_"+n] = s.avatarURL(t.id, 88)
	}
	return struct {
		Team wireTeam `json:"team"`
	}{wireTeam{ID: t.id, Name: t.name, Domain: t.domain, Icon: icon}}, ""
}

func apiBotsInfo(s *Server, c *call) (any, string) {
	id := c.str("bot")
	if id == "" {
		id = c.tok.botID
	}
	b := s.bots[id]
	if b == nil || b.teamID != c.tok.teamID {
		return nil, "bot_not_found"
	}
	return struct {
		Bot wireBot `json:"bot"`
	}{s.wireBotLocked(b)}, ""
}

func apiEmojiList(s *Server, c *call) (any, string) {
	return struct {
		Emoji   map[string]string `json:"emoji"`
		CacheTS string            `json:"cache_ts"`
	}{maps.Clone(s.teams[c.tok.teamID].emoji), formatTS(s.clock.last)}, ""
}

func apiEventAuthorizations(s *Server, c *call) (any, string) {
	auth, ok := s.sm.contexts[c.str("event_context")]
	if !ok {
		return nil, "invalid_event_context"
	}
	out := make([]wireAuthorization, 0, len(auth))
	for _, in := range auth {
		out = append(out, in.wire())
	}
	return struct {
		Authorizations []wireAuthorization `json:"authorizations"`
		Meta           wireMeta            `json:"response_metadata"`
	}{out, wireMeta{}}, ""
}

// wireMeta is response_metadata with the pagination cursor ("" at the end).
type wireMeta struct {
	NextCursor string   `json:"next_cursor"`
	Warnings   []string `json:"warnings,omitempty"`
}
