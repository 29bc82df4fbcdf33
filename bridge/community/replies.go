package community

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/xgate-im/xgate/bridge"
	"github.com/xgate-im/xgate/store"
	"github.com/xgate-im/xgate/xmpp"
)

// Reactions and replies across a group.
//
// Reactions: every person's whole set of reactions on a message is kept
// in the store (KV "react|G"), by member and person. In the room each
// person reacts from their own occupant (XEP-0444, their whole set). On a
// network the bot cannot react under another person's name: the bot's
// reactions on a message are the union of the reactions of everyone who
// is not on that network (the network's own people react themselves), so
// an emoji shows there as long as someone elsewhere keeps it.
//
// Replies: a reply names the group-wide ID of the message it answers. The
// room gets a XEP-0461 reply with a quoted fallback (from the recent
// messages kept in memory), Slack a reply in the thread of the message
// (its root, when the message is itself in a thread), Discord the ID of the
// message, which the transport shows as a link to it (webhooks cannot
// make Discord replies).

// Namespaces of reactions and replies.
const (
	nsReactions = "urn:xmpp:reactions:0"
	nsReply     = "urn:xmpp:reply:0"
	nsStanzaID  = "urn:xmpp:sid:0"
	nsHints     = "urn:xmpp:hints"
)

// Pseudo-members of the message refs (no instance name has a colon).
const (
	// rootScope+MEMBER keeps the thread root of a message on a network
	// that has threads (Slack), for the replies to it.
	rootScope = "root:"
	// targetScope keeps the ID by which the room's occupants name a
	// message in reactions and replies: its stanza-id when the room gives
	// one, else its id.
	targetScope = "target:"
	// roomAlias keeps every ID by which the room's occupants may name a
	// message (id, stanza-id).
	roomAlias = "rid:"
)

// replyOf fills in the message a network's message answers: a Discord
// reply's message, a Slack thread's root. It also keeps the message's
// thread root.
func (s *netSink) replyOf(p *post, ev bridge.MessageEvent) ([]store.MessageRef, error) {
	h := s.h
	to := ev.ReplyTo
	if to == "" {
		to = ev.Thread
	}
	var refs []store.MessageRef
	if ev.Thread != "" {
		refs = append(refs, store.MessageRef{Scope: h.scope(rootScope + s.net), XMPPID: p.G, RemoteID: string(ev.Thread)})
	}
	g, err := h.postedID(s.net, string(to))
	if err != nil {
		return nil, err
	}
	p.ReplyTo = g
	return refs, nil
}

// replyOn sets the reply of a message to a network: the network's ID of
// the message answered, and its thread.
func (h *Hub) replyOn(dest, g string, msg *bridge.OutgoingMessage) error {
	if g == "" {
		return nil
	}
	id, err := h.memberID(dest, g)
	if err != nil || id == "" {
		return err // the message answered never reached it: a plain message
	}
	root, err := h.memberID(rootScope+dest, g)
	if err != nil {
		return err
	}
	if root == "" {
		root = id
	}
	msg.ReplyTo, msg.Thread = bridge.MessageID(id), bridge.MessageID(root)
	return nil
}

// personKey names a person of a member in the reactions kept.
func personKey(member, sender string) string { return member + "|" + sender }

// reactionsKey is the KV key of a message's reactions.
func reactionsKey(g string) string { return "react|" + g }

// react records a person's new set of reactions on a message and queues
// it for the other members.
func (h *Hub) react(p post) error {
	if p.Sender == "" {
		return nil
	}
	h.reactMu.Lock()
	defer h.reactMu.Unlock()
	all, err := h.reactions(p.G)
	if err != nil {
		return err
	}
	key := personKey(p.From, p.Sender)
	if slices.Equal(all[key], p.Emojis) {
		return nil // nothing changed (an echo, or an event seen again)
	}
	if len(p.Emojis) == 0 {
		delete(all, key)
	} else {
		all[key] = p.Emojis
	}
	b, err := json.Marshal(all)
	if err != nil {
		return fmt.Errorf("community: encoding reactions: %w", err)
	}
	if err := h.db.KVPut(h.queue, reactionsKey(p.G), b); err != nil {
		return fmt.Errorf("community: keeping reactions: %w", err)
	}
	return h.enqueue(p)
}

// reactions returns the reactions kept on a message, by person.
func (h *Hub) reactions(g string) (map[string][]string, error) {
	all := map[string][]string{}
	b, err := h.db.KVGet(h.queue, reactionsKey(g))
	if errors.Is(err, store.ErrNotFound) {
		return all, nil
	}
	if err != nil {
		return nil, fmt.Errorf("community: reading reactions: %w", err)
	}
	if err := json.Unmarshal(b, &all); err != nil {
		return nil, fmt.Errorf("community: reading reactions: %v: %w", err, bridge.ErrInvalidInput)
	}
	return all, nil
}

// reactionsFor is what the bot of a network shows on a message: the
// reactions of everyone not on that network, each emoji once, in a stable
// order.
func (h *Hub) reactionsFor(dest, g string) []string {
	h.reactMu.Lock()
	all, err := h.reactions(g)
	h.reactMu.Unlock()
	if err != nil {
		h.log.Warn("reading reactions", "err", err)
		return nil
	}
	keys := make([]string, 0, len(all))
	for k := range all {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := []string{}
	for _, k := range keys {
		if strings.HasPrefix(k, dest+"|") {
			continue
		}
		for _, e := range all[k] {
			if !slices.Contains(out, e) {
				out = append(out, e)
			}
		}
	}
	return out
}

// quote is what the room's reply fallback shows of a message.
type quote struct {
	name, nick, text string
}

// maxQuotes bounds the recent messages kept for reply fallbacks.
const maxQuotes = 2048

// quotes keeps the last maxQuotes messages of the group, in memory only
// (their text is not written to the store): a reply to an older message
// reaches the room without the quoted fallback.
type quotes struct {
	mu    sync.Mutex
	byG   map[string]quote
	order []string // ring of keys
	next  int
}

func (q *quotes) put(g string, v quote) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.byG == nil {
		q.byG = map[string]quote{}
		q.order = make([]string, maxQuotes)
	}
	if old, ok := q.byG[g]; ok {
		if v.nick == "" {
			v.nick = old.nick
		}
		q.byG[g] = v
		return
	}
	if k := q.order[q.next]; k != "" {
		delete(q.byG, k)
	}
	q.order[q.next] = g
	q.next = (q.next + 1) % maxQuotes
	q.byG[g] = v
}

func (q *quotes) get(g string) (quote, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	v, ok := q.byG[g]
	return v, ok
}

// setNick records the nick under which a message is in the room.
func (q *quotes) setNick(g, nick string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if v, ok := q.byG[g]; ok {
		v.nick = nick
		q.byG[g] = v
	}
}

// maxQuoteRunes bounds the quoted text of a reply fallback.
const maxQuoteRunes = 100

// replyElements returns the body and elements of a reply in the room to
// group-wide message g: the XEP-0461 reply and, when the message is
// recent, a quoted fallback (XEP-0428) before body.
func (r *room) replyElements(g, body string) (string, []*xmpp.Element, error) {
	target, err := r.h.memberID(targetScope, g)
	if err != nil || target == "" {
		return body, nil, err
	}
	q, known := r.h.quotes.get(g)
	reply := xmpp.NewElement(nsReply, "reply", "id", target)
	if known && q.nick != "" {
		if to, err := r.jid.WithResource(q.nick); err == nil {
			reply.SetAttr("to", to.String())
		}
	}
	els := []*xmpp.Element{reply}
	if !known {
		return body, els, nil
	}
	text := q.text
	if rs := []rune(text); len(rs) > maxQuoteRunes {
		text = string(rs[:maxQuoteRunes]) + "…"
	}
	name := q.name
	if name == "" {
		name = q.nick
	}
	var b strings.Builder
	for i, line := range strings.Split(text, "\n") {
		if i == 0 && name != "" {
			line = name + ": " + line
		}
		b.WriteString("> " + line + "\n")
	}
	fallback := b.String()
	n := len([]rune(fallback))
	els = append(els, xmpp.NewElement(nsFallback, "fallback", "for", nsReply).Append(
		xmpp.NewElement("", "body", "start", "0", "end", strconv.Itoa(n))))
	return fallback + body, els, nil
}

// reactionsElement is a XEP-0444 reactions element: a person's whole set
// on message target.
func reactionsElement(target string, emojis []string) *xmpp.Element {
	el := xmpp.NewElement(nsReactions, "reactions", "id", target)
	for _, e := range emojis {
		r := xmpp.NewElement("", "reaction")
		r.AppendText(e)
		el.Append(r)
	}
	return el
}

// stanzaID returns the ID the room gave a message (XEP-0359), "" if none.
func stanzaID(m *xmpp.Message, room string) string {
	for _, e := range m.Extra {
		if e.Name.Space == nsStanzaID && e.Name.Local == "stanza-id" && e.AttrValue("by") == room {
			return e.AttrValue("id")
		}
	}
	return ""
}

// roomRefs are the refs by which the room's occupants name message g:
// its id and the room's stanza-id (scope roomAlias), and the one the
// group uses in reactions and replies (targetScope: the stanza-id when the
// room gave one, else the id).
func (h *Hub) roomRefs(g, id, sid string) []store.MessageRef {
	var refs []store.MessageRef
	target := id
	for _, a := range []string{id, sid} {
		if a != "" {
			refs = append(refs, store.MessageRef{Scope: h.scope(roomAlias), XMPPID: g, RemoteID: a})
		}
	}
	if sid != "" {
		target = sid
	}
	if target != "" {
		refs = append(refs, store.MessageRef{Scope: h.scope(targetScope), XMPPID: g, RemoteID: target})
	}
	return refs
}

// roomMessage returns the group-wide ID of a message the room's occupants
// name by id (in a reaction or a reply), "" if unknown.
func (h *Hub) roomMessage(id string) (string, error) {
	if id == "" {
		return "", nil
	}
	h.room.mu.Lock()
	g, ok := h.room.aliases[id]
	h.room.mu.Unlock()
	if ok {
		return g, nil // being delivered
	}
	return h.groupID(roomAlias, id)
}

// withoutFallback removes from a body the parts its XEP-0428 fallbacks
// for a reply mark (code point ranges; no range: the whole body), and the
// line breaks the quote leaves at its start.
func withoutFallback(body string, extra []*xmpp.Element) string {
	return strings.TrimLeft(bridge.StripFallbacks(body, extra, nsReply), "\n")
}
