package bridge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/xgate-im/xgate/store"
	"github.com/xgate-im/xgate/xmpp"
	"github.com/xgate-im/xgate/xmpp/jid"
)

// queueSep separates the parts of a per-chat queue name.
const queueSep = "\x1e"

// remoteQueues keeps one durable, ordered queue per chat of an account
// towards the network, each drained by its own worker goroutine while it
// has items: order inside a chat, parallelism across chats.
//
// The dispatcher hands a new item to the chat's worker through a bounded
// in-memory intake and goes on with the next stanza; the worker stores
// what it took in (one transaction for a burst) before trying anything, so
// a crash, an outage or a rate limit loses nothing, and one slow chat or
// one disk commit never holds up the others.
type remoteQueues struct {
	g      *Gateway
	mu     sync.Mutex
	active map[string]*queueWorker // running workers by queue name
	wg     sync.WaitGroup
}

// queueWorker is the state shared between a queue's worker and the
// goroutines handing it items.
type queueWorker struct {
	intake  chan []byte   // encoded items not stored yet, in arrival order
	wake    chan struct{} // something changed: look at the queue again
	pending int           // senders between registering and sending (under remoteQueues.mu)
	closed  bool          // the worker is stopping: store directly (under remoteQueues.mu)
	unsaved [][]byte      // taken in but not stored yet (the worker's own)
}

func newRemoteQueues(g *Gateway) *remoteQueues {
	return &remoteQueues{g: g, active: map[string]*queueWorker{}}
}

func (q *remoteQueues) queueName(acc *account, peer UserID) string {
	return strings.Join([]string{"tx", q.g.cfg.Name, acc.key.User, acc.key.Remote, string(peer)}, queueSep)
}

// enqueue hands an item to its chat's worker. It blocks only while that
// chat's intake is full.
func (q *remoteQueues) enqueue(ctx context.Context, acc *account, it remoteItem) error {
	b, err := json.Marshal(it)
	if err != nil {
		return fmt.Errorf("bridge: encode queued item: %w", err)
	}
	name := q.queueName(acc, it.Peer)
	q.mu.Lock()
	w := q.active[name]
	if w == nil && q.running() {
		w = q.start(name)
	}
	if w == nil || w.closed {
		// Not running (shutting down): store it for the next start.
		q.mu.Unlock()
		_, err := q.g.db.Enqueue(name, b)
		return err
	}
	select {
	case w.intake <- b:
		q.mu.Unlock()
		return nil
	default:
	}
	w.pending++
	q.mu.Unlock()
	defer func() {
		q.mu.Lock()
		w.pending--
		q.mu.Unlock()
	}()
	select {
	case w.intake <- b:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (q *remoteQueues) running() bool {
	ctx := q.g.runCtx
	return ctx != nil && ctx.Err() == nil
}

// start starts a worker for a queue; q.mu is held.
func (q *remoteQueues) start(name string) *queueWorker {
	w := &queueWorker{intake: make(chan []byte, 256), wake: make(chan struct{}, 1)}
	q.active[name] = w
	ctx := q.g.runCtx
	q.wg.Go(func() { q.work(ctx, name, w) })
	return w
}

// kick starts a worker for a stored queue, or wakes the running one.
func (q *remoteQueues) kick(name string) {
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
func (q *remoteQueues) resume(ctx context.Context) error {
	names, err := q.g.db.OutboxQueues()
	if err != nil {
		return err
	}
	prefix := "tx" + queueSep + q.g.cfg.Name + queueSep
	for _, n := range names {
		if strings.HasPrefix(n, prefix) {
			q.kick(n)
		}
	}
	return nil
}

// resumeAccount retries the queues of an account at once, after it logged
// in.
func (q *remoteQueues) resumeAccount(acc *account) {
	names, err := q.g.db.OutboxQueues()
	if err != nil {
		q.g.log.Error("listing queues", "err", err)
		return
	}
	prefix := strings.Join([]string{"tx", q.g.cfg.Name, acc.key.User, acc.key.Remote, ""}, queueSep)
	for _, n := range names {
		if !strings.HasPrefix(n, prefix) {
			continue
		}
		if items, err := q.g.db.OutboxPeek(n, 1); err == nil && len(items) == 1 && !items[0].NotBefore.IsZero() {
			items[0].NotBefore = time.Time{}
			_ = q.g.db.OutboxUpdate(items[0])
		}
		q.kick(n)
	}
}

// wait waits for every worker to stop (after the run context ended).
func (q *remoteQueues) wait() { q.wg.Wait() }

// work drains one queue in order until it is empty, storing what arrives
// in its intake first.
func (q *remoteQueues) work(ctx context.Context, name string, w *queueWorker) {
	defer q.stop(name, w)
	for {
		if !q.absorb(name, w) {
			if !sleepCtx(ctx, time.Second) {
				return
			}
			continue
		}
		items, err := q.g.db.OutboxPeek(name, 1)
		if err != nil {
			q.g.log.Error("reading queue", "err", err)
			if !sleepCtx(ctx, 5*time.Second) {
				return
			}
			continue
		}
		if len(items) == 0 {
			q.mu.Lock()
			idle := len(w.intake) == 0 && w.pending == 0
			if idle {
				delete(q.active, name)
			}
			q.mu.Unlock()
			if idle {
				return
			}
			continue
		}
		it := items[0]
		if d := time.Until(it.NotBefore); d > 0 {
			timer := time.NewTimer(d)
			select {
			case <-ctx.Done():
				timer.Stop()
				return
			case <-timer.C:
			case <-w.wake:
				timer.Stop()
				continue
			case b := <-w.intake:
				timer.Stop()
				w.unsaved = append(w.unsaved, b) // stored at the top of the loop, behind the head
				continue
			}
		}
		if ctx.Err() != nil {
			return
		}
		q.attempt(ctx, it)
	}
}

// absorb stores everything taken in so far, in order, in one transaction.
// It reports false if the store failed; the items are kept and retried.
func (q *remoteQueues) absorb(name string, w *queueWorker) bool {
	for {
		select {
		case b := <-w.intake:
			w.unsaved = append(w.unsaved, b)
			continue
		default:
		}
		break
	}
	if len(w.unsaved) == 0 {
		return true
	}
	if _, err := q.g.db.EnqueueAll(name, w.unsaved...); err != nil {
		q.g.log.Error("storing queued messages", "err", err, "count", len(w.unsaved))
		return false
	}
	w.unsaved = nil
	return true
}

// stop ends a worker at shutdown: what is still in its intake, or being
// handed to it, is stored for the next start.
func (q *remoteQueues) stop(name string, w *queueWorker) {
	q.mu.Lock()
	w.closed = true
	if q.active[name] == w {
		delete(q.active, name)
	}
	q.mu.Unlock()
	for {
		q.mu.Lock()
		done := w.pending == 0 && len(w.intake) == 0
		q.mu.Unlock()
		if done {
			break
		}
		w.unsaved = append(w.unsaved, <-w.intake)
	}
	if !q.absorb(name, w) {
		q.g.log.Error("messages lost at shutdown: the store refused them", "queue", name, "count", len(w.unsaved))
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
// outcome: done, retry later, or bounced to the sender.
func (q *remoteQueues) attempt(ctx context.Context, it store.OutboxItem) {
	g := q.g
	var ri remoteItem
	if err := json.Unmarshal(it.Payload, &ri); err != nil {
		g.log.Error("dropping unreadable queued item", "queue", it.Queue, "err", err)
		_ = g.db.OutboxAck(it.Queue, it.Seq)
		return
	}
	user, _ := jid.Parse(ri.User)
	key := store.AccountKey{User: user.Bare().String(), Transport: g.cfg.Name, Remote: ri.Account}
	acc := g.accountByKey(key)
	if acc == nil {
		a, err := g.db.GetAccount(key)
		switch {
		case errors.Is(err, store.ErrNotFound):
			q.fail(ctx, it, ri, xmpp.NewStanzaError(xmpp.CondRegistrationRequired, "The account this message was to be sent from was removed."))
			return
		case err == nil && a.Disabled:
			q.fail(ctx, it, ri, xmpp.NewStanzaError(xmpp.CondRecipientUnavailable, "You are logged out of this gateway (you unsubscribed from it); subscribe again to send messages."))
			return
		}
		q.retry(ctx, it, ri, fmt.Errorf("account not started"), 0)
		return
	}
	sess, state, reason := acc.snapshot()
	if sess == nil || state != LoggedIn {
		q.retry(ctx, it, ri, fmt.Errorf("not logged in: %s", reason), 0)
		return
	}
	scope := g.scope(acc, ri.Peer)
	refs, err := q.do(ctx, sess, scope, ri)
	var rl *RateLimitError
	switch {
	case err == nil:
		if doneErr := g.db.OutboxDone(it.Queue, it.Seq, refs...); doneErr != nil {
			g.log.Error("recording a sent item", "err", doneErr)
		}
		g.metrics.sentRemote.Add(1)
		if ri.Receipt && ri.ID != "" {
			q.receipt(ctx, ri)
		}
	case errors.As(err, &rl):
		g.metrics.rateLimited.Add(1)
		q.retry(ctx, it, ri, err, rl.RetryAfter)
	case errors.Is(err, ErrTemporary), errors.Is(err, context.DeadlineExceeded), ctx.Err() != nil:
		q.retry(ctx, it, ri, err, 0)
	case errors.Is(err, ErrAuth):
		g.loggedOut(ctx, acc, cleanError(err))
		q.retry(ctx, it, ri, err, 0)
	default:
		acc.log.Info("message refused by the network", "err", err, "kind", ri.Kind)
		q.fail(ctx, it, ri, sendError(err))
	}
}

// do performs one queued action. It returns the message references to
// record with its completion.
func (q *remoteQueues) do(ctx context.Context, sess Session, scope string, ri remoteItem) ([]store.MessageRef, error) {
	g := q.g
	chat := ChatRef{Kind: Direct, Peer: ri.Peer}
	sctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	switch ri.Kind {
	case kindMessage:
		msg := OutgoingMessage{Text: ri.Text, Attachments: ri.Files}
		if ri.ReplyTo != "" {
			msg.ReplyTo = g.remoteID(scope, ri.ReplyTo)
		}
		if ri.Thread != "" {
			msg.Thread = g.remoteID(scope, ri.Thread)
		}
		id, err := sess.Send(sctx, chat, msg)
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
		if !ok || !g.info.Capabilities.Edits {
			return nil, fmt.Errorf("%w: editing messages", ErrUnsupported)
		}
		return nil, e.Edit(sctx, chat, g.remoteID(scope, ri.Target), OutgoingMessage{Text: ri.Text})
	case kindRetract:
		r, ok := sess.(Retractor)
		if !ok || !g.info.Capabilities.Retractions {
			return nil, fmt.Errorf("%w: deleting messages", ErrUnsupported)
		}
		return nil, r.Retract(sctx, chat, g.remoteID(scope, ri.Target))
	case kindReact:
		r, ok := sess.(Reactor)
		if !ok || !g.info.Capabilities.Reactions {
			return nil, fmt.Errorf("%w: reactions", ErrUnsupported)
		}
		return nil, r.React(sctx, chat, g.remoteID(scope, ri.Target), ri.Emojis)
	}
	return nil, fmt.Errorf("%w: unknown queued action %q", ErrUnsupported, ri.Kind)
}

// retry schedules the next attempt, or bounces the item when it has waited
// longer than the delivery timeout.
func (q *remoteQueues) retry(ctx context.Context, it store.OutboxItem, ri remoteItem, cause error, after time.Duration) {
	g := q.g
	if time.Since(it.Enqueued) > g.cfg.DeliveryTimeout {
		q.fail(ctx, it, ri, xmpp.NewStanzaError(xmpp.CondRemoteServerTimeout,
			fmt.Sprintf("Not delivered after trying for %s: %s", g.cfg.DeliveryTimeout, cleanError(cause))))
		return
	}
	g.metrics.retriedRemote.Add(1)
	it.Attempts++
	if after <= 0 {
		after = min(g.cfg.RetryBase<<min(it.Attempts-1, 12), 5*time.Minute)
	}
	it.NotBefore = time.Now().Add(after)
	it.LastError = cause.Error()
	if err := g.db.OutboxUpdate(it); err != nil && !errors.Is(err, store.ErrNotFound) {
		g.log.Error("updating queued item", "err", err)
	}
}

// fail bounces an item to its sender with err and drops it.
func (q *remoteQueues) fail(ctx context.Context, it store.OutboxItem, ri remoteItem, se *xmpp.StanzaError) {
	g := q.g
	g.metrics.failedRemote.Add(1)
	if err := g.db.OutboxAck(it.Queue, it.Seq); err != nil {
		g.log.Error("dropping failed item", "err", err)
	}
	from, err1 := jid.Parse(ri.Contact)
	to, err2 := jid.Parse(ri.User)
	if err1 != nil || err2 != nil {
		return
	}
	orig := &xmpp.Message{Header: xmpp.Header{From: to, To: from, ID: ri.ID, Type: xmpp.MessageChat}, Body: ri.Text}
	g.bounce(ctx, orig, se)
}

// receipt tells the sender (XEP-0184) that the network accepted the
// message.
func (q *remoteQueues) receipt(ctx context.Context, ri remoteItem) {
	from, err1 := jid.Parse(ri.Contact)
	to, err2 := jid.Parse(ri.User)
	if err1 != nil || err2 != nil {
		return
	}
	m := &xmpp.Message{
		Header: xmpp.Header{From: from, To: to, ID: q.g.comp.NewID(), Type: xmpp.MessageChat},
		Extra:  []*xmpp.Element{xmpp.NewElement(NSReceipts, "received", "id", ri.ID)},
	}
	_ = q.g.send(ctx, m)
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
