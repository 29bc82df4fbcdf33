package playground

import (
	"context"
	"errors"
)

// Network is one fake network as its people see it. Implementations are
// safe for concurrent use.
type Network interface {
	// ID names the network in URLs ("slack"); Name is shown ("Slack").
	ID() string
	Name() string
	// People are the identities the page may act as.
	People() []Person
	// Conversations are those person can read and write in.
	Conversations(person string) []Conversation
	// Messages are a conversation's messages, oldest first.
	Messages(conv string) ([]Message, error)
	// Send, Edit and React act as person, as that network's own client
	// would.
	Send(person, conv, text string) error
	Edit(person, conv, id, text string) error
	React(person, conv, id, emoji string) error
	// Changed returns a token of what the page shows (people,
	// conversations, messages) as soon as it differs from since, or ctx's
	// error. Changed(ctx, "") returns the current token at once, so a
	// change between two calls is never missed.
	Changed(ctx context.Context, since string) (string, error)
}

// Typer is a Network whose people can show they are typing.
type Typer interface {
	// Typing shows person typing in conv, as that network's client does
	// while a message is being written.
	Typing(person, conv string) error
}

// TypingViewer is a Network that knows who is typing in a conversation
// (an XMPP user, through the gateway); a change of it is a change of the
// network's state (Changed).
type TypingViewer interface {
	TypingNow(conv string) []string
}

// Limited is a Network without edits or reactions (SMS); the page hides
// what the network cannot do. Networks that are not Limited can do both.
type Limited interface {
	CanEdit() bool
	CanReact() bool
}

// Person is an identity of a network.
type Person struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Title string `json:"title,omitempty"`
}

// Conversation is a direct message or a channel, named as a person sees it.
type Conversation struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// Message is one message of a conversation.
type Message struct {
	ID         string     `json:"id"`
	Author     string     `json:"author"`
	AuthorName string     `json:"authorName"`
	Text       string     `json:"text"`
	Edited     bool       `json:"edited"`
	Reactions  []Reaction `json:"reactions,omitempty"`
}

// Reaction is an emoji (a name, e.g. "+1") and how many added it.
type Reaction struct {
	Emoji string `json:"emoji"`
	Count int    `json:"count"`
}

// Errors a Network returns for a request the page should not have made;
// the server answers them with 400 or 404.
var (
	// ErrNotFound is an unknown person, conversation or message.
	ErrNotFound = errors.New("playground: not found")
	// ErrNotAllowed is an action the person cannot do there (not a
	// member, not the author of the message to edit).
	ErrNotAllowed = errors.New("playground: not allowed")
)
