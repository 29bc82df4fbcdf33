package bridge

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"
)

// confirmations are the host server confirmations the handling of one
// event still needs, collected rather than waited for: a Fanout job whose
// Inbound is ConfirmLater carries them in its context. toXMPP.sendConfirmed
// then writes its stanza and, instead of waiting for the host server's
// barrier, notes who must confirm it; what may only happen once the stanza
// cannot be lost (recording it as delivered, acknowledging the event to
// the network) waits in settle, which the Fanout runs after Handle
// returned, off the conversation's worker. The conversation's next event
// is handled meanwhile, and the confirmations of many events share one
// barrier (xmpp.Component.FlushLazy) instead of costing one round trip
// each.
type confirmations struct {
	mu      sync.Mutex
	waiters []confirmer            // distinct, in the order noted
	after   []func(confirmed bool) // run by settle, in order
}

// confirmer is what confirms stanzas handed over so far: a toXMPP.
type confirmer interface {
	confirmLater(ctx context.Context) error
}

type confirmationsKey struct{}

// withConfirmations returns ctx carrying c.
func withConfirmations(ctx context.Context, c *confirmations) context.Context {
	return context.WithValue(ctx, confirmationsKey{}, c)
}

// confirmationsOf returns the confirmations ctx carries, or nil: the
// caller then waits for its confirmations itself.
func confirmationsOf(ctx context.Context) *confirmations {
	c, _ := ctx.Value(confirmationsKey{}).(*confirmations)
	return c
}

// need notes that w must confirm what was handed to it so far.
func (c *confirmations) need(w confirmer) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, x := range c.waiters {
		if x == w {
			return
		}
	}
	c.waiters = append(c.waiters, w)
}

// pending reports whether a confirmation is still awaited.
func (c *confirmations) pending() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.waiters) > 0
}

// then runs fn with the outcome once settle has the confirmations, or at
// once (confirmed) when none is awaited.
func (c *confirmations) then(fn func(confirmed bool)) {
	c.mu.Lock()
	if len(c.waiters) == 0 {
		c.mu.Unlock()
		fn(true)
		return
	}
	c.after = append(c.after, fn)
	c.mu.Unlock()
}

// confirmTimeout bounds the wait for a host server's confirmation in
// settle; the keepalive ends a connection that stops answering well
// before it.
const confirmTimeout = time.Minute

// settle waits for every confirmation noted so far (not for ctx's end: a
// stopping gateway closes its stream cleanly, which confirms what was
// written), runs what waited for them, and returns the first error. The
// confirmations can be used again afterwards.
func (c *confirmations) settle(ctx context.Context) error {
	return settleAll(ctx, []*confirmations{c})[0]
}

// settleAll settles many confirmations with one wait per confirmer: what
// each noted was handed over before the call, so one confirmation of
// everything handed over so far covers them all. It returns their
// outcomes, in order.
func settleAll(ctx context.Context, cs []*confirmations) []error {
	type taken struct {
		waiters []confirmer
		after   []func(bool)
	}
	all := make([]taken, len(cs))
	var waiters []confirmer
	for i, c := range cs {
		c.mu.Lock()
		all[i] = taken{c.waiters, c.after}
		c.waiters, c.after = nil, nil
		c.mu.Unlock()
		for _, w := range all[i].waiters {
			if !slices.Contains(waiters, w) {
				waiters = append(waiters, w)
			}
		}
	}
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), confirmTimeout)
	defer cancel()
	outcome := make(map[confirmer]error, len(waiters))
	for _, w := range waiters {
		outcome[w] = w.confirmLater(wctx)
	}
	errs := make([]error, len(cs))
	for i, t := range all {
		var es []error
		for _, w := range t.waiters {
			if err := outcome[w]; err != nil {
				es = append(es, err)
			}
		}
		errs[i] = errors.Join(es...)
		for _, fn := range t.after {
			fn(errs[i] == nil)
		}
	}
	return errs
}
