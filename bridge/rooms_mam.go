package bridge

import (
	"context"
	"strconv"
	"time"

	"github.com/xgate-im/xgate/xmpp"
	"github.com/xgate-im/xgate/xmpp/form"
	"github.com/xgate-im/xgate/xmpp/jid"
)

// XEP-0313 queries on a room, answered from the network's history
// (HistoryFetcher): paging backwards with XEP-0059 <before/> and <max/>,
// and the start and end filters applied to each page. Paging forwards
// (<after/>) is refused: the networks' history APIs page backwards.

// Namespaces of archive queries.
const (
	NSMAM     = "urn:xmpp:mam:2"
	NSRSM     = "http://jabber.org/protocol/rsm"
	NSForward = "urn:xmpp:forward:0"
)

// Bounds of one archive page.
const (
	mamDefaultMax = 50
	mamMaxMax     = 100
)

// mamQuery is what an archive query asks.
type mamQuery struct {
	queryID    string
	max        int
	before     string // stanza-id; "" for the newest page
	start, end time.Time
	after      bool // the client pages forwards: not supported
}

// parseMAMQuery reads a XEP-0313 <query/>.
func parseMAMQuery(q *xmpp.Element) mamQuery {
	mq := mamQuery{queryID: q.AttrValue("queryid"), max: mamDefaultMax}
	if set := q.Child(NSRSM, "set"); set != nil {
		if v, err := strconv.Atoi(set.ChildText(NSRSM, "max")); err == nil && v >= 0 {
			mq.max = min(v, mamMaxMax)
		}
		mq.before = set.ChildText(NSRSM, "before")
		mq.after = set.Child(NSRSM, "after") != nil
	}
	if x := q.Child(form.NS, "x"); x != nil {
		if f, err := form.Parse(x); err == nil {
			mq.start, _ = time.Parse(time.RFC3339, f.Value("start"))
			mq.end, _ = time.Parse(time.RFC3339, f.Value("end"))
		}
	}
	return mq
}

// mamResult wraps a room message for an archive answer.
func mamResult(room, to jid.JID, queryID, id string, stamp time.Time, m *xmpp.Message) *xmpp.Message {
	fwd := xmpp.NewElement(NSForward, "forwarded")
	if !stamp.IsZero() {
		fwd.Append(xmpp.NewElement(xmpp.NSDelay, "delay", "stamp", stamp.UTC().Format("2006-01-02T15:04:05.999Z")))
	}
	m.Delay, m.To = nil, to
	el := m.Element()
	el.Name.Space = xmpp.NSClient // a forwarded stanza names its namespace
	fwd.Append(el)
	res := xmpp.NewElement(NSMAM, "result", "queryid", queryID, "id", id).Append(fwd)
	return &xmpp.Message{Header: xmpp.Header{From: room.Bare(), To: to}, Extra: []*xmpp.Element{res}}
}

// mamFin is the end of an archive answer.
func mamFin(first, last string, complete bool) *xmpp.Element {
	fin := xmpp.NewElement(NSMAM, "fin")
	if complete {
		fin.SetAttr("complete", "true")
	}
	set := xmpp.NewElement(NSRSM, "set")
	if first != "" {
		set.Append(xmpp.TextElement(NSRSM, "first", first), xmpp.TextElement(NSRSM, "last", last))
	}
	return fin.Append(set)
}

// handleMAM answers an archive query on a room, outside the dispatcher.
func (r *rooms) handleMAM(ctx context.Context, iq *xmpp.IQ) {
	mq := parseMAMQuery(iq.Payload)
	if mq.after {
		r.out.replyError(ctx, iq, xmpp.NewStanzaError(xmpp.CondFeatureNotImplemented, "This archive pages backwards only (RSM before)."))
		return
	}
	user, room := iq.From, iq.To.Bare()
	acc, g, err := r.memberChat(ctx, iq)
	if err != nil {
		return
	}
	chat := ChatRef{Kind: Group, ID: g.ID, Parent: g.Parent}
	if c, _, err := r.chatOf(room.Local()); err == nil {
		chat = c
	}
	sess, _, _ := acc.snapshot()
	hf, ok := sess.(HistoryFetcher)
	if !ok {
		r.out.replyError(ctx, iq, xmpp.NewStanzaError(xmpp.CondFeatureNotImplemented, "This network keeps no history the gateway can read."))
		return
	}
	key := chatKey{Account: acc.key, Chat: chat}
	var before MessageID
	if mq.before != "" {
		before = r.toNet.remoteID(key.scope(r.name), mq.before)
	}
	var evs []MessageEvent
	if mq.max > 0 {
		if evs, err = hf.History(ctx, chat, before, mq.max); err != nil {
			r.out.replyError(ctx, iq, userError(err))
			return
		}
	}
	v := r.existingView(user, room.Local())
	if v == nil {
		v = &roomView{room: room, members: map[UserID]GroupMember{}, nicks: map[string]UserID{}, self: UserID(acc.key.Remote), nick: user.Local()}
	}
	var first, last string
	reachedStart := false // older pages hold nothing the query wants
	for _, ev := range evs {
		if !mq.start.IsZero() && ev.Time.Before(mq.start) {
			reachedStart = true
			continue
		}
		if !mq.end.IsZero() && ev.Time.After(mq.end) {
			continue
		}
		m := roomMessageStanza(r.roomChat(ctx, v, key, ev.Sender, ev.FromSelf, ev.SenderName), ev, false)
		id := m.ID
		if first == "" {
			first = id
		}
		last = id
		if err := r.out.send(ctx, mamResult(room, user, mq.queryID, id, ev.Time, m)); err != nil {
			return
		}
		if ev.ID != "" {
			r.dedupe.mark(key.seenKey(r.name, ev.ID))
		}
	}
	// The answer's end follows the results it closes.
	_ = r.out.send(ctx, iq.Result(mamFin(first, last, len(evs) < mq.max || reachedStart)))
}
