package playground

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"slices"
	"sync"

	"github.com/xgate-im/xgate/transports/discord/discordfake"
)

// Discord is a fake Discord (discordfake) as its users see it. The caller
// names the people one may act as and the channels (DMs or guild
// channels) to show.
type Discord struct {
	fake   *discordfake.Server
	people []string // user IDs, in the order shown
	convs  []string // channel IDs, in the order shown

	mu            sync.Mutex
	typing        map[string]typist // by channel
	typingChanged chan struct{}     // closed and replaced at each TYPING_START
}

var (
	_ Network      = (*Discord)(nil)
	_ Typer        = (*Discord)(nil)
	_ TypingViewer = (*Discord)(nil)
)

// NewDiscord returns the network of fake, acting as people (user IDs) in
// the channels convs.
func NewDiscord(fake *discordfake.Server, people, convs []string) *Discord {
	return &Discord{fake: fake, people: slices.Clone(people), convs: slices.Clone(convs),
		typing: map[string]typist{}, typingChanged: make(chan struct{})}
}

// ID returns "discord".
func (d *Discord) ID() string { return "discord" }

// Name returns "Discord".
func (d *Discord) Name() string { return "Discord" }

// People returns the identities one may act as.
func (d *Discord) People() []Person {
	out := make([]Person, 0, len(d.people))
	for _, id := range d.people {
		if _, ok := d.fake.User(id); ok {
			out = append(out, Person{ID: id, Name: d.displayName(id)})
		}
	}
	return out
}

// displayName is what Discord shows for a user: the global name, else the
// username.
func (d *Discord) displayName(id string) string {
	u, ok := d.fake.User(id)
	switch {
	case !ok:
		return id
	case u.GlobalName != "":
		return u.GlobalName
	}
	return u.Username
}

// sees reports whether person can read channel ch.
func (d *Discord) sees(person string, ch discordfake.Channel) bool {
	if ch.GuildID == "" {
		return slices.Contains(ch.Recipients, person)
	}
	g, ok := d.fake.Guild(ch.GuildID)
	return ok && slices.Contains(g.Members, person)
}

// Conversations returns the channels person can read: a DM is named
// after the other recipient, a guild channel "#name".
func (d *Discord) Conversations(person string) []Conversation {
	var out []Conversation
	for _, id := range d.convs {
		ch, ok := d.fake.Channel(id)
		if !ok || !d.sees(person, ch) {
			continue
		}
		name := "#" + ch.Name
		if ch.GuildID == "" {
			name = ""
			for _, r := range ch.Recipients {
				if r != person {
					name = d.displayName(r)
				}
			}
		}
		out = append(out, Conversation{ID: id, Name: name})
	}
	return out
}

// Messages returns conv's messages, oldest first; webhook messages show
// the name they were sent under.
func (d *Discord) Messages(conv string) ([]Message, error) {
	if !slices.Contains(d.convs, conv) {
		return nil, ErrNotFound
	}
	var out []Message
	for _, m := range d.fake.Messages(conv) {
		author, name := m.AuthorID, d.displayName(m.AuthorID)
		if m.WebhookID != "" {
			author, name = m.WebhookID, m.Username
		}
		msg := Message{ID: m.ID, Author: author, AuthorName: name, Text: m.Content, Edited: m.EditedTimestamp != ""}
		for _, r := range m.Reactions {
			msg.Reactions = append(msg.Reactions, Reaction{Emoji: emojiNameOf(r.Emoji), Count: len(r.Users)})
		}
		out = append(out, msg)
	}
	return out, nil
}

// act checks that person may act in conv.
func (d *Discord) act(person, conv string) error {
	if !slices.Contains(d.people, person) || !slices.Contains(d.convs, conv) {
		return ErrNotFound
	}
	ch, ok := d.fake.Channel(conv)
	if !ok {
		return ErrNotFound
	}
	if !d.sees(person, ch) {
		return ErrNotAllowed
	}
	return nil
}

// Send posts text as person, as the Discord client does (the gateway's
// sessions get MESSAGE_CREATE).
func (d *Discord) Send(person, conv, text string) error {
	if err := d.act(person, conv); err != nil {
		return err
	}
	d.fake.Post(person, conv, text)
	return nil
}

// Edit changes the text of person's message id.
func (d *Discord) Edit(person, conv, id, text string) error {
	if err := d.act(person, conv); err != nil {
		return err
	}
	m, ok := d.fake.Message(conv, id)
	if !ok {
		return ErrNotFound
	}
	if m.AuthorID != person {
		return ErrNotAllowed
	}
	d.fake.Edit(person, conv, id, text)
	return nil
}

// React adds the emoji, named as on Slack ("+1") among the page's quick
// reactions, to message id as person; Discord gets its Unicode form.
func (d *Discord) React(person, conv, id, emoji string) error {
	if err := d.act(person, conv); err != nil {
		return err
	}
	if _, ok := d.fake.Message(conv, id); !ok {
		return ErrNotFound
	}
	u, ok := unicodeOf[emoji]
	if !ok {
		return ErrNotAllowed
	}
	d.fake.React(person, conv, id, u)
	return nil
}

// Typing shows person typing in conv (TYPING_START).
func (d *Discord) Typing(person, conv string) error {
	if err := d.act(person, conv); err != nil {
		return err
	}
	d.fake.Typing(person, conv)
	return nil
}

// Changed waits for the visible state, typing included, to differ from
// since.
func (d *Discord) Changed(ctx context.Context, since string) (string, error) {
	for {
		d.mu.Lock()
		typed := d.typingChanged
		d.mu.Unlock()
		if now := d.state(); now != since {
			return now, nil
		}
		wctx, cancel := context.WithCancel(ctx)
		go func() {
			select {
			case <-typed:
				cancel()
			case <-wctx.Done():
			}
		}()
		// Woken by a change of the fake or by typing: look again.
		_ = d.fake.WaitUntil(wctx, func() bool { return d.state() != since })
		cancel()
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
	}
}

// state digests what the page shows.
func (d *Discord) state() string {
	h := sha256.New()
	enc := json.NewEncoder(h)
	_ = enc.Encode(d.People()) // a hash never fails
	for _, c := range d.convs {
		m, _ := d.Messages(c)
		_ = enc.Encode(m)
		_ = enc.Encode(d.TypingNow(c))
	}
	return hex.EncodeToString(h.Sum(nil)[:12])
}

// unicodeOf maps the page's reaction names to Unicode emoji.
var unicodeOf = map[string]string{
	"+1": "👍", "heart": "❤️", "joy": "😂", "thinking_face": "🤔", "sparkles": "✨", "tada": "🎉", "eyes": "👀",
}

// emojiNameOf returns the page's name of a Unicode emoji, or the emoji
// itself.
func emojiNameOf(u string) string {
	for name, e := range unicodeOf {
		if e == u {
			return name
		}
	}
	return u
}
