package slack

import (
	"slices"
	"time"
)

// Echoes: Slack sends an event back for every change a session makes from
// XMPP (a post, an edit, a deletion, a reaction). The session records
// each change it made (expectEcho) and the event for it is recognized and
// dropped (takeEcho), so that XMPP users never see their own messages come
// back as if written elsewhere.
//
// A post's event often comes before chat.postMessage answers with the
// message's timestamp. The conversation's worker then waits for the post
// (takeEcho holds the conversation's lock); the Socket Mode reader, which
// must not wait, recognizes it by the post still in flight instead: same
// author, conversation, thread and text (takeEarlyEcho, Session.posting).

// echoKey names a change the user made from XMPP whose event Slack sends
// back: kind is "message", "edit", "delete", "react+" or "react-".
type echoKey struct{ kind, channel, ts, name string }

type echoEntry struct {
	n  int
	at time.Time
}

// echoes counts the expected echoes of a session. Guarded by Session.mu.
type echoes struct{ m map[echoKey]echoEntry }

// echoTTL is how long an expected echo is waited for.
const echoTTL = 10 * time.Minute

// expectEcho records that Slack will send an event for k.
func (s *Session) expectEcho(k echoKey) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expectEchoLocked(k)
}

func (s *Session) expectEchoLocked(k echoKey) {
	now := time.Now()
	if len(s.echoes.m) > 256 {
		for key, e := range s.echoes.m {
			if now.Sub(e.at) > echoTTL {
				delete(s.echoes.m, key)
			}
		}
	}
	e := s.echoes.m[k]
	e.n++
	e.at = now
	if s.echoes.m == nil {
		s.echoes.m = map[echoKey]echoEntry{}
	}
	s.echoes.m[k] = e
}

// takeEcho reports whether an event is the echo of a change the user made
// from XMPP, and consumes it. It first waits for any such change still in
// flight on the conversation.
func (s *Session) takeEcho(k echoKey) bool {
	c := s.channel(k.channel)
	c.mu.Lock()
	c.mu.Unlock() //nolint:staticcheck // an empty critical section: waiting for the sender is the point
	return s.consumeEcho(k)
}

// consumeEcho reports whether an echo of k is expected, and consumes it,
// without waiting for a change in flight.
func (s *Session) consumeEcho(k echoKey) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.consumeEchoLocked(k)
}

func (s *Session) consumeEchoLocked(k echoKey) bool {
	e, ok := s.echoes.m[k]
	if !ok || time.Since(e.at) > echoTTL {
		delete(s.echoes.m, k)
		return false
	}
	if e.n--; e.n == 0 {
		delete(s.echoes.m, k)
	} else {
		s.echoes.m[k] = e
	}
	return true
}

// postInFlight is a message being posted from XMPP whose answer, which
// names it, has not come yet (Session.posting).
type postInFlight struct {
	channel, thread, text string
	// echoTS is the timestamp of the event the reader took for its echo
	// before the answer came ("": none yet).
	echoTS string
}

// startPost records a post about to be sent to a conversation (in a
// thread, or ""), until endPost.
func (s *Session) startPost(channel, thread, text string) *postInFlight {
	p := &postInFlight{channel: channel, thread: thread, text: text}
	s.mu.Lock()
	s.posting = append(s.posting, p)
	s.mu.Unlock()
	return p
}

// repost records that a post is sent again, in another thread ("": none).
func (s *Session) repost(p *postInFlight, thread string) {
	s.mu.Lock()
	p.thread = thread
	s.mu.Unlock()
}

// endPost forgets a post once answered. When it was posted (ts is the
// message's timestamp), its echo is expected, unless the reader already
// took it. The reader may have taken another message of the same author,
// conversation, thread and text, written at that moment from another
// client, for its echo: that one then does not reach XMPP, and the echo
// of this post is still expected.
func (s *Session) endPost(p *postInFlight, ts string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if i := slices.Index(s.posting, p); i >= 0 {
		s.posting = slices.Delete(s.posting, i, i+1)
	}
	if ts != "" && p.echoTS != ts {
		s.expectEchoLocked(echoKey{kind: "message", channel: p.channel, ts: ts})
	}
}

// takeEarlyEcho reports whether a new message by the session's member is
// the echo of a post from XMPP, and consumes it, without waiting: one
// whose answer named it (expectEcho), or one still in flight of the same
// conversation, thread and text.
func (s *Session) takeEarlyEcho(channel, ts, thread, text string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.consumeEchoLocked(echoKey{kind: "message", channel: channel, ts: ts}) {
		return true
	}
	for _, p := range s.posting {
		if p.echoTS == "" && p.channel == channel && p.thread == thread && p.text == text {
			p.echoTS = ts
			return true
		}
	}
	return false
}
