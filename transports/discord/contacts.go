package discord

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/xgate-im/xgate/bridge"
)

// Contacts, profiles and presence. A personal account's contacts are its
// friends and the people it has DMs with; a bot-linked account's are the
// members of the guilds the user shares with the bot (which needs the
// privileged Server Members Intent).

// member is a guild member as GET /guilds/{id}/members lists them.
type member struct {
	User *me    `json:"user"`
	Nick string `json:"nick"`
}

// Contacts implements bridge.Session.
func (s *Session) Contacts(ctx context.Context) ([]bridge.Contact, error) {
	var people []me
	nicks := map[string]string{}
	if s.kind == kindUser {
		var rels []struct {
			Type int `json:"type"`
			User me  `json:"user"`
		}
		if err := s.c.request(ctx, "relationships", "GET", discordgo.EndpointUser("@me")+"/relationships", discordgo.EndpointUsers, nil, &rels); err != nil {
			return nil, s.checked(ctx, err)
		}
		for _, r := range rels {
			if r.Type == 1 { // friend
				people = append(people, r.User)
			}
		}
		var chs []privateChannel
		if err := s.c.request(ctx, "DM channels", "GET", discordgo.EndpointUserChannels("@me"), discordgo.EndpointUserChannels(""), nil, &chs); err != nil {
			return nil, s.checked(ctx, err)
		}
		for _, ch := range chs {
			if ch.Type == int(discordgo.ChannelTypeDM) && len(ch.Recipients) == 1 {
				people = append(people, ch.Recipients[0])
				s.notePeer(ch.ID, ch.Recipients[0].ID)
			}
		}
	} else {
		var err error
		if people, nicks, err = s.guildPeople(ctx); err != nil {
			return nil, err
		}
	}
	seen := map[string]bool{s.user: true, s.c.selfID(): true}
	var out []bridge.Contact
	for _, u := range people {
		if seen[u.ID] || !isSnowflake(u.ID) {
			continue
		}
		seen[u.ID] = true
		name := nicks[u.ID]
		if name == "" {
			name = u.display()
		}
		out = append(out, bridge.Contact{ID: bridge.UserID(u.ID), Name: name, AvatarURL: s.t.avatarURL(u), Bot: u.Bot})
	}
	s.mu.Lock()
	s.contacts = seen
	s.mu.Unlock()
	if s.kind == kindBot {
		s.knownPresences(ctx, out)
	}
	return out, nil
}

// knownPresences passes on the presences the bot saw of a bot-linked
// account's contacts before it logged in (Discord sends them once, when
// the bot connects). They go through the Fanout, in each person's order.
func (s *Session) knownPresences(ctx context.Context, cs []bridge.Contact) {
	only := func(context.Context) ([]bridge.AccountID, bool, error) {
		return []bridge.AccountID{s.acct}, true, nil
	}
	for _, c := range cs {
		p, ok := s.t.knownPresence(string(c.ID))
		if !ok {
			continue
		}
		s.c.dispatch(ctx, bridge.Inbound{
			Order: "presence:" + string(c.ID), Describe: describe("known presence"), Route: only,
			Handle: func(ctx context.Context, bs bridge.Session) error { return bs.(*Session).fromPresence(ctx, p) },
		})
	}
}

// guildPeople lists the members of the guilds the linked user shares with
// the bot, with their guild nicknames.
func (s *Session) guildPeople(ctx context.Context) ([]me, map[string]string, error) {
	var guilds []struct {
		ID string `json:"id"`
	}
	if err := s.c.request(ctx, "guilds", "GET", discordgo.EndpointUserGuilds("@me"), discordgo.EndpointUserGuilds(""), nil, &guilds); err != nil {
		return nil, nil, err
	}
	var people []me
	nicks := map[string]string{}
	for _, g := range guilds {
		var m member
		err := s.c.request(ctx, "guild member", "GET", discordgo.EndpointGuildMember(g.ID, s.user), discordgo.EndpointGuildMember(g.ID, ""), nil, &m)
		if errors.Is(err, bridge.ErrNotFound) {
			continue // the user is not in this guild
		}
		if err != nil {
			return nil, nil, err
		}
		var ms []member
		ep := discordgo.EndpointGuildMembers(g.ID)
		if err := s.c.request(ctx, "guild members", "GET", ep+"?limit=1000", ep, nil, &ms); err != nil {
			if errors.Is(err, bridge.ErrForbidden) {
				s.t.warnOnce("guild_members", "Discord does not let the bot list guild members: enable the Server Members Intent "+
					"in the Developer Portal (Applications → your app → Bot → Privileged Gateway Intents)", "guild", g.ID)
			}
			return nil, nil, err
		}
		for _, m := range ms {
			if m.User == nil {
				continue
			}
			people = append(people, *m.User)
			if m.Nick != "" && nicks[m.User.ID] == "" {
				nicks[m.User.ID] = m.Nick
			}
		}
	}
	return people, nicks, nil
}

// avatarURL is the CDN link of a user's avatar ("" without one).
func (t *Transport) avatarURL(u me) string {
	if u.Avatar == "" {
		return ""
	}
	return discordgo.EndpointUserAvatar(u.ID, u.Avatar)
}

// isContact reports whether a user is among the contacts last listed (or
// whether any is, when they were never listed and the session is
// personal: then every event is about its own people).
func (s *Session) isContact(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.contacts == nil {
		return s.kind == kindUser
	}
	return s.contacts[id]
}

// maxAvatar bounds an avatar's size.
const maxAvatar = 1 << 20

// Profile implements bridge.Profiler: the user's names and avatar.
func (s *Session) Profile(ctx context.Context, id bridge.UserID) (bridge.Profile, error) {
	if !isSnowflake(string(id)) {
		return bridge.Profile{}, fmt.Errorf("discord: user %q: %w", id, bridge.ErrNotFound)
	}
	var u me
	if err := s.c.request(ctx, "users/{id}", "GET", discordgo.EndpointUser(string(id)), discordgo.EndpointUsers, nil, &u); err != nil {
		return bridge.Profile{}, s.checked(ctx, err)
	}
	p := bridge.Profile{Name: u.display(), Nick: u.display(), URL: "https://discord.com/users/" + u.ID}
	if u.Avatar == "" {
		return p, nil
	}
	req, err := http.NewRequestWithContext(ctx, "GET", s.t.avatarURL(u), nil)
	if err != nil {
		return bridge.Profile{}, fmt.Errorf("discord: avatar: %w", err)
	}
	resp, err := s.t.hc.Do(req)
	if err != nil {
		return bridge.Profile{}, fmt.Errorf("discord: avatar: %w: %w", bridge.ErrTemporary, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return p, nil // gone meanwhile: a profile without a picture
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxAvatar+1))
	if err != nil {
		return bridge.Profile{}, fmt.Errorf("discord: avatar: %w: %w", bridge.ErrTemporary, err)
	}
	if len(b) <= maxAvatar {
		p.Avatar, p.AvatarType = b, http.DetectContentType(b)
	}
	return p, nil
}

// presenceUpdate is a PRESENCE_UPDATE, or a presence of READY or
// GUILD_CREATE.
type presenceUpdate struct {
	User       me `json:"user"`
	Status     string
	Activities []struct {
		Name  string `json:"name"`
		Type  int    `json:"type"`
		State string `json:"state"`
	} `json:"activities"`
}

// UnmarshalJSON reads the status under its wire name.
func (p *presenceUpdate) UnmarshalJSON(b []byte) error {
	type plain presenceUpdate
	var v struct {
		plain
		Status string `json:"status"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*p = presenceUpdate(v.plain)
	p.Status = v.Status
	return nil
}

// presenceOf maps a Discord status and activities to a presence: the
// custom status is the status text, else the first activity.
func presenceOf(p presenceUpdate) bridge.Presence {
	var out bridge.Presence
	switch p.Status {
	case "online":
		out.Show = bridge.ShowAvailable
	case "idle":
		out.Show = bridge.ShowAway
	case "dnd":
		out.Show = bridge.ShowDND
	default:
		out.Show = bridge.ShowOffline
	}
	verbs := map[int]string{0: "Playing ", 1: "Streaming ", 2: "Listening to ", 3: "Watching ", 5: "Competing in "}
	for _, a := range p.Activities {
		if a.Type == 4 {
			out.Status = a.State
			return out
		}
	}
	for _, a := range p.Activities {
		if v, ok := verbs[a.Type]; ok && a.Name != "" {
			out.Status = v + a.Name
			break
		}
	}
	return out
}

// fromPresence emits a contact's presence.
func (s *Session) fromPresence(ctx context.Context, p presenceUpdate) error {
	if s.isClosed() {
		return bridge.ErrSessionClosed
	}
	if p.User.ID == s.user || p.User.ID == s.c.selfID() || !s.isContact(p.User.ID) {
		return nil
	}
	return s.sink.Emit(ctx, bridge.PresenceEvent{User: bridge.UserID(p.User.ID), Presence: presenceOf(p)})
}

// fromUser emits a contact's new name or avatar.
func (s *Session) fromUser(ctx context.Context, u me) error {
	if s.isClosed() {
		return bridge.ErrSessionClosed
	}
	if u.ID == s.user || u.ID == s.c.selfID() || !s.isContact(u.ID) && s.kind == kindBot {
		return nil
	}
	return s.sink.Emit(ctx, bridge.ContactEvent{Contact: bridge.Contact{
		ID: bridge.UserID(u.ID), Name: u.display(), AvatarURL: s.t.avatarURL(u), Bot: u.Bot,
	}})
}

// SetPresence implements bridge.PresenceSetter for personal accounts: the
// user's XMPP availability and status become their Discord status and
// custom status. A bot-linked account has no presence of its own.
func (s *Session) SetPresence(ctx context.Context, p bridge.Presence) error {
	if s.kind != kindUser {
		return fmt.Errorf("discord: the bot's presence is not the user's: %w", bridge.ErrUnsupported)
	}
	status := "online"
	switch p.Show {
	case bridge.ShowAway, bridge.ShowXA:
		status = "idle"
	case bridge.ShowDND:
		status = "dnd"
	case bridge.ShowOffline:
		status = "invisible"
	}
	data := discordgo.UpdateStatusData{Status: status, Activities: []*discordgo.Activity{}}
	if p.Status != "" {
		data.Activities = append(data.Activities, &discordgo.Activity{Name: "Custom Status", Type: discordgo.ActivityTypeCustom, State: p.Status})
	}
	if err := s.c.dg.UpdateStatusComplex(data); err != nil {
		return fmt.Errorf("discord: set presence: %w: %w", bridge.ErrTemporary, err)
	}
	return nil
}

// History implements bridge.HistoryFetcher for direct and group chats.
func (s *Session) History(ctx context.Context, chat bridge.ChatRef, before bridge.MessageID, limit int) ([]bridge.MessageEvent, error) {
	ch, err := s.channelOf(ctx, chat)
	if err != nil {
		return nil, err
	}
	ref, _, err := s.chatOf(ctx, ch, "")
	if err != nil {
		if errors.Is(err, errNotMember) {
			err = fmt.Errorf("discord: you are not in the guild of channel %s: %w", ch, bridge.ErrForbidden)
		}
		return nil, err
	}
	ms, err := messagesBefore(ctx, s.c, ch, string(before), limit)
	if err != nil {
		return nil, s.checked(ctx, err)
	}
	var out []bridge.MessageEvent
	for _, m := range ms {
		if m.Author == nil {
			continue
		}
		sender, fromSelf, ok := s.sender(m.Author.ID, "", ref.Kind == bridge.Group)
		if !ok {
			continue
		}
		text, mentions := FromDiscord(m.Content, namesOf(m))
		ev := s.messageEvent(ref, m, sender, fromSelf, text, mentions)
		ev.Historical = true
		out = append(out, ev)
	}
	return out, nil
}

// catchUpTimeout bounds one catch-up.
const catchUpTimeout = time.Minute

// discordEpoch is the time of snowflake 0.
var discordEpoch = time.UnixMilli(1420070400000)

// snowflakeAt is the smallest snowflake of a time, for "after" queries.
func snowflakeAt(t time.Time) string {
	ms := t.Sub(discordEpoch).Milliseconds()
	if ms < 0 {
		ms = 0
	}
	return strconv.FormatUint(uint64(ms)<<22, 10)
}

// catchUp runs at each READY of the account's connection (a new Gateway
// session, which Discord replays nothing of the old one to); a bot-linked
// account that logs in while the bot is connected is caught up chat by
// chat by the chats' workers instead (catchup.go). A chat (DM or
// group) the account delivered messages in, in this run or an earlier one
// (the cursors are kept in the State), is read from the last one
// delivered; the other DMs of a personal account's READY from CatchUp
// before the login, as history. At a READY what follows is dispatched in
// order before the new session's events (this runs on the connection's
// reader goroutine); the Fanout and the bridge recognize what was
// delivered already.
func (s *Session) catchUp(ctx context.Context, chs []privateChannel) {
	s.mu.Lock()
	from := make(map[string]string, len(s.cursors))
	for ch, id := range s.cursors {
		from[ch] = id
	}
	s.mu.Unlock()
	historical := map[string]bool{}
	if s.t.set.catchUp > 0 {
		since := snowflakeAt(s.loginAt.Add(-s.t.set.catchUp))
		for _, ch := range chs {
			if _, ok := from[ch.ID]; ok || ch.Type != int(discordgo.ChannelTypeDM) {
				continue
			}
			if ch.LastMessage != "" && !snowflakeLess(since, ch.LastMessage) {
				continue // nothing said since
			}
			from[ch.ID], historical[ch.ID] = since, true
		}
	}
	// REST calls are bounded; dispatches use the connection's context,
	// which the Fanout's work for the channel lives as long as.
	rctx, cancel := context.WithTimeout(ctx, catchUpTimeout)
	defer cancel()
	only := func(context.Context) ([]bridge.AccountID, bool, error) {
		return []bridge.AccountID{s.acct}, true, nil
	}
	// A personal connection's catch-up has the IDs of its live events,
	// which the Fanout recognizes. The bot's is per account: another
	// account may have had the message live, and this one not (the bridge
	// recognizes a message delivered twice).
	id := func(m string) string { return "m:" + m }
	if s.kind == kindBot {
		id = func(m string) string { return "m:" + m + "@" + string(s.acct) }
	}
	for ch, after := range from {
		for {
			ms, err := messagesAfter(rctx, s.c, ch, after)
			if err != nil {
				s.log.Warn("catch-up of a DM failed; its messages since the drop may be missing", "channel", ch, "err", err)
				break
			}
			for _, m := range ms {
				hist := historical[ch]
				s.c.dispatchNow(ctx, bridge.Inbound{
					ID: id(m.ID), Order: ch, Describe: describe("MESSAGE_CREATE (catch-up)"), Route: only,
					Handle: func(ctx context.Context, bs bridge.Session) error {
						return bs.(*Session).fromMessage(ctx, m, "", false, hist)
					},
				})
				after = m.ID
			}
			if len(ms) < 100 {
				break
			}
		}
	}
}

// noteCursor records the newest message delivered in a channel.
func (s *Session) noteCursor(channel, id string) {
	s.mu.Lock()
	cur := s.cursors[channel]
	if cur != "" && !snowflakeLess(cur, id) {
		s.mu.Unlock()
		return
	}
	s.cursors[channel] = id
	s.dirty[channel] = id
	var flush map[string]string
	// A message whose delivery ends after Close (which flushed already)
	// is written at once: else its chat's cursor would be lost, and the
	// chat not caught up at the next start.
	if now := time.Now(); s.closed || now.Sub(s.flushed) >= cursorFlushEvery {
		flush, s.dirty, s.flushed = s.dirty, map[string]string{}, now
	} else if s.flushTimer == nil {
		// The rest is written within a second even if nothing follows.
		s.flushTimer = time.AfterFunc(cursorFlushEvery, s.flushCursors)
	}
	s.mu.Unlock()
	s.saveCursors(flush)
}

// cursorFlushEvery spaces the writes of a session's cursors to the State:
// a write is a disk sync (1.6 ms on the test machine), and a cursor kept a
// little behind only makes catch-up read again messages the bridge
// recognizes.
const cursorFlushEvery = time.Second

// flushCursors writes the cursors not written yet (by the flush timer,
// and at Close).
func (s *Session) flushCursors() {
	s.mu.Lock()
	flush := s.dirty
	s.dirty, s.flushed = map[string]string{}, time.Now()
	if s.flushTimer != nil {
		s.flushTimer.Stop()
		s.flushTimer = nil
	}
	s.mu.Unlock()
	s.saveCursors(flush)
}

func (s *Session) saveCursors(cs map[string]string) {
	for ch, id := range cs {
		s.t.remember(cursorKey(string(s.acct), ch), id)
	}
}

// loadCursors reads the account's cursors kept from an earlier run.
func (s *Session) loadCursors() {
	kv, err := s.t.state.List(cursorPrefix(string(s.acct)))
	if err != nil {
		s.log.Error("could not read the catch-up cursors; messages missed while xgate was down may not come", "err", err)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, v := range kv {
		ch := strings.TrimPrefix(k, cursorPrefix(string(s.acct)))
		if isSnowflake(ch) && isSnowflake(v) {
			s.cursors[ch] = v
		}
	}
}
