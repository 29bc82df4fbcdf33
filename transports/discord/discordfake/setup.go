package discordfake

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
)

// The methods below build the world and act in it as Discord users would
// in a Discord client. Each sends the Gateway the dispatches Discord would
// (to the sessions that exist at that moment, so setting up before any
// client connects is silent). They panic on unknown IDs and on what Discord
// would not allow, since those are mistakes in the calling test or demo.

// UserSpec describes a user to create.
type UserSpec struct {
	Username   string // unique handle, e.g. "alice"; required
	GlobalName string // display name; "" for none (bots have none)
	Avatar     string // avatar hash; "" for the default avatar
	Bot        bool
}

// User is a snapshot of a user.
type User struct {
	ID, Username, GlobalName, Avatar string
	Bot                              bool
	Status                           string          // "online", "idle", "dnd", "invisible" or "offline"
	Activities                       json.RawMessage // JSON array of activities
}

// Guild is a snapshot of a guild.
type Guild struct {
	ID, Name, OwnerID string
	Members           []string // user IDs in join order
	Channels          []string // channel and thread IDs in creation order
}

// Channel is a snapshot of a channel, DM or thread.
type Channel struct {
	ID, GuildID, Name, ParentID string
	Type                        ChannelType
	Recipients                  []string // DMs
	Topic                       string   // guild text channels
	Members                     []string // threads: who joined them, the owner first
}

// CreateUser creates a user; they are online with no activity.
func (s *Server) CreateUser(spec UserSpec) User {
	if spec.Username == "" {
		panic("discordfake: CreateUser: empty username")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	u := &user{id: s.ids.next(), username: spec.Username, globalName: spec.GlobalName, avatar: spec.Avatar,
		bot: spec.Bot, status: "online", activities: json.RawMessage("[]")}
	s.users[u.id] = u
	s.notifyLocked()
	return userSnapshot(u)
}

func userSnapshot(u *user) User {
	return User{ID: u.id, Username: u.username, GlobalName: u.globalName, Avatar: u.avatar, Bot: u.bot,
		Status: u.status, Activities: slices.Clone(u.activities)}
}

// CreateGuild creates a guild owned by a user, who is its first member
// (GUILD_CREATE to the owner's sessions).
func (s *Server) CreateGuild(ownerID, name string) Guild {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mustUser("CreateGuild", ownerID)
	g := &guild{id: s.ids.next(), name: name, ownerID: ownerID, nicks: map[string]string{}, joined: map[string]string{}}
	s.guilds[g.id] = g
	s.guildOrder = append(s.guildOrder, g.id)
	s.addMemberLocked(g, ownerID)
	s.notifyLocked()
	return guildSnapshot(g)
}

func guildSnapshot(g *guild) Guild {
	return Guild{ID: g.id, Name: g.name, OwnerID: g.ownerID, Members: slices.Clone(g.members), Channels: slices.Clone(g.channels)}
}

// AddMember makes a user a member of a guild, with an optional nickname
// (GUILD_MEMBER_ADD to the guild, GUILD_CREATE to the new member). Adding a
// member twice only changes the nickname.
func (s *Server) AddMember(guildID, userID, nick string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.mustGuild("AddMember", guildID)
	s.mustUser("AddMember", userID)
	g.nicks[userID] = nick
	if !slices.Contains(g.members, userID) {
		s.addMemberLocked(g, userID)
	}
	s.notifyLocked()
}

func (s *Server) addMemberLocked(g *guild, userID string) {
	g.members = append(g.members, userID)
	g.joined[userID] = formatTimestamp(s.opts.now())
	s.emitMemberAddLocked(g, userID)
}

// CreateChannel creates a text channel in a guild (CHANNEL_CREATE).
func (s *Server) CreateChannel(guildID, name string) Channel {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.mustGuild("CreateChannel", guildID)
	c := &channel{id: s.ids.next(), guildID: g.id, name: name, kind: GuildText, byID: map[string]*message{}}
	s.channels[c.id] = c
	s.channelOrder = append(s.channelOrder, c.id)
	g.channels = append(g.channels, c.id)
	s.emitChannelCreateLocked(c)
	s.notifyLocked()
	return channelSnapshot(c)
}

func channelSnapshot(c *channel) Channel {
	return Channel{ID: c.id, GuildID: c.guildID, Name: c.name, ParentID: c.parentID, Type: c.kind,
		Recipients: slices.Clone(c.recipients), Topic: c.topic, Members: slices.Clone(c.threadMembers)}
}

// OpenDM returns the DM channel of two users, creating it if needed
// (CHANNEL_CREATE to their user-account sessions).
func (s *Server) OpenDM(userA, userB string) Channel {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mustUser("OpenDM", userA)
	s.mustUser("OpenDM", userB)
	if userA == userB {
		panic("discordfake: OpenDM: a user cannot DM themselves")
	}
	c, created := s.openDMLocked(userA, userB)
	if created {
		s.emitChannelCreateLocked(c)
	}
	s.notifyLocked()
	return channelSnapshot(c)
}

func (s *Server) openDMLocked(a, b string) (*channel, bool) {
	if c := s.dmBetween(a, b); c != nil {
		return c, false
	}
	c := &channel{id: s.ids.next(), kind: DM, recipients: []string{a, b}, byID: map[string]*message{}}
	if a == b {
		c.recipients = []string{a}
	}
	s.channels[c.id] = c
	s.channelOrder = append(s.channelOrder, c.id)
	return c, true
}

// AddFriend makes two users friends (RELATIONSHIP_ADD to both users'
// user-account sessions). Bots cannot have friends.
func (s *Server) AddFriend(userA, userB string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, b := s.mustUser("AddFriend", userA), s.mustUser("AddFriend", userB)
	if a.bot || b.bot || a == b {
		panic("discordfake: AddFriend: friends are two distinct people, not bots")
	}
	if slices.Contains(a.friends, b.id) {
		return
	}
	a.friends = append(a.friends, b.id)
	b.friends = append(b.friends, a.id)
	s.emitRelationshipLocked(a, b)
	s.notifyLocked()
}

// IssueBotToken returns a new token for a bot user, whose application is
// granted the given privileged intents (see PrivilegedIntents); a client
// sends it as "Authorization: Bot TOKEN".
func (s *Server) IssueBotToken(botUserID string, privileged Intent) string {
	if privileged&^PrivilegedIntents != 0 {
		panic(fmt.Sprintf("discordfake: IssueBotToken: %#x are not privileged intents", uint64(privileged&^PrivilegedIntents)))
	}
	return s.issueToken("IssueBotToken", botUserID, true, privileged)
}

// IssueUserToken returns a new token for a person's account; a client sends
// it bare in Authorization.
func (s *Server) IssueUserToken(userID string) string {
	return s.issueToken("IssueUserToken", userID, false, 0)
}

func (s *Server) issueToken(op, userID string, bot bool, privileged Intent) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.mustUser(op, userID)
	if u.bot != bot {
		panic(fmt.Sprintf("discordfake: %s: user %s has bot=%v", op, userID, u.bot))
	}
	n := len(s.tokens) + 1
	v := base64.RawStdEncoding.EncodeToString([]byte(u.id)) + ".Gfake" + fmt.Sprint(n) + "." +
		fmt.Sprintf("%016x%016x", fnvHash(fmt.Sprint("t", n, u.id)), fnvHash(fmt.Sprint("u", n)))
	s.tokens[v] = &token{value: v, userID: u.id, bot: bot, privileged: privileged}
	return v
}

// RevokeToken revokes a token, as resetting it in the developer portal or
// changing a password does: REST calls with it answer 401, sessions it
// identified are invalidated and their sockets closed with 4004.
func (s *Server) RevokeToken(tok string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tokens[tok]
	if t == nil {
		panic("discordfake: RevokeToken: unknown token")
	}
	t.revoked = true
	for _, ss := range s.gw.sessions {
		if ss.tok == t {
			ss.invalid = true
			if ss.conn != nil {
				ss.conn.closeWithLocked(4004, "Authentication failed.")
			}
		}
	}
	s.notifyLocked()
}
