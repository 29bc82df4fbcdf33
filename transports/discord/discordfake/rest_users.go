package discordfake

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
)

func restGateway(s *Server, c *call) (int, any) {
	return http.StatusOK, map[string]string{"url": s.GatewayURL()}
}

func restGatewayBot(s *Server, c *call) (int, any) {
	return http.StatusOK, map[string]any{"url": s.GatewayURL(), "shards": 1,
		"session_start_limit": map[string]int{"total": 1000, "remaining": 999, "reset_after": 14400000, "max_concurrency": 1}}
}

func restMe(s *Server, c *call) (int, any) { return http.StatusOK, s.userJSON(c.me) }

func restUser(s *Server, c *call) (int, any) {
	u := s.users[c.params["user.id"]]
	if u == nil {
		return apiErr(http.StatusNotFound, codeUnknownUser, "Unknown User")
	}
	return http.StatusOK, s.userJSON(u)
}

// queryLimit reads "limit": def when absent, an error outside [1, max].
func queryLimit(c *call, def, max int) (int, bool) {
	v := c.query.Get("limit")
	if v == "" {
		return def, true
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > max {
		return 0, false
	}
	return n, true
}

func limitErr(max int) (int, any) {
	return formErr("limit", "NUMBER_TYPE_MAX", "int value should be less than or equal to "+itoa(max)+".")
}

// snowflakeParam reads an optional snowflake query parameter.
func snowflakeParam(c *call, name string) (uint64, bool, bool) {
	v := c.query.Get(name)
	if v == "" {
		return 0, false, true
	}
	n, ok := parseSnowflake(v)
	return n, true, ok
}

func idNum(id string) uint64 { n, _ := parseSnowflake(id); return n }

func restMyGuilds(s *Server, c *call) (int, any) {
	limit, ok := queryLimit(c, 200, 200)
	if !ok {
		return limitErr(200)
	}
	before, hasBefore, ok1 := snowflakeParam(c, "before")
	after, _, ok2 := snowflakeParam(c, "after")
	if !ok1 || !ok2 {
		return formErr("before", "NUMBER_TYPE_COERCE", "Value is not snowflake.")
	}
	gs := s.guildsOf(c.me.id)
	slices.SortFunc(gs, func(a, b *guild) int { return cmpID(a.id, b.id) })
	out := []wireUserGuild{}
	for _, g := range gs {
		n := idNum(g.id)
		if n <= after || (hasBefore && n >= before) {
			continue
		}
		out = append(out, wireUserGuild{ID: g.id, Name: g.name, Owner: g.ownerID == c.me.id,
			Permissions: "1071698660929", Features: []string{}})
	}
	if hasBefore && len(out) > limit {
		out = out[len(out)-limit:]
	}
	return http.StatusOK, out[:min(limit, len(out))]
}

func cmpID(a, b string) int {
	x, y := idNum(a), idNum(b)
	switch {
	case x < y:
		return -1
	case x > y:
		return 1
	}
	return 0
}

func restMyChannels(s *Server, c *call) (int, any) {
	out := []wireChannel{}
	if c.tok.bot {
		return http.StatusOK, out // bots cannot list their DMs
	}
	for _, id := range s.channelOrder {
		if ch := s.channels[id]; ch.kind.isPrivate() && slices.Contains(ch.recipients, c.me.id) {
			out = append(out, s.channelJSON(ch, c.me.id))
		}
	}
	return http.StatusOK, out
}

func restCreateDM(s *Server, c *call) (int, any) {
	var body struct {
		RecipientID string `json:"recipient_id"`
	}
	if json.Unmarshal(c.body, &body) != nil {
		return badJSON()
	}
	other := s.users[body.RecipientID]
	if other == nil {
		return apiErr(http.StatusBadRequest, codeInvalidRecipient, "Invalid Recipient(s)")
	}
	ch, created := s.openDMLocked(c.me.id, other.id)
	if created {
		s.emitChannelCreateLocked(ch)
	}
	return http.StatusOK, s.channelJSON(ch, c.me.id)
}

func badJSON() (int, any) {
	return apiErr(http.StatusBadRequest, 50109, "The request body contains invalid JSON.")
}

func restRelationships(s *Server, c *call) (int, any) {
	out := []wireRelationship{}
	for _, f := range c.me.friends {
		out = append(out, wireRelationship{ID: f, Type: 1, User: s.userJSON(s.users[f])})
	}
	return http.StatusOK, out
}

// channelFor resolves the channel of a route for the caller: 404 Unknown
// Channel, or 403 Missing Access when the caller cannot see it.
func (s *Server) channelFor(c *call) (*channel, int, any) {
	ch := s.channels[c.params["channel.id"]]
	if ch == nil {
		st, b := apiErr(http.StatusNotFound, codeUnknownChannel, "Unknown Channel")
		return nil, st, b
	}
	if c.me != nil && !s.canSee(c.me.id, ch) {
		st, b := apiErr(http.StatusForbidden, codeMissingAccess, "Missing Access")
		return nil, st, b
	}
	return ch, 0, nil
}

func restChannel(s *Server, c *call) (int, any) {
	ch, st, b := s.channelFor(c)
	if ch == nil {
		return st, b
	}
	return http.StatusOK, s.channelJSON(ch, c.me.id)
}

// guildFor resolves the guild of a route for a member.
func (s *Server) guildFor(c *call) (*guild, int, any) {
	g := s.guilds[c.params["guild.id"]]
	if g == nil {
		st, b := apiErr(http.StatusNotFound, codeUnknownGuild, "Unknown Guild")
		return nil, st, b
	}
	if !slices.Contains(g.members, c.me.id) {
		st, b := apiErr(http.StatusForbidden, codeMissingAccess, "Missing Access")
		return nil, st, b
	}
	return g, 0, nil
}

func restGuild(s *Server, c *call) (int, any) {
	g, st, b := s.guildFor(c)
	if g == nil {
		return st, b
	}
	return http.StatusOK, s.guildJSON(g)
}

func restGuildChannels(s *Server, c *call) (int, any) {
	g, st, b := s.guildFor(c)
	if g == nil {
		return st, b
	}
	out := []wireChannel{}
	for _, id := range g.channels {
		if ch := s.channels[id]; !ch.kind.isThread() {
			out = append(out, s.channelJSON(ch, c.me.id))
		}
	}
	return http.StatusOK, out
}

func restGuildMembers(s *Server, c *call) (int, any) {
	g, st, b := s.guildFor(c)
	if g == nil {
		return st, b
	}
	if c.tok.bot && c.tok.privileged&IntentGuildMembers == 0 {
		return apiErr(http.StatusForbidden, codeMissingAccess, "Missing Access") // needs the GUILD_MEMBERS intent
	}
	limit, ok := queryLimit(c, 1, 1000)
	if !ok {
		return limitErr(1000)
	}
	after, _, ok := snowflakeParam(c, "after")
	if !ok {
		return formErr("after", "NUMBER_TYPE_COERCE", "Value is not snowflake.")
	}
	ids := slices.Clone(g.members)
	slices.SortFunc(ids, cmpID)
	out := []wireMember{}
	for _, id := range ids {
		if idNum(id) > after && len(out) < limit {
			out = append(out, s.memberJSON(g, id, true))
		}
	}
	return http.StatusOK, out
}

func restGuildMember(s *Server, c *call) (int, any) {
	g, st, b := s.guildFor(c)
	if g == nil {
		return st, b
	}
	id := c.params["user.id"]
	if !slices.Contains(g.members, id) {
		return apiErr(http.StatusNotFound, codeUnknownMember, "Unknown Member")
	}
	return http.StatusOK, s.memberJSON(g, id, true)
}
