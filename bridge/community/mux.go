package community

import (
	"context"
	"fmt"
	"sync"

	"github.com/xgate-im/xgate/bridge"
	"github.com/xgate-im/xgate/xmpp"
	"github.com/xgate-im/xgate/xmpp/jid"
)

// Mux hands the stanzas of bridged rooms to their hubs. One Mux serves
// every gateway of the process (bridge.Config.Community): a room's
// stanzas reach the hub whichever of its networks' components they were
// sent to. Safe for concurrent use.
type Mux struct {
	mu   sync.RWMutex
	hubs map[jid.JID]*Hub
}

var _ bridge.CommunityHandler = (*Mux)(nil)

// NewMux returns an empty Mux.
func NewMux() *Mux { return &Mux{hubs: map[jid.JID]*Hub{}} }

// Add routes the stanzas of h's room to h. A room belongs to one group.
func (m *Mux) Add(h *Hub) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if other, ok := m.hubs[h.cfg.Room]; ok {
		return fmt.Errorf("%w: room %s is in bridge groups %q and %q", ErrConfig, h.cfg.Room, other.cfg.Name, h.cfg.Name)
	}
	m.hubs[h.cfg.Room] = h
	// The puppets' copies of the room's messages are dropped before they
	// are decoded: with many puppets they are most of what the
	// components read.
	seen := map[Component]bool{}
	for _, n := range h.cfg.Networks {
		c, ok := n.Component.(interface {
			SkipStanzas(func(start *xmpp.Element) bool)
		})
		if ok && !seen[n.Component] {
			seen[n.Component] = true
			c.SkipStanzas(h.room.skip)
		}
	}
	return nil
}

// Claims implements bridge.CommunityHandler.
func (m *Mux) Claims(from jid.JID) bool {
	m.mu.RLock()
	defer m.mu.RUnlock()
	_, ok := m.hubs[from.Bare()]
	return ok
}

// HandleStanza implements bridge.CommunityHandler: it queues the stanza
// for its hub without blocking.
func (m *Mux) HandleStanza(_ context.Context, s xmpp.Stanza) {
	m.mu.RLock()
	h := m.hubs[s.Head().From.Bare()]
	m.mu.RUnlock()
	if h != nil {
		h.inbound(s)
	}
}
