package slack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/xgate-im/xgate/bridge"
)

// inbound is one Events API event as the router hands it to the sessions
// concerned (see router.go for the envelope around it).
type inbound struct {
	team         string
	eventID      string
	eventContext string
	typ          string // inner event type: "message", "reaction_added", ...
	subtype      string
	channel      string // the conversation it happened in, "" for workspace-wide events
	raw          json.RawMessage
	// msg and reaction are the event decoded with the frame, for the
	// events of those types that decoded (see envelope.go); shared by the
	// sessions that handle it, which only read them.
	msg      *msgEvent
	reaction *reactionEvent
}

// Shapes of the events this file reads, as Slack documents them.

type wireFile struct {
	Name       string `json:"name"`
	Title      string `json:"title"`
	Mimetype   string `json:"mimetype"`
	Size       int64  `json:"size"`
	URLPrivate string `json:"url_private"`
	Permalink  string `json:"permalink"`
}

type wireMsg struct {
	Type     string     `json:"type"`
	Subtype  string     `json:"subtype"`
	User     string     `json:"user"`
	BotID    string     `json:"bot_id"`
	Text     string     `json:"text"`
	TS       string     `json:"ts"`
	ThreadTS string     `json:"thread_ts"`
	Files    []wireFile `json:"files"`
	Edited   *struct {
		User string `json:"user"`
		TS   string `json:"ts"`
	} `json:"edited"`
	Metadata *wireMetadata `json:"metadata"`
}

type msgEvent struct {
	wireMsg
	Channel         string   `json:"channel"`
	ChannelType     string   `json:"channel_type"`
	DeletedTS       string   `json:"deleted_ts"`
	Topic           *string  `json:"topic"` // channel_topic, group_topic
	Message         *wireMsg `json:"message"`
	PreviousMessage *wireMsg `json:"previous_message"`
}

type reactionEvent struct {
	User     string `json:"user"`
	Reaction string `json:"reaction"`
	Item     struct {
		Type    string `json:"type"`
		Channel string `json:"channel"`
		TS      string `json:"ts"`
	} `json:"item"`
}

type userEvent struct {
	User slack.User `json:"user"`
}

type tokensRevokedEvent struct {
	Tokens struct {
		OAuth []string `json:"oauth"`
		Bot   []string `json:"bot"`
	} `json:"tokens"`
}

type imCreatedEvent struct {
	User    string `json:"user"`
	Channel struct {
		ID string `json:"id"`
	} `json:"channel"`
}

// handle turns one event into bridge events for this session's account.
// An error means the event was not (completely) delivered and should come
// again; events the account has no use for return nil.
func (s *Session) handle(ctx context.Context, in *inbound) error {
	switch in.typ {
	case "message":
		ev := in.msg
		if ev == nil {
			ev = new(msgEvent)
			if err := json.Unmarshal(in.raw, ev); err != nil {
				return s.unknown(ctx, in, "malformed message event")
			}
		}
		return s.onMessage(ctx, in, ev)
	case "reaction_added", "reaction_removed":
		ev := in.reaction
		if ev == nil {
			ev = new(reactionEvent)
			if err := json.Unmarshal(in.raw, ev); err != nil {
				return s.unknown(ctx, in, "reaction to something other than a message")
			}
		}
		if ev.Item.Type != "message" {
			return s.unknown(ctx, in, "reaction to something other than a message")
		}
		return s.onReaction(ctx, ev, in.typ == "reaction_added")
	case "user_change", "team_join":
		var ev userEvent
		if err := json.Unmarshal(in.raw, &ev); err != nil || ev.User.ID == "" {
			return s.unknown(ctx, in, "malformed user event")
		}
		return s.onUser(ctx, &ev.User, in.typ == "team_join")
	case "member_joined_channel", "member_left_channel":
		var ev memberEvent
		if err := json.Unmarshal(in.raw, &ev); err != nil || ev.User == "" || ev.Channel == "" {
			return s.unknown(ctx, in, "malformed membership event")
		}
		return s.onMembership(ctx, &ev, in.typ == "member_left_channel")
	case "im_created":
		var ev imCreatedEvent
		if err := json.Unmarshal(in.raw, &ev); err != nil || ev.User == "" {
			return s.unknown(ctx, in, "malformed im_created event")
		}
		if ev.User == s.user {
			return nil // the other side of it: the peer is found when needed
		}
		s.noteIM(ev.Channel.ID, ev.User)
		return s.offer(ctx, ev.User)
	case "tokens_revoked":
		var ev tokensRevokedEvent
		if err := json.Unmarshal(in.raw, &ev); err == nil {
			for _, u := range ev.Tokens.OAuth {
				if u == s.user {
					s.logout(ctx, "the token was revoked in Slack (tokens_revoked)")
				}
			}
		}
		return nil
	case "app_uninstalled":
		s.logout(ctx, "the gateway's Slack app was removed from the workspace (app_uninstalled)")
		return nil
	}
	return s.unknown(ctx, in, "")
}

// unknown reports an event the bridge has no counterpart for.
func (s *Session) unknown(ctx context.Context, in *inbound, why string) error {
	kind := in.typ
	if in.subtype != "" {
		kind += "/" + in.subtype
	}
	detail := "event " + in.eventID
	if in.channel != "" {
		detail += " in " + in.channel
	}
	if why != "" {
		detail += ": " + why
	}
	return s.emit(ctx, bridge.UnknownEvent{Kind: "slack " + kind, Detail: detail})
}

// isIM reports whether a conversation is a direct message.
func isIM(channel, channelType string) bool {
	if channelType != "" {
		return channelType == "im"
	}
	return strings.HasPrefix(channel, "D")
}

// chat returns the bridge chat of a conversation. In a direct message the
// peer is the author unless the author is the account itself.
func (s *Session) chat(ctx context.Context, channel, channelType, author string) (bridge.ChatRef, string, error) {
	if !isIM(channel, channelType) {
		return bridge.ChatRef{Kind: bridge.Group, ID: bridge.ChatID(channel)}, "", nil
	}
	peer := author
	if author == "" || author == s.user {
		p, err := s.imPeerOf(ctx, channel)
		if err != nil {
			return bridge.ChatRef{}, "", err
		}
		peer = p
	} else {
		s.noteIM(channel, author)
	}
	return bridge.ChatRef{Kind: bridge.Direct, ID: bridge.ChatID(channel), Peer: s.userID(peer)}, peer, nil
}

// onMessage handles message events: new messages, edits and deletions.
func (s *Session) onMessage(ctx context.Context, in *inbound, ev *msgEvent) error {
	switch ev.Subtype {
	case "", "thread_broadcast", "me_message", "file_share", "bot_message":
		return s.onNewMessage(ctx, ev.Channel, ev.ChannelType, &ev.wireMsg)
	case "message_changed":
		if ev.Message == nil {
			return s.unknown(ctx, in, "message_changed without message")
		}
		if ev.PreviousMessage != nil && ev.PreviousMessage.Text == ev.Message.Text {
			return nil // a preview, a reply count: not an edit of the text
		}
		return s.onEdit(ctx, ev.Channel, ev.ChannelType, ev.Message)
	case "message_deleted":
		if ev.DeletedTS == "" {
			return s.unknown(ctx, in, "message_deleted without deleted_ts")
		}
		prev := ev.PreviousMessage
		if prev == nil {
			prev = &wireMsg{}
		}
		return s.onDelete(ctx, ev.Channel, ev.ChannelType, ev.DeletedTS, prev)
	case "message_replied":
		return nil // the parent's reply count changed; the reply has its own event
	case "channel_topic", "group_topic":
		return s.onTopic(ctx, ev)
	}
	return s.unknown(ctx, in, "")
}

func (s *Session) onNewMessage(ctx context.Context, channel, channelType string, m *wireMsg) error {
	if s.t.isOurBot(s.team, m.User, m.BotID) {
		return nil // the app's own posts
	}
	if m.User == s.user && s.takeEcho(echoKey{kind: "message", channel: channel, ts: m.TS}) {
		return nil // sent from XMPP through this session
	}
	ev, peer, err := s.messageFromNetwork(ctx, channel, channelType, m)
	if err != nil {
		return err
	}
	if ev.Chat.Kind == bridge.Direct {
		if err := s.offer(ctx, peer); err != nil {
			return err
		}
	}
	return s.emit(ctx, ev)
}

// messageFromNetwork converts a new Slack message, live or from history,
// to a bridge message; peer is the other member of a direct message.
func (s *Session) messageFromNetwork(ctx context.Context, channel, channelType string, m *wireMsg) (ev bridge.MessageEvent, peer string, err error) {
	chat, peer, err := s.chat(ctx, channel, channelType, m.User)
	if err != nil {
		return ev, "", err
	}
	text, mentions := s.incomingText(ctx, chat, m.Text)
	if m.Subtype == "me_message" {
		text = "/me " + text
		for i := range mentions {
			mentions[i].Begin += 4
			mentions[i].End += 4
		}
	}
	ev = bridge.MessageEvent{
		Chat: chat, Sender: s.sender(m.User, peer), FromSelf: m.User == s.user,
		ID: bridge.MessageID(m.TS), Time: tsTime(m.TS), Text: text, Mentions: mentions,
		Origin: m.Metadata.origin(),
	}
	if s.community != "" {
		if err := s.senderOf(ctx, &ev, m.User); err != nil {
			return ev, "", err
		}
	}
	if m.ThreadTS != "" && m.ThreadTS != m.TS {
		ev.Thread = bridge.MessageID(m.ThreadTS)
	}
	for _, f := range m.Files {
		ev.Attachments = append(ev.Attachments, bridge.Attachment{
			URL: firstNonEmpty(f.Permalink, f.URLPrivate), Name: firstNonEmpty(f.Name, f.Title), MIME: f.Mimetype, Size: f.Size,
			FetchURL: f.URLPrivate, // re-hosted from there with the token (files.go)
		})
	}
	return ev, peer, nil
}

func (s *Session) onEdit(ctx context.Context, channel, channelType string, m *wireMsg) error {
	if s.t.isOurBot(s.team, m.User, m.BotID) {
		return nil
	}
	fromSelf := m.User == s.user
	if fromSelf && s.takeEcho(echoKey{kind: "edit", channel: channel, ts: m.TS}) {
		return nil
	}
	chat, peer, err := s.chat(ctx, channel, channelType, m.User)
	if err != nil {
		return err
	}
	at := time.Now()
	if m.Edited != nil && m.Edited.TS != "" {
		at = tsTime(m.Edited.TS)
	}
	text, mentions := s.incomingText(ctx, chat, m.Text)
	return s.emit(ctx, bridge.EditEvent{
		Chat: chat, Sender: s.sender(m.User, peer), FromSelf: fromSelf,
		ID: bridge.MessageID(m.TS), Text: text, Mentions: mentions, Time: at,
	})
}

func (s *Session) onDelete(ctx context.Context, channel, channelType, ts string, prev *wireMsg) error {
	if s.t.isOurBot(s.team, prev.User, prev.BotID) {
		return nil
	}
	fromSelf := prev.User == s.user
	if fromSelf && s.takeEcho(echoKey{kind: "delete", channel: channel, ts: ts}) {
		return nil
	}
	chat, peer, err := s.chat(ctx, channel, channelType, prev.User)
	if err != nil {
		return err
	}
	return s.emit(ctx, bridge.RetractionEvent{Chat: chat, Sender: s.sender(prev.User, peer), FromSelf: fromSelf, ID: bridge.MessageID(ts)})
}

// sender is the bridge ID of a message's author: the peer when the author
// is a bot without a member ID.
func (s *Session) sender(author, peer string) bridge.UserID {
	if author == "" {
		author = peer
	}
	if author == "" {
		return ""
	}
	return s.userID(author)
}

// onReaction passes on the reactor's whole current set of reactions on the
// message, as XEP-0444 wants.
func (s *Session) onReaction(ctx context.Context, ev *reactionEvent, added bool) error {
	kind := "react-"
	if added {
		kind = "react+"
	}
	fromSelf := ev.User == s.user
	if fromSelf && s.takeEcho(echoKey{kind: kind, channel: ev.Item.Channel, ts: ev.Item.TS, name: ev.Reaction}) {
		return nil
	}
	chat, _, err := s.chat(ctx, ev.Item.Channel, "", ev.User)
	if err != nil {
		return err
	}
	var names []string
	msg, err := s.message(ctx, ev.Item.Channel, ev.Item.TS)
	switch err := classify("conversations.history", err); {
	case err == nil:
		names = reactionsOf(msg, ev.User)
	case errors.Is(err, bridge.ErrNotFound):
		if added { // the message is gone already: report what the event says
			names = []string{ev.Reaction}
		}
	default:
		s.noteAuth(ctx, err)
		return err
	}
	emojis := make([]string, 0, len(names))
	for _, n := range names {
		emojis = append(emojis, ReactionUnicode(n))
	}
	rev := bridge.ReactionEvent{Chat: chat, Sender: s.userID(ev.User), FromSelf: fromSelf, ID: bridge.MessageID(ev.Item.TS), Emojis: emojis}
	if s.community != "" && !fromSelf {
		var named bridge.MessageEvent
		if err := s.senderOf(ctx, &named, ev.User); err != nil {
			return err
		}
		rev.SenderName = named.SenderName
	}
	return s.emit(ctx, rev)
}

// offer makes a member a contact that matters the first time the account
// talks with them, and tells the bridge so that they join the roster.
func (s *Session) offer(ctx context.Context, peer string) error {
	if peer == "" || peer == s.user || s.isWatched(peer) {
		return nil
	}
	m, err := s.member(ctx, peer)
	if err != nil {
		if s.noteAuth(ctx, err) || errors.Is(err, bridge.ErrTemporary) {
			return err
		}
		s.watch(peer) // unknown to users.info: nothing to show in the roster
		return nil
	}
	s.watch(peer)
	return s.emitContact(ctx, m)
}

// emitContact sends a contact's roster data when it changed.
func (s *Session) emitContact(ctx context.Context, m member) error {
	c := s.contact(m)
	s.mu.Lock()
	prev, known := s.contacts.get(m.id)
	s.mu.Unlock()
	if known && prev == digestOf(c) {
		return nil
	}
	if err := s.emit(ctx, bridge.ContactEvent{Contact: c}); err != nil {
		return err
	}
	s.mu.Lock()
	s.contacts.set(m.id, digestOf(c))
	s.mu.Unlock()
	return nil
}

// onUser handles user_change and team_join: names, avatars, status and
// deactivation of contacts.
func (s *Session) onUser(ctx context.Context, u *slack.User, joined bool) error {
	m := newMember(u)
	if m.team == "" {
		m.team = s.team
	}
	s.dir.put(m)
	if m.id == s.user || (m.team != s.team) {
		return nil
	}
	if !s.isWatched(m.id) && s.t.set.roster != RosterAll {
		return nil
	}
	if err := s.emitContact(ctx, *m); err != nil {
		return err
	}
	if joined {
		return nil
	}
	return s.statusChanged(ctx, *m)
}

// incomingText converts a Slack message text to XEP-0393 styling, first
// looking up (for direct messages) the members and channels it mentions
// that the directory does not know yet. It also returns where the text
// mentions members of the workspace (XEP-0372 offsets).
func (s *Session) incomingText(ctx context.Context, chat bridge.ChatRef, text string) (string, []bridge.Mention) {
	if chat.Kind == bridge.Direct {
		s.resolveMentions(ctx, text)
	}
	out, ms := MrkdwnToStyled(text, s.dir)
	var mentions []bridge.Mention
	for _, m := range ms {
		if isMemberID(m.UserID) {
			mentions = append(mentions, bridge.Mention{User: MakeUserID(s.team, m.UserID), Begin: m.Begin, End: m.End})
		}
	}
	return out, mentions
}

// isMemberID reports whether id looks like a Slack member ID ("U…" or
// "W…"), as opposed to @here and the like.
func isMemberID(id string) bool {
	if len(id) < 2 || (id[0] != 'U' && id[0] != 'W') {
		return false
	}
	for _, r := range id[1:] {
		if (r < 'A' || r > 'Z') && (r < '0' || r > '9') {
			return false
		}
	}
	return true
}

// maxLookups bounds the Web API calls made for the mentions of one message.
const maxLookups = 10

// resolveMentions looks up unknown "<@U…>" members and unlabeled "<#C…>"
// channels of a text. Failures only leave the raw IDs in the text.
func (s *Session) resolveMentions(ctx context.Context, text string) {
	lookups := 0
	for rest := text; lookups < maxLookups; {
		i := strings.IndexByte(rest, '<')
		if i < 0 {
			return
		}
		rest = rest[i+1:]
		end := strings.IndexAny(rest, "|>")
		if end < 2 {
			continue
		}
		id := rest[1:end]
		switch {
		case rest[0] == '@' && validID(id, userKinds):
			if _, ok := s.dir.member(id); !ok {
				lookups++
				_, _ = s.member(ctx, id)
			}
		case rest[0] == '#' && rest[end] == '>' && validID(id, "CGD"):
			if _, ok := s.dir.ChannelName(id); !ok {
				lookups++
				if ch, err := s.api.GetConversationInfoContext(ctx, &slack.GetConversationInfoInput{ChannelID: id}); err == nil {
					s.dir.putChannel(id, ch.Name)
				}
			}
		}
	}
}

// tsTime converts a Slack timestamp ("1700000000.000100") to a time; zero
// if it is not one.
func tsTime(ts string) time.Time {
	sec, frac, _ := strings.Cut(ts, ".")
	s, err := strconv.ParseInt(sec, 10, 64)
	if err != nil || s < 0 {
		return time.Time{}
	}
	var us int64
	if frac != "" {
		frac = (frac + "000000")[:6]
		if us, err = strconv.ParseInt(frac, 10, 64); err != nil {
			return time.Time{}
		}
	}
	return time.Unix(s, us*1000)
}

// describe names an event for logs.
// String describes the event for logs (it is the Fanout's Describe).
func (in *inbound) String() string { return in.describe() }

func (in *inbound) describe() string {
	return fmt.Sprintf("%s %s (team %s, channel %q)", in.typ, in.eventID, in.team, in.channel)
}

// contactDigest is what emitContact compares to tell a changed contact:
// the fields of bridge.Contact it compared, without keeping the contact.
type contactDigest struct {
	name, avatar     string
	deactivated, bot bool
}

func digestOf(c bridge.Contact) contactDigest {
	return contactDigest{name: c.Name, avatar: c.AvatarURL, deactivated: c.Deactivated, bot: c.Bot}
}
