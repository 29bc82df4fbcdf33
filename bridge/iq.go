package bridge

import (
	"context"
	"runtime"

	"github.com/xgate-im/xgate/xmpp"
	"github.com/xgate-im/xgate/xmpp/disco"
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

// handleStanza is the component's handler: it routes every stanza.
func (g *Gateway) handleStanza(ctx context.Context, s xmpp.Stanza) {
	h := s.Head()
	if h.From.IsZero() || h.To.Domain() != g.domain.Domain() {
		g.bounce(ctx, s, xmpp.NewStanzaError(xmpp.CondBadRequest, "missing or foreign address"))
		return
	}
	switch s := s.(type) {
	case *xmpp.IQ:
		g.handleIQ(ctx, s)
	case *xmpp.Message:
		g.handleMessage(ctx, s)
	case *xmpp.Presence:
		g.handlePresence(ctx, s)
	}
}

// handleIQ answers iq get and set requests.
func (g *Gateway) handleIQ(ctx context.Context, iq *xmpp.IQ) {
	if iq.Type != xmpp.IQGet && iq.Type != xmpp.IQSet {
		return // responses to requests nobody waits for any more
	}
	p := iq.Payload
	toGateway := iq.To.Local() == "" && iq.To.Resource() == ""
	get := iq.Type == xmpp.IQGet
	switch {
	case p.Name.Space == disco.NSInfo && get:
		g.discoInfo(ctx, iq, toGateway)
	case p.Name.Space == disco.NSItems && get:
		g.discoItems(ctx, iq, toGateway)
	case p.Name.Space == xmpp.NSPing && get:
		g.reply(ctx, iq, nil)
	case p.Name.Space == NSVersion && get && toGateway:
		q := xmpp.NewElement(NSVersion, "query").Append(
			xmpp.TextElement("", "name", "xgate"),
			xmpp.TextElement("", "version", g.cfg.Version),
			xmpp.TextElement("", "os", runtime.GOOS),
		)
		g.reply(ctx, iq, q)
	case p.Name.Space == NSRegister && toGateway:
		g.background(ctx, iq, g.handleRegisterIQ)
	case p.Name.Space == NSCommands && !get && toGateway:
		g.background(ctx, iq, g.handleCommand)
	case p.Name.Space == NSGatewayIQ && toGateway && g.info.ContactPrompt != "":
		g.background(ctx, iq, g.handleGatewayIQ)
	case p.Name.Space == NSVCard && p.Name.Local == "vCard":
		g.handleVCard(ctx, iq)
	default:
		g.metrics.unknownStanzas.Add(1)
		g.replyError(ctx, iq, xmpp.NewStanzaError(xmpp.CondServiceUnavailable, ""))
	}
}

// background runs a request that may wait for the network (registration,
// commands, address translation) outside the dispatcher, so that other
// users' stanzas are not held up. At most cap(slowSlots) run at once; more
// are refused with resource-constraint.
func (g *Gateway) background(ctx context.Context, iq *xmpp.IQ, handle func(context.Context, *xmpp.IQ)) {
	select {
	case g.slowSlots <- struct{}{}:
	default:
		g.replyError(ctx, iq, xmpp.NewStanzaError(xmpp.CondResourceConstraint, "The gateway is busy; try again in a moment."))
		return
	}
	g.wg.Go(func() {
		defer func() { <-g.slowSlots }()
		handle(g.runCtx, iq)
	})
}

// gatewayInfo is the disco#info of the gateway itself.
func (g *Gateway) gatewayInfo() *disco.Info {
	info := &disco.Info{
		Identities: []disco.Identity{{Category: "gateway", Type: g.info.Network, Name: g.info.Name + " gateway (xgate)"}},
		Features: []string{
			disco.NSInfo, disco.NSItems, xmpp.NSPing, NSVersion, NSRegister, NSCommands,
		},
	}
	if g.info.ContactPrompt != "" {
		info.Features = append(info.Features, NSGatewayIQ)
	}
	return info
}

// contactInfo is the disco#info of a contact JID: what a chat with it
// supports, from the transport's capabilities.
func (g *Gateway) contactInfo() *disco.Info {
	c := g.info.Capabilities
	info := &disco.Info{
		Identities: []disco.Identity{{Category: "client", Type: "pc", Name: g.info.Name}},
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

func (g *Gateway) discoInfo(ctx context.Context, iq *xmpp.IQ, toGateway bool) {
	node := iq.Payload.AttrValue("node")
	var info *disco.Info
	switch {
	case toGateway && node == "":
		info = g.gatewayInfo()
	case toGateway && node == NSCommands:
		info = &disco.Info{Node: node, Identities: []disco.Identity{{Category: "automation", Type: "command-list", Name: "Commands"}}, Features: []string{disco.NSInfo}}
	case toGateway:
		if cmd, ok := g.command(node, iq.From); ok {
			info = &disco.Info{Node: node, Identities: []disco.Identity{{Category: "automation", Type: "command-node", Name: cmd.name}}, Features: []string{NSCommands, "jabber:x:data"}}
		}
	case node == "":
		if _, err := g.contacts.userFor(iq.To.Local()); err == nil {
			info = g.contactInfo()
		}
	}
	if info == nil {
		g.replyError(ctx, iq, xmpp.NewStanzaError(xmpp.CondItemNotFound, ""))
		return
	}
	info.Node = node
	g.reply(ctx, iq, info.Element())
}

func (g *Gateway) discoItems(ctx context.Context, iq *xmpp.IQ, toGateway bool) {
	node := iq.Payload.AttrValue("node")
	items := &disco.Items{Node: node}
	switch {
	case toGateway && node == NSCommands:
		for _, c := range g.commandsFor(iq.From) {
			items.Items = append(items.Items, disco.Item{JID: g.domain, Node: c.node, Name: c.name})
		}
	case toGateway && node == "":
	case node == "":
		if _, err := g.contacts.userFor(iq.To.Local()); err != nil {
			g.replyError(ctx, iq, xmpp.NewStanzaError(xmpp.CondItemNotFound, ""))
			return
		}
	default:
		g.replyError(ctx, iq, xmpp.NewStanzaError(xmpp.CondItemNotFound, ""))
		return
	}
	g.reply(ctx, iq, items.Element())
}
