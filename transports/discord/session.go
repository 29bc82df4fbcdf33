package discord

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/bwmarrin/discordgo"

	"github.com/xgate-im/xgate/bridge"
)

// Session is one logged-in account: a personal account with its own
// Gateway connection, or a Discord user linked to the instance's bot,
// which shares the bot's. Its methods are safe for concurrent use.
type Session struct {
	t    *Transport
	acct bridge.AccountID
	kind string // kindBot or kindUser
	user string // the account's Discord user
	name string // its display name (bot-linked messages are signed with it)
	c    *conn
	sink bridge.Sink
	log  *slog.Logger

	stop context.CancelFunc // personal accounts: ends the connection
	done chan struct{}      // closed when the connection's run returned

	mu        sync.Mutex
	closed    bool
	live      bool // Login returned it
	loggedOut bool
	dms       map[string]string   // peer → DM channel
	peers     map[string]string   // DM channel → peer
	nonces    map[string]struct{} // nonces of our own sends, to skip their echoes
	contacts  map[string]bool     // the contacts last listed (and the user)
	cursors   map[string]string   // channel → newest message delivered
	members   map[string]bool     // bot-linked: guild → whether the user is in it
	// behind: a bot-linked account logged in beside the bot's reader:
	// chats not caught up yet → the cursor to read them from (catchup.go).
	behind  map[string]string
	readTo  map[string]string // chat → the last message its catch-up read
	dirty   map[string]string // cursors not yet written to the State
	flushed time.Time         // when cursors were last written
	// flushTimer writes dirty cursors a second later; Close stops it.
	flushTimer *time.Timer
	loginAt    time.Time
}

var (
	_ bridge.Session          = (*Session)(nil)
	_ bridge.Editor           = (*Session)(nil)
	_ bridge.Retractor        = (*Session)(nil)
	_ bridge.Reactor          = (*Session)(nil)
	_ bridge.Typer            = (*Session)(nil)
	_ bridge.ReadMarker       = (*Session)(nil)
	_ bridge.PresenceSetter   = (*Session)(nil)
	_ bridge.Profiler         = (*Session)(nil)
	_ bridge.HistoryFetcher   = (*Session)(nil)
	_ bridge.GroupLister      = (*Session)(nil)
	_ bridge.GroupMembers     = (*Session)(nil)
	_ bridge.TopicSetter      = (*Session)(nil)
	_ bridge.ChatCapabilities = (*Session)(nil)
)

// maxNonces bounds the nonces remembered per session.
const maxNonces = 4096

// Login implements bridge.Transport. A personal account opens its own
// Gateway connection (after checking its token); a bot-linked one joins
// the bot's.
func (t *Transport) Login(ctx context.Context, acct bridge.AccountData, sink bridge.Sink) (bridge.Session, error) {
	kind, user, err := ParseAccountID(acct.ID)
	if err != nil {
		return nil, err
	}
	s := &Session{
		t: t, acct: acct.ID, kind: kind, user: user, sink: sink,
		log: t.log.With("account", string(acct.ID)),
		dms: map[string]string{}, peers: map[string]string{}, nonces: map[string]struct{}{}, cursors: map[string]string{}, members: map[string]bool{}, dirty: map[string]string{},
		loginAt: time.Now(),
	}
	switch kind {
	case kindUser:
		tok := acct.Secrets["token"]
		if tok == "" {
			return nil, fmt.Errorf("discord: account %s has no token; register again: %w", acct.ID, bridge.ErrAuth)
		}
		s.c = newConn(t, tok, false, s.log)
		s.c.onEvent = t.onUserEvent
		s.c.account = acct.ID
	case kindBot:
		if t.bot == nil {
			return nil, fmt.Errorf("discord: this gateway no longer has a bot; register with a user token: %w", bridge.ErrAuth)
		}
		s.c = t.bot
	}
	var u me
	if err := s.c.request(ctx, "users/{id}", "GET", discordgo.EndpointUser(s.selfRef()), discordgo.EndpointUsers, nil, &u); err != nil {
		return nil, err
	}
	s.name = u.display()
	if kind == kindBot {
		if err := t.checkLink(user, acct.Settings[linkSetting]); err != nil {
			return nil, err
		}
	}
	s.loadCursors()
	// A bot-linked account is caught up by the bot's next READY if it is
	// attached before that READY looks, else here (botLive): never by
	// neither.
	t.catchMu.Lock()
	botLive := t.botLive
	if kind == kindBot && botLive {
		s.markBehind() // before any event of its chats can reach it
	}
	t.fanout.Attach(acct.ID, s)
	t.catchMu.Unlock()
	if kind == kindUser {
		runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		s.stop, s.done = cancel, make(chan struct{})
		fatal := make(chan error, 1)
		go func() {
			defer close(s.done)
			err := s.c.run(runCtx, t.redeliver)
			fatal <- err
			if err != nil && s.isLive() {
				s.connectionRefused(runCtx, err)
			}
		}()
		// Events only come to a Gateway session that exists: Login returns
		// once it does, so that nothing said after it is missed.
		select {
		case <-s.c.ready:
		case err := <-fatal:
			s.Close()
			if err == nil {
				err = fmt.Errorf("discord: connection closed during login: %w", bridge.ErrTemporary)
			}
			return nil, err
		case <-ctx.Done():
			s.Close()
			return nil, fmt.Errorf("discord: login: %w: %w", bridge.ErrTemporary, ctx.Err())
		}
	}
	if kind == kindBot && botLive {
		// What was said in its chats while xgate was down: the bot's
		// Gateway session exists, so no READY will read it. Each chat's
		// worker reads it (catchup.go).
		s.queueCatchUps(ctx)
	}
	s.mu.Lock()
	s.live = true
	s.mu.Unlock()
	return s, nil
}

// isLive reports whether Login returned the session.
func (s *Session) isLive() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.live
}

// selfRef is how REST names the account's user: @me on its own token.
func (s *Session) selfRef() string {
	if s.kind == kindUser {
		return "@me"
	}
	return s.user
}

// connectionRefused tells the user that Discord refused the account's
// token: the account stays registered, logged out, for a new login.
func (s *Session) connectionRefused(ctx context.Context, err error) {
	if errors.Is(err, bridge.ErrAuth) {
		s.markLoggedOut(ctx, "Discord refused your token (it was revoked, or you changed your password). Register again with a new token.")
		return
	}
	s.log.Error("discord connection stopped", "err", err)
}

// markLoggedOut emits LoggedOut once.
func (s *Session) markLoggedOut(ctx context.Context, reason string) {
	s.mu.Lock()
	already := s.loggedOut
	s.loggedOut = true
	s.mu.Unlock()
	if already {
		return
	}
	if err := s.sink.Emit(context.WithoutCancel(ctx), bridge.LoginStateEvent{State: bridge.LoggedOut, Reason: reason}); err != nil {
		s.log.Warn("could not report the logout", "err", err)
	}
}

// checked passes an error on, and reports a refused personal token.
func (s *Session) checked(ctx context.Context, err error) error {
	if err != nil && errors.Is(err, bridge.ErrAuth) && s.kind == kindUser {
		s.markLoggedOut(ctx, "Discord refused your token (it was revoked, or you changed your password). Register again with a new token.")
	}
	return err
}

// Close implements bridge.Session.
func (s *Session) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	s.t.fanout.Detach(s.acct, s)
	if s.stop != nil {
		s.stop()
		<-s.done
	}
	s.flushCursors()
	return nil
}

// isClosed reports whether Close was called.
func (s *Session) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// channelOf returns the channel of a chat, opening the DM with its peer
// when the chat names none.
func (s *Session) channelOf(ctx context.Context, chat bridge.ChatRef) (string, error) {
	s.mu.Lock()
	out := s.loggedOut
	s.mu.Unlock()
	if out && s.kind == kindBot {
		return "", fmt.Errorf("discord: your Discord user is no longer linked to the bot; register again: %w", bridge.ErrAuth)
	}
	if chat.Kind == bridge.Group {
		if chat.ID == "" {
			return "", fmt.Errorf("discord: a group chat without a channel: %w", bridge.ErrNotFound)
		}
		return string(chat.ID), nil
	}
	if chat.ID != "" {
		return string(chat.ID), nil
	}
	peer := string(chat.Peer)
	if !isSnowflake(peer) {
		return "", fmt.Errorf("discord: contact %q: %w", peer, bridge.ErrNotFound)
	}
	s.mu.Lock()
	ch, ok := s.dms[peer]
	s.mu.Unlock()
	if ok {
		return ch, nil
	}
	ch, err := openDM(ctx, s.c, peer)
	if err != nil {
		return "", s.checked(ctx, err)
	}
	s.notePeer(ch, peer)
	return ch, nil
}

// notePeer remembers the peer of a DM channel.
func (s *Session) notePeer(channel, peer string) {
	s.mu.Lock()
	s.dms[peer] = channel
	s.peers[channel] = peer
	s.mu.Unlock()
	if s.kind == kindBot {
		s.t.noteBotDM(channel, peer)
	}
}

// newNonce makes and remembers the nonce of a message we send.
func (s *Session) newNonce() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	n := "x" + hex.EncodeToString(b[:])
	s.mu.Lock()
	if len(s.nonces) >= maxNonces {
		clear(s.nonces)
	}
	s.nonces[n] = struct{}{}
	s.mu.Unlock()
	return n
}

// ours reports whether a nonce is of a message this session sent.
func (s *Session) ours(nonce string) bool {
	if nonce == "" {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.nonces[nonce]
	return ok
}

// Send implements bridge.Session. A text longer than one Discord message
// is sent as several, cut where kit/split says; the files of the message's
// links are uploaded with the last (files.go). The ID returned is the last
// message's. A bot-linked account's messages are signed with the user's
// name, since they come from the bot.
func (s *Session) Send(ctx context.Context, chat bridge.ChatRef, msg bridge.OutgoingMessage) (bridge.MessageID, error) {
	ch, err := s.channelOf(ctx, chat)
	if err != nil {
		return "", err
	}
	files, links, err := s.fetchFiles(ctx, msg.Attachments)
	if err != nil {
		return "", err
	}
	text := msg.Text
	if len(msg.Attachments) > 0 {
		text = withoutLinks(text, msg.Attachments, links)
	}
	for _, l := range links {
		if !strings.Contains(text, l) {
			if text != "" {
				text += "\n"
			}
			text += l
		}
	}
	if s.kind == kindBot && chat.Peer != "" {
		// Before the message goes: the answer may come at once.
		s.t.setReplyRoute(string(chat.Peer), s.acct)
	}
	parts := toDiscordParts(text, s.signature(), maxMessageRunes)
	if len(parts) == 0 {
		parts = []string{strings.TrimSpace(s.signature())}
	}
	var last string
	for i, part := range parts {
		body := outgoing{Content: part, Nonce: s.newNonce(), AllowedMentions: defaultMentions()}
		if i == 0 && msg.ReplyTo != "" {
			body.MessageReference = &messageReference{MessageID: string(msg.ReplyTo), ChannelID: ch}
		}
		var id string
		if i == len(parts)-1 && len(files) > 0 {
			id, err = postFiles(ctx, s.c, ch, body, files)
		} else {
			id, err = postMessage(ctx, s.c, ch, body)
		}
		if err != nil {
			if last != "" {
				// The first parts are out: report what went, not a failure
				// that would send them again.
				s.log.Warn("a long message was sent only in part", "err", err)
				break
			}
			return "", s.checked(ctx, err)
		}
		last = id
	}
	return bridge.MessageID(last), nil
}

// signature prefixes a bot-linked account's messages ("**Alice:** ").
func (s *Session) signature() string {
	if s.kind != kindBot {
		return ""
	}
	return "**" + escapeMarkdown(s.name) + ":** "
}

// Edit implements bridge.Editor.
func (s *Session) Edit(ctx context.Context, chat bridge.ChatRef, id bridge.MessageID, msg bridge.OutgoingMessage) error {
	ch, err := s.channelOf(ctx, chat)
	if err != nil {
		return err
	}
	content := s.signature() + ToDiscord(msg.Text)
	if utf8.RuneCountInString(content) > maxMessageRunes {
		return fmt.Errorf("discord: a correction of %d characters: %w: %w", utf8.RuneCountInString(content), ErrTooLong, bridge.ErrInvalidInput)
	}
	return s.checked(ctx, editMessage(ctx, s.c, ch, string(id), content))
}

// Retract implements bridge.Retractor.
func (s *Session) Retract(ctx context.Context, chat bridge.ChatRef, id bridge.MessageID) error {
	ch, err := s.channelOf(ctx, chat)
	if err != nil {
		return err
	}
	return s.checked(ctx, deleteMessage(ctx, s.c, ch, string(id)))
}

// React implements bridge.Reactor: it reads our reactions on the message
// and adds and removes to match emojis.
func (s *Session) React(ctx context.Context, chat bridge.ChatRef, id bridge.MessageID, emojis []string) error {
	ch, err := s.channelOf(ctx, chat)
	if err != nil {
		return err
	}
	m, err := getMessage(ctx, s.c, ch, string(id))
	if err != nil {
		return s.checked(ctx, err)
	}
	var have []string
	for _, r := range m.Reactions {
		if r.Me && r.Emoji != nil {
			have = append(have, r.Emoji.APIName())
		}
	}
	for _, e := range emojis {
		if !slices.Contains(have, e) {
			if err := react(ctx, s.c, ch, string(id), e, false); err != nil {
				return s.checked(ctx, err)
			}
		}
	}
	for _, e := range have {
		if !slices.Contains(emojis, e) {
			if err := react(ctx, s.c, ch, string(id), e, true); err != nil {
				return s.checked(ctx, err)
			}
		}
	}
	return nil
}

// Typing implements bridge.Typer. Discord knows only "typing" (for ten
// seconds, or until a message): the other states need no call.
func (s *Session) Typing(ctx context.Context, chat bridge.ChatRef, state bridge.TypingState) error {
	if state != bridge.TypingComposing {
		return nil
	}
	ch, err := s.channelOf(ctx, chat)
	if err != nil {
		return err
	}
	return s.checked(ctx, typing(ctx, s.c, ch))
}

// MarkRead implements bridge.ReadMarker; bots have no read state.
func (s *Session) MarkRead(ctx context.Context, chat bridge.ChatRef, id bridge.MessageID) error {
	if s.kind != kindUser {
		return fmt.Errorf("discord: bots have no read state: %w", bridge.ErrUnsupported)
	}
	ch, err := s.channelOf(ctx, chat)
	if err != nil {
		return err
	}
	return s.checked(ctx, markRead(ctx, s.c, ch, string(id)))
}

// ChatCapabilities implements bridge.ChatCapabilities: a bot-linked
// account's chats have no read state (Discord keeps none for bots), and
// it cannot set the user's presence.
func (s *Session) ChatCapabilities(_ context.Context, _ bridge.ChatRef) (bridge.Capabilities, error) {
	caps := s.t.Info().Capabilities
	if s.kind == kindBot {
		caps.ReadMarkers, caps.SetPresence = false, false
	}
	return caps, nil
}
