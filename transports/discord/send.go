package discord

import (
	"context"
	"net/url"

	"github.com/bwmarrin/discordgo"
)

// REST calls towards Discord. Bodies are written here rather than by
// discordgo's helpers so that they hold only fields Discord documents
// (discordgo's ChannelMessageEdit adds "ID" and "Channel", which strict
// servers refuse), and so that allowed_mentions is always explicit.

// outgoing is the body of a message create or edit.
type outgoing struct {
	Content          string            `json:"content"`
	Nonce            string            `json:"nonce,omitempty"`
	AllowedMentions  allowedMentions   `json:"allowed_mentions"`
	MessageReference *messageReference `json:"message_reference,omitempty"`
}

// allowedMentions is always sent: mentions of users written in the text
// notify them, and so does a reply its author; @everyone, @here and roles
// never do.
type allowedMentions struct {
	Parse       []string `json:"parse"`
	RepliedUser bool     `json:"replied_user"`
}

func defaultMentions() allowedMentions {
	return allowedMentions{Parse: []string{"users"}, RepliedUser: true}
}

// messageReference names the message replied to.
type messageReference struct {
	MessageID       string `json:"message_id"`
	ChannelID       string `json:"channel_id,omitempty"`
	FailIfNotExists bool   `json:"fail_if_not_exists"`
}

// openDM returns the DM channel of the connection's user with user.
func openDM(ctx context.Context, c *conn, user string) (string, error) {
	var ch struct {
		ID string `json:"id"`
	}
	body := map[string]string{"recipient_id": user}
	if err := c.request(ctx, "open DM", "POST", discordgo.EndpointUserChannels("@me"), discordgo.EndpointUserChannels(""), body, &ch); err != nil {
		return "", err
	}
	return ch.ID, nil
}

// postMessage creates a message and returns its ID.
func postMessage(ctx context.Context, c *conn, channel string, body outgoing) (string, error) {
	if body.AllowedMentions.Parse == nil {
		body.AllowedMentions = defaultMentions()
	}
	var m struct {
		ID string `json:"id"`
	}
	ep := discordgo.EndpointChannelMessages(channel)
	if err := c.request(ctx, "send message", "POST", ep, ep, body, &m); err != nil {
		return "", err
	}
	return m.ID, nil
}

// editMessage replaces a message's content.
func editMessage(ctx context.Context, c *conn, channel, id, content string) error {
	body := struct {
		Content         string          `json:"content"`
		AllowedMentions allowedMentions `json:"allowed_mentions"`
	}{content, defaultMentions()}
	return c.request(ctx, "edit message", "PATCH", discordgo.EndpointChannelMessage(channel, id),
		discordgo.EndpointChannelMessage(channel, ""), body, nil)
}

// deleteMessage deletes a message.
func deleteMessage(ctx context.Context, c *conn, channel, id string) error {
	return c.request(ctx, "delete message", "DELETE", discordgo.EndpointChannelMessage(channel, id),
		discordgo.EndpointChannelMessage(channel, ""), nil, nil)
}

// react adds (or, with remove, takes back) our reaction emoji: a Unicode
// emoji or a custom one as "name:id".
func react(ctx context.Context, c *conn, channel, id, emoji string, remove bool) error {
	method, op := "PUT", "add reaction"
	if remove {
		method, op = "DELETE", "remove reaction"
	}
	return c.request(ctx, op, method, discordgo.EndpointMessageReaction(channel, id, url.PathEscape(emoji), "@me"),
		discordgo.EndpointMessageReaction(channel, "", "", ""), nil, nil)
}

// typing shows us typing in a channel for about ten seconds.
func typing(ctx context.Context, c *conn, channel string) error {
	ep := discordgo.EndpointChannelTyping(channel)
	return c.request(ctx, "typing", "POST", ep, ep, nil, nil)
}

// markRead records a personal account's read state up to a message.
func markRead(ctx context.Context, c *conn, channel, id string) error {
	body := map[string]any{"token": nil}
	return c.request(ctx, "mark read", "POST", discordgo.EndpointChannelMessage(channel, id)+"/ack",
		discordgo.EndpointChannelMessage(channel, "")+"/ack", body, nil)
}

// getMessage reads one message.
func getMessage(ctx context.Context, c *conn, channel, id string) (*discordgo.Message, error) {
	var m discordgo.Message
	if err := c.request(ctx, "get message", "GET", discordgo.EndpointChannelMessage(channel, id),
		discordgo.EndpointChannelMessage(channel, ""), nil, &m); err != nil {
		return nil, err
	}
	return &m, nil
}

// messagesAfter reads up to 100 messages of a channel after a message,
// oldest first.
func messagesAfter(ctx context.Context, c *conn, channel, after string) ([]*discordgo.Message, error) {
	var ms []*discordgo.Message
	ep := discordgo.EndpointChannelMessages(channel)
	q := url.Values{"limit": {"100"}}
	if after != "" {
		q.Set("after", after)
	}
	if err := c.request(ctx, "read history", "GET", ep+"?"+q.Encode(), ep, nil, &ms); err != nil {
		return nil, err
	}
	sortMessages(ms)
	return ms, nil
}

// messagesBefore reads up to limit messages before a message ("": the
// newest), oldest first.
func messagesBefore(ctx context.Context, c *conn, channel, before string, limit int) ([]*discordgo.Message, error) {
	var ms []*discordgo.Message
	ep := discordgo.EndpointChannelMessages(channel)
	q := url.Values{"limit": {itoa(min(max(limit, 1), 100))}}
	if before != "" {
		q.Set("before", before)
	}
	if err := c.request(ctx, "read history", "GET", ep+"?"+q.Encode(), ep, nil, &ms); err != nil {
		return nil, err
	}
	sortMessages(ms)
	return ms, nil
}
