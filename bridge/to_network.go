package bridge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/xgate-im/xgate/kit/split"
	"github.com/xgate-im/xgate/store"
	"github.com/xgate-im/xgate/xmpp"
	"github.com/xgate-im/xgate/xmpp/jid"
)

// queueSep separates the parts of a per-chat queue name.
const queueSep = "\x1e"

// networkOutbox is the part of the store the to-network queues use: the
// outbox and the message-ID map. *store.DB implements it.
type networkOutbox interface {
	Enqueue(queue string, payload []byte) (uint64, error)
	EnqueueAll(queue string, payloads ...[]byte) ([]uint64, error)
	OutboxPeek(queue string, n int) ([]store.OutboxItem, error)
	OutboxPeekAfter(queue string, after uint64, n int) ([]store.OutboxItem, error)
	OutboxQueues() ([]string, error)
	OutboxUpdate(it store.OutboxItem) error
	OutboxAck(queue string, seqs ...uint64) error
	OutboxDoneAll(queue string, done ...store.OutboxCompletion) error
	OutboxDoneQueues(qs ...store.QueueCompletions) error
	RemoteMessageID(scope, xmppID string) (string, error)
}

// xmppReplies is how the to-network queues answer the XMPP sender: bounces
// for what cannot be sent, receipts for what was.
type xmppReplies interface {
	bounce(ctx context.Context, s xmpp.Stanza, e *xmpp.StanzaError)
	send(ctx context.Context, s xmpp.Stanza) error
	newID() string
}

// toNetwork keeps one durable, ordered queue per chat of an account
// towards the network, each drained by its own worker goroutine while it
// has items: order inside a chat, parallelism across chats. It depends on
// the outbox, a session lookup and the replies to XMPP (bounces,
// receipts), plus two lookups it shares with fromNetwork: which remote
// messages were delivered (the targets a user may name) and which sends
// are in flight (sendsInFlight).
//
// The dispatcher hands a new item to the chat's worker through a bounded
// in-memory intake and goes on with the next stanza; one slow chat or one
// disk commit never holds up the others. While the chat's stored queue is
// empty, the worker sends what arrives from memory, and the item is
// stored only if it has to be (held.go): its send failed and will be
// retried, or it waited Config.HoldUnstored without being sent. Otherwise
// the item is stored (one transaction for a burst) before it is tried.
// Either way a crash, an outage or a rate limit loses nothing the host
// server handed over longer ago than that.
//
// Once an item is sent, its completion (the item removed, the ID pair of a
// message recorded) is committed in the background, those of every chat
// in one transaction a Config.CompletionPeriod (completionGroup), and the
// receipt follows the commit.
// When the session can find the messages it sent (SentFinder), the worker
// sends the next item meanwhile, up to maxUnrecorded ahead of the commits:
// after a crash, the messages sent and not recorded are found on the
// network (recoverSent) instead of sent again, and their copies coming
// back from the network wait for that search (the chat is marked as
// sending from resume on). Without a SentFinder the worker waits for each
// commit, so a crash leaves at most one message sent and unrecorded.
type toNetwork struct {
	name            string // the gateway instance
	caps            Capabilities
	retryBase       time.Duration
	deliveryTimeout time.Duration
	hold            time.Duration // Config.HoldUnstored (held.go)
	gatherFor       time.Duration // Config.CompletionPeriod (completions.go)
	outbox          networkOutbox
	// session returns the live session of an account; a *noSessionError
	// bounces the item, any other error retries it later.
	session func(store.AccountKey) (Session, error)
	// delivered reports whether a remote message was delivered to the
	// user (a message the user may react to, correct or retract).
	delivered func(store.SeenKey) bool
	// trustUnknownUntil: until then, a message ID the gateway has no
	// record of may still be a remote message delivered before records
	// began (a store upgraded from schema 1), and is passed on as it is.
	trustUnknownUntil time.Time
	// authFailed reports credentials the network refused while sending.
	authFailed func(ctx context.Context, k store.AccountKey, reason string)
	replies    xmppReplies
	// sending tracks the messages being sent whose ID pairs are not
	// stored yet.
	sending *sendsInFlight
	// sent records the senders of messages whose delivery the transport
	// reports (delivery.go).
	sent    *sentLog
	metrics *Metrics
	log     *slog.Logger
	life    *lifetime
	// ephemeralSlots bounds concurrent typing and marker calls to the
	// network; beyond it they are dropped (they are worthless late).
	ephemeralSlots chan struct{}
	// started is when resume ran: an item stored before it may have been
	// sent by the previous run without its completion reaching the disk.
	started time.Time

	// originBase and origins make the Origins of messages (newOrigin).
	originBase string
	origins    atomic.Uint64

	// completions commits the completions of every chat (completions.go).
	completions completionGroup

	mu     sync.Mutex
	active map[string]*queueWorker // running workers by queue name
	wg     sync.WaitGroup
}

// queueWorker is the state shared between a queue's worker and the
// goroutines handing it items.
type queueWorker struct {
	intake chan *heldItem // items not stored yet, in arrival order
	wake   chan struct{}  // something changed: look at the queue again
	// unstored counts the items handed to this worker and neither stored
	// nor settled yet: in a sender's hand, in the intake, or held (under
	// toNetwork.mu). A worker is idle only when it is 0.
	unstored int
	closed   bool // the worker is stopping: store directly (under toNetwork.mu)
	// saved counts the batches the saver stored (under toNetwork.mu).
	saved uint64
	// quit stops the saver.
	quit chan struct{}

	// The items taken from the intake and not stored (held.go), guarded
	// by heldMu, which is taken before toNetwork.mu and held across the
	// commit that stores them.
	heldMu sync.Mutex
	held   []*heldItem // in arrival order; only the first may be claimed
	// direct is true while the worker sends held items from memory: the
	// stored queue has nothing it has not handled.
	direct bool
	fresh  chan struct{} // the saver held new items for the worker
	// current is the held item the worker is attempting (worker only).
	current *heldItem

	// The completions of sent items waiting for their commit, in order
	// (commitCompletions), guarded by doneMu. inGroup is true while the
	// worker is in its completionGroup's waiting list (under the group's
	// mu).
	doneMu  sync.Mutex
	pending []completion
	inGroup bool
	group   *completionGroup // the toNetwork's
	name    string           // the queue's
	// slots holds one token per completion not committed yet: at most
	// maxUnrecorded. unrecorded counts them for the worker to wait on.
	slots      chan struct{}
	unrecorded sync.WaitGroup
	// Owned by the worker goroutine: recovering ends the mark resume set
	// on the chat's ID scope until the messages a previous run may have
	// sent are looked for; checkedUpTo is the last item looked for.
	recovering  func()
	checkedUpTo uint64
}

// lingerIdle is how long a worker whose queue is empty waits for the next
// item before it stops: a chat with steady traffic keeps its goroutines
// rather than starting them again for every message.
const lingerIdle = time.Second

// enqueue hands an item to its chat's worker. It blocks only while that
// chat's intake is full.
func (q *toNetwork) enqueue(ctx context.Context, chat chatKey, it toNetworkItem) error {
	it.Account, it.Peer = chat.Account.Remote, chat.Chat.Peer
	if chat.Chat.Kind != Direct || chat.Chat.ID != "" {
		it.Chat = &chat.Chat
	}
	if it.Kind == kindMessage {
		it.Origin = q.newOrigin()
	}
	b, err := json.Marshal(it)
	if err != nil {
		return fmt.Errorf("bridge: encode queued item: %w", err)
	}
	h := &heldItem{payload: b, ri: it, arrived: time.Now()}
	name := chat.queue(q.name)
	q.mu.Lock()
	w := q.active[name]
	if w == nil && q.running() {
		w = q.start(name, nil)
	}
	if w == nil || w.closed {
		// Not running (shutting down): store it for the next start.
		q.mu.Unlock()
		_, err := q.outbox.Enqueue(name, b)
		return err
	}
	w.unstored++ // until it is stored or settled
	select {
	case w.intake <- h:
		q.mu.Unlock()
		return nil
	default:
	}
	q.mu.Unlock()
	select {
	case w.intake <- h:
		return nil
	case <-ctx.Done():
		q.mu.Lock()
		w.unstored--
		q.mu.Unlock()
		return ctx.Err()
	}
}

func (q *toNetwork) running() bool {
	return q.life.running()
}

// start starts a worker for a queue; q.mu is held. recovering, if not
// nil, ends the chat's mark as sending (see resume).
func (q *toNetwork) start(name string, recovering func()) *queueWorker {
	w := &queueWorker{
		intake: make(chan *heldItem, 256), wake: make(chan struct{}, 1), quit: make(chan struct{}),
		fresh: make(chan struct{}, 1), slots: make(chan struct{}, maxUnrecorded), recovering: recovering, name: name, group: &q.completions,
	}
	q.active[name] = w
	ctx := q.life.ctx
	q.wg.Go(func() { q.work(ctx, name, w) })
	return w
}

// kick starts a worker for a stored queue, or wakes the running one.
func (q *toNetwork) kick(name string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if w, ok := q.active[name]; ok {
		select {
		case w.wake <- struct{}{}:
		default:
		}
		return
	}
	if q.running() {
		q.start(name, nil)
	}
}

// resume starts workers for the queues left over from the last run. Each
// such chat is marked as sending (sendsInFlight) until its worker has
// looked for the messages the last run may have sent without recording
// them: the copies of those the network sends back wait for it, rather
// than show as written elsewhere.
func (q *toNetwork) resume(ctx context.Context) error {
	q.started = time.Now()
	names, err := q.outbox.OutboxQueues()
	if err != nil {
		return err
	}
	prefix := "tx" + queueSep + q.name + queueSep
	for _, n := range names {
		if !strings.HasPrefix(n, prefix) {
			continue
		}
		var mark func()
		if items, err := q.outbox.OutboxPeek(n, 1); err == nil && len(items) == 1 {
			var ri toNetworkItem
			if json.Unmarshal(items[0].Payload, &ri) == nil {
				user, _ := jid.Parse(ri.User)
				key := chatKey{Account: store.AccountKey{User: user.Bare().String(), Transport: q.name, Remote: ri.Account}, Chat: ri.chat()}
				mark = q.sending.begin(key.scope(q.name))
			}
		}
		q.mu.Lock()
		if w, ok := q.active[n]; ok || !q.running() {
			if ok {
				select {
				case w.wake <- struct{}{}:
				default:
				}
			}
			if mark != nil {
				mark()
			}
		} else {
			q.start(n, mark)
		}
		q.mu.Unlock()
	}
	return nil
}

// resumeAccount retries the queues of an account at once, after it logged
// in.
func (q *toNetwork) resumeAccount(k store.AccountKey) {
	names, err := q.outbox.OutboxQueues()
	if err != nil {
		q.log.Error("listing queues", "err", err)
		return
	}
	prefix := accountQueuePrefix(q.name, k)
	for _, n := range names {
		if !strings.HasPrefix(n, prefix) {
			continue
		}
		if items, err := q.outbox.OutboxPeek(n, 1); err == nil && len(items) == 1 && !items[0].NotBefore.IsZero() {
			items[0].NotBefore = time.Time{}
			_ = q.outbox.OutboxUpdate(items[0])
		}
		q.kick(n)
	}
}

// wait waits for every worker to stop (after the run context ended).
func (q *toNetwork) wait() { q.wg.Wait() }

// work drains one queue in order until it is empty and stays idle for
// lingerIdle. A saver goroutine of its own takes what arrives in the
// intake as it arrives, however long a send takes, and stores it at once
// or, while the worker sends from memory, within Config.HoldUnstored
// (held.go): a backlog grows in the store, never in memory.
func (q *toNetwork) work(ctx context.Context, name string, w *queueWorker) {
	saverDone := make(chan struct{})
	go func() {
		defer close(saverDone)
		q.save(ctx, name, w)
	}()
	defer func() {
		w.awaitRecorded() // every completion committed before another worker may start
		w.endRecovery()
		close(w.quit)
		<-saverDone
		q.stop(name, w)
	}()
	// ahead holds the items read from the queue and not handled yet: one
	// read transaction for a run of items, read again after a retry (it
	// changes the head). after is the last item handled (sent, its
	// completion maybe still being committed, or dropped): reads start
	// past it.
	var ahead []store.OutboxItem
	var after uint64
	for {
		if len(ahead) == 0 {
			q.mu.Lock()
			savedBefore := w.saved
			q.mu.Unlock()
			items, err := q.outbox.OutboxPeekAfter(name, after, peekAhead)
			if err != nil {
				q.log.Error("reading queue", "err", err)
				if !sleepCtx(ctx, 5*time.Second) {
					return
				}
				continue
			}
			if len(items) == 0 {
				w.endRecovery()
				var ok bool
				if after, ok = q.direct(ctx, name, w, savedBefore, after); !ok {
					return
				}
				continue
			}
			ahead = items
		}
		it := ahead[0]
		ahead = ahead[1:]
		if d := time.Until(it.NotBefore); d > 0 {
			ahead = nil
			timer := time.NewTimer(d)
			select {
			case <-ctx.Done():
				timer.Stop()
				return
			case <-timer.C:
			case <-w.wake:
				timer.Stop()
			}
			continue
		}
		if ctx.Err() != nil {
			return
		}
		var ri toNetworkItem
		if err := json.Unmarshal(it.Payload, &ri); err != nil {
			q.log.Error("dropping unreadable queued item", "queue", it.Queue, "err", err)
			_ = q.outbox.OutboxAck(it.Queue, it.Seq)
			after = it.Seq
			continue
		}
		if q.attempt(ctx, w, it, ri, ahead) {
			after = it.Seq
		} else {
			ahead = nil
		}
	}
}

// endRecovery ends the chat's mark as sending set by resume, once the
// completions found or sent so far are committed. Worker goroutine only.
func (w *queueWorker) endRecovery() {
	if w.recovering == nil {
		return
	}
	w.awaitRecorded()
	w.recovering()
	w.recovering = nil
}

// peekAhead is how many items of a queue a worker reads at once.
const peekAhead = 64

func sleepCtx(ctx context.Context, d time.Duration) bool {
	select {
	case <-ctx.Done():
		return false
	case <-time.After(d):
		return true
	}
}

// attempt tries to deliver the head of a queue once and records the
// outcome: done (its completion handed to commitCompletions), retry later,
// or bounced to the sender. It reports whether the item is handled, so
// that the next one read with it (ahead) may follow without reading the
// queue again.
func (q *toNetwork) attempt(ctx context.Context, w *queueWorker, it store.OutboxItem, ri toNetworkItem, ahead []store.OutboxItem) (handled bool) {
	user, _ := jid.Parse(ri.User)
	key := store.AccountKey{User: user.Bare().String(), Transport: q.name, Remote: ri.Account}
	chat := chatKey{Account: key, Chat: ri.chat()}
	sess, err := q.session(key)
	var gone *noSessionError
	switch {
	case errors.As(err, &gone):
		q.settle(w, &it)
		q.fail(ctx, it, ri, gone.Bounce)
		return true
	case err != nil:
		q.retry(ctx, w, it, ri, err)
		return false
	}
	finder, pipelined := sess.(SentFinder)
	var end func()
	if ri.Kind == kindMessage {
		end = q.sending.begin(chat.scope(q.name))
		if pipelined && it.Seq > w.checkedUpTo && q.maySentBefore(it, ri) {
			found, err := q.recoverSent(ctx, w, finder, chat, it, ri, ahead)
			var rl *RateLimitError
			switch {
			case err == nil && found > 0:
				// Recorded and gone from the queue: read it again.
				w.endRecovery()
				q.endInOrder(w, end)
				return false
			case errors.As(err, &rl), errors.Is(err, ErrTemporary), errors.Is(err, context.DeadlineExceeded), ctx.Err() != nil:
				w.checkedUpTo = 0
				if err == nil {
					err = ctx.Err() // stopping, nothing found: err was nil
				}
				q.retry(ctx, w, it, ri, err)
				q.endInOrder(w, end)
				return false
			case err != nil:
				q.log.Warn("looking for messages sent before a restart; sending them", "err", err)
			}
		}
		w.endRecovery()
	}
	if ri.Kind != kindMessage || ri.ReplyTo != "" || ri.Thread != "" {
		// It names a message, maybe one sent just before: its pair must
		// be in the store.
		w.awaitRecorded()
	}
	refs, err := q.do(ctx, w, sess, chat, &it, ri)
	var rl *RateLimitError
	switch {
	case err == nil:
		q.settle(w, &it)
		awaitReport := q.noteSent(chat, ri, refs)
		c := completion{seq: it.Seq, refs: refs, end: end}
		if ri.Receipt && ri.ID != "" && !awaitReport {
			c.receipt = &ri
		}
		q.handOn(w, c, pipelined)
		return true
	case errors.As(err, &rl):
		q.metrics.rateLimited.Add(1)
		q.retry(ctx, w, it, ri, err)
	case errors.Is(err, ErrTemporary), errors.Is(err, context.DeadlineExceeded), ctx.Err() != nil:
		q.retry(ctx, w, it, ri, err)
	case errors.Is(err, ErrAuth):
		q.authFailed(ctx, key, cleanError(err))
		q.retry(ctx, w, it, ri, err)
	default:
		q.log.Info("message refused by the network", "user", key.User, "account", key.Remote, "err", err, "kind", ri.Kind)
		q.settle(w, &it)
		q.fail(ctx, it, ri, sendError(err))
		q.endInOrder(w, end)
		return true
	}
	q.endInOrder(w, end)
	return false
}

// do performs one queued action. It returns the message references to
// record with its completion.
func (q *toNetwork) do(ctx context.Context, w *queueWorker, sess Session, key chatKey, it *store.OutboxItem, ri toNetworkItem) ([]store.MessageRef, error) {
	chat, scope := key.Chat, key.scope(q.name)
	sctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	switch ri.Kind {
	case kindMessage:
		msg := OutgoingMessage{Text: ri.Text, Attachments: ri.Files, Origin: origin(*it, ri)}
		if ri.ReplyTo != "" {
			msg.ReplyTo = q.remoteID(scope, ri.ReplyTo)
		}
		if ri.Thread != "" {
			msg.Thread = q.remoteID(scope, ri.Thread)
		}
		id, err := q.sendParts(sctx, w, sess, chat, q.chatCaps(sctx, sess, chat).MaxMessageLength, msg, it, ri)
		if err != nil {
			return nil, err
		}
		return messageRefs(scope, ri, id), nil
	case kindEdit:
		e, ok := sess.(Editor)
		if !ok || !q.chatCaps(sctx, sess, chat).Edits {
			return nil, fmt.Errorf("%w: editing messages", ErrUnsupported)
		}
		target, err := q.target(key, ri.Target)
		if err != nil {
			return nil, err
		}
		return nil, e.Edit(sctx, chat, target, OutgoingMessage{Text: ri.Text})
	case kindRetract:
		r, ok := sess.(Retractor)
		if !ok || !q.chatCaps(sctx, sess, chat).Retractions {
			return nil, fmt.Errorf("%w: deleting messages", ErrUnsupported)
		}
		target, err := q.target(key, ri.Target)
		if err != nil {
			return nil, err
		}
		return nil, r.Retract(sctx, chat, target)
	case kindReact:
		r, ok := sess.(Reactor)
		if !ok || !q.chatCaps(sctx, sess, chat).Reactions {
			return nil, fmt.Errorf("%w: reactions", ErrUnsupported)
		}
		target, err := q.target(key, ri.Target)
		if err != nil {
			return nil, err
		}
		return nil, r.React(sctx, chat, target, ri.Emojis)
	}
	return nil, fmt.Errorf("%w: unknown queued action %q", ErrUnsupported, ri.Kind)
}

// sendParts sends a message, in several parts when its text is longer than
// maxRunes (kit/split cuts at word boundaries, never inside a styling span
// or a pre block), and returns the remote ID of the first part: the one
// the user's id maps to. Attachments and the reply go with the first part,
// the thread with every part. Each part sent is recorded in the queued
// item, so a retry after a failure goes on with the next part rather than
// sending the first ones again.
func (q *toNetwork) sendParts(ctx context.Context, w *queueWorker, sess Session, chat ChatRef, maxRunes int, msg OutgoingMessage, it *store.OutboxItem, ri toNetworkItem) (MessageID, error) {
	if maxRunes <= 0 || utf8.RuneCountInString(msg.Text) <= maxRunes {
		return sess.Send(ctx, chat, msg)
	}
	parts := split.Split(msg.Text, maxRunes, nil)
	for i := ri.PartsSent; i < len(parts); i++ {
		part := OutgoingMessage{Text: parts[i].Text, Thread: msg.Thread}
		if i == 0 {
			part.ReplyTo, part.Attachments = msg.ReplyTo, msg.Attachments
		}
		if i == len(parts)-1 {
			part.Origin = msg.Origin // found, the whole message was sent
		}
		id, err := sess.Send(ctx, chat, part)
		if err != nil {
			return "", err
		}
		if i == 0 {
			ri.FirstID = string(id)
		}
		if i == len(parts)-1 {
			break
		}
		ri.PartsSent = i + 1
		b, err := json.Marshal(ri)
		if err != nil {
			return "", fmt.Errorf("bridge: encode queued item: %w", err)
		}
		it.Payload = b
		if err := q.persist(w, it); err != nil {
			q.log.Error("storing a message sent in part", "err", err)
		} else if err := q.outbox.OutboxUpdate(*it); err != nil {
			q.log.Error("recording the parts of a message sent", "err", err)
		}
	}
	return MessageID(ri.FirstID), nil
}

// retry schedules the next attempt, or bounces the item when it has been
// tried for longer than the delivery timeout. The time is counted from when
// it was queued or from this run's start, whichever came later: while xgate
// was stopped nothing was tried, and an item queued before a long stop must
// not bounce on its first attempt after the start (before its account
// logged in) when it would have gone out a moment later.
func (q *toNetwork) retry(ctx context.Context, w *queueWorker, it store.OutboxItem, ri toNetworkItem, cause error) {
	if err := q.persist(w, &it); err != nil {
		q.log.Error("storing a message to try again", "err", err)
		return
	}
	if time.Since(later(it.Enqueued, q.started)) > q.deliveryTimeout {
		q.fail(ctx, it, ri, xmpp.NewStanzaError(xmpp.CondRemoteServerTimeout,
			fmt.Sprintf("Not delivered after trying for %s: %s", q.deliveryTimeout, cleanError(cause))))
		return
	}
	q.metrics.retriedRemote.Add(1)
	it.NotBefore = time.Now().Add(q.retryDelay(&it, cause))
	it.LastError = cause.Error()
	if err := q.outbox.OutboxUpdate(it); err != nil && !errors.Is(err, store.ErrNotFound) {
		q.log.Error("updating queued item", "err", err)
	}
}

// later returns the later of a and b.
func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// retryDelay is how long an item waits after cause. A rate limit waits
// exactly what the network asked (RetryBase if it named no time) and does
// not count as a failure; every other failure counts (it.Attempts) and
// doubles the wait from RetryBase up to 5 minutes.
func (q *toNetwork) retryDelay(it *store.OutboxItem, cause error) time.Duration {
	var rl *RateLimitError
	if errors.As(cause, &rl) {
		if rl.RetryAfter > 0 {
			return rl.RetryAfter
		}
		return q.retryBase
	}
	it.Attempts++
	return min(q.retryBase<<min(it.Attempts-1, 12), 5*time.Minute)
}

// fail bounces an item to its sender with err and drops it.
func (q *toNetwork) fail(ctx context.Context, it store.OutboxItem, ri toNetworkItem, se *xmpp.StanzaError) {
	q.metrics.failedRemote.Add(1)
	if it.Seq == 0 {
		// Never stored (held.go): nothing to remove.
	} else if err := q.outbox.OutboxAck(it.Queue, it.Seq); err != nil {
		q.log.Error("dropping failed item", "err", err)
	}
	from, err1 := jid.Parse(ri.Contact)
	to, err2 := jid.Parse(ri.User)
	if err1 != nil || err2 != nil {
		return
	}
	orig := &xmpp.Message{Header: xmpp.Header{From: to, To: from, ID: ri.ID, Type: xmpp.MessageChat}, Body: ri.Text}
	q.replies.bounce(ctx, orig, se)
}

// receipt tells the sender (XEP-0184) that the network accepted the
// message.
func (q *toNetwork) receipt(ctx context.Context, ri toNetworkItem) {
	from, err1 := jid.Parse(ri.Contact)
	to, err2 := jid.Parse(ri.User)
	if err1 != nil || err2 != nil {
		return
	}
	m := &xmpp.Message{
		Header: xmpp.Header{From: from, To: to, ID: q.replies.newID(), Type: xmpp.MessageChat},
		Extra:  []*xmpp.Element{xmpp.NewElement(NSReceipts, "received", "id", ri.ID)},
	}
	_ = q.replies.send(ctx, m)
}

// sendError maps a permanent network error to the stanza error bounced to
// the sender.
func sendError(err error) *xmpp.StanzaError {
	text := cleanError(err)
	switch {
	case errors.Is(err, ErrNotFound):
		return xmpp.NewStanzaError(xmpp.CondItemNotFound, text)
	case errors.Is(err, ErrForbidden):
		return xmpp.NewStanzaError(xmpp.CondForbidden, text)
	case errors.Is(err, ErrUnsupported):
		return xmpp.NewStanzaError(xmpp.CondFeatureNotImplemented, text)
	case errors.Is(err, ErrInvalidInput):
		return xmpp.NewStanzaError(xmpp.CondNotAcceptable, text)
	}
	return xmpp.NewStanzaError(xmpp.CondUndefinedCondition, text)
}

// chatCaps returns what a chat can do: the session's answer for the chat
// if it has one (ChatCapabilities), within what the transport declares.
func (q *toNetwork) chatCaps(ctx context.Context, sess Session, chat ChatRef) Capabilities {
	cc, ok := sess.(ChatCapabilities)
	if !ok {
		return q.caps
	}
	c, err := cc.ChatCapabilities(ctx, chat)
	if err != nil {
		q.log.Debug("asking what a chat can do", "err", err)
		return q.caps
	}
	c.Edits = c.Edits && q.caps.Edits
	c.Retractions = c.Retractions && q.caps.Retractions
	c.Reactions = c.Reactions && q.caps.Reactions
	return c
}

// target returns the remote ID of the message a correction, retraction or
// reaction names by its XMPP id: a message the user sent (mapped), or one
// the network sent (its XMPP id is its remote ID, and it was delivered). An
// id the gateway does not know is refused here with ErrNotFound, rather
// than handed to the network as if it were a remote ID.
func (q *toNetwork) target(key chatKey, xmppID string) (MessageID, error) {
	if r, err := q.outbox.RemoteMessageID(key.scope(q.name), xmppID); err == nil {
		return MessageID(r), nil
	}
	if q.delivered(key.seenKey(q.name, MessageID(xmppID))) || time.Now().Before(q.trustUnknownUntil) {
		return MessageID(xmppID), nil
	}
	return "", fmt.Errorf("bridge: no message %q is known in this chat: %w", echo(xmppID), ErrNotFound)
}

// remoteID returns the remote ID of a message the user names by its XMPP
// id in a chat: the mapped one, else the id itself (a remote message shown
// with its remote ID).
func (q *toNetwork) remoteID(scope, xmppID string) MessageID {
	if r, err := q.outbox.RemoteMessageID(scope, xmppID); err == nil {
		return MessageID(r)
	}
	return MessageID(xmppID)
}
