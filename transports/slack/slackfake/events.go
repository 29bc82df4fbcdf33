package slackfake

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
)

// installation is one way the app is installed: the bot of a team, or a
// user who granted it a user token.
type installation struct {
	teamID, userID string
	isBot          bool
}

// installationsLocked lists the app's live installations in a team: the
// bot first, then each user holding a valid user token, in issue order.
// The list is kept per team until a token, a deletion or the bot changes
// it (forgetInstallationsLocked): building it walks every token, which at
// 10,000 users cost the fake milliseconds per event. Callers must not
// modify it.
func (s *Server) installationsLocked(teamID string) []installation {
	if out, ok := s.instCache[teamID]; ok {
		return out
	}
	if s.instCache == nil {
		s.instCache = map[string][]installation{}
	}
	out := s.buildInstallationsLocked(teamID)
	s.instCache[teamID] = out
	return out
}

// forgetInstallationsLocked drops the kept installation lists.
func (s *Server) forgetInstallationsLocked() { s.instCache = nil }

func (s *Server) buildInstallationsLocked(teamID string) []installation {
	var out []installation
	if t := s.teams[teamID]; t != nil && t.botID != "" {
		if tok := s.tokens[t.botToken]; tok != nil && tok.state == TokenValid {
			out = append(out, installation{teamID: teamID, userID: s.bots[t.botID].userID, isBot: true})
		}
	}
	seen := map[string]bool{}
	for _, tok := range s.tokenOrder {
		if tok.kind != kindUser || tok.teamID != teamID || tok.state != TokenValid || seen[tok.userID] {
			continue
		}
		if u := s.users[tok.userID]; u == nil || u.deleted {
			continue
		}
		seen[tok.userID] = true
		out = append(out, installation{teamID: teamID, userID: tok.userID})
	}
	return out
}

type wireAuthorization struct {
	EnterpriseID        *string `json:"enterprise_id"`
	TeamID              string  `json:"team_id"`
	UserID              string  `json:"user_id"`
	IsBot               bool    `json:"is_bot"`
	IsEnterpriseInstall bool    `json:"is_enterprise_install"`
}

func (i installation) wire() wireAuthorization {
	return wireAuthorization{TeamID: i.teamID, UserID: i.userID, IsBot: i.isBot}
}

// wireCallback is the Events API outer event ("event_callback").
type wireCallback struct {
	Token              string              `json:"token"`
	TeamID             string              `json:"team_id"`
	APIAppID           string              `json:"api_app_id"`
	Event              json.RawMessage     `json:"event"`
	Type               string              `json:"type"`
	EventID            string              `json:"event_id"`
	EventTime          int64               `json:"event_time"`
	Authorizations     []wireAuthorization `json:"authorizations"`
	IsExtSharedChannel bool                `json:"is_ext_shared_channel"`
	EventContext       string              `json:"event_context"`
}

// verificationToken is the legacy verification token put in every payload.
const verificationToken = "fakeVerificationToken0000"

// emitLocked sends one event to the app if any installation in the team can
// see it (sees reports that for a user ID; nil means all can). Like Slack it
// sends the event once, naming one installation in authorizations (the bot
// when it can see the event); apps.event.authorizations.list with the
// payload's event_context lists them all.
func (s *Server) emitLocked(teamID, eventType, channelID string, event any, sees func(userID string) bool) {
	var auth []installation
	for _, in := range s.installationsLocked(teamID) {
		if sees == nil || sees(in.userID) {
			auth = append(auth, in)
		}
	}
	if len(auth) == 0 {
		return
	}
	raw, err := json.Marshal(event)
	if err != nil {
		panic(fmt.Sprintf("slackfake: marshal %s event: %v", eventType, err))
	}
	eventID := s.ids.id("Ev")
	ctxJSON, _ := json.Marshal(map[string]string{"et": eventType, "tid": teamID, "aid": s.appID, "cid": channelID, "eid": eventID})
	evctx := "4-" + base64.RawURLEncoding.EncodeToString(ctxJSON)
	s.sm.rememberContextLocked(evctx, auth)
	payload, _ := json.Marshal(wireCallback{
		Token: verificationToken, TeamID: teamID, APIAppID: s.appID, Event: raw,
		Type: "event_callback", EventID: eventID, EventTime: s.clock.unix(),
		Authorizations: []wireAuthorization{auth[0].wire()}, EventContext: evctx,
	})
	s.sm.enqueueLocked(s.ids.uuid("envelope"), payload)
}

// Event shapes, as documented for the Events API.

type evMessage struct {
	wireMessage
	Channel     string `json:"channel"`
	EventTS     string `json:"event_ts"`
	ChannelType string `json:"channel_type"`
}

type evMessageChanged struct {
	Type            string      `json:"type"`
	Subtype         string      `json:"subtype"`
	Hidden          bool        `json:"hidden"`
	Channel         string      `json:"channel"`
	TS              string      `json:"ts"`
	EventTS         string      `json:"event_ts"`
	ChannelType     string      `json:"channel_type"`
	Message         wireMessage `json:"message"`
	PreviousMessage wireMessage `json:"previous_message"`
}

type evMessageDeleted struct {
	Type            string      `json:"type"`
	Subtype         string      `json:"subtype"`
	Hidden          bool        `json:"hidden"`
	Channel         string      `json:"channel"`
	TS              string      `json:"ts"`
	DeletedTS       string      `json:"deleted_ts"`
	EventTS         string      `json:"event_ts"`
	ChannelType     string      `json:"channel_type"`
	PreviousMessage wireMessage `json:"previous_message"`
}

type evItem struct {
	Type    string `json:"type"`
	Channel string `json:"channel"`
	TS      string `json:"ts"`
}

type evReaction struct {
	Type     string `json:"type"`
	User     string `json:"user"`
	Reaction string `json:"reaction"`
	ItemUser string `json:"item_user,omitempty"`
	Item     evItem `json:"item"`
	EventTS  string `json:"event_ts"`
}

type evUser struct {
	Type    string   `json:"type"`
	User    wireUser `json:"user"`
	CacheTS int64    `json:"cache_ts,omitempty"`
	EventTS string   `json:"event_ts"`
}

// evMemberJoined is member_joined_channel, and member_left_channel
// (without an inviter).
type evMemberJoined struct {
	Type        string `json:"type"`
	User        string `json:"user"`
	Channel     string `json:"channel"`
	ChannelType string `json:"channel_type"`
	Team        string `json:"team"`
	Inviter     string `json:"inviter,omitempty"`
	EventTS     string `json:"event_ts"`
}

type evChannel struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	Created int64  `json:"created"`
	Creator string `json:"creator"`
}

type evChannelCreated struct {
	Type    string    `json:"type"`
	Channel evChannel `json:"channel"`
	EventTS string    `json:"event_ts"`
}

// Emitters for each kind of change; all need s.mu held.

func (s *Server) emitMessageLocked(c *conv, m *message) {
	ev := evMessage{wireMessage: s.wireMessageLocked(c, m), Channel: c.id, EventTS: m.ts, ChannelType: c.kind.channelType()}
	s.emitLocked(c.teamID, "message", c.id, ev, c.isMember)
}

func (s *Server) emitMessageChangedLocked(c *conv, prev, cur wireMessage, eventTS string) {
	ev := evMessageChanged{Type: "message", Subtype: "message_changed", Hidden: true, Channel: c.id,
		TS: eventTS, EventTS: eventTS, ChannelType: c.kind.channelType(), Message: cur, PreviousMessage: prev}
	s.emitLocked(c.teamID, "message", c.id, ev, c.isMember)
}

func (s *Server) emitMessageDeletedLocked(c *conv, prev wireMessage, eventTS string) {
	ev := evMessageDeleted{Type: "message", Subtype: "message_deleted", Hidden: true, Channel: c.id,
		TS: eventTS, DeletedTS: prev.TS, EventTS: eventTS, ChannelType: c.kind.channelType(), PreviousMessage: prev}
	s.emitLocked(c.teamID, "message", c.id, ev, c.isMember)
}

func (s *Server) emitReactionLocked(c *conv, m *message, userID, name string, added bool) {
	typ := "reaction_removed"
	if added {
		typ = "reaction_added"
	}
	ev := evReaction{Type: typ, User: userID, Reaction: name, ItemUser: m.user,
		Item: evItem{Type: "message", Channel: c.id, TS: m.ts}, EventTS: s.clock.next()}
	s.emitLocked(c.teamID, typ, c.id, ev, c.isMember)
}

func (s *Server) emitUserLocked(u *user, typ string) {
	ev := evUser{Type: typ, User: s.wireUserLocked(u), EventTS: s.clock.next()}
	if typ == "user_change" {
		ev.CacheTS = u.updated
	}
	s.emitLocked(u.teamID, typ, "", ev, nil)
}

func (s *Server) emitMemberJoinedLocked(c *conv, userID, inviter string) {
	ct := "C"
	if c.kind != PublicChannel {
		ct = "G"
	}
	ev := evMemberJoined{Type: "member_joined_channel", User: userID, Channel: c.id, ChannelType: ct,
		Team: c.teamID, Inviter: inviter, EventTS: s.clock.next()}
	s.emitLocked(c.teamID, ev.Type, c.id, ev, c.isMember)
}

// emitMemberLeftLocked sends member_left_channel to those who see the
// channel and to the one who left.
func (s *Server) emitMemberLeftLocked(c *conv, userID string) {
	ct := "C"
	if c.kind != PublicChannel {
		ct = "G"
	}
	ev := evMemberJoined{Type: "member_left_channel", User: userID, Channel: c.id, ChannelType: ct, Team: c.teamID, EventTS: s.clock.next()}
	s.emitLocked(c.teamID, ev.Type, c.id, ev, func(u string) bool { return u == userID || c.isMember(u) })
}

func (s *Server) emitChannelCreatedLocked(c *conv) {
	ev := evChannelCreated{Type: "channel_created", EventTS: s.clock.next(),
		Channel: evChannel{ID: c.id, Name: c.name, Created: c.created, Creator: c.creator}}
	s.emitLocked(c.teamID, ev.Type, c.id, ev, nil)
}
