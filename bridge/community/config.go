package community

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/xgate-im/xgate/bridge"
	"github.com/xgate-im/xgate/kit/attach"
	"github.com/xgate-im/xgate/xmpp"
	"github.com/xgate-im/xgate/xmpp/jid"
)

// Config is one bridge group: a room and the channels bridged with it.
type Config struct {
	// Name names the group in logs and is the key of its data in the
	// store (queue, message IDs): it must not change.
	Name string
	// Room is the bare JID of the room on the host server's MUC service.
	Room jid.JID
	// Networks are the channels of the group, at least one.
	Networks []Network
	// ListenerNick is the nick of the occupant that receives the room's
	// messages for the networks. Default "bridge".
	ListenerNick string
	// IdleTimeout is how long a puppet stays in the room after its
	// person's last message. Default 1 hour.
	IdleTimeout time.Duration
	// SelfPing is how often the listener checks (XEP-0410) that the room
	// still knows it. Default 1 minute.
	SelfPing time.Duration
	// AnswerTimeout bounds the wait for the room's answer to a join or a
	// message. Default 20 seconds.
	AnswerTimeout time.Duration
	// RetryBase is the first delay after a temporary failure; it doubles
	// up to 30 seconds. Default 1 second.
	RetryBase time.Duration
	// Uploader publishes the XMPP occupants' pictures (their vCard's
	// PHOTO) where Slack and Discord can fetch them: the host server's
	// upload service (bridge.Gateway.AvatarUploader). Nil: occupants are
	// posted without a picture.
	Uploader attach.Uploader
}

// Network is one channel of a bridge group, reached through one transport
// instance (its gateway's component on the XMPP side).
type Network struct {
	// Name is the transport instance's name ("slack"): it names the
	// member in the store and is added to its people's nicks on a clash.
	Name string
	// Channel is the network's channel, as the transport names it.
	Channel bridge.ChatID
	// Bridger is the transport.
	Bridger bridge.CommunityBridger
	// Component is the gateway's component: this network's puppets join
	// the room from JIDs of its domain.
	Component Component
	// Localpart proposes the JID localpart of a person (the transport's
	// ContactLocalpart), before XEP-0106 escaping.
	Localpart func(bridge.UserID) string
}

// Component is what the hub needs of a gateway's XEP-0114 connection
// (*xmpp.Component).
type Component interface {
	Domain() jid.JID
	Send(ctx context.Context, s xmpp.Stanza) error
	Request(ctx context.Context, iq *xmpp.IQ) (*xmpp.IQ, error)
}

// Defaults.
const (
	DefaultListenerNick  = "bridge"
	DefaultIdleTimeout   = time.Hour
	DefaultSelfPing      = time.Minute
	DefaultAnswerTimeout = 20 * time.Second
	defaultRetryBase     = time.Second
	maxRetry             = 30 * time.Second
)

// withDefaults validates c and fills in the defaults.
func (c Config) withDefaults() (Config, error) {
	var bad []string
	if c.Name == "" || strings.ContainsAny(c.Name, "|\x00") {
		bad = append(bad, fmt.Sprintf("name %q must be set and contain no | ", c.Name))
	}
	if c.Room.IsZero() || c.Room.Local() == "" || !c.Room.IsBare() {
		bad = append(bad, fmt.Sprintf("room %q must be a bare room JID (room@conference.example.org)", c.Room))
	}
	if len(c.Networks) == 0 {
		bad = append(bad, "at least one channel (Slack or Discord) is needed")
	}
	seen := map[string]bool{}
	for _, n := range c.Networks {
		if n.Name == "" || n.Name == xmppSide || seen[n.Name] || n.Channel == "" || n.Bridger == nil || n.Component == nil || n.Localpart == nil {
			bad = append(bad, fmt.Sprintf("network %q: name, channel, transport and component are needed, once each", n.Name))
		}
		seen[n.Name] = true
	}
	if c.ListenerNick == "" {
		c.ListenerNick = DefaultListenerNick
	}
	if c.IdleTimeout <= 0 {
		c.IdleTimeout = DefaultIdleTimeout
	}
	if c.SelfPing <= 0 {
		c.SelfPing = DefaultSelfPing
	}
	if c.AnswerTimeout <= 0 {
		c.AnswerTimeout = DefaultAnswerTimeout
	}
	if c.RetryBase <= 0 {
		c.RetryBase = defaultRetryBase
	}
	if len(bad) > 0 {
		return c, fmt.Errorf("%w: bridge group %q: %s", ErrConfig, c.Name, strings.Join(bad, "; "))
	}
	return c, nil
}
