package playground

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/bwmarrin/discordgo"
)

// Typing shown on the Discord page: the fake sends TYPING_START only to
// the Gateway sessions of the other people in a channel, so Run keeps one
// session per person (as their Discord client would) and remembers who
// types where.

// typingFor is how long Discord shows someone typing after TYPING_START.
const typingFor = 10 * time.Second

// typist is someone typing in a conversation, until a time.
type typist struct {
	name  string
	until time.Time
}

// Run connects a Gateway session for each person, so that the page shows
// who else is typing in their conversations (the XMPP users' XEP-0085
// states, passed on by the gateway), until ctx ends. Without Run the page
// shows no typing from others.
func (d *Discord) Run(ctx context.Context) error {
	var sessions []*discordgo.Session
	defer func() {
		for _, s := range sessions {
			s.Close()
		}
	}()
	for _, person := range d.people {
		s, err := discordgo.New(d.fake.IssueUserToken(person))
		if err != nil {
			return fmt.Errorf("playground: discord session: %w", err)
		}
		s.Client = d.fake.HTTPClient()
		s.LogLevel = discordgo.LogError - 1 // the page reports what matters
		s.AddHandler(func(_ *discordgo.Session, e *discordgo.TypingStart) { d.typingStarted(person, e) })
		if err := s.Open(); err != nil {
			return fmt.Errorf("playground: discord session: %w", err)
		}
		sessions = append(sessions, s)
	}
	<-ctx.Done()
	return nil
}

// typingStarted records a TYPING_START that person's session saw.
func (d *Discord) typingStarted(person string, e *discordgo.TypingStart) {
	if e.UserID == person || !slices.Contains(d.convs, e.ChannelID) {
		return
	}
	d.mu.Lock()
	d.typing[e.ChannelID] = typist{name: d.displayName(e.UserID), until: time.Now().Add(typingFor)}
	close(d.typingChanged)
	d.typingChanged = make(chan struct{})
	d.mu.Unlock()
}

// TypingNow returns who is typing in conv now (at most one person: DMs).
func (d *Discord) TypingNow(conv string) []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	if t, ok := d.typing[conv]; ok && time.Now().Before(t.until) {
		return []string{t.name}
	}
	return []string{}
}
