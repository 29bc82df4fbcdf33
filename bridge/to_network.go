package bridge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
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
	OutboxQueues() ([]string, error)
	OutboxUpdate(it store.OutboxItem) error
	OutboxAck(queue string, seqs ...uint64) error
	OutboxDone(queue string, seq uint64, refs ...store.MessageRef) error
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
// in-memory intake and goes on with the next stanza; the worker stores
// what it took in (one transaction for a burst) before trying anything, so
// a crash, an outage or a rate limit loses nothing, and one slow chat or
// one disk commit never holds up the others.
type toNetwork struct {
	name            string // the gateway instance
	caps            Capabilities
	retryBase       time.Duration
	deliveryTimeout time.Duration
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

	mu     sync.Mutex
	active map[string]*queueWorker // running workers by queue name
	wg     sync.WaitGroup
}

// queueWorker is the state shared between a queue's worker and the
// goroutines handing it items.
type queueWorker struct {
	intake chan []byte   // encoded items not stored yet, in arrival order
	wake   chan struct{} // something changed: look at the queue again
	// unstored counts the items handed to this worker and not stored yet:
	// in a sender's hand, in the intake, or in the saver's (under
	// toNetwork.mu). A worker is idle only when it is 0.
	unstored int
	closed   bool // the worker is stopping: store directly (under toNetwork.mu)
	// saved counts the batches the saver stored (under toNetwork.mu).
	saved uint64
	// quit stops the saver; unsaved is what it could not store (the
	// store refused), for stop to try again.
	quit    chan struct{}
	unsaved [][]byte
}

// enqueue hands an item to its chat's worker. It blocks only while that
// chat's intake is full.
func (q *toNetwork) enqueue(ctx context.Context, chat chatKey, it toNetworkItem) error {
	it.Account, it.Peer = chat.Account.Remote, chat.Chat.Peer
	if chat.Chat.Kind != Direct || chat.Chat.ID != "" {
		it.Chat = &chat.Chat
	}
	b, err := json.Marshal(it)
	if err != nil {
		return fmt.Errorf("bridge: encode queued item: %w", err)
	}
	name := chat.queue(q.name)
	q.mu.Lock()
	w := q.active[name]
	if w == nil && q.running() {
		w = q.start(name)
	}
	if w == nil || w.closed {
		// Not running (shutting down): store it for the next start.
		q.mu.Unlock()
		_, err := q.outbox.Enqueue(name, b)
		return err
	}
	w.unstored++ // until the saver stored it
	select {
	case w.intake <- b:
		q.mu.Unlock()
		return nil
	default:
	}
	q.mu.Unlock()
	select {
	case w.intake <- b:
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

// start starts a worker for a queue; q.mu is held.
func (q *toNetwork) start(name string) *queueWorker {
	w := &queueWorker{intake: make(chan []byte, 256), wake: make(chan struct{}, 1), quit: make(chan struct{})}
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
		q.start(name)
	}
}

// resume starts workers for the queues left over from the last run.
func (q *toNetwork) resume(ctx context.Context) error {
	names, err := q.outbox.OutboxQueues()
	if err != nil {
		return err
	}
	prefix := "tx" + queueSep + q.name + queueSep
	for _, n := range names {
		if strings.HasPrefix(n, prefix) {
			q.kick(n)
		}
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

// work drains one queue in order until it is empty. A saver goroutine of
// its own stores what arrives in the intake as it arrives, however long a
// send takes: what the host server handed over is on disk within one
// commit, and a backlog grows in the store, never in memory.
func (q *toNetwork) work(ctx context.Context, name string, w *queueWorker) {
	saverDone := make(chan struct{})
	go func() {
		defer close(saverDone)
		q.save(ctx, name, w)
	}()
	defer func() {
		close(w.quit)
		<-saverDone
		q.stop(name, w)
	}()
	// ahead holds the items read from the queue and not handled yet: one
	// read transaction for a run of items, read again after anything but
	// a completion (a retry changes the head).
	var ahead []store.OutboxItem
	for {
		if len(ahead) == 0 {
			q.mu.Lock()
			savedBefore := w.saved
			q.mu.Unlock()
			items, err := q.outbox.OutboxPeek(name, peekAhead)
			if err != nil {
				q.log.Error("reading queue", "err", err)
				if !sleepCtx(ctx, 5*time.Second) {
					return
				}
				continue
			}
			if len(items) == 0 {
				q.mu.Lock()
				// Idle only if nothing is on its way in and the saver stored
				// nothing since the queue was found empty.
				idle := w.unstored == 0 && w.saved == savedBefore
				if idle {
					delete(q.active, name)
				}
				q.mu.Unlock()
				if idle {
					return
				}
				// The saver is storing something: it wakes us then.
				select {
				case <-ctx.Done():
					return
				case <-w.wake:
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
		if !q.attempt(ctx, it) {
			ahead = nil
		}
	}
}

// peekAhead is how many items of a queue a worker reads at once.
const peekAhead = 64

// save stores what arrives in a worker's intake, in order, a burst in one
// transaction (and, through the store's batcher, in the same commit as
// other chats'), and wakes the worker. It returns when the worker quits or
// the run ends; what it could not store is left in w.unsaved.
func (q *toNetwork) save(ctx context.Context, name string, w *queueWorker) {
	for {
		var batch [][]byte
		select {
		case b := <-w.intake:
			batch = append(batch, b)
		case <-w.quit:
			return
		case <-ctx.Done():
			return
		}
	more:
		for len(batch) < 1024 {
			select {
			case b := <-w.intake:
				batch = append(batch, b)
			default:
				break more
			}
		}
		for {
			_, err := q.outbox.EnqueueAll(name, batch...)
			if err == nil {
				break
			}
			q.log.Error("storing queued messages", "err", err, "count", len(batch))
			if !sleepCtx(ctx, time.Second) {
				q.mu.Lock()
				w.unsaved = append(w.unsaved, batch...)
				q.mu.Unlock()
				return
			}
		}
		q.mu.Lock()
		w.unstored -= len(batch)
		w.saved++
		q.mu.Unlock()
		select {
		case w.wake <- struct{}{}:
		default:
		}
	}
}

// stop ends a worker (idle, or at shutdown, after its saver returned):
// what is still in its intake, or being handed to it, is stored for the
// next start.
func (q *toNetwork) stop(name string, w *queueWorker) {
	q.mu.Lock()
	w.closed = true
	if q.active[name] == w {
		delete(q.active, name)
	}
	q.mu.Unlock()
	// Every item not stored is in w.unsaved, in the intake, or about to
	// be pushed there by a sender that counted it.
	for {
		q.mu.Lock()
		done := w.unstored == len(w.unsaved)
		q.mu.Unlock()
		if done {
			break
		}
		select {
		case b := <-w.intake:
			q.mu.Lock()
			w.unsaved = append(w.unsaved, b)
			q.mu.Unlock()
		case <-time.After(10 * time.Millisecond):
			// A sender may give up (its context ended) and uncount its
			// item: look at the count again.
		}
	}
	if len(w.unsaved) == 0 {
		return
	}
	if _, err := q.outbox.EnqueueAll(name, w.unsaved...); err != nil {
		q.log.Error("messages lost at shutdown: the store refused them", "queue", name, "count", len(w.unsaved), "err", err)
		return
	}
	q.mu.Lock()
	w.unstored -= len(w.unsaved)
	w.unsaved = nil
	q.mu.Unlock()
	if q.running() {
		// Stopped idle while the saver was retrying: the queue has work.
		q.kick(name)
	}
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	select {
	case <-ctx.Done():
		return false
	case <-time.After(d):
		return true
	}
}

// attempt tries to deliver the head of a queue once and records the
// outcome: done, retry later, or bounced to the sender. It reports whether
// the item was sent and left the queue, so that the next one read with it
// may follow without reading the queue again.
func (q *toNetwork) attempt(ctx context.Context, it store.OutboxItem) (removed bool) {
	var ri toNetworkItem
	if err := json.Unmarshal(it.Payload, &ri); err != nil {
		q.log.Error("dropping unreadable queued item", "queue", it.Queue, "err", err)
		_ = q.outbox.OutboxAck(it.Queue, it.Seq)
		return
	}
	user, _ := jid.Parse(ri.User)
	key := store.AccountKey{User: user.Bare().String(), Transport: q.name, Remote: ri.Account}
	chat := chatKey{Account: key, Chat: ri.chat()}
	sess, err := q.session(key)
	var gone *noSessionError
	switch {
	case errors.As(err, &gone):
		q.fail(ctx, it, ri, gone.Bounce)
		return
	case err != nil:
		q.retry(ctx, it, ri, err)
		return
	}
	var end func()
	if ri.Kind == kindMessage {
		end = q.sending.begin(chat.scope(q.name))
	}
	refs, err := q.do(ctx, sess, chat, &it, ri)
	if end != nil {
		defer end() // after the pair is stored below
	}
	var rl *RateLimitError
	switch {
	case err == nil:
		awaitReport := q.noteSent(chat, ri, refs)
		if doneErr := q.outbox.OutboxDone(it.Queue, it.Seq, refs...); doneErr != nil {
			q.log.Error("recording a sent item", "err", doneErr)
		} else {
			removed = true
		}
		q.metrics.sentRemote.Add(1)
		if ri.Receipt && ri.ID != "" && !awaitReport {
			q.receipt(ctx, ri)
		}
	case errors.As(err, &rl):
		q.metrics.rateLimited.Add(1)
		q.retry(ctx, it, ri, err)
	case errors.Is(err, ErrTemporary), errors.Is(err, context.DeadlineExceeded), ctx.Err() != nil:
		q.retry(ctx, it, ri, err)
	case errors.Is(err, ErrAuth):
		q.authFailed(ctx, key, cleanError(err))
		q.retry(ctx, it, ri, err)
	default:
		q.log.Info("message refused by the network", "user", key.User, "account", key.Remote, "err", err, "kind", ri.Kind)
		q.fail(ctx, it, ri, sendError(err))
	}
	return removed
}

// do performs one queued action. It returns the message references to
// record with its completion.
func (q *toNetwork) do(ctx context.Context, sess Session, key chatKey, it *store.OutboxItem, ri toNetworkItem) ([]store.MessageRef, error) {
	chat, scope := key.Chat, key.scope(q.name)
	sctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	switch ri.Kind {
	case kindMessage:
		msg := OutgoingMessage{Text: ri.Text, Attachments: ri.Files}
		if ri.ReplyTo != "" {
			msg.ReplyTo = q.remoteID(scope, ri.ReplyTo)
		}
		if ri.Thread != "" {
			msg.Thread = q.remoteID(scope, ri.Thread)
		}
		id, err := q.sendParts(sctx, sess, chat, q.chatCaps(sctx, sess, chat).MaxMessageLength, msg, it, ri)
		if err != nil {
			return nil, err
		}
		var refs []store.MessageRef
		for _, x := range []string{ri.ID, ri.OriginID} {
			if x != "" {
				refs = append(refs, store.MessageRef{Scope: scope, XMPPID: x, RemoteID: string(id)})
			}
		}
		return refs, nil
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
func (q *toNetwork) sendParts(ctx context.Context, sess Session, chat ChatRef, maxRunes int, msg OutgoingMessage, it *store.OutboxItem, ri toNetworkItem) (MessageID, error) {
	if maxRunes <= 0 || utf8.RuneCountInString(msg.Text) <= maxRunes {
		return sess.Send(ctx, chat, msg)
	}
	parts := split.Split(msg.Text, maxRunes, nil)
	for i := ri.PartsSent; i < len(parts); i++ {
		part := OutgoingMessage{Text: parts[i].Text, Thread: msg.Thread}
		if i == 0 {
			part.ReplyTo, part.Attachments = msg.ReplyTo, msg.Attachments
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
		if err := q.outbox.OutboxUpdate(*it); err != nil {
			q.log.Error("recording the parts of a message sent", "err", err)
		}
	}
	return MessageID(ri.FirstID), nil
}

// retry schedules the next attempt, or bounces the item when it has waited
// longer than the delivery timeout.
func (q *toNetwork) retry(ctx context.Context, it store.OutboxItem, ri toNetworkItem, cause error) {
	if time.Since(it.Enqueued) > q.deliveryTimeout {
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
	if err := q.outbox.OutboxAck(it.Queue, it.Seq); err != nil {
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
