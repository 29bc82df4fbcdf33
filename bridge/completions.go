package bridge

import (
	"context"
	"encoding/json"
	"strconv"
	"sync"
	"time"

	"github.com/xgate-im/xgate/store"
)

// The completions of a chat's queue towards the network: committed in the
// background after the sends (several in one transaction), and looked
// for on the network when a send may have happened without its completion
// reaching the disk (see the toNetwork comment).

// completion is a sent item whose removal from its queue, with the ID
// pairs its sending produced, is to be committed; end and the receipt
// follow the commit.
type completion struct {
	seq     uint64
	refs    []store.MessageRef
	end     func()         // ends the send in sendsInFlight; may be nil
	receipt *toNetworkItem // the item whose sender asked for a receipt, or nil
}

// maxUnrecorded is how many sent items of a chat may wait for the commit
// of their completion while the chat's worker sends on (only for sessions
// that can find what they sent, SentFinder).
const maxUnrecorded = 32

// gatherCompletions is the default of Config.CompletionPeriod, the period
// at which the completions of chats whose sessions can find what they
// sent are committed. A chat sending a message a millisecond then commits
// ten in one transaction instead of one or two, and so do eight chats
// sending one in eight milliseconds; each commit writes a dozen pages and
// syncs twice. Anything that needs the pairs stored (a stop, a reaction
// or reply to a message, a session without SentFinder) commits at once
// instead (awaitRecorded), and so does a chat with maxUnrecorded/2
// completions waiting.
const gatherCompletions = 10 * time.Millisecond

// completionGroup commits the completions of every chat of a toNetwork:
// one goroutine, while any wait, takes all that wait at each period and
// commits them in one transaction.
type completionGroup struct {
	mu      sync.Mutex
	waiting []*queueWorker // workers with completions handed on since the last take
	running bool           // the committing goroutine runs
	now     chan struct{}  // commit without waiting for the period (soon); one token
}

// soon asks the group to commit what waits without waiting for the
// period to end.
func (g *completionGroup) soon() {
	select {
	case g.now <- struct{}{}:
	default:
	}
}

// awaitRecorded commits the completions waiting, without waiting for
// the period, and waits until the chat's are committed.
func (w *queueWorker) awaitRecorded() {
	w.group.soon()
	w.unrecorded.Wait()
}

// endInOrder ends a send that produced no completion, after those handed
// on before it: sendsInFlight's waiters wait for the last send of a chat
// and take it that every earlier one is recorded.
func (q *toNetwork) endInOrder(w *queueWorker, end func()) {
	if end == nil {
		return
	}
	w.awaitRecorded()
	end()
}

// handOn hands the completion of a sent item to the group's committer
// (starting it if none runs). It blocks while maxUnrecorded completions
// of the chat wait for their commit and, unless the session can find what
// it sent (pipelined), until this one is committed.
func (q *toNetwork) handOn(w *queueWorker, c completion, pipelined bool) {
	w.slots <- struct{}{}
	w.unrecorded.Add(1)
	w.doneMu.Lock()
	w.pending = append(w.pending, c)
	full := len(w.pending) >= maxUnrecorded/2
	w.doneMu.Unlock()
	g := &q.completions
	g.mu.Lock()
	if !w.inGroup {
		w.inGroup = true
		g.waiting = append(g.waiting, w)
	}
	start := !g.running
	g.running = true
	g.mu.Unlock()
	if start {
		go q.commitCompletions()
	}
	if full {
		g.soon()
	}
	if !pipelined {
		w.awaitRecorded()
	}
}

// gather waits, before a commit of completions, until the clock's next
// multiple of the period or until something asks for the commit (soon).
func (q *toNetwork) gather() {
	if q.gatherFor <= 0 {
		return
	}
	now := time.Now()
	t := time.NewTimer(now.Truncate(q.gatherFor).Add(q.gatherFor).Sub(now))
	defer t.Stop()
	select {
	case <-t.C:
	case <-q.completions.now:
	}
}

// commitCompletions commits the completions handed on, once they have
// gathered (gather), all chats' in one transaction, then ends their sends
// and sends their receipts, chat by chat in order, until none is left. It
// does not stop with the run: a worker waits for its chat's completions
// before stopping, so that what was sent is recorded at a graceful stop.
func (q *toNetwork) commitCompletions() {
	g := &q.completions
	for {
		q.gather()
		g.mu.Lock()
		ws := g.waiting
		g.waiting = nil
		for _, w := range ws {
			w.inGroup = false
		}
		if len(ws) == 0 {
			g.running = false
			g.mu.Unlock()
			return
		}
		g.mu.Unlock()
		batches := make([][]completion, 0, len(ws))
		qs := make([]store.QueueCompletions, 0, len(ws))
		taken := ws[:0]
		for _, w := range ws {
			w.doneMu.Lock()
			batch := w.pending
			w.pending = nil
			w.doneMu.Unlock()
			if len(batch) == 0 {
				continue // taken by the previous round, handed on after it
			}
			done := make([]store.OutboxCompletion, len(batch))
			for i, c := range batch {
				done[i] = store.OutboxCompletion{Seq: c.seq, Refs: c.refs}
			}
			taken = append(taken, w)
			batches = append(batches, batch)
			qs = append(qs, store.QueueCompletions{Queue: w.name, Done: done})
		}
		if len(qs) == 0 {
			continue
		}
		if err := q.outbox.OutboxDoneQueues(qs...); err != nil && len(qs) > 1 {
			// One chat's bad record must not cost the others theirs.
			for _, qc := range qs {
				if err := q.outbox.OutboxDoneAll(qc.Queue, qc.Done...); err != nil {
					q.log.Error("recording sent items", "err", err, "count", len(qc.Done))
				}
			}
		} else if err != nil {
			q.log.Error("recording sent items", "err", err, "count", len(qs[0].Done))
		}
		q.metrics.completionCommits.Add(1)
		for i, w := range taken {
			q.metrics.sentRemote.Add(uint64(len(batches[i])))
			for _, c := range batches[i] {
				if c.end != nil {
					c.end()
				}
				if c.receipt != nil {
					q.receipt(q.life.ctx, *c.receipt)
				}
				<-w.slots
				w.unrecorded.Done()
			}
		}
	}
}

// maySentBefore reports whether a queued message may have been sent
// without its completion being recorded: it was queued before this run
// started, or an attempt failed other than by a rate limit (a request may
// fail after the network took it), or some of its parts went out.
func (q *toNetwork) maySentBefore(it store.OutboxItem, ri toNetworkItem) bool {
	return it.Enqueued.Before(q.started) || it.Attempts > 0 || ri.PartsSent > 0
}

// origin is the Origin a queued message is sent with: the one it was
// given when queued (newOrigin), or for an item queued by an earlier
// version, its place in the queue, which is never reused, and the user's
// id for it.
func origin(it store.OutboxItem, ri toNetworkItem) string {
	if ri.Origin != "" {
		return ri.Origin
	}
	return strconv.FormatUint(it.Seq, 10) + ":" + ri.ID
}

// newOrigin returns an Origin no other message of this gateway had: this
// run's start and a counter. A message may be sent before it has a place
// in its queue (held.go), so the Origin cannot be that place.
func (q *toNetwork) newOrigin() string {
	return q.originBase + "." + strconv.FormatUint(q.origins.Add(1), 36)
}

// recoverSent asks the network which of the messages of a chat that may
// have been sent already (it and those of ahead) were, and records those
// as sent (one commit), with their receipts. It returns how many it found.
func (q *toNetwork) recoverSent(ctx context.Context, w *queueWorker, finder SentFinder, chat chatKey, it store.OutboxItem, ri toNetworkItem, ahead []store.OutboxItem) (int, error) {
	type candidate struct {
		it store.OutboxItem
		ri toNetworkItem
	}
	cands := []candidate{{it, ri}}
	since := it.Enqueued
	for _, a := range ahead {
		var ar toNetworkItem
		if json.Unmarshal(a.Payload, &ar) != nil || ar.Kind != kindMessage || !q.maySentBefore(a, ar) {
			continue
		}
		cands = append(cands, candidate{a, ar})
		if a.Enqueued.Before(since) {
			since = a.Enqueued
		}
	}
	origins := make([]string, len(cands))
	for i, c := range cands {
		origins[i] = origin(c.it, c.ri)
	}
	w.checkedUpTo = cands[len(cands)-1].it.Seq
	sctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	// A minute earlier: the network's clock is not ours.
	found, err := finder.FindSent(sctx, chat.Chat, since.Add(-time.Minute), origins)
	if err != nil {
		return 0, err
	}
	scope := chat.scope(q.name)
	var done []store.OutboxCompletion
	var receipts []toNetworkItem
	for i, c := range cands {
		id, ok := found[origins[i]]
		if !ok {
			continue
		}
		if c.ri.FirstID != "" {
			id = MessageID(c.ri.FirstID) // the user's id maps to the first part
		}
		done = append(done, store.OutboxCompletion{Seq: c.it.Seq, Refs: messageRefs(scope, c.ri, id)})
		if c.ri.Receipt && c.ri.ID != "" {
			receipts = append(receipts, c.ri)
		}
	}
	if len(done) == 0 {
		return 0, nil
	}
	if err := q.outbox.OutboxDoneAll(it.Queue, done...); err != nil {
		return 0, err
	}
	q.log.Info("messages found sent before a restart: recorded, not sent again", "queue", it.Queue, "count", len(done))
	q.metrics.sentRemote.Add(uint64(len(done)))
	for _, r := range receipts {
		q.receipt(ctx, r)
	}
	return len(done), nil
}

// messageRefs returns the ID pairs of a message sent as id: its stanza id
// and its origin-id, if any.
func messageRefs(scope string, ri toNetworkItem, id MessageID) []store.MessageRef {
	var refs []store.MessageRef
	for _, x := range []string{ri.ID, ri.OriginID} {
		if x != "" {
			refs = append(refs, store.MessageRef{Scope: scope, XMPPID: x, RemoteID: string(id)})
		}
	}
	return refs
}
