package slack

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/mail"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/slack-go/slack"

	"github.com/xgate-im/xgate/bridge"
	"github.com/xgate-im/xgate/kit/ratelimit"
)

// Session is one logged-in account: a member of a workspace acting through
// their user token. Events reach it from the transport's Socket Mode
// connection; it turns them into bridge events (recv.go) and performs what
// the XMPP user does (send.go, presence.go).
//
// Methods are safe for concurrent use. Close stops its background work
// (presence polling) and no event is emitted after Close returns.
type Session struct {
	t    *Transport
	id   bridge.AccountID
	team string // "T…"
	user string // "U…", the account's member
	api  *slack.Client
	dir  *directory
	log  sessionLog
	// community is the channel of a bot session that bridges it to a
	// community room (community.go), "" for a person's account.
	community string
	// token is the account's token, for the files it receives (files.go).
	token string

	sinkMu sync.RWMutex // held for reading while emitting, for writing by Close
	sink   bridge.Sink
	closed bool

	wg        sync.WaitGroup
	loggedOut atomic.Bool
	polls     poller

	mu sync.Mutex
	// The per-member and per-conversation state: small, mostly a few
	// entries (smallMap); chans and echoes are made when first needed.
	ims      smallMap[string]          // peer member ID → IM channel ID
	imPeers  smallMap[string]          // IM channel ID → peer member ID
	watched  smallMap[time.Time]       // contacts that matter, when last active
	presence smallMap[bridge.Presence] // last presence emitted, by member ID
	contacts smallMap[contactDigest]   // last contact data emitted, by member ID
	chans    map[string]*channel
	posts    *ratelimit.Limiter[string] // chat.postMessage per conversation; nil until the first post
	echoes   echoes
	posting  []*postInFlight  // posts from XMPP not answered yet (echo.go)
	ownPres  *bridge.Presence // last presence set on Slack
}

var (
	_ bridge.Session         = (*Session)(nil)
	_ bridge.Editor          = (*Session)(nil)
	_ bridge.Retractor       = (*Session)(nil)
	_ bridge.Reactor         = (*Session)(nil)
	_ bridge.ReadMarker      = (*Session)(nil)
	_ bridge.PresenceSetter  = (*Session)(nil)
	_ bridge.Profiler        = (*Session)(nil)
	_ bridge.ContactResolver = (*Session)(nil)
)

// errSessionClosed is returned by emit after Close; the Fanout hands the
// event to the account's next session.
var errSessionClosed = fmt.Errorf("slack: %w", bridge.ErrSessionClosed)

func newSession(t *Transport, id bridge.AccountID, team, user string, api *slack.Client, dir *directory, sink bridge.Sink) *Session {
	return &Session{
		t: t, id: id, team: team, user: user, api: api, dir: dir, sink: sink,
		log: sessionLog{t.log, id},
	}
}

// sessionLog logs with the session's account attached to each line,
// rather than keeping a logger made with With per session (a copy of the
// handler and its preformatted attributes each).
type sessionLog struct {
	base    *slog.Logger
	account bridge.AccountID
}

// Debug, Info and Warn log at their level.
func (l sessionLog) Debug(msg string, args ...any) { l.logAt(slog.LevelDebug, msg, args) }
func (l sessionLog) Info(msg string, args ...any)  { l.logAt(slog.LevelInfo, msg, args) }
func (l sessionLog) Warn(msg string, args ...any)  { l.logAt(slog.LevelWarn, msg, args) }

func (l sessionLog) logAt(level slog.Level, msg string, args []any) {
	if !l.base.Enabled(context.Background(), level) {
		return
	}
	l.base.Log(context.Background(), level, msg, append([]any{"account", string(l.account)}, args...)...)
}

// start begins the background work.
func (s *Session) start() {
	s.startPolling()
}

// Close implements bridge.Session. It waits for an Emit in progress before
// it cancels the session's background work: that Emit may be the one that
// makes the bridge close the session (a logout), and it must complete.
func (s *Session) Close() error {
	s.sinkMu.Lock()
	s.closed = true
	s.sinkMu.Unlock()
	s.stopPolling()
	s.wg.Wait()
	s.t.removeSession(s)
	return nil
}

// emit hands an event to the bridge; it fails with errSessionClosed after
// Close.
func (s *Session) emit(ctx context.Context, ev bridge.Event) error {
	s.sinkMu.RLock()
	defer s.sinkMu.RUnlock()
	if s.closed {
		return errSessionClosed
	}
	return s.sink.Emit(ctx, ev)
}

// noteAuth logs the account out when err says the token stopped working.
// It reports whether it did.
func (s *Session) noteAuth(ctx context.Context, err error) bool {
	reason := authReason(err)
	if reason == "" {
		return false
	}
	s.logout(ctx, reason)
	return true
}

// logout tells the bridge, once, that the account is logged out.
func (s *Session) logout(ctx context.Context, reason string) {
	if !s.loggedOut.CompareAndSwap(false, true) {
		return
	}
	s.log.Info("logged out by Slack", "reason", reason)
	if err := s.emit(ctx, bridge.LoginStateEvent{State: bridge.LoggedOut, Reason: reason}); err != nil && !errors.Is(err, errSessionClosed) {
		s.log.Warn("reporting logout", "err", err)
	}
}

// userID returns the bridge ID of a member of this workspace.
func (s *Session) userID(member string) bridge.UserID { return MakeUserID(s.team, member) }

// memberOf returns the member ID of a bridge user of this workspace.
func (s *Session) memberOf(id bridge.UserID) (string, error) {
	team, user, err := ParseUserID(id)
	if err != nil {
		return "", fmt.Errorf("slack: %w: %w", err, bridge.ErrNotFound)
	}
	if team != s.team {
		return "", fmt.Errorf("slack: %s is a member of another workspace than this account's: %w", id, bridge.ErrNotFound)
	}
	return user, nil
}

// member returns a member of the workspace, from the directory or
// users.info.
func (s *Session) member(ctx context.Context, id string) (member, error) {
	if m, ok := s.dir.member(id); ok {
		return m, nil
	}
	u, err := s.api.GetUserInfoContext(ctx, id)
	if err != nil {
		return member{}, classify("users.info", err)
	}
	m := newMember(u)
	if m.team == "" {
		m.team = s.team
	}
	s.dir.put(m)
	return *m, nil
}

// loadMembers reads the whole member list (users.list), at most every ten
// minutes.
func (s *Session) loadMembers(ctx context.Context) error {
	s.dir.mu.RLock()
	fresh := time.Since(s.dir.listedAt) < 10*time.Minute
	s.dir.mu.RUnlock()
	if fresh {
		return nil
	}
	users, err := s.api.GetUsersContext(ctx)
	if err != nil {
		return classify("users.list", err)
	}
	for i := range users {
		m := newMember(&users[i])
		if m.team == "" {
			m.team = s.team
		}
		s.dir.put(m)
	}
	s.dir.mu.Lock()
	s.dir.listedAt = time.Now()
	s.dir.mu.Unlock()
	return nil
}

// contact converts a member for the roster.
func (s *Session) contact(m member) bridge.Contact {
	c := bridge.Contact{
		ID: s.userID(m.id), Name: m.display, AvatarURL: m.avatar, Bot: m.bot, Deactivated: m.deleted,
	}
	if name, _ := s.dir.teamInfo(); name != "" {
		c.Groups = []string{name}
	}
	return c
}

// noteIM records a direct message conversation with peer.
func (s *Session) noteIM(channel, peer string) {
	if channel == "" || peer == "" {
		return
	}
	s.mu.Lock()
	s.ims.set(peer, channel)
	s.imPeers.set(channel, peer)
	s.mu.Unlock()
	s.t.noteIM(s.team, channel, s.user, peer)
}

// imPeer returns the peer of a known IM conversation.
func (s *Session) imPeer(channel string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.imPeers.get(channel)
	return p, ok
}

// imPeerOf returns the peer of an IM conversation, asking Slack
// (conversations.info) when it is not known yet.
func (s *Session) imPeerOf(ctx context.Context, channel string) (string, error) {
	if p, ok := s.imPeer(channel); ok {
		return p, nil
	}
	ch, err := s.api.GetConversationInfoContext(ctx, &slack.GetConversationInfoInput{ChannelID: channel})
	if err != nil {
		return "", classify("conversations.info", err)
	}
	if !ch.IsIM || ch.User == "" {
		return "", fmt.Errorf("slack: conversation %s is not a direct message: %w", channel, bridge.ErrUnsupported)
	}
	s.noteIM(channel, ch.User)
	return ch.User, nil
}

// openIM returns the direct message conversation with peer, opening it
// (conversations.open) when needed.
func (s *Session) openIM(ctx context.Context, peer string) (string, error) {
	s.mu.Lock()
	ch, ok := s.ims.get(peer)
	s.mu.Unlock()
	if ok {
		return ch, nil
	}
	c, _, _, err := s.api.OpenConversationContext(ctx, &slack.OpenConversationParameters{Users: []string{peer}, ReturnIM: true})
	if err != nil {
		return "", classify("conversations.open", err)
	}
	s.noteIM(c.ID, peer)
	s.watch(peer)
	return c.ID, nil
}

// watch marks a member as a contact that matters: one whose presence is
// polled and whose profile changes are passed on.
func (s *Session) watch(member string) {
	if member == s.user {
		return
	}
	s.mu.Lock()
	_, known := s.watched.get(member)
	s.watched.set(member, time.Now())
	s.mu.Unlock()
	if !known {
		s.pollSoon()
	}
}

// isWatched reports whether a member is a contact that matters.
func (s *Session) isWatched(member string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.watched.get(member)
	return ok
}

// Contacts implements bridge.Session: the people of the account's direct
// messages, or, with roster = "all", every member of the workspace.
func (s *Session) Contacts(ctx context.Context) ([]bridge.Contact, error) {
	peers, err := s.listIMs(ctx)
	if err != nil {
		return nil, err
	}
	var members []member
	if s.t.set.roster == RosterAll || len(peers) > 50 {
		if err := s.loadMembers(ctx); err != nil {
			return nil, err
		}
	}
	if s.t.set.roster == RosterAll {
		members = s.dir.all()
	} else {
		for _, p := range peers {
			m, err := s.member(ctx, p)
			if errors.Is(err, bridge.ErrNotFound) {
				continue
			}
			if err != nil {
				return nil, err
			}
			members = append(members, m)
		}
	}
	s.t.knowBot(ctx, s.team)
	out := make([]bridge.Contact, 0, len(members))
	for _, m := range members {
		if m.id == s.user || (m.team != "" && m.team != s.team) || s.t.isOurBot(s.team, m.id, "") {
			// Not the user, nor the gateway's own bot user: it speaks
			// for the XMPP users and is nobody to talk to.
			continue
		}
		out = append(out, s.contact(m))
	}
	slices.SortFunc(out, func(a, b bridge.Contact) int { return strings.Compare(string(a.ID), string(b.ID)) })
	return out, nil
}

// listIMs reads the account's direct message conversations and watches
// their peers.
func (s *Session) listIMs(ctx context.Context) ([]string, error) {
	var peers []string
	params := &slack.GetConversationsParameters{Types: []string{"im"}, ExcludeArchived: true, Limit: 200}
	for {
		chans, next, err := s.api.GetConversationsContext(ctx, params)
		if err != nil {
			return nil, classify("conversations.list", err)
		}
		for _, c := range chans {
			if c.User == "" || c.User == s.user {
				continue
			}
			s.noteIM(c.ID, c.User)
			s.watch(c.User)
			peers = append(peers, c.User)
		}
		if next == "" {
			return peers, nil
		}
		params.Cursor = next
	}
}

// Profile implements bridge.Profiler: users.info, and the avatar fetched
// from its URL with the transport's HTTP client.
func (s *Session) Profile(ctx context.Context, id bridge.UserID) (bridge.Profile, error) {
	mid, err := s.memberOf(id)
	if err != nil {
		return bridge.Profile{}, err
	}
	u, err := s.api.GetUserInfoContext(ctx, mid)
	if err != nil {
		return bridge.Profile{}, classify("users.info", err)
	}
	m := newMember(u)
	s.dir.put(m)
	p := bridge.Profile{
		Name:  firstNonEmpty(u.RealName, u.Profile.RealName, m.display),
		Nick:  m.display,
		Email: u.Profile.Email,
		Phone: u.Profile.Phone,
		Title: u.Profile.Title,
	}
	if _, domain := s.dir.teamInfo(); domain != "" {
		p.URL = "https://" + domain + ".slack.com/team/" + mid
	}
	if m.avatar != "" {
		data, typ, err := s.t.fetchAvatar(ctx, m.avatar)
		if err != nil {
			s.log.Debug("fetching avatar", "user", mid, "err", err)
		} else {
			p.Avatar, p.AvatarType = data, typ
		}
	}
	return p, nil
}

// maxAvatarBytes bounds an avatar download.
const maxAvatarBytes = 1 << 20

// fetchAvatar downloads a profile picture.
func (t *Transport) fetchAvatar(ctx context.Context, url string) ([]byte, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, "", fmt.Errorf("slack: avatar request: %w", err)
	}
	resp, err := t.hc.Do(req)
	if err != nil {
		return nil, "", fmt.Errorf("slack: avatar: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, "", fmt.Errorf("slack: avatar: HTTP %s", resp.Status)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxAvatarBytes+1))
	if err != nil {
		return nil, "", fmt.Errorf("slack: avatar: %w", err)
	}
	if len(data) > maxAvatarBytes {
		return nil, "", fmt.Errorf("slack: avatar larger than %d bytes", maxAvatarBytes)
	}
	typ, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if !strings.HasPrefix(typ, "image/") {
		typ = http.DetectContentType(data)
	}
	if !strings.HasPrefix(typ, "image/") {
		return nil, "", fmt.Errorf("slack: avatar is %s, not an image", typ)
	}
	return data, typ, nil
}

// ResolveContact implements bridge.ContactResolver for XEP-0100: input is
// a member ID ("U0456…"), "@name" (handle, display or real name) or an
// e-mail address of a member of the account's workspace.
func (s *Session) ResolveContact(ctx context.Context, input string) (bridge.Contact, error) {
	in := strings.TrimSpace(input)
	var (
		m   member
		err error
	)
	switch {
	case in == "" || len(in) > 200:
		return bridge.Contact{}, fmt.Errorf("slack: enter a member ID, @name or e-mail address: %w", bridge.ErrInvalidInput)
	case validID(in, userKinds) || validID(strings.ToUpper(in), userKinds) && strings.ContainsAny(in, "0123456789"):
		m, err = s.member(ctx, strings.ToUpper(in))
	case !strings.HasPrefix(in, "@") && strings.Contains(in, "@"):
		m, err = s.memberByEmail(ctx, in)
	default:
		m, err = s.memberByName(ctx, strings.TrimPrefix(in, "@"))
	}
	if errors.Is(err, bridge.ErrNotFound) {
		name, _ := s.dir.teamInfo()
		return bridge.Contact{}, fmt.Errorf("slack: no member %q in %s: %w", in, firstNonEmpty(name, s.team), bridge.ErrNotFound)
	}
	if err != nil {
		return bridge.Contact{}, err
	}
	if m.id == s.user {
		return bridge.Contact{}, fmt.Errorf("slack: %q is yourself: %w", in, bridge.ErrInvalidInput)
	}
	s.watch(m.id)
	return s.contact(m), nil
}

// memberByName finds a member by name, loading the member list if needed.
func (s *Session) memberByName(ctx context.Context, name string) (member, error) {
	if m, ok := s.dir.find(name); ok {
		return m, nil
	}
	if err := s.loadMembers(ctx); err != nil {
		return member{}, err
	}
	if m, ok := s.dir.find(name); ok {
		return m, nil
	}
	return member{}, bridge.ErrNotFound
}

// memberByEmail finds a member by e-mail address (users.lookupByEmail).
func (s *Session) memberByEmail(ctx context.Context, email string) (member, error) {
	if _, err := mail.ParseAddress(email); err != nil {
		return member{}, fmt.Errorf("slack: %q is not an e-mail address: %w", email, bridge.ErrInvalidInput)
	}
	u, err := s.api.GetUserByEmailContext(ctx, email)
	if err == nil {
		m := newMember(u)
		s.dir.put(m)
		return *m, nil
	}
	err = classify("users.lookupByEmail", err)
	if !errors.Is(err, bridge.ErrUnsupported) && !errors.Is(err, bridge.ErrForbidden) {
		return member{}, err
	}
	// Without the method or its scope (users:read.email), look through the
	// member list, which shows addresses only with that scope too.
	if err := s.loadMembers(ctx); err != nil {
		return member{}, err
	}
	for _, m := range s.dir.all() {
		if m.email != "" && strings.EqualFold(m.email, email) {
			return m, nil
		}
	}
	return member{}, bridge.ErrNotFound
}
