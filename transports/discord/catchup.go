package discord

import (
	"context"
	"maps"
	"strings"

	"github.com/xgate-im/xgate/bridge"
)

// The order of a chat across a catch-up. Catch-up reads what was said in a
// chat since its cursor; the connection's reader dispatches live events of
// the same chat as they come, into the chat's ordered worker (the Fanout,
// one Order key per chat). At a READY the catch-up runs on the reader,
// before the new session's events. A bot-linked account that logs in while
// the bot is connected has no READY: a live message of its chat may have
// been dispatched before the login, and be handled by the chat's worker
// just after the login attached the session, so before anything the login
// could read. So the login marks its chats behind (before it attaches the
// session), and the chat's worker catches a chat up before it hands the
// session any event of it: at the first such event, or at the catch-up the
// login queues for each chat. Nothing of the chat can overtake what was
// said before it.

// markBehind records the chats a bot-linked session must catch up before
// it takes their events: those it delivered messages in (its cursors). It
// runs before the session is attached.
func (s *Session) markBehind() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.behind = maps.Clone(s.cursors)
}

// queueCatchUps has each chat behind caught up by its worker, even if
// nothing is said in it.
func (s *Session) queueCatchUps(ctx context.Context) {
	s.mu.Lock()
	chats := make([]string, 0, len(s.behind))
	for ch := range s.behind {
		chats = append(chats, ch)
	}
	s.mu.Unlock()
	only := func(context.Context) ([]bridge.AccountID, bool, error) {
		return []bridge.AccountID{s.acct}, true, nil
	}
	for _, ch := range chats {
		s.c.dispatchNow(ctx, bridge.Inbound{
			Order: ch, Describe: describe("catch-up"), Route: only,
			Handle: func(ctx context.Context, bs bridge.Session) error { return bs.(*Session).catchUpChat(ctx, ch) },
		})
	}
}

// catchUpChat delivers what was said in a chat the session is behind in,
// from its cursor, and marks it caught up. It runs on the chat's worker
// only (the order key is the chat), so never twice at once for a chat. A
// failure to deliver is returned with the chat still behind from the last
// message delivered, for the Fanout's retry or the chat's next event.
func (s *Session) catchUpChat(ctx context.Context, ch string) error {
	s.mu.Lock()
	after, ok := s.behind[ch]
	s.mu.Unlock()
	if !ok {
		return nil
	}
	rctx, cancel := context.WithTimeout(ctx, catchUpTimeout)
	defer cancel()
	for {
		ms, err := messagesAfter(rctx, s.c, ch, after)
		if err != nil {
			s.log.Warn("catch-up of a chat failed; its messages since the drop may be missing", "channel", ch, "err", err)
			break
		}
		for _, m := range ms {
			if err := s.fromMessage(ctx, m, "", false, false); err != nil {
				return err
			}
			after = m.ID
			s.mu.Lock()
			s.behind[ch] = after
			s.mu.Unlock()
		}
		if len(ms) < 100 {
			break
		}
	}
	s.mu.Lock()
	delete(s.behind, ch)
	if after != "" {
		if s.readTo == nil {
			s.readTo = map[string]string{}
		}
		s.readTo[ch] = after
	}
	s.mu.Unlock()
	return nil
}

// readBack reports whether a live message of a chat was delivered by the
// chat's catch-up already (said before the catch-up read, received live
// after it). The first newer message ends the check for the chat.
func (s *Session) readBack(ch, msg string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	to, ok := s.readTo[ch]
	if !ok {
		return false
	}
	if !snowflakeLess(to, msg) {
		return true
	}
	delete(s.readTo, ch)
	return false
}

// caughtUpFirst wraps the handling of a live event of the bot's
// connection (id as dispatched: "m:" and the snowflake for a new
// message): a session behind in the event's chat catches it up first, and
// a new message that catch-up delivered already is not delivered again.
func caughtUpFirst(chat, id string, handle func(context.Context, bridge.Session) error) func(context.Context, bridge.Session) error {
	msg, isMessage := strings.CutPrefix(id, "m:")
	return func(ctx context.Context, bs bridge.Session) error {
		if s, ok := bs.(*Session); ok {
			if err := s.catchUpChat(ctx, chat); err != nil {
				return err
			}
			if isMessage && s.readBack(chat, msg) {
				return nil
			}
		}
		return handle(ctx, bs)
	}
}
