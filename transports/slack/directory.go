package slack

import (
	"strings"
	"sync"
	"time"

	"github.com/slack-go/slack"
)

// member is what the transport remembers of a workspace member.
type member struct {
	id, team    string
	handle      string // "alice"
	display     string // the name shown: display name, else real name, else handle
	realName    string
	email       string
	avatar      string // profile image URL, 192 px when there is one
	bot         bool
	deleted     bool
	statusText  string
	statusEmoji string
}

// newMember converts a slack-go user.
func newMember(u *slack.User) *member {
	m := &member{
		id: u.ID, team: u.TeamID, handle: u.Name, realName: u.RealName,
		email: u.Profile.Email, bot: u.IsBot || u.ID == "USLACKBOT", deleted: u.Deleted,
		statusText: u.Profile.StatusText, statusEmoji: u.Profile.StatusEmoji,
	}
	if m.realName == "" {
		m.realName = u.Profile.RealName
	}
	m.display = firstNonEmpty(u.Profile.DisplayName, m.realName, u.Name, u.ID)
	m.avatar = firstNonEmpty(u.Profile.Image192, u.Profile.Image512, u.Profile.Image72, u.Profile.Image48)
	return m
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if strings.TrimSpace(v) != "" {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// status is the member's Slack status as XMPP status text: its emoji as
// Unicode, then its text.
func (m *member) status() string {
	emoji := ""
	if name := strings.Trim(m.statusEmoji, ":"); name != "" {
		if u, ok := EmojiToUnicode(name); ok {
			emoji = u
		} else {
			emoji = m.statusEmoji
		}
	}
	switch {
	case emoji == "":
		return m.statusText
	case m.statusText == "":
		return emoji
	}
	return emoji + " " + m.statusText
}

// directory is what the transport knows of one workspace, shared by the
// sessions of that workspace: members and channel names for the format
// converters (it implements Directory), and the app's bot there. Safe for
// concurrent use; lookups never do I/O.
type directory struct {
	team string

	mu       sync.RWMutex
	name     string // workspace name
	domain   string // "acme" of acme.slack.com
	members  map[string]*member
	byName   map[string]string // display name or handle → ID; "" when ambiguous
	channels map[string]string // channel ID → name
	listedAt time.Time         // when the full member list was last loaded
	// polled is the last users.getPresence answer for each member, shared
	// by the sessions of the workspace (presence.go): a member is the same
	// "active" or "away" whoever asks.
	polled map[string]polledPresence
}

// polledPresence is one users.getPresence answer and when it came.
type polledPresence struct {
	active bool
	at     time.Time
}

func newDirectory(team string) *directory {
	return &directory{team: team, members: map[string]*member{}, byName: map[string]string{}, channels: map[string]string{},
		polled: map[string]polledPresence{}}
}

// polledSince returns whether a member was active when a session of the
// workspace last polled them, if that was after since.
func (d *directory) polledSince(id string, since time.Time) (active, ok bool) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	p, ok := d.polled[id]
	if !ok || !p.at.After(since) {
		return false, false
	}
	return p.active, true
}

// notePolled records a member's presence as a session just polled it.
func (d *directory) notePolled(id string, active bool, at time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.polled[id] = polledPresence{active: active, at: at}
}

var _ Directory = (*directory)(nil)

// put records or replaces a member and returns the previous record (nil
// if new).
func (d *directory) put(m *member) *member {
	d.mu.Lock()
	defer d.mu.Unlock()
	old := d.members[m.id]
	d.members[m.id] = m
	if old != nil {
		for _, n := range []string{old.display, old.handle} {
			if d.byName[n] == old.id {
				delete(d.byName, n)
			}
		}
	}
	for _, n := range []string{m.display, m.handle} {
		if n == "" {
			continue
		}
		if other, ok := d.byName[n]; ok && other != m.id {
			d.byName[n] = "" // two members answer to it: mention neither
			continue
		}
		d.byName[n] = m.id
	}
	return old
}

// member returns a copy of a known member.
func (d *directory) member(id string) (member, bool) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	m, ok := d.members[id]
	if !ok {
		return member{}, false
	}
	return *m, true
}

// all returns copies of every known member.
func (d *directory) all() []member {
	d.mu.RLock()
	defer d.mu.RUnlock()
	out := make([]member, 0, len(d.members))
	for _, m := range d.members {
		out = append(out, *m)
	}
	return out
}

// find looks a known member up by handle, display name or real name,
// ignoring case. An ambiguous name finds nobody.
func (d *directory) find(name string) (member, bool) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	if id := d.byName[name]; id != "" {
		return *d.members[id], true
	}
	var found *member
	for _, m := range d.members {
		if strings.EqualFold(m.handle, name) || strings.EqualFold(m.display, name) || strings.EqualFold(m.realName, name) {
			if found != nil && found.id != m.id {
				return member{}, false // ambiguous
			}
			found = m
		}
	}
	if found == nil {
		return member{}, false
	}
	return *found, true
}

func (d *directory) setTeam(name, domain string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if name != "" {
		d.name = name
	}
	if domain != "" {
		d.domain = domain
	}
}

func (d *directory) teamInfo() (name, domain string) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return d.name, d.domain
}

func (d *directory) putChannel(id, name string) {
	if name == "" {
		return
	}
	d.mu.Lock()
	d.channels[id] = name
	d.mu.Unlock()
}

// UserName implements Directory.
func (d *directory) UserName(id string) (string, bool) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	if m, ok := d.members[id]; ok {
		return m.display, true
	}
	return "", false
}

// ChannelName implements Directory.
func (d *directory) ChannelName(id string) (string, bool) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	n, ok := d.channels[id]
	return n, ok
}

// UserByName implements Directory.
func (d *directory) UserByName(name string) (string, bool) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	id := d.byName[name]
	return id, id != ""
}
