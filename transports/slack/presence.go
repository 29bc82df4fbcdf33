package slack

import (
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/xgate-im/xgate/bridge"
)

// Presence
//
// Slack sends presence changes only over RTM, which Slack apps cannot use,
// so contacts' presence is read with users.getPresence: every presence_poll
// for the contacts that matter (people of the account's direct messages,
// people who wrote to it, contacts added by XEP-0100), at most maxPolled of
// them, the most recently active first, behind a limiter well under the
// method's rate tier. The answers are shared by the sessions of a
// workspace (directory.polled): a member another session polled within
// half a period is not polled again, so a company whose accounts share
// their contacts polls each member about twice a period, not once per
// account that knows them. A member never polled yet is polled as soon as they
// become such a contact. Status texts come with user_change events and are
// passed on at once. The same loop checks the token (auth.test) when there
// is no one to poll, so that a revoked token is noticed even on an idle
// account.

// maxPolled bounds the contacts polled per round.
const maxPolled = 100

// deactivated is the presence of a deactivated member.
var deactivated = bridge.Presence{Show: bridge.ShowOffline, Status: "Deactivated account"}

// poller schedules a session's polls without a goroutine of its own: a
// timer starts each round in a goroutine that ends with it, so ten
// thousand idle sessions cost ten thousand timers, not ten thousand
// goroutine stacks. One round runs at a time.
type poller struct {
	mu      sync.Mutex
	lim     *rate.Limiter
	timer   *time.Timer // the next full round
	running bool        // a round runs
	// cancel ends the running round (stopPolling). Each round has a
	// context of its own rather than one the session keeps: every
	// request made under a long-lived context leaves a map of children
	// in it, a few hundred bytes per session that the collector marks
	// for as long as the session lives.
	cancel  context.CancelFunc
	again   bool // an onlyNew round was asked for while one ran
	full    bool // the next round is a full one
	stopped bool
}

// startPolling schedules the first full round at a random point within
// presence_poll rather than at once: Login has just checked the token (a
// full round with nobody watched is another auth.test), and ten thousand
// sessions logging in within seconds would otherwise run their rounds
// together, at start-up and every presence_poll after it (a burst of
// goroutines and HTTP calls: the RSS of a start-up with 10,000 accounts
// varied from 230 to 690 MB). Contacts met meanwhile are polled at once
// (pollSoon); a token revoked meanwhile is noticed by the next call that
// fails (sendError), a tokens_revoked event, or the first round.
func (s *Session) startPolling() {
	p := &s.polls
	p.lim = rate.NewLimiter(s.t.presenceLimit, s.t.presenceBurst)
	p.mu.Lock()
	defer p.mu.Unlock()
	first := s.t.set.presencePoll
	if first > 1 {
		first = 1 + rand.N(first-1)
	}
	p.timer = time.AfterFunc(first, func() { s.pollRound(true) })
}

// pollSoon asks for a round of the contacts never polled.
func (s *Session) pollSoon() {
	p := &s.polls
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.running {
		p.again = true
		return
	}
	s.runPollLocked(false)
}

// pollRound is the timer's: a full round, then the next one scheduled.
func (s *Session) pollRound(full bool) {
	p := &s.polls
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopped {
		return
	}
	p.timer.Reset(s.t.set.presencePoll)
	if p.running {
		p.full, p.again = p.full || full, true
		return
	}
	s.runPollLocked(full)
}

// runPollLocked starts a round in a goroutine of its own; p.mu is held.
func (s *Session) runPollLocked(full bool) {
	p := &s.polls
	if p.stopped || s.loggedOut.Load() {
		return
	}
	p.running = true
	ctx, cancel := context.WithCancel(context.Background())
	p.cancel = cancel
	s.wg.Go(func() {
		defer cancel()
		for {
			s.poll(ctx, p.lim, !full)
			p.mu.Lock()
			if !p.again || p.stopped || s.loggedOut.Load() {
				p.running, p.cancel = false, nil
				p.mu.Unlock()
				return
			}
			full, p.again, p.full = p.full, false, false
			p.mu.Unlock()
		}
	})
}

// stopPolling stops the rounds and cancels the running one's context;
// Close waits for that round to end (s.wg).
func (s *Session) stopPolling() {
	p := &s.polls
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stopped = true
	if p.timer != nil {
		p.timer.Stop()
	}
	if p.cancel != nil {
		p.cancel()
	}
}

// poll reads the presence of the watched contacts; with onlyNew, only of
// those never polled.
func (s *Session) poll(ctx context.Context, lim *rate.Limiter, onlyNew bool) {
	s.mu.Lock()
	type entry struct {
		id string
		at time.Time
	}
	var list []entry
	for id, at := range s.watched.all() {
		if _, known := s.presence.get(id); onlyNew && known {
			continue
		}
		list = append(list, entry{id, at})
	}
	s.mu.Unlock()
	if len(list) == 0 {
		if !onlyNew {
			s.checkToken(ctx)
		}
		return
	}
	slices.SortFunc(list, func(a, b entry) int {
		if c := b.at.Compare(a.at); c != 0 {
			return c
		}
		return strings.Compare(a.id, b.id)
	})
	if len(list) > maxPolled {
		list = list[:maxPolled]
	}
	for _, e := range list {
		active, err := s.presenceOf(ctx, lim, e.id)
		if errors.Is(err, errEndRound) {
			return
		}
		if err != nil {
			s.log.Debug("polling presence", "user", e.id, "err", err)
			continue
		}
		show := bridge.ShowAway
		if active {
			show = bridge.ShowAvailable
		}
		m, err := s.member(ctx, e.id) // for the status; cached
		if err != nil && (s.noteAuth(ctx, err) || ctx.Err() != nil) {
			return
		}
		pres := bridge.Presence{Show: show, Status: m.status()}
		if m.deleted {
			pres = deactivated
		}
		if err := s.setContactPresence(ctx, e.id, pres); err != nil {
			return
		}
	}
}

// errEndRound is presenceOf's answer when the round must end: its
// context is over, the token was refused, or Slack limits the calls.
var errEndRound = errors.New("slack: presence round ended")

// presenceOf returns whether a member is active: from another session of
// the workspace that polled them within half a period, else from
// users.getPresence, behind lim. Any other error than errEndRound skips
// the member for this round.
func (s *Session) presenceOf(ctx context.Context, lim *rate.Limiter, id string) (bool, error) {
	if active, shared := s.dir.polledSince(id, time.Now().Add(-s.t.set.presencePoll/2)); shared {
		return active, nil
	}
	if err := lim.Wait(ctx); err != nil {
		return false, errEndRound
	}
	p, err := s.api.GetUserPresenceContext(ctx, id)
	if err != nil {
		err = classify("users.getPresence", err)
		if s.noteAuth(ctx, err) || ctx.Err() != nil {
			return false, errEndRound
		}
		if rl, ok := errors.AsType[*bridge.RateLimitError](err); ok {
			s.log.Debug("presence polling rate limited", "retry_after", rl.RetryAfter)
			return false, errEndRound
		}
		return false, err
	}
	active := p.Presence == "active"
	s.dir.notePolled(id, active, time.Now())
	return active, nil
}

// checkToken notices a token that stopped working.
func (s *Session) checkToken(ctx context.Context) {
	if _, err := s.api.AuthTestContext(ctx); err != nil {
		s.noteAuth(ctx, classify("auth.test", err))
	}
}

// setContactPresence emits a contact's presence when it changed.
func (s *Session) setContactPresence(ctx context.Context, member string, p bridge.Presence) error {
	s.mu.Lock()
	prev, known := s.presence.get(member)
	s.mu.Unlock()
	if known && prev == p {
		return nil
	}
	if err := s.emit(ctx, bridge.PresenceEvent{User: s.userID(member), Presence: p}); err != nil {
		return err
	}
	s.mu.Lock()
	s.presence.set(member, p)
	s.mu.Unlock()
	return nil
}

// statusChanged passes on a contact's new status text or deactivation.
func (s *Session) statusChanged(ctx context.Context, m member) error {
	if m.deleted {
		return s.setContactPresence(ctx, m.id, deactivated)
	}
	s.mu.Lock()
	prev, known := s.presence.get(m.id)
	s.mu.Unlock()
	if !known {
		s.pollSoon() // its first poll gives show and status together
		return nil
	}
	if prev.Show == bridge.ShowOffline {
		prev.Show = bridge.ShowAway // reactivated: the next poll tells
	}
	prev.Status = m.status()
	return s.setContactPresence(ctx, m.id, prev)
}

// SetPresence implements bridge.PresenceSetter: the user's XMPP
// availability becomes Slack's "auto" (available, chat) or "away"
// (anything else), and the status text becomes the Slack status, a leading
// emoji becoming the status emoji. Going offline sets away and keeps the
// status. Calls are made only for what changed.
func (s *Session) SetPresence(ctx context.Context, p bridge.Presence) error {
	s.mu.Lock()
	prev := s.ownPres
	s.mu.Unlock()
	word := slackPresence(p.Show)
	if prev == nil || slackPresence(prev.Show) != word {
		if err := s.api.SetUserPresenceContext(ctx, word); err != nil {
			return classify("users.setPresence", err)
		}
	}
	next := p
	if p.Show == bridge.ShowOffline {
		next.Status = ""
		if prev != nil {
			next.Status = prev.Status
		}
	} else if prev == nil || prev.Status != p.Status {
		emoji, text := splitStatus(p.Status)
		if err := s.api.SetUserCustomStatusContext(ctx, text, emoji, 0); err != nil {
			return classify("users.profile.set", err)
		}
	}
	s.mu.Lock()
	s.ownPres = &next
	s.mu.Unlock()
	return nil
}

// slackPresence maps an XMPP availability to users.setPresence.
func slackPresence(show bridge.Show) string {
	switch show {
	case bridge.ShowAvailable, bridge.ShowChat:
		return "auto"
	}
	return "away"
}

// maxStatusRunes is the longest status text Slack takes.
const maxStatusRunes = 100

// splitStatus turns an XMPP status into a Slack status emoji (":palm_tree:",
// when the status starts with a known emoji and a space) and text.
func splitStatus(status string) (emoji, text string) {
	status = strings.Join(strings.Fields(status), " ")
	if status != "" {
		first, rest, _ := strings.Cut(status, " ")
		if name, known := UnicodeToEmoji(first); known {
			emoji, status = ":"+name+":", rest
		}
	}
	if r := []rune(status); len(r) > maxStatusRunes {
		status = string(r[:maxStatusRunes-1]) + "…"
	}
	return emoji, status
}
