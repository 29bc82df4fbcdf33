package discord

import (
	"context"

	"github.com/xgate-im/xgate/bridge"
)

// The order of a chat across a catch-up. Catch-up reads what was said in a
// chat since its cursor and dispatches it; the connection's reader
// dispatches live events of the same chat as they come. At a READY both
// run on the reader, one after the other. At the login of a bot-linked
// account while the bot is connected, catch-up runs on the login's
// goroutine beside the bot's reader: a message said while it reads would
// be dispatched live before the older ones it is about to dispatch. So
// each chat being caught up has a gate on its connection: live events of
// the chat are held there, in order, and dispatched right after the
// catch-up's own, before any later event of the chat.

// chatGate is one chat being caught up: by how many catch-ups at once
// (bot-linked accounts share guild channels), and the events held.
type chatGate struct {
	n    int
	held []bridge.Inbound
}

// holdChats opens a gate for each chat (order key) and returns the
// function that closes one, dispatching what it held; release("") closes
// every gate still open (for a deferred call).
func (c *conn) holdChats(chats []string) (release func(chat string)) {
	open := make(map[string]bool, len(chats))
	c.gateMu.Lock()
	if c.gates == nil {
		c.gates = map[string]*chatGate{}
	}
	for _, ch := range chats {
		g := c.gates[ch]
		if g == nil {
			g = &chatGate{}
			c.gates[ch] = g
		}
		g.n++
		open[ch] = true
	}
	c.gateMu.Unlock()
	closeGate := func(ch string) {
		if !open[ch] {
			return
		}
		delete(open, ch)
		// Under gateMu, so that an event of the chat that comes now waits
		// for the held ones to be dispatched before it.
		c.gateMu.Lock()
		defer c.gateMu.Unlock()
		g := c.gates[ch]
		if g.n--; g.n > 0 {
			return
		}
		delete(c.gates, ch)
		for _, in := range g.held {
			c.dispatchNow(context.Background(), in)
		}
	}
	return func(ch string) {
		if ch != "" {
			closeGate(ch)
			return
		}
		for ch := range open {
			closeGate(ch)
		}
	}
}

// hold keeps a live event of a chat being caught up; it reports whether
// it did.
func (c *conn) hold(in bridge.Inbound) bool {
	c.gateMu.Lock()
	g := c.gates[in.Order]
	if g != nil {
		g.held = append(g.held, in)
	}
	c.gateMu.Unlock()
	if g == nil {
		return false
	}
	c.mu.Lock()
	c.changedLocked() // for tests watching the connection's events
	c.mu.Unlock()
	return true
}

// holding reports whether an event (by its ID as dispatched) is held.
func (c *conn) holding(id string) bool {
	c.gateMu.Lock()
	defer c.gateMu.Unlock()
	for _, g := range c.gates {
		for _, in := range g.held {
			if in.ID == id {
				return true
			}
		}
	}
	return false
}
