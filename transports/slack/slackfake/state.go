package slackfake

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"slices"
	"strings"
)

// ConvKind is the kind of a conversation.
type ConvKind int

// The conversation kinds, with the ID prefix each gets.
const (
	PublicChannel  ConvKind = iota // "C…", anyone in the team may read or join
	PrivateChannel                 // "C…", members only
	IM                             // "D…", a direct message between two users
	MPIM                           // "G…", a group direct message
)

// String returns the name Slack uses for the kind in conversations.list types.
func (k ConvKind) String() string {
	switch k {
	case PublicChannel:
		return "public_channel"
	case PrivateChannel:
		return "private_channel"
	case IM:
		return "im"
	case MPIM:
		return "mpim"
	}
	return fmt.Sprintf("ConvKind(%d)", int(k))
}

// channelType is the value of channel_type in message events.
func (k ConvKind) channelType() string {
	switch k {
	case PrivateChannel:
		return "group"
	case IM:
		return "im"
	case MPIM:
		return "mpim"
	}
	return "channel"
}

// TokenState is the state of a token; anything but TokenValid makes every
// Web API call with the token fail with the matching Slack error.
type TokenState int

// The token states.
const (
	TokenValid    TokenState = iota // accepted
	TokenRevoked                    // "token_revoked"
	TokenInvalid                    // "invalid_auth"
	TokenInactive                   // "account_inactive"
)

// tokenKind tells bot, user and app-level tokens apart.
type tokenKind int

const (
	kindBot  tokenKind = iota // xoxb-
	kindUser                  // xoxp-
	kindApp                   // xapp-
)

type team struct {
	id, name, domain string
	created          int64
	users            []string // in creation order
	convs            []string // in creation order
	emoji            map[string]string
	botID            string // installed app's bot, "" if not installed
	botToken         string
}

type user struct {
	id, teamID, name string
	isBot, isAdmin   bool
	deleted          bool
	botID            string // for bot users
	profile          Profile
	away             bool // presence; manual away
	tz               string
	updated          int64
}

type bot struct {
	id, teamID, userID, appID, name string
	updated                         int64
}

type conv struct {
	id, teamID, name string
	kind             ConvKind
	creator          string
	created          int64
	members          []string // in join order
	archived         bool
	topic            wireTopic
	msgs             []*message // ts order, including thread replies
	byTS             map[string]*message
	threads          map[string][]*message // parent ts -> replies in ts order
	lastRead         map[string]string     // member user ID -> ts
}

type message struct {
	ts, user, botID, appID  string
	username, iconURL       string
	iconEmoji               string
	subtype, text, threadTS string
	clientMsgID             string
	team                    string
	blocks, attachments     json.RawMessage
	metadata                json.RawMessage // chat.postMessage metadata, as given
	editedBy, editedTS      string
	reactions               []*reaction
	files                   []string
}

type reaction struct {
	name  string
	users []string
}

type token struct {
	value          string
	kind           tokenKind
	teamID, userID string // userID is the bot user for bot tokens
	botID          string
	state          TokenState
}

type file struct {
	id, teamID, userID string
	name, title        string
	altTxt             string
	mimetype, filetype string
	length             int
	data               []byte
	uploaded           bool
	completed          bool
	created            int64
	channels           []string
}

func (c *conv) isMember(userID string) bool { return slices.Contains(c.members, userID) }

// addMember adds userID to the members; it reports whether it was new.
func (c *conv) addMember(userID string) bool {
	if c.isMember(userID) {
		return false
	}
	c.members = append(c.members, userID)
	return true
}

// removeMember removes userID from the members; it reports whether it was
// one.
func (c *conv) removeMember(userID string) bool {
	i := slices.Index(c.members, userID)
	if i < 0 {
		return false
	}
	c.members = slices.Delete(c.members, i, i+1)
	return true
}

// threadParent returns the parent of the thread a ts belongs to (the message
// itself when it is top level), or nil.
func (c *conv) threadParent(ts string) *message {
	m := c.byTS[ts]
	if m == nil {
		return nil
	}
	if m.threadTS != "" && m.threadTS != m.ts {
		return c.byTS[m.threadTS]
	}
	return m
}

// replies returns the replies of the thread rooted at parentTS in ts order.
func (c *conv) replies(parentTS string) []*message { return c.threads[parentTS] }

// add stores a message that has its ts; a reply makes its parent a thread
// parent (thread_ts set to its own ts, as Slack shows it).
func (c *conv) add(m *message) {
	c.msgs = append(c.msgs, m)
	c.byTS[m.ts] = m
	if m.threadTS != "" && m.threadTS != m.ts {
		c.threads[m.threadTS] = append(c.threads[m.threadTS], m)
		if p := c.byTS[m.threadTS]; p != nil {
			p.threadTS = p.ts
		}
	}
}

// removeMessage drops the message with the given ts.
func (c *conv) removeMessage(ts string) {
	m := c.byTS[ts]
	if m == nil {
		return
	}
	delete(c.byTS, ts)
	c.msgs = slices.DeleteFunc(c.msgs, func(x *message) bool { return x == m })
	if m.threadTS != "" && m.threadTS != m.ts {
		c.threads[m.threadTS] = slices.DeleteFunc(c.threads[m.threadTS], func(x *message) bool { return x == m })
		if len(c.threads[m.threadTS]) == 0 {
			delete(c.threads, m.threadTS)
		}
	}
}

// slug turns a display name into a Slack domain or channel name.
func slug(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(s) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '_':
			b.WriteRune(r)
			dash = false
		case !dash && b.Len() > 0:
			b.WriteByte('-')
			dash = true
		}
	}
	return strings.TrimRight(b.String(), "-")
}

// colorOf derives a stable six-digit hex color from an ID.
func colorOf(id string) string {
	h := fnv.New32a()
	h.Write([]byte(id))
	return fmt.Sprintf("%06x", h.Sum32()&0xffffff)
}

// lookups; all need s.mu held. They panic on unknown IDs because the Go API
// treats them as programming errors in the test or demo that calls it.

func (s *Server) mustTeam(op, id string) *team {
	t := s.teams[id]
	if t == nil {
		panic(fmt.Sprintf("slackfake: %s: unknown team %q", op, id))
	}
	return t
}

func (s *Server) mustUser(op, id string) *user {
	u := s.users[id]
	if u == nil {
		panic(fmt.Sprintf("slackfake: %s: unknown user %q", op, id))
	}
	return u
}

func (s *Server) mustConv(op, id string) *conv {
	c := s.convs[id]
	if c == nil {
		panic(fmt.Sprintf("slackfake: %s: unknown conversation %q", op, id))
	}
	return c
}

func (s *Server) mustMessage(op string, c *conv, ts string) *message {
	m := c.byTS[ts]
	if m == nil {
		panic(fmt.Sprintf("slackfake: %s: no message %s in %s", op, ts, c.id))
	}
	return m
}
