package bridge

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/xgate-im/xgate/xmpp"
	"github.com/xgate-im/xgate/xmpp/form"
	"github.com/xgate-im/xgate/xmpp/jid"
)

// XEP-0313 queries on a room, answered from the network's history
// (HistoryFetcher), which pages backwards from a message:
//
//   - with XEP-0059 <before/> (empty: the newest page), the page before it;
//   - with <after/> or a start time, the first page after it: the history
//     is read backwards until it reaches that message or time (at most
//     mamForwardPages pages of mamMaxMax), then given oldest first;
//   - with neither, the newest page (not the oldest XEP-0059 would give:
//     reading a channel's whole history to find its first page is more
//     than any client wants of a network).
//
// A start and an end time filter what is given.

// Namespaces of archive queries.
const (
	NSMAM     = "urn:xmpp:mam:2"
	NSRSM     = "http://jabber.org/protocol/rsm"
	NSForward = "urn:xmpp:forward:0"
)

// Bounds of one archive page, and of the history read for a page after
// a message or time.
const (
	mamDefaultMax   = 50
	mamMaxMax       = 100
	mamForwardPages = 10
)

// mamQuery is what an archive query asks.
type mamQuery struct {
	queryID    string
	max        int
	backwards  bool   // <before/> was given
	before     string // its stanza-id; "" for the newest page
	after      string // stanza-id of <after/>
	start, end time.Time
}

// parseMAMQuery reads a XEP-0313 <query/>.
func parseMAMQuery(q *xmpp.Element) mamQuery {
	mq := mamQuery{queryID: q.AttrValue("queryid"), max: mamDefaultMax}
	if set := q.Child(NSRSM, "set"); set != nil {
		if v, err := strconv.Atoi(set.ChildText(NSRSM, "max")); err == nil && v >= 0 {
			mq.max = min(v, mamMaxMax)
		}
		if b := set.Child(NSRSM, "before"); b != nil {
			mq.backwards, mq.before = true, b.Text()
		}
		mq.after = set.ChildText(NSRSM, "after")
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
	evs, complete, err := r.mamPage(ctx, hf, key, mq)
	if err != nil {
		r.out.replyError(ctx, iq, userError(err))
		return
	}
	v := r.existingView(user, room.Local())
	if v == nil {
		v = &roomView{room: room, members: map[UserID]GroupMember{}, nicks: map[string]UserID{}, self: UserID(acc.key.Remote), nick: user.Local()}
	}
	var first, last string
	for _, ev := range evs {
		m := roomMessageStanza(r.roomChat(ctx, v, key, ev.Sender, ev.FromSelf, ev.SenderName), ev, false)
		if first == "" {
			first = m.ID
		}
		last = m.ID
		if err := r.out.send(ctx, mamResult(room, user, mq.queryID, m.ID, ev.Time, m)); err != nil {
			return
		}
		if ev.ID != "" {
			r.dedupe.mark(key.seenKey(r.name, ev.ID), ev.Time)
		}
	}
	// The answer's end follows the results it closes.
	_ = r.out.send(ctx, iq.Result(mamFin(first, last, complete)))
}

// mamPage reads the page of the history an archive query asks for, oldest
// first, and reports whether it is the last one in the query's direction.
func (r *rooms) mamPage(ctx context.Context, hf HistoryFetcher, key chatKey, mq mamQuery) ([]MessageEvent, bool, error) {
	if mq.max == 0 {
		return nil, false, nil
	}
	inRange := func(ev MessageEvent) bool {
		return (mq.start.IsZero() || !ev.Time.Before(mq.start)) && (mq.end.IsZero() || !ev.Time.After(mq.end))
	}
	scope := key.scope(r.name)
	if mq.backwards || (mq.after == "" && mq.start.IsZero()) {
		var before MessageID
		if mq.before != "" {
			before = r.toNet.remoteID(scope, mq.before)
		}
		evs, err := hf.History(ctx, key.Chat, before, mq.max)
		if err != nil {
			return nil, false, err
		}
		complete := len(evs) < mq.max
		var out []MessageEvent
		for _, ev := range evs {
			if !mq.start.IsZero() && ev.Time.Before(mq.start) {
				complete = true // older pages hold nothing the query wants
			}
			if inRange(ev) {
				out = append(out, ev)
			}
		}
		return out, complete, nil
	}
	// Forwards: read back to the message or time the page starts after.
	var after MessageID
	if mq.after != "" {
		after = r.toNet.remoteID(scope, mq.after)
	}
	reached := func(ev MessageEvent) bool {
		return (after != "" && ev.ID == after) || (after == "" && ev.Time.Before(mq.start))
	}
	var read []MessageEvent // oldest first
	var before MessageID
	for page := 0; ; page++ {
		if page == mamForwardPages {
			return nil, false, fmt.Errorf("bridge: the archive page asked for starts more than %d messages back: %w", mamForwardPages*mamMaxMax, errTooFarBack)
		}
		evs, err := hf.History(ctx, key.Chat, before, mamMaxMax)
		if err != nil {
			return nil, false, err
		}
		stop := -1
		for i := len(evs) - 1; i >= 0; i-- {
			if reached(evs[i]) {
				stop = i
				break
			}
		}
		if stop < 0 && after != "" && (len(evs) < mamMaxMax || evs[0].ID == "") {
			return nil, false, fmt.Errorf("bridge: no message %q in this archive: %w", echo(mq.after), ErrNotFound)
		}
		if stop >= 0 || len(evs) < mamMaxMax || evs[0].ID == "" {
			read = append(evs[stop+1:], read...)
			break
		}
		read = append(slices.Clone(evs), read...)
		before = evs[0].ID
	}
	var out []MessageEvent
	for _, ev := range read {
		if inRange(ev) {
			out = append(out, ev)
		}
	}
	if len(out) > mq.max {
		return out[:mq.max], false, nil
	}
	return out, true, nil
}
