package slackfake

import (
	"encoding/json"
	"strconv"
	"strings"
)

// userVisibleLocked finds a user the caller may see: one of its team.
func (s *Server) userVisibleLocked(c *call, id string) *user {
	u := s.users[id]
	if u == nil || u.teamID != c.tok.teamID {
		return nil
	}
	return u
}

func apiUsersList(s *Server, c *call) (any, string) {
	t := s.teams[c.tok.teamID]
	if id := c.str("team_id"); id != "" && id != t.id {
		return nil, "team_access_not_granted"
	}
	limit, ok := c.limit(len(t.users), 1000)
	if !ok {
		return nil, "invalid_limit"
	}
	start := 0
	if cur := c.str("cursor"); cur != "" {
		id, ok := decodeCursor("user", cur)
		if !ok {
			return nil, "invalid_cursor"
		}
		for start < len(t.users) && t.users[start] < id {
			start++
		}
	}
	end := min(start+limit, len(t.users))
	members := make([]wireUser, 0, end-start)
	for _, id := range t.users[start:end] {
		members = append(members, s.wireUserLocked(s.users[id]))
	}
	meta := wireMeta{}
	if end < len(t.users) {
		meta.NextCursor = encodeCursor("user", t.users[end])
	}
	return struct {
		Members []wireUser `json:"members"`
		CacheTS int64      `json:"cache_ts"`
		Meta    wireMeta   `json:"response_metadata"`
	}{members, s.clock.unix(), meta}, ""
}

func apiUsersInfo(s *Server, c *call) (any, string) {
	u := s.userVisibleLocked(c, c.str("user"))
	if u == nil {
		return nil, "user_not_found"
	}
	return struct {
		User wireUser `json:"user"`
	}{s.wireUserLocked(u)}, ""
}

func apiUsersGetPresence(s *Server, c *call) (any, string) {
	id := c.str("user")
	if id == "" {
		id = c.tok.userID
	}
	u := s.userVisibleLocked(c, id)
	if u == nil {
		return nil, "user_not_found"
	}
	type full struct {
		Presence        string `json:"presence"`
		Online          *bool  `json:"online,omitempty"`
		AutoAway        *bool  `json:"auto_away,omitempty"`
		ManualAway      *bool  `json:"manual_away,omitempty"`
		ConnectionCount *int   `json:"connection_count,omitempty"`
		LastActivity    *int64 `json:"last_activity,omitempty"`
	}
	p := presenceOf(u)
	r := full{Presence: p}
	if id == c.tok.userID {
		online := p == "active"
		r.Online, r.AutoAway, r.ManualAway = &online, ptr(false), ptr(!online)
		r.ConnectionCount, r.LastActivity = ptr(1), ptr(s.clock.unix())
	}
	return r, ""
}

func apiUsersSetPresence(s *Server, c *call) (any, string) {
	u := s.users[c.tok.userID]
	switch c.str("presence") {
	case "auto":
		u.away = false
	case "away":
		u.away = true
	default:
		return nil, "invalid_presence"
	}
	return nil, ""
}

func apiUsersProfileGet(s *Server, c *call) (any, string) {
	id := c.str("user")
	if id == "" {
		id = c.tok.userID
	}
	u := s.userVisibleLocked(c, id)
	if u == nil {
		return nil, "user_not_found"
	}
	return struct {
		Profile wireProfile `json:"profile"`
	}{s.wireProfileLocked(u)}, ""
}

func apiUsersProfileSet(s *Server, c *call) (any, string) {
	u := s.users[c.tok.userID]
	if id := c.str("user"); id != "" && id != u.id {
		target := s.userVisibleLocked(c, id)
		switch {
		case target == nil:
			return nil, "user_not_found"
		case !u.isAdmin:
			return nil, "not_admin"
		case target.isAdmin:
			return nil, "cannot_update_admin_user"
		}
		u = target
	}
	fields := map[string]json.RawMessage{}
	if raw := c.str("profile"); raw != "" {
		if err := json.Unmarshal([]byte(raw), &fields); err != nil {
			return nil, "invalid_profile"
		}
	} else if name := c.str("name"); name != "" {
		v, _ := json.Marshal(c.params.Get("value"))
		fields[name] = v
	} else {
		return nil, "invalid_profile"
	}
	p := u.profile
	for k, raw := range fields {
		var str string
		if k == "status_expiration" {
			var n json.Number
			if json.Unmarshal(raw, &n) != nil {
				if json.Unmarshal(raw, &str) != nil {
					return nil, "invalid_profile"
				}
				n = json.Number(str)
			}
			exp, err := strconv.ParseInt(string(n), 10, 64)
			if err != nil && n != "" {
				return nil, "invalid_profile"
			}
			p.StatusExpiration = exp
			continue
		}
		if json.Unmarshal(raw, &str) != nil {
			return nil, "invalid_profile"
		}
		if dst := profileField(&p, k); dst != nil {
			*dst = str
		}
	}
	if p.StatusText != "" && p.StatusEmoji == "" {
		p.StatusEmoji = ":speech_balloon:" // what Slack fills in
	}
	if len([]rune(p.StatusText)) > 100 {
		return nil, "too_long"
	}
	if p.StatusEmoji != "" && (!strings.HasPrefix(p.StatusEmoji, ":") || !strings.HasSuffix(p.StatusEmoji, ":")) {
		return nil, "invalid_emoji"
	}
	s.setProfileLocked(u, p)
	return struct {
		Profile wireProfile `json:"profile"`
	}{s.wireProfileLocked(u)}, ""
}

// profileField maps a users.profile.set field name to the Profile field it
// sets; nil for names the fake ignores.
func profileField(p *Profile, name string) *string {
	switch name {
	case "real_name":
		return &p.RealName
	case "display_name":
		return &p.DisplayName
	case "first_name":
		return &p.FirstName
	case "last_name":
		return &p.LastName
	case "email":
		return &p.Email
	case "title":
		return &p.Title
	case "phone":
		return &p.Phone
	case "status_text":
		return &p.StatusText
	case "status_emoji":
		return &p.StatusEmoji
	}
	return nil
}

// setProfileLocked stores a new profile and tells the app (user_change).
func (s *Server) setProfileLocked(u *user, p Profile) {
	u.profile = p
	u.updated = s.clock.unix()
	s.emitUserLocked(u, "user_change")
}
