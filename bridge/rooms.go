package bridge

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/xgate-im/xgate/store"
	"github.com/xgate-im/xgate/xmpp"
	"github.com/xgate-im/xgate/xmpp/jid"
)

// Rooms: the remote group chats of the users' accounts (Slack channels,
// Discord guild channels) as XEP-0045 rooms on the component's domain.
//
// Room JIDs. A chat gets its room JID the first time the gateway sees it
// (in a room list, a join, a message) and keeps it for good, even when the
// chat is renamed: the localpart is "#" followed by the chat's name as the
// network gave it then, lower-cased and XEP-0106 escaped ("#general",
// "#design\20team"); a second chat with the same name gets "~2", then
// "~3". A chat without a usable name is named by its ID. One room per
// (gateway instance, chat): every user whose accounts are in the chat
// sees the same room JID, each through their own account. Contact JIDs
// never start with "#", so the two never meet.
//
// State. Each user's view of a room (which of their accounts is in the
// chat, the occupants it knows, which of their resources joined, under
// which nick) is kept in memory by rooms, guarded by the view's mutexes.
// Occupancy is deliberately not stored: after a restart the gateway is in
// no room for anyone, so a room the user left stays left, and a room they
// were in is entered again only when their client joins again, as clients
// do when their XEP-0410 self-ping is refused. Until then the room's new
// messages are not sent; the join's history brings them.

// roomPrefix starts every room localpart.
const roomPrefix = "#"

// isRoomLocal reports whether a localpart names a room rather than a
// contact.
func isRoomLocal(local string) bool { return strings.HasPrefix(local, roomPrefix) }

// roomLocalpart proposes the localpart of a chat from its name (or its ID
// when the name is unusable), before a clash suffix.
func roomLocalpart(name string, id ChatID, domain string) string {
	for _, cand := range []string{name, string(id)} {
		cand = strings.TrimLeft(strings.ToLower(strings.TrimSpace(cand)), "#")
		if cand == "" {
			continue
		}
		local := roomPrefix + jid.Escape(cand)
		if j, err := jid.New(local, domain, ""); err == nil && j.Local() == local {
			return local
		}
	}
	sum := sha256.Sum256([]byte(id))
	return roomPrefix + "g-" + hex.EncodeToString(sum[:8])
}

// rooms is the room side of one gateway: the room JID mapping, the users'
// views of their rooms, and the membership of their accounts.
type rooms struct {
	name     string // the gateway instance
	domain   jid.JID
	info     Info
	db       *store.DB
	accounts *accounts
	contacts *contactMap
	toNet    *toNetwork
	out      *toXMPP
	dedupe   *dedupe
	sending  *sendsInFlight
	metrics  *Metrics
	life     *lifetime
	log      *slog.Logger
	access   *Access
	// direct sends a private message to an occupant as a direct message
	// to the person (the router's path for messages to contacts).
	direct func(ctx context.Context, m *xmpp.Message, uid UserID)
	// sentFromXMPP reports whether a remote message the user wrote is one
	// they sent through the gateway (fromNetwork.sentFromXMPP).
	sentFromXMPP func(ctx context.Context, key chatKey, id MessageID) bool
	// presenceOf returns the last known presence of a remote person.
	presenceOf func(UserID) (Presence, bool)
	// slots bounds the joins running at once.
	slots chan struct{}
	// roomMap is the room mapping in memory (mapping makes it).
	mapOnce sync.Once
	roomMap *roomCache

	mu    sync.Mutex
	views map[viewKey]*roomView
	// groups caches each account's groups (GroupLister) for a while.
	groups map[store.AccountKey]groupList
}

// groupList is an account's groups as listed at a time.
type groupList struct {
	at     time.Time
	groups []GroupInfo
}

// groupsTTL is how long a listing of an account's groups is trusted.
const groupsTTL = time.Minute

// viewKey names one user's view of one room.
type viewKey struct {
	user  jid.JID // bare
	local string
}

// roomView is one user's view of one room. order is held by a join for
// its whole length (network calls included) and by each delivery of a
// remote event, so that the room's messages reach a resource after its
// join; mu guards the fields and is held only briefly.
type roomView struct {
	order sync.Mutex

	mu   sync.Mutex
	acc  *account
	chat ChatRef
	room jid.JID // bare room JID
	name string
	// subject is the room's topic.
	subject string
	// members are the remote occupants by user, each with its unique
	// nick in the room; nicks maps back.
	members map[UserID]GroupMember
	nicks   map[string]UserID
	// self is the user's own remote ID in the group.
	self UserID
	// nick is the user's nick; joined their resources in the room.
	nick   string
	joined map[jid.JID]bool
	// leaves counts each resource's leaves, so that a join that a leave
	// overtook while it talked to the network does not complete.
	leaves map[jid.JID]int
}

// occupantJID returns the occupant JID of a nick.
func (v *roomView) occupantJID(nick string) jid.JID {
	j, err := v.room.WithResource(nick)
	if err != nil {
		return v.room
	}
	return j
}

// nickOf returns the nick of a remote person in the room: the user's own
// nick for themselves, an occupant's nick, else fallback, else their ID.
func (v *roomView) nickOf(u UserID, fallback string) string {
	if u != "" && u == v.self && v.nick != "" {
		return v.nick
	}
	if m, ok := v.members[u]; ok {
		return m.Nick
	}
	if fallback != "" {
		return fallback
	}
	return string(u)
}

// resources returns the joined resources, sorted.
func (v *roomView) resources() []jid.JID {
	out := make([]jid.JID, 0, len(v.joined))
	for j := range v.joined {
		out = append(out, j)
	}
	slices.SortFunc(out, func(a, b jid.JID) int { return strings.Compare(a.String(), b.String()) })
	return out
}

// setMembers replaces the remote occupants (the user's own member left
// out), giving each a unique nick in the order of the list.
func (v *roomView) setMembers(ms []GroupMember) {
	v.members, v.nicks = map[UserID]GroupMember{}, map[string]UserID{}
	for _, m := range ms {
		v.addMember(m)
	}
}

// addMember adds, renames or changes the role of a remote occupant and
// returns it with its unique nick: its display name, or with " (2)", " (3)"
// when taken by another occupant or by the user. ok is false for the
// user's own member.
func (v *roomView) addMember(m GroupMember) (GroupMember, bool) {
	if m.User == "" || m.User == v.self || m.Self {
		return GroupMember{}, false
	}
	if old, ok := v.members[m.User]; ok {
		delete(v.nicks, old.Nick)
	}
	m.Nick = uniqueNick(m.Nick, string(m.User), func(n string) bool {
		_, taken := v.nicks[n]
		return taken || (v.nick != "" && n == v.nick)
	})
	v.members[m.User] = m
	v.nicks[m.Nick] = m.User
	return m, true
}

// removeMember removes a remote occupant and returns it.
func (v *roomView) removeMember(u UserID) (GroupMember, bool) {
	m, ok := v.members[u]
	if ok {
		delete(v.members, u)
		delete(v.nicks, m.Nick)
	}
	return m, ok
}

// uniqueNick returns want (or fallback when want is unusable as a
// resource) or, when taken, the first of want " (2)", " (3)"… that is
// free.
func uniqueNick(want, fallback string, taken func(string) bool) string {
	want = strings.TrimSpace(want)
	if _, err := jid.New("x", "x", want); err != nil || want == "" {
		want = fallback
	}
	nick := want
	for n := 2; taken(nick) && n < 1000; n++ {
		nick = want + " (" + strconv.Itoa(n) + ")"
	}
	return nick
}

// jidName is the name a group's room JID is made from: its Handle, else
// its Name.
func (g GroupInfo) jidName() string {
	if g.Handle != "" {
		return g.Handle
	}
	return g.Name
}

// roomFor returns the room JID of a chat, making the mapping on first
// sight; name is the chat's name if the caller knows it. A chat mapped
// without its parent gets it recorded when it comes (chatOf returns it).
func (r *rooms) roomFor(chat ChatRef, name string) (jid.JID, error) {
	if chat.ID == "" {
		return jid.JID{}, fmt.Errorf("bridge: a group chat without an ID: %w", ErrInvalidInput)
	}
	rooms := r.mapping()
	rm, err := rooms.byChatID(string(chat.ID))
	if err == nil {
		if rm.Parent == "" && chat.Parent != "" {
			rm.Parent = string(chat.Parent)
			if err := rooms.put(rm); err != nil {
				return jid.JID{}, fmt.Errorf("bridge: room of %s: %w", chat.ID, err)
			}
		}
		return jid.New(rm.Local, r.domain.Domain(), "")
	}
	if !errors.Is(err, store.ErrNotFound) {
		return jid.JID{}, fmt.Errorf("bridge: room of %s: %w", chat.ID, err)
	}
	base := roomLocalpart(name, chat.ID, r.domain.Domain())
	for n := 1; n < 100; n++ {
		local := base
		if n > 1 {
			local = base + "~" + strconv.Itoa(n)
		}
		err := rooms.put(store.Room{Chat: string(chat.ID), Local: local, Parent: string(chat.Parent), Name: name})
		switch {
		case err == nil:
			return jid.New(local, r.domain.Domain(), "")
		case errors.Is(err, store.ErrConflict):
			if rm, err := rooms.byChatID(string(chat.ID)); err == nil {
				return jid.New(rm.Local, r.domain.Domain(), "") // mapped concurrently
			}
		default:
			return jid.JID{}, fmt.Errorf("bridge: store room of %s: %w", chat.ID, err)
		}
	}
	return jid.JID{}, fmt.Errorf("bridge: no free room JID for %s", chat.ID)
}

// chatOf returns the chat of a room localpart, or an error wrapping
// ErrNotFound.
func (r *rooms) chatOf(local string) (ChatRef, store.Room, error) {
	rm, err := r.mapping().byLocalpart(local)
	if errors.Is(err, store.ErrNotFound) {
		return ChatRef{}, rm, fmt.Errorf("bridge: no room %q: %w", local, ErrNotFound)
	}
	if err != nil {
		return ChatRef{}, rm, err
	}
	return ChatRef{Kind: Group, ID: ChatID(rm.Chat), Parent: ChatID(rm.Parent)}, rm, nil
}

// accountGroups returns the groups an account is in, from the cache when
// fresh.
func (r *rooms) accountGroups(ctx context.Context, acc *account, fresh bool) ([]GroupInfo, error) {
	r.mu.Lock()
	gl, ok := r.groups[acc.key]
	r.mu.Unlock()
	if ok && !fresh && time.Since(gl.at) < groupsTTL {
		return gl.groups, nil
	}
	sess, state, _ := acc.snapshot()
	if sess == nil || state != LoggedIn {
		if ok {
			return gl.groups, nil
		}
		return nil, fmt.Errorf("bridge: account %s is not logged in: %w", acc.key.Remote, ErrTemporary)
	}
	gl2, can := sess.(GroupLister)
	if !can {
		return nil, fmt.Errorf("bridge: listing groups: %w", ErrUnsupported)
	}
	gs, err := gl2.Groups(ctx)
	if err != nil {
		return nil, fmt.Errorf("bridge: listing groups: %w", err)
	}
	r.mu.Lock()
	r.groups[acc.key] = groupList{at: time.Now(), groups: gs}
	r.mu.Unlock()
	return gs, nil
}

// noteTopic records a group's new topic in the cached group lists, so
// that a join soon after shows it rather than the listed one.
func (r *rooms) noteTopic(chat ChatID, topic string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, gl := range r.groups {
		for i := range gl.groups {
			if gl.groups[i].ID == chat {
				gl.groups[i].Topic = topic
			}
		}
	}
}

// groupAccount returns the first account of user (by account ID) that is
// in the group chat, with what it knows of the group.
func (r *rooms) groupAccount(ctx context.Context, user jid.JID, chat ChatID) (*account, GroupInfo, error) {
	accs := r.accounts.userAccounts(user)
	if len(accs) == 0 {
		return nil, GroupInfo{}, ErrNotRegistered
	}
	for _, fresh := range []bool{false, true} {
		for _, acc := range accs {
			gs, err := r.accountGroups(ctx, acc, fresh)
			if err != nil {
				continue
			}
			for _, g := range gs {
				if g.ID == chat {
					return acc, g, nil
				}
			}
		}
	}
	return nil, GroupInfo{}, fmt.Errorf("bridge: %w", errNotInGroup)
}

// view returns the user's view of a room, creating an empty one.
func (r *rooms) view(user jid.JID, room jid.JID) *roomView {
	k := viewKey{user: user.Bare(), local: room.Local()}
	r.mu.Lock()
	defer r.mu.Unlock()
	v := r.views[k]
	if v == nil {
		v = &roomView{room: room.Bare(), joined: map[jid.JID]bool{}, leaves: map[jid.JID]int{}, members: map[UserID]GroupMember{}, nicks: map[string]UserID{}}
		r.views[k] = v
	}
	return v
}

// existingView returns the user's view of a room, if they have one.
func (r *rooms) existingView(user jid.JID, local string) *roomView {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.views[viewKey{user: user.Bare(), local: local}]
}
