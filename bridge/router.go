package bridge

import (
	"context"
	"log/slog"
	"runtime"

	"github.com/xgate-im/xgate/xmpp"
	"github.com/xgate-im/xgate/xmpp/disco"
	"github.com/xgate-im/xgate/xmpp/jid"
)

// Namespaces the gateway answers.
const (
	NSVersion   = "jabber:iq:version"
	NSRegister  = "jabber:iq:register"
	NSGatewayIQ = "jabber:iq:gateway"
	NSCommands  = "http://jabber.org/protocol/commands"
	NSChatState = "http://jabber.org/protocol/chatstates"
	NSReceipts  = "urn:xmpp:receipts"
	NSMarkers   = "urn:xmpp:chat-markers:0"
	NSCorrect   = "urn:xmpp:message-correct:0"
	NSRetract   = "urn:xmpp:message-retract:1"
	NSReactions = "urn:xmpp:reactions:0"
	NSReply     = "urn:xmpp:reply:0"
	NSFallback  = "urn:xmpp:fallback:0"
	NSHints     = "urn:xmpp:hints"
	NSOOB       = "jabber:x:oob"
	NSCarbons   = "urn:xmpp:carbons:2"
	NSStyling   = "urn:xmpp:styling:0"
	NSReference = "urn:xmpp:reference:0"
)

// router is the component's handler: it routes every stanza from the host
// server to the part that handles it, and answers the iqs that need no
// part (disco, ping, version).
type router struct {
	cfg      Config
	info     Info
	domain   jid.JID
	out      *toXMPP
	contacts *contactMap
	accounts *accounts
	toNet    *toNetwork
	roster   *roster
	reg      *registrar
	rooms    *rooms // nil without group chats
	metrics  *Metrics
	life     *lifetime
	log      *slog.Logger
	// slowSlots bounds requests handled outside the dispatcher.
	slowSlots chan struct{}
}

// handleStanza is the component's handler: it routes every stanza.
func (rt *router) handleStanza(ctx context.Context, s xmpp.Stanza) {
	h := s.Head()
	if c := rt.cfg.Community; c != nil && !h.From.IsZero() && c.Claims(h.From) {
		c.HandleStanza(ctx, s)
		return
	}
	if h.From.IsZero() || h.To.Domain() != rt.domain.Domain() {
		rt.out.bounce(ctx, s, xmpp.NewStanzaError(xmpp.CondBadRequest, "missing or foreign address"))
		return
	}
	switch s := s.(type) {
	case *xmpp.IQ:
		rt.handleIQ(ctx, s)
	case *xmpp.Message:
		rt.handleMessage(ctx, s)
	case *xmpp.Presence:
		if rt.rooms != nil && isRoomLocal(s.To.Local()) {
			rt.rooms.handlePresence(ctx, s)
			return
		}
		rt.roster.handlePresence(ctx, s)
	}
}

// handleIQ answers iq get and set requests.
func (rt *router) handleIQ(ctx context.Context, iq *xmpp.IQ) {
	if iq.Type != xmpp.IQGet && iq.Type != xmpp.IQSet {
		return // responses to requests nobody waits for any more
	}
	p := iq.Payload
	toGateway := iq.To.Local() == "" && iq.To.Resource() == ""
	get := iq.Type == xmpp.IQGet
	if rt.rooms != nil && isRoomLocal(iq.To.Local()) {
		rt.rooms.handleIQ(ctx, iq)
		return
	}
	switch {
	case p.Name.Space == disco.NSItems && get && toGateway && rt.rooms != nil && (p.AttrValue("node") == "" || isParentNode(p.AttrValue("node"))):
		rt.background(ctx, iq, rt.rooms.discoItems)
	case p.Name.Space == disco.NSInfo && get && toGateway && rt.rooms != nil && isParentNode(p.AttrValue("node")):
		rt.background(ctx, iq, rt.rooms.discoParentInfo)
	case p.Name.Space == disco.NSInfo && get:
		rt.discoInfo(ctx, iq, toGateway)
	case p.Name.Space == disco.NSItems && get:
		rt.discoItems(ctx, iq, toGateway)
	case p.Name.Space == xmpp.NSPing && get:
		rt.out.reply(ctx, iq, nil)
	case p.Name.Space == NSVersion && get && toGateway:
		q := xmpp.NewElement(NSVersion, "query").Append(
			xmpp.TextElement("", "name", "xgate"),
			xmpp.TextElement("", "version", rt.cfg.Version),
			xmpp.TextElement("", "os", runtime.GOOS),
		)
		rt.out.reply(ctx, iq, q)
	case p.Name.Space == NSRegister && toGateway:
		rt.background(ctx, iq, rt.reg.handleRegisterIQ)
	case p.Name.Space == NSCommands && !get && toGateway:
		rt.background(ctx, iq, rt.reg.handleCommand)
	case p.Name.Space == NSGatewayIQ && toGateway && rt.info.ContactPrompt != "":
		rt.background(ctx, iq, rt.reg.handleGatewayIQ)
	case p.Name.Space == NSVCard && p.Name.Local == "vCard":
		rt.handleVCard(ctx, iq)
	default:
		rt.metrics.unknownStanzas.Add(1)
		rt.out.replyError(ctx, iq, xmpp.NewStanzaError(xmpp.CondServiceUnavailable, ""))
	}
}

// background runs a request that may wait for the network (registration,
// commands, address translation) outside the dispatcher, so that other
// users' stanzas are not held up. At most cap(slowSlots) run at once; more
// are refused with resource-constraint.
func (rt *router) background(ctx context.Context, iq *xmpp.IQ, handle func(context.Context, *xmpp.IQ)) {
	select {
	case rt.slowSlots <- struct{}{}:
	default:
		rt.out.replyError(ctx, iq, xmpp.NewStanzaError(xmpp.CondResourceConstraint, "The gateway is busy; try again in a moment."))
		return
	}
	rt.life.wg.Go(func() {
		defer func() { <-rt.slowSlots }()
		handle(rt.life.ctx, iq)
	})
}

// gatewayDisco is the disco#info of the gateway itself.
func gatewayDisco(tinfo Info) *disco.Info {
	info := &disco.Info{
		Identities: []disco.Identity{{Category: "gateway", Type: tinfo.Network, Name: tinfo.Name + " gateway (xgate)"}},
		Features: []string{
			disco.NSInfo, disco.NSItems, xmpp.NSPing, NSVersion, NSRegister, NSCommands,
		},
	}
	if tinfo.ContactPrompt != "" {
		info.Features = append(info.Features, NSGatewayIQ)
	}
	if tinfo.Capabilities.Groups {
		// Also a chat room service: the rooms of the users' group chats.
		info.Identities = append(info.Identities, disco.Identity{Category: "conference", Type: "text", Name: tinfo.Name + " group chats"})
		info.Features = append(info.Features, NSMUC)
	}
	return info
}

// contactDisco is the disco#info of a contact JID: what a chat with it
// supports, from the transport's capabilities.
func contactDisco(tinfo Info) *disco.Info {
	c := tinfo.Capabilities
	info := &disco.Info{
		Identities: []disco.Identity{{Category: "client", Type: "pc", Name: tinfo.Name}},
		Features:   []string{disco.NSInfo, xmpp.NSPing, NSStyling},
	}
	add := func(on bool, f ...string) {
		if on {
			info.Features = append(info.Features, f...)
		}
	}
	add(c.Typing, NSChatState)
	add(true, NSReceipts)
	add(c.ReadMarkers, NSMarkers)
	add(c.Edits, NSCorrect)
	add(c.Retractions, NSRetract)
	add(c.Reactions, NSReactions)
	add(c.Replies, NSReply)
	add(c.Attachments, NSOOB)
	add(c.Avatars, NSVCard)
	return info
}

func (rt *router) discoInfo(ctx context.Context, iq *xmpp.IQ, toGateway bool) {
	node := iq.Payload.AttrValue("node")
	var info *disco.Info
	switch {
	case toGateway && node == "":
		info = gatewayDisco(rt.info)
	case toGateway && node == NSCommands:
		info = &disco.Info{Node: node, Identities: []disco.Identity{{Category: "automation", Type: "command-list", Name: "Commands"}}, Features: []string{disco.NSInfo}}
	case toGateway:
		if cmd, ok := rt.reg.command(node, iq.From); ok {
			info = &disco.Info{Node: node, Identities: []disco.Identity{{Category: "automation", Type: "command-node", Name: cmd.name}}, Features: []string{NSCommands, "jabber:x:data"}}
		}
	case node == "":
		if _, err := rt.contacts.userFor(iq.To.Local()); err == nil {
			info = contactDisco(rt.info)
		}
	}
	if info == nil {
		rt.out.replyError(ctx, iq, xmpp.NewStanzaError(xmpp.CondItemNotFound, ""))
		return
	}
	info.Node = node
	rt.out.reply(ctx, iq, info.Element())
}

func (rt *router) discoItems(ctx context.Context, iq *xmpp.IQ, toGateway bool) {
	node := iq.Payload.AttrValue("node")
	items := &disco.Items{Node: node}
	switch {
	case toGateway && node == NSCommands:
		for _, c := range rt.reg.commandsFor(iq.From) {
			items.Items = append(items.Items, disco.Item{JID: rt.domain, Node: c.node, Name: c.name})
		}
	case toGateway && node == "":
	case node == "":
		if _, err := rt.contacts.userFor(iq.To.Local()); err != nil {
			rt.out.replyError(ctx, iq, xmpp.NewStanzaError(xmpp.CondItemNotFound, ""))
			return
		}
	default:
		rt.out.replyError(ctx, iq, xmpp.NewStanzaError(xmpp.CondItemNotFound, ""))
		return
	}
	rt.out.reply(ctx, iq, items.Element())
}
