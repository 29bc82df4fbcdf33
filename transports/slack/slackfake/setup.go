package slackfake

import (
	"fmt"
	"slices"
	"strings"
)

// Team is a snapshot of a workspace.
type Team struct {
	ID     string // "T…"
	Name   string // display name
	Domain string // as in https://DOMAIN.slack.com
}

// UserSpec describes a user to create. Only Name is needed.
type UserSpec struct {
	Name        string // handle, e.g. "alice"; "userN" when empty
	RealName    string
	DisplayName string
	Email       string
	Title       string
	StatusText  string
	StatusEmoji string
	TZ          string // IANA zone name, "UTC" when empty
	IsBot       bool   // a bot user without a bot record (e.g. another app)
	IsAdmin     bool
	Deleted     bool // deactivated: its tokens answer account_inactive
	Away        bool // presence "away" instead of "active"
}

// Profile is the editable part of a user, as users.profile.get shows it.
type Profile struct {
	RealName         string
	DisplayName      string
	FirstName        string
	LastName         string
	Email            string
	Title            string
	Phone            string
	StatusText       string
	StatusEmoji      string
	StatusExpiration int64  // unix seconds, 0 for none
	Image72          string // avatar URLs, served by the fake unless replaced
	Image192         string
}

// User is a snapshot of a user.
type User struct {
	ID       string // "U…"
	TeamID   string
	Name     string
	IsBot    bool
	IsAdmin  bool
	Deleted  bool
	BotID    string // "B…" for the app's bot users
	Presence string // "active" or "away"
	Profile  Profile
}

// Channel is a snapshot of a conversation.
type Channel struct {
	ID       string // "C…", "D…" or "G…"
	TeamID   string
	Name     string // "" for IMs
	Kind     ConvKind
	Members  []string
	Archived bool
}

// CreateTeam creates a workspace. Like every setup method it changes state
// silently: no events are sent.
func (s *Server) CreateTeam(name string) Team {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := &team{id: s.ids.id("T"), name: name, domain: slug(name), created: s.clock.unix(), emoji: map[string]string{}}
	if t.domain == "" {
		t.domain = strings.ToLower(t.id)
	}
	s.teams[t.id] = t
	s.teamOrder = append(s.teamOrder, t.id)
	s.notifyLocked()
	return Team{ID: t.id, Name: t.name, Domain: t.domain}
}

// CreateUser creates a user in a team, silently. It panics if the team is
// unknown.
func (s *Server) CreateUser(teamID string, spec UserSpec) User {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.createUserLocked("CreateUser", teamID, spec)
	s.notifyLocked()
	return s.userSnapshotLocked(u)
}

func (s *Server) createUserLocked(op, teamID string, spec UserSpec) *user {
	t := s.mustTeam(op, teamID)
	u := &user{
		id: s.ids.id("U"), teamID: teamID, name: spec.Name,
		isBot: spec.IsBot, isAdmin: spec.IsAdmin, deleted: spec.Deleted,
		away: spec.Away, tz: spec.TZ, updated: s.clock.unix(),
	}
	if u.name == "" {
		u.name = fmt.Sprintf("user%d", len(t.users)+1)
	}
	if u.tz == "" {
		u.tz = "UTC"
	}
	first, last, _ := strings.Cut(spec.RealName, " ")
	u.profile = Profile{
		RealName: spec.RealName, DisplayName: spec.DisplayName,
		FirstName: first, LastName: last, Email: spec.Email, Title: spec.Title,
		StatusText: spec.StatusText, StatusEmoji: spec.StatusEmoji,
		Image72: s.avatarURL(u.id, 72), Image192: s.avatarURL(u.id, 192),
	}
	s.users[u.id] = u
	t.users = append(t.users, u.id)
	return u
}

// CreateChannel creates a public or private channel with the given members,
// silently. The first member, if any, is recorded as the creator. It panics
// on unknown IDs.
func (s *Server) CreateChannel(teamID, name string, private bool, memberIDs ...string) Channel {
	s.mu.Lock()
	defer s.mu.Unlock()
	kind := PublicChannel
	if private {
		kind = PrivateChannel
	}
	c := s.createConvLocked("CreateChannel", teamID, kind, name, memberIDs)
	s.notifyLocked()
	return channelSnapshot(c)
}

func (s *Server) createConvLocked(op, teamID string, kind ConvKind, name string, memberIDs []string) *conv {
	t := s.mustTeam(op, teamID)
	for _, id := range memberIDs {
		if u := s.mustUser(op, id); u.teamID != teamID {
			panic(fmt.Sprintf("slackfake: %s: user %s is not in team %s", op, id, teamID))
		}
	}
	prefix := "C"
	switch kind {
	case IM:
		prefix = "D"
	case MPIM:
		prefix = "G"
	}
	c := &conv{
		id: s.ids.id(prefix), teamID: teamID, name: name, kind: kind,
		created: s.clock.unix(), byTS: map[string]*message{}, threads: map[string][]*message{},
		lastRead: map[string]string{},
	}
	for _, id := range memberIDs {
		c.addMember(id)
	}
	if len(c.members) > 0 {
		c.creator = c.members[0]
	}
	s.convs[c.id] = c
	t.convs = append(t.convs, c.id)
	return c
}

// OpenIM returns the direct message conversation between two users of a
// team, creating it silently if needed. userA may equal userB (a self DM).
func (s *Server) OpenIM(teamID, userA, userB string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, _ := s.openDMLocked("OpenIM", teamID, []string{userA, userB})
	s.notifyLocked()
	return c.id
}

// OpenMPIM returns the group direct message among the given users (at least
// three), creating it silently if needed.
func (s *Server) OpenMPIM(teamID string, userIDs ...string) string {
	if len(slices.Compact(slices.Sorted(slices.Values(userIDs)))) < 3 {
		panic("slackfake: OpenMPIM: needs at least three distinct users")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, _ := s.openDMLocked("OpenMPIM", teamID, userIDs)
	s.notifyLocked()
	return c.id
}

// openDMLocked finds or creates the IM (one or two distinct users) or MPIM
// (three or more) with exactly these members. created reports a new one.
func (s *Server) openDMLocked(op, teamID string, userIDs []string) (c *conv, created bool) {
	set := slices.Compact(slices.Sorted(slices.Values(userIDs)))
	kind := IM
	if len(set) > 2 {
		kind = MPIM
	}
	t := s.mustTeam(op, teamID)
	for _, id := range t.convs {
		old := s.convs[id]
		if old.kind == kind && slices.Equal(slices.Sorted(slices.Values(old.members)), set) {
			return old, false
		}
	}
	name := ""
	if kind == MPIM {
		names := make([]string, 0, len(set))
		for _, id := range userIDs {
			if n := s.mustUser(op, id).name; !slices.Contains(names, n) {
				names = append(names, n)
			}
		}
		name = "mpdm-" + strings.Join(names, "--") + "-1"
	}
	return s.createConvLocked(op, teamID, kind, name, slices.Compact(slices.Clone(userIDs))), true
}

// InstallApp installs the fake's single app in a team: it creates the bot
// (a "B…" record and its bot user) and a bot token. Installing twice returns
// the same token and user.
func (s *Server) InstallApp(teamID string) (botToken, botUserID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.mustTeam("InstallApp", teamID)
	if t.botID != "" {
		return t.botToken, s.bots[t.botID].userID
	}
	u := s.createUserLocked("InstallApp", teamID, UserSpec{Name: slug(s.opts.appName), RealName: s.opts.appName, IsBot: true})
	b := &bot{id: s.ids.id("B"), teamID: teamID, userID: u.id, appID: s.appID, name: s.opts.appName, updated: s.clock.unix()}
	u.botID = b.id
	s.bots[b.id] = b
	tok := &token{value: s.ids.token("xoxb", teamID, b.id), kind: kindBot, teamID: teamID, userID: u.id, botID: b.id}
	s.addTokenLocked(tok)
	t.botID, t.botToken = b.id, tok.value
	s.forgetInstallationsLocked()
	s.notifyLocked()
	return tok.value, u.id
}

// BotID returns the app's bot ID ("B…") in a team, "" if not installed.
func (s *Server) BotID(teamID string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mustTeam("BotID", teamID).botID
}

// AppID returns the app's ID ("A…").
func (s *Server) AppID() string { return s.appID }

// AppToken returns the app-level token ("xapp-…"), valid only for
// apps.connections.open and apps.event.authorizations.list.
func (s *Server) AppToken() string { return s.appTokenValue }

// IssueUserToken issues a user token ("xoxp-…") for the app to a user, as the
// OAuth flow would. Posting with it posts as that user, and from then on the
// app receives events of the conversations the user is in. It panics if the
// user is not in the team.
func (s *Server) IssueUserToken(teamID, userID string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mustTeam("IssueUserToken", teamID)
	if u := s.mustUser("IssueUserToken", userID); u.teamID != teamID {
		panic(fmt.Sprintf("slackfake: IssueUserToken: user %s is not in team %s", userID, teamID))
	}
	tok := &token{value: s.ids.token("xoxp", teamID, userID), kind: kindUser, teamID: teamID, userID: userID}
	s.addTokenLocked(tok)
	s.notifyLocked()
	return tok.value
}

func (s *Server) addTokenLocked(t *token) {
	s.tokens[t.value] = t
	s.tokenOrder = append(s.tokenOrder, t)
	s.forgetInstallationsLocked()
}

// SetTokenState makes a token valid, revoked, invalid or inactive. Only
// valid tokens count as installations for event delivery. It panics on an
// unknown token.
func (s *Server) SetTokenState(tok string, st TokenState) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tokens[tok]
	if t == nil {
		panic("slackfake: SetTokenState: unknown token")
	}
	t.state = st
	s.forgetInstallationsLocked()
	s.notifyLocked()
}

// AddEmoji adds a custom emoji to a team: url is an image URL or
// "alias:other".
func (s *Server) AddEmoji(teamID, name, url string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mustTeam("AddEmoji", teamID).emoji[name] = url
	s.notifyLocked()
}

func channelSnapshot(c *conv) Channel {
	return Channel{ID: c.id, TeamID: c.teamID, Name: c.name, Kind: c.kind, Members: slices.Clone(c.members), Archived: c.archived}
}

func (s *Server) userSnapshotLocked(u *user) User {
	return User{
		ID: u.id, TeamID: u.teamID, Name: u.name, IsBot: u.isBot, IsAdmin: u.isAdmin,
		Deleted: u.deleted, BotID: u.botID, Presence: presenceOf(u), Profile: u.profile,
	}
}

func presenceOf(u *user) string {
	if u.away && u.botID == "" {
		return "away"
	}
	return "active"
}
