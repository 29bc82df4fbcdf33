package slackfake

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
)

// The JSON shapes below are written from Slack's documented objects, not
// from any client library, so that the client is checked against Slack's
// shapes rather than against itself.

type wireUser struct {
	ID                string      `json:"id"`
	TeamID            string      `json:"team_id"`
	Name              string      `json:"name"`
	Deleted           bool        `json:"deleted"`
	Color             string      `json:"color,omitempty"`
	RealName          string      `json:"real_name,omitempty"`
	TZ                string      `json:"tz,omitempty"`
	TZLabel           string      `json:"tz_label,omitempty"`
	TZOffset          int         `json:"tz_offset"`
	Profile           wireProfile `json:"profile"`
	IsAdmin           bool        `json:"is_admin"`
	IsOwner           bool        `json:"is_owner"`
	IsPrimaryOwner    bool        `json:"is_primary_owner"`
	IsRestricted      bool        `json:"is_restricted"`
	IsUltraRestricted bool        `json:"is_ultra_restricted"`
	IsBot             bool        `json:"is_bot"`
	IsAppUser         bool        `json:"is_app_user"`
	Updated           int64       `json:"updated"`
	IsEmailConfirmed  bool        `json:"is_email_confirmed"`
}

type wireProfile struct {
	Title                 string `json:"title"`
	Phone                 string `json:"phone"`
	Skype                 string `json:"skype"`
	RealName              string `json:"real_name"`
	RealNameNormalized    string `json:"real_name_normalized"`
	DisplayName           string `json:"display_name"`
	DisplayNameNormalized string `json:"display_name_normalized"`
	StatusText            string `json:"status_text"`
	StatusEmoji           string `json:"status_emoji"`
	StatusExpiration      int64  `json:"status_expiration"`
	AvatarHash            string `json:"avatar_hash"`
	Email                 string `json:"email,omitempty"`
	FirstName             string `json:"first_name"`
	LastName              string `json:"last_name"`
	Image24               string `json:"image_24"`
	Image32               string `json:"image_32"`
	Image48               string `json:"image_48"`
	Image72               string `json:"image_72"`
	Image192              string `json:"image_192"`
	Image512              string `json:"image_512"`
	Team                  string `json:"team"`
	BotID                 string `json:"bot_id,omitempty"`
	APIAppID              string `json:"api_app_id,omitempty"`
	AlwaysActive          bool   `json:"always_active,omitempty"`
}

type wireTopic struct {
	Value   string `json:"value"`
	Creator string `json:"creator"`
	LastSet int64  `json:"last_set"`
}

type wireConv struct {
	ID                 string     `json:"id"`
	Name               string     `json:"name,omitempty"`
	IsChannel          bool       `json:"is_channel"`
	IsGroup            bool       `json:"is_group"`
	IsIM               bool       `json:"is_im"`
	IsMpIM             bool       `json:"is_mpim"`
	IsPrivate          bool       `json:"is_private"`
	Created            int64      `json:"created"`
	IsArchived         bool       `json:"is_archived"`
	IsGeneral          bool       `json:"is_general"`
	Unlinked           int        `json:"unlinked"`
	NameNormalized     string     `json:"name_normalized,omitempty"`
	IsShared           bool       `json:"is_shared"`
	IsOrgShared        bool       `json:"is_org_shared"`
	IsExtShared        bool       `json:"is_ext_shared"`
	IsPendingExtShared bool       `json:"is_pending_ext_shared"`
	ContextTeamID      string     `json:"context_team_id"`
	Creator            string     `json:"creator,omitempty"`
	IsMember           *bool      `json:"is_member,omitempty"`
	IsOpen             *bool      `json:"is_open,omitempty"`
	User               string     `json:"user,omitempty"`
	IsUserDeleted      *bool      `json:"is_user_deleted,omitempty"`
	LastRead           string     `json:"last_read,omitempty"`
	Topic              *wireTopic `json:"topic,omitempty"`
	Purpose            *wireTopic `json:"purpose,omitempty"`
	NumMembers         *int       `json:"num_members,omitempty"`
}

type wireIcons struct {
	Emoji   string `json:"emoji,omitempty"`
	Image36 string `json:"image_36,omitempty"`
	Image48 string `json:"image_48,omitempty"`
	Image72 string `json:"image_72,omitempty"`
}

type wireBot struct {
	ID      string    `json:"id"`
	Deleted bool      `json:"deleted"`
	Name    string    `json:"name"`
	Updated int64     `json:"updated"`
	AppID   string    `json:"app_id"`
	UserID  string    `json:"user_id,omitempty"`
	TeamID  string    `json:"team_id,omitempty"`
	Icons   wireIcons `json:"icons"`
}

type wireEdited struct {
	User string `json:"user"`
	TS   string `json:"ts"`
}

type wireReaction struct {
	Name  string   `json:"name"`
	Users []string `json:"users"`
	Count int      `json:"count"`
}

type wireMessage struct {
	Type            string          `json:"type"`
	Subtype         string          `json:"subtype,omitempty"`
	Text            string          `json:"text"`
	User            string          `json:"user,omitempty"`
	BotID           string          `json:"bot_id,omitempty"`
	AppID           string          `json:"app_id,omitempty"`
	Username        string          `json:"username,omitempty"`
	Icons           *wireIcons      `json:"icons,omitempty"`
	BotProfile      *wireBot        `json:"bot_profile,omitempty"`
	TS              string          `json:"ts"`
	Team            string          `json:"team,omitempty"`
	ClientMsgID     string          `json:"client_msg_id,omitempty"`
	Blocks          json.RawMessage `json:"blocks,omitempty"`
	Attachments     json.RawMessage `json:"attachments,omitempty"`
	Files           []wireFile      `json:"files,omitempty"`
	Upload          bool            `json:"upload,omitempty"`
	ThreadTS        string          `json:"thread_ts,omitempty"`
	ParentUserID    string          `json:"parent_user_id,omitempty"`
	ReplyCount      int             `json:"reply_count,omitempty"`
	ReplyUsersCount int             `json:"reply_users_count,omitempty"`
	LatestReply     string          `json:"latest_reply,omitempty"`
	ReplyUsers      []string        `json:"reply_users,omitempty"`
	Root            *wireMessage    `json:"root,omitempty"`
	Edited          *wireEdited     `json:"edited,omitempty"`
	Reactions       []wireReaction  `json:"reactions,omitempty"`
	Metadata        json.RawMessage `json:"metadata,omitempty"`
}

type wireFile struct {
	ID                 string `json:"id"`
	Created            int64  `json:"created"`
	Timestamp          int64  `json:"timestamp"`
	Name               string `json:"name"`
	Title              string `json:"title"`
	Mimetype           string `json:"mimetype"`
	Filetype           string `json:"filetype"`
	PrettyType         string `json:"pretty_type"`
	User               string `json:"user"`
	UserTeam           string `json:"user_team"`
	Editable           bool   `json:"editable"`
	Size               int    `json:"size"`
	Mode               string `json:"mode"`
	IsExternal         bool   `json:"is_external"`
	ExternalType       string `json:"external_type"`
	IsPublic           bool   `json:"is_public"`
	PublicURLShared    bool   `json:"public_url_shared"`
	DisplayAsBot       bool   `json:"display_as_bot"`
	Username           string `json:"username"`
	URLPrivate         string `json:"url_private"`
	URLPrivateDownload string `json:"url_private_download"`
	Permalink          string `json:"permalink"`
	AltTxt             string `json:"alt_txt,omitempty"`
	FileAccess         string `json:"file_access"`
}

func ptr[T any](v T) *T { return &v }

// zoneLocked loads a time zone once; unknown names are UTC.
func (s *Server) zoneLocked(name string) *time.Location {
	if loc, ok := s.zones[name]; ok {
		return loc
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		loc = time.UTC
	}
	s.zones[name] = loc
	return loc
}

func (s *Server) wireUserLocked(u *user) wireUser {
	zone, offset := s.clock.now().In(s.zoneLocked(u.tz)).Zone()
	return wireUser{
		ID: u.id, TeamID: u.teamID, Name: u.name, Deleted: u.deleted, Color: colorOf(u.id),
		RealName: u.profile.RealName, TZ: u.tz, TZLabel: zone, TZOffset: offset,
		Profile: s.wireProfileLocked(u), IsAdmin: u.isAdmin, IsBot: u.isBot,
		Updated: u.updated, IsEmailConfirmed: u.profile.Email != "",
	}
}

func (s *Server) wireProfileLocked(u *user) wireProfile {
	p := u.profile
	w := wireProfile{
		Title: p.Title, Phone: p.Phone, RealName: p.RealName, RealNameNormalized: p.RealName,
		DisplayName: p.DisplayName, DisplayNameNormalized: p.DisplayName,
		StatusText: p.StatusText, StatusEmoji: p.StatusEmoji, StatusExpiration: p.StatusExpiration,
		AvatarHash: colorOf(u.id + "avatar"), Email: p.Email, FirstName: p.FirstName, LastName: p.LastName,
		Image24: s.avatarURL(u.id, 24), Image32: s.avatarURL(u.id, 32), Image48: s.avatarURL(u.id, 48),
		Image72: p.Image72, Image192: p.Image192, Image512: s.avatarURL(u.id, 512), Team: u.teamID,
	}
	if b := s.bots[u.botID]; b != nil {
		w.BotID, w.APIAppID, w.AlwaysActive = b.id, b.appID, true
	}
	return w
}

func (s *Server) wireBotLocked(b *bot) wireBot {
	u := s.users[b.userID]
	img := ""
	if u != nil {
		img = u.profile.Image72
	}
	return wireBot{ID: b.id, Name: b.name, Updated: b.updated, AppID: b.appID, UserID: b.userID, TeamID: b.teamID,
		Icons: wireIcons{Image36: img, Image48: img, Image72: img}}
}

// wireConvLocked renders a conversation as the given user sees it.
func (s *Server) wireConvLocked(c *conv, viewer string, withNumMembers bool) wireConv {
	w := wireConv{
		ID: c.id, Created: c.created, IsArchived: c.archived, ContextTeamID: c.teamID,
		LastRead: c.lastRead[viewer],
	}
	switch c.kind {
	case PublicChannel, PrivateChannel:
		w.Name, w.NameNormalized, w.Creator = c.name, c.name, c.creator
		w.IsChannel, w.IsPrivate = true, c.kind == PrivateChannel
		w.IsMember = ptr(c.isMember(viewer))
		w.Topic, w.Purpose = ptr(c.topic), &wireTopic{}
	case MPIM:
		w.Name, w.NameNormalized, w.Creator = c.name, c.name, c.creator
		w.IsGroup, w.IsMpIM, w.IsPrivate = true, true, true
		w.IsOpen = ptr(true)
		w.Topic, w.Purpose = ptr(c.topic), &wireTopic{}
	case IM:
		w.IsIM, w.IsPrivate = true, true
		w.IsOpen = ptr(true)
		w.User = c.members[0]
		for _, m := range c.members {
			if m != viewer {
				w.User = m
			}
		}
		if u := s.users[w.User]; u != nil {
			w.IsUserDeleted = ptr(u.deleted)
		}
	}
	if withNumMembers {
		w.NumMembers = ptr(len(c.members))
	}
	return w
}

// wireMessageLocked renders a stored message, with its thread summary when
// it is a thread parent.
func (s *Server) wireMessageLocked(c *conv, m *message) wireMessage {
	w := wireMessage{
		Type: "message", Subtype: m.subtype, Text: m.text, User: m.user, BotID: m.botID,
		AppID: m.appID, Username: m.username, TS: m.ts, Team: m.team, ClientMsgID: m.clientMsgID,
		Blocks: m.blocks, Attachments: m.attachments, ThreadTS: m.threadTS,
	}
	if m.iconEmoji != "" {
		w.Icons = &wireIcons{Emoji: m.iconEmoji}
	} else if m.iconURL != "" {
		w.Icons = &wireIcons{Image36: m.iconURL, Image48: m.iconURL, Image72: m.iconURL}
	}
	if b := s.bots[m.botID]; b != nil {
		w.BotProfile = ptr(s.wireBotLocked(b))
	}
	for _, id := range m.files {
		if f := s.files[id]; f != nil {
			w.Files = append(w.Files, s.wireFileLocked(f))
			w.Upload = true
		}
	}
	if m.editedTS != "" {
		w.Edited = &wireEdited{User: m.editedBy, TS: m.editedTS}
	}
	for _, r := range m.reactions {
		w.Reactions = append(w.Reactions, wireReaction{Name: r.name, Users: append([]string(nil), r.users...), Count: len(r.users)})
	}
	if m.threadTS != "" && m.threadTS != m.ts {
		if p := c.byTS[m.threadTS]; p != nil {
			w.ParentUserID = p.user
			if m.subtype == "thread_broadcast" {
				root := s.wireMessageLocked(c, p)
				w.Root = &root
			}
		}
	} else if reps := c.replies(m.ts); len(reps) > 0 {
		w.ThreadTS = m.ts
		w.ReplyCount = len(reps)
		w.LatestReply = reps[len(reps)-1].ts
		for _, r := range reps {
			if r.user != "" && !slices.Contains(w.ReplyUsers, r.user) {
				w.ReplyUsers = append(w.ReplyUsers, r.user)
			}
		}
		w.ReplyUsersCount = len(w.ReplyUsers)
	}
	return w
}

func (s *Server) wireFileLocked(f *file) wireFile {
	t := s.teams[f.teamID]
	domain := ""
	if t != nil {
		domain = t.domain
	}
	priv := fmt.Sprintf("%s/files-pri/%s-%s/%s", s.base, f.teamID, f.id, f.name)
	return wireFile{
		ID: f.id, Created: f.created, Timestamp: f.created, Name: f.name, Title: f.title,
		Mimetype: f.mimetype, Filetype: f.filetype, PrettyType: strings.ToUpper(f.filetype),
		User: f.userID, UserTeam: f.teamID, Size: len(f.data), Mode: "hosted",
		URLPrivate: priv, URLPrivateDownload: priv + "?download=1",
		Permalink: fmt.Sprintf("https://%s.slack.com/files/%s/%s/%s", domain, f.userID, f.id, f.name),
		AltTxt:    f.altTxt, FileAccess: "visible",
	}
}

// permalink builds the web link of a message.
func (s *Server) permalinkLocked(c *conv, m *message) string {
	link := fmt.Sprintf("https://%s.slack.com/archives/%s/p%s", s.teams[c.teamID].domain, c.id, strings.ReplaceAll(m.ts, ".", ""))
	if m.threadTS != "" && m.threadTS != m.ts {
		link += fmt.Sprintf("?thread_ts=%s&cid=%s", m.threadTS, c.id)
	}
	return link
}
