package playground

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/xgate-im/xgate/transports/slack/slackfake"
)

// Slack is a fake Slack workspace (slackfake) as its members see it. The
// fake has no listing of a team's members or conversations, so the caller
// names the people one may act as and the conversations to show.
type Slack struct {
	fake   *slackfake.Server
	people []string // user IDs, in the order shown
	convs  []string // conversation IDs, in the order shown
}

var _ Network = (*Slack)(nil)

// NewSlack returns the network of fake, acting as people (user IDs) in the
// conversations convs (IDs of IMs and channels).
func NewSlack(fake *slackfake.Server, people, convs []string) *Slack {
	return &Slack{fake: fake, people: slices.Clone(people), convs: slices.Clone(convs)}
}

// ID returns "slack".
func (s *Slack) ID() string { return "slack" }

// Name returns "Slack".
func (s *Slack) Name() string { return "Slack" }

// People returns the identities one may act as.
func (s *Slack) People() []Person {
	out := make([]Person, 0, len(s.people))
	for _, id := range s.people {
		if u, ok := s.fake.User(id); ok {
			out = append(out, Person{ID: id, Name: s.displayName(id), Title: u.Profile.Title})
		}
	}
	return out
}

// displayName is what Slack shows for a user.
func (s *Slack) displayName(id string) string {
	u, ok := s.fake.User(id)
	switch {
	case !ok:
		return id
	case u.Profile.DisplayName != "":
		return u.Profile.DisplayName
	case u.Profile.RealName != "":
		return u.Profile.RealName
	}
	return u.Name
}

// Conversations returns the conversations person is a member of: a
// direct message is named after the other member, a channel "#name".
func (s *Slack) Conversations(person string) []Conversation {
	var out []Conversation
	for _, id := range s.convs {
		ch, ok := s.fake.Channel(id)
		if !ok || !slices.Contains(ch.Members, person) {
			continue
		}
		name := "#" + ch.Name
		if ch.Name == "" {
			var others []string
			for _, m := range ch.Members {
				if m != person {
					others = append(others, s.displayName(m))
				}
			}
			name = fmt.Sprint(others)
			if len(others) == 1 {
				name = others[0]
			}
		}
		out = append(out, Conversation{ID: id, Name: name})
	}
	return out
}

// Messages returns the top-level messages of conv, oldest first.
func (s *Slack) Messages(conv string) ([]Message, error) {
	if !slices.Contains(s.convs, conv) {
		return nil, ErrNotFound
	}
	var out []Message
	for _, m := range s.fake.Messages(conv) {
		if m.ThreadTS != "" && m.ThreadTS != m.TS {
			continue // replies live in their thread
		}
		author, name := m.User, s.displayName(m.User)
		if m.User == "" {
			author, name = m.BotID, m.Username
		}
		msg := Message{ID: m.TS, Author: author, AuthorName: name, Text: m.Text, Edited: m.EditedTS != ""}
		for _, r := range m.Reactions {
			msg.Reactions = append(msg.Reactions, Reaction{Emoji: r.Name, Count: len(r.Users)})
		}
		out = append(out, msg)
	}
	return out, nil
}

// member checks that person may act in conv.
func (s *Slack) member(person, conv string) error {
	if !slices.Contains(s.people, person) || !slices.Contains(s.convs, conv) {
		return ErrNotFound
	}
	ch, ok := s.fake.Channel(conv)
	if !ok {
		return ErrNotFound
	}
	if !slices.Contains(ch.Members, person) {
		return ErrNotAllowed
	}
	return nil
}

// message returns the message ts of conv.
func (s *Slack) message(conv, ts string) (slackfake.Message, error) {
	for _, m := range s.fake.Messages(conv) {
		if m.TS == ts {
			return m, nil
		}
	}
	return slackfake.Message{}, ErrNotFound
}

// Send posts text as person, as the Slack client does (events reach the
// gateway over Socket Mode).
func (s *Slack) Send(person, conv, text string) error {
	if err := s.member(person, conv); err != nil {
		return err
	}
	s.fake.Post(person, conv, text)
	return nil
}

// Edit changes the text of person's message id.
func (s *Slack) Edit(person, conv, id, text string) error {
	if err := s.member(person, conv); err != nil {
		return err
	}
	m, err := s.message(conv, id)
	if err != nil {
		return err
	}
	if m.User != person {
		return ErrNotAllowed
	}
	s.fake.Edit(person, conv, id, text)
	return nil
}

// React adds the emoji (a Slack name, "+1") to message id as person.
func (s *Slack) React(person, conv, id, emoji string) error {
	if err := s.member(person, conv); err != nil {
		return err
	}
	if _, err := s.message(conv, id); err != nil {
		return err
	}
	if !emojiName.MatchString(emoji) {
		return ErrNotAllowed
	}
	s.fake.React(person, conv, id, emoji)
	return nil
}

// Changed waits for the workspace's visible state to differ from since.
func (s *Slack) Changed(ctx context.Context, since string) (string, error) {
	var now string
	err := s.fake.WaitUntil(ctx, func() bool {
		now = s.state()
		return now != since
	})
	return now, err
}

// state digests what the page shows.
func (s *Slack) state() string {
	h := sha256.New()
	enc := json.NewEncoder(h)
	_ = enc.Encode(s.People()) // a hash never fails
	for _, c := range s.convs {
		m, _ := s.Messages(c)
		ch, _ := s.fake.Channel(c)
		_ = enc.Encode(ch.Members)
		_ = enc.Encode(m)
	}
	return hex.EncodeToString(h.Sum(nil)[:12])
}
