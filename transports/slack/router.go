package slack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/xgate-im/xgate/bridge"
)

// The router takes the Events API envelopes of the one Socket Mode
// connection to the sessions they concern, and acknowledges each envelope
// only once every session concerned has emitted its events and the Sink
// returned nil, i.e. once they are delivered or durably stored by the
// bridge. Anything that fails is not acknowledged, so Slack sends it again.
//
// Order: events of one conversation (or, for workspace-wide events, of one
// workspace) go through one worker goroutine in arrival order; different
// conversations proceed in parallel.
//
// Duplicates: Slack redelivers an envelope that was not acknowledged in
// time (3 seconds), or that was in flight on a connection that went away,
// with the same event_id. An event being handled collects the redelivered
// envelope IDs and acknowledges them all at the end; an event already
// delivered is acknowledged again at once; a session an event was already
// delivered to is skipped when the event comes again after a failure.
//
// Routing: each event names one installation of the app ("authorizations");
// several accounts of this gateway may see it (a direct message between two
// users who both registered reaches both). Workspace-wide events (user
// changes, new members) go to every session of the workspace. Events of a
// conversation go to the sessions whose member is in it: known for direct
// messages the sessions have seen, else asked with
// apps.event.authorizations.list and remembered per conversation until its
// membership or the set of sessions of the workspace changes.
type router struct {
	t   *Transport
	ack func(ctx context.Context, envelopeID string) error

	// acks waiting for the acker goroutine: a worker never blocks on the
	// connection (which may be reconnecting) to acknowledge.
	ackMu   sync.Mutex
	ackQ    []string
	ackWake chan struct{}

	mu     sync.Mutex
	states map[string]*eventState // by event ID, until acknowledged
	done   recent                 // event IDs delivered and acknowledged
	parts  map[string]*partition  // by conversation or workspace
	routes map[string]route       // by conversation ID
	wg     sync.WaitGroup
}

// eventState is an event being handled, or waiting to come again.
type eventState struct {
	envelopes []string
	delivered map[bridge.AccountID]bool
	queued    bool // a job for it is queued or running
	since     time.Time
}

type partition struct {
	jobs    chan *job
	pending int // jobs sent or about to be; guarded by router.mu
}

type job struct {
	st *eventState
	in *inbound
}

// route is a remembered answer of apps.event.authorizations.list.
type route struct {
	team    string
	members []string
}

// Bounds of the router's memory.
const (
	partitionQueue = 256
	maxStates      = 4096
	recentEvents   = 8192
)

func newRouter(t *Transport) *router {
	return &router{
		t: t, states: map[string]*eventState{}, done: newRecent(recentEvents),
		parts: map[string]*partition{}, routes: map[string]route{},
		ackWake: make(chan struct{}, 1),
	}
}

// start runs the acker until ctx ends; wait waits for it.
func (r *router) start(ctx context.Context) {
	r.wg.Go(func() { r.runAcker(ctx) })
}

// dispatch starts handling an envelope. It blocks only when the worker of
// its conversation is far behind.
func (r *router) dispatch(ctx context.Context, envelopeID string, in *inbound) {
	key := in.eventID
	if key == "" {
		key = "envelope:" + envelopeID
	}
	r.mu.Lock()
	if r.done.has(key) {
		r.mu.Unlock()
		r.acknowledge(ctx, []string{envelopeID})
		return
	}
	st := r.states[key]
	if st == nil {
		r.pruneLocked()
		st = &eventState{delivered: map[bridge.AccountID]bool{}, since: time.Now()}
		r.states[key] = st
	}
	if !slices.Contains(st.envelopes, envelopeID) {
		st.envelopes = append(st.envelopes, envelopeID)
	}
	if st.queued {
		r.mu.Unlock()
		return
	}
	st.queued = true
	pkey := in.channel
	if pkey == "" {
		pkey = "team:" + in.team
	}
	p := r.parts[pkey]
	if p == nil {
		p = &partition{jobs: make(chan *job, partitionQueue)}
		r.parts[pkey] = p
		r.wg.Go(func() { r.work(ctx, pkey, p) })
	}
	p.pending++
	r.mu.Unlock()
	select {
	case p.jobs <- &job{st: st, in: in}:
	case <-ctx.Done():
	}
}

// pruneLocked forgets the oldest events that failed and never came back.
func (r *router) pruneLocked() {
	if len(r.states) < maxStates {
		return
	}
	for k, st := range r.states {
		if !st.queued && time.Since(st.since) > time.Hour {
			delete(r.states, k)
		}
	}
}

// work runs the jobs of one partition until it has none.
func (r *router) work(ctx context.Context, key string, p *partition) {
	for {
		select {
		case j := <-p.jobs:
			r.process(ctx, j)
		case <-ctx.Done():
			return
		}
		r.mu.Lock()
		p.pending--
		if p.pending == 0 {
			delete(r.parts, key)
			r.mu.Unlock()
			return
		}
		r.mu.Unlock()
	}
}

// wait waits for the workers and the acker, after the context given to
// dispatch and start ended.
func (r *router) wait() { r.wg.Wait() }

// process delivers one event to the sessions concerned and acknowledges
// its envelopes, or leaves them for Slack to send again.
func (r *router) process(ctx context.Context, j *job) {
	in := j.in
	r.membershipChanged(in)
	sessions, complete, err := r.route(ctx, in)
	for _, s := range sessions {
		if err != nil {
			break
		}
		r.mu.Lock()
		done := j.st.delivered[s.id]
		r.mu.Unlock()
		if done {
			continue
		}
		if err = r.deliver(ctx, s, in); err == nil {
			r.mu.Lock()
			j.st.delivered[s.id] = true
			r.mu.Unlock()
		}
	}
	key := in.eventID
	if key == "" {
		key = "envelope:" + j.st.envelopes[0]
	}
	r.mu.Lock()
	if err != nil || !complete {
		j.st.queued = false // handled again when Slack sends it again
		r.mu.Unlock()
		if err != nil && ctx.Err() == nil {
			r.t.log.Warn("event not delivered; Slack will send it again", "event", in.describe(), "err", err)
		}
		return
	}
	envs := j.st.envelopes
	delete(r.states, key)
	r.done.add(key)
	r.mu.Unlock()
	r.acknowledge(ctx, envs)
}

// acknowledge queues envelopes to be acknowledged on the Socket Mode
// connection, in order.
func (r *router) acknowledge(_ context.Context, envs []string) {
	r.ackMu.Lock()
	r.ackQ = append(r.ackQ, envs...)
	r.ackMu.Unlock()
	select {
	case r.ackWake <- struct{}{}:
	default:
	}
}

// runAcker sends the queued acknowledgements. Those left when ctx ends are
// not sent: Slack sends their envelopes again, and they are recognized.
func (r *router) runAcker(ctx context.Context) {
	for {
		r.ackMu.Lock()
		q := r.ackQ
		r.ackQ = nil
		r.ackMu.Unlock()
		for _, id := range q {
			if err := r.ack(ctx, id); err != nil {
				if ctx.Err() != nil {
					return
				}
				r.t.log.Warn("acknowledging envelope", "envelope", id, "err", err)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-r.ackWake:
		}
	}
}

// Retries of one delivery before the event is left for Slack to resend.
const (
	deliverAttempts = 4
	deliverBackoff  = 100 * time.Millisecond
)

// deliver has one session handle an event, retrying transient failures.
// Permanent failures (the session's account lost access, a conversation is
// gone) are logged and count as delivered: sending the event again would
// not help.
func (r *router) deliver(ctx context.Context, s *Session, in *inbound) error {
	wait := deliverBackoff
	var err error
	for attempt := 1; ; attempt++ {
		err = s.handle(ctx, in)
		switch {
		case err == nil:
			return nil
		case errors.Is(err, errSessionClosed):
			// The account logged in again meanwhile: give it to the new
			// session; if it is gone, nobody is left to tell.
			r.t.mu.Lock()
			next := r.t.sessions[s.id]
			r.t.mu.Unlock()
			if next == nil || next == s {
				return nil
			}
			s = next
			continue
		case ctx.Err() != nil:
			return err
		case s.noteAuth(ctx, err):
			return nil
		case errors.Is(err, bridge.ErrNotFound), errors.Is(err, bridge.ErrForbidden),
			errors.Is(err, bridge.ErrUnsupported), errors.Is(err, bridge.ErrInvalidInput):
			s.log.Info("event not passed on", "event", in.describe(), "err", err)
			return nil
		}
		if attempt == deliverAttempts {
			return err
		}
		var rl *bridge.RateLimitError
		if errors.As(err, &rl) && rl.RetryAfter > wait {
			wait = min(rl.RetryAfter, 30*time.Second)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		wait *= 4
	}
}

// route returns the live sessions an event concerns, in account order.
// complete is false when, shortly after the connection started, the event
// also concerns installations whose accounts have not logged in yet: they
// get it when Slack sends it again.
func (r *router) route(ctx context.Context, in *inbound) (sessions []*Session, complete bool, err error) {
	live := r.t.teamSessions(in.team)
	if in.channel == "" {
		return sortedSessions(live), true, nil
	}
	r.mu.Lock()
	rt, cached := r.routes[in.channel]
	r.mu.Unlock()
	if !cached {
		for _, s := range sortedSessions(live) {
			if peer, ok := s.imPeer(in.channel); ok {
				rt, cached = route{team: in.team, members: []string{s.user, peer}}, true
				break
			}
		}
	}
	grace := r.t.inGrace()
	if !cached {
		if len(live) == 0 && !grace {
			return nil, true, nil
		}
		if in.eventContext == "" {
			return sortedSessions(live), true, nil // no way to know better
		}
		auths, err := r.t.app.ListEventAuthorizationsContext(ctx, in.eventContext)
		if err != nil {
			return nil, false, classify("apps.event.authorizations.list", err)
		}
		rt = route{team: in.team}
		for _, a := range auths {
			if !a.IsBot && (a.TeamID == "" || a.TeamID == in.team) && !slices.Contains(rt.members, a.UserID) {
				rt.members = append(rt.members, a.UserID)
			}
		}
	}
	r.mu.Lock()
	r.routes[in.channel] = rt
	r.mu.Unlock()
	picked := map[string]*Session{}
	complete = true
	for _, m := range rt.members {
		if s, ok := live[m]; ok {
			picked[m] = s
		} else if grace && r.t.awaitLogin(in.team, m) {
			complete = false
		}
	}
	return sortedSessions(picked), complete, nil
}

// membershipChanged forgets the remembered route of a conversation whose
// members change.
func (r *router) membershipChanged(in *inbound) {
	switch in.typ {
	case "member_joined_channel", "member_left_channel", "channel_left", "group_left",
		"channel_deleted", "group_deleted", "channel_shared", "channel_unshared", "im_created":
		r.mu.Lock()
		delete(r.routes, in.channel)
		r.mu.Unlock()
	}
}

// sessionsChanged forgets the routes of a workspace when one of its
// accounts logs in or out: the installations seeing its conversations may
// have changed.
func (r *router) sessionsChanged(team string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	maps.DeleteFunc(r.routes, func(_ string, rt route) bool { return rt.team == team })
}

// recent is a bounded set of strings, forgetting the oldest first.
type recent struct {
	set  map[string]struct{}
	ring []string
	next int
}

func newRecent(n int) recent {
	return recent{set: make(map[string]struct{}, n), ring: make([]string, n)}
}

func (r *recent) has(k string) bool { _, ok := r.set[k]; return ok }

func (r *recent) add(k string) {
	if r.has(k) {
		return
	}
	if old := r.ring[r.next]; old != "" {
		delete(r.set, old)
	}
	r.ring[r.next] = k
	r.next = (r.next + 1) % len(r.ring)
	r.set[k] = struct{}{}
}

// callback is the Events API outer event of an events_api envelope.
type callback struct {
	Type           string `json:"type"`
	TeamID         string `json:"team_id"`
	EventID        string `json:"event_id"`
	EventContext   string `json:"event_context"`
	Authorizations []struct {
		TeamID string `json:"team_id"`
		UserID string `json:"user_id"`
		IsBot  bool   `json:"is_bot"`
	} `json:"authorizations"`
	Event json.RawMessage `json:"event"`
}

// innerHead is what the router reads of an inner event.
type innerHead struct {
	Type    string          `json:"type"`
	Subtype string          `json:"subtype"`
	Channel json.RawMessage `json:"channel"`
	Item    struct {
		Channel string `json:"channel"`
	} `json:"item"`
}

// maxPayload bounds the payload of one envelope.
const maxPayload = 4 << 20

// parseEnvelope reads the payload of an events_api envelope.
func parseEnvelope(payload []byte) (*inbound, error) {
	if len(payload) > maxPayload {
		return nil, fmt.Errorf("slack: envelope payload of %d bytes", len(payload))
	}
	var cb callback
	if err := json.Unmarshal(payload, &cb); err != nil {
		return nil, fmt.Errorf("slack: envelope payload: %w", err)
	}
	if cb.Type != "event_callback" {
		return nil, fmt.Errorf("slack: envelope payload of type %q", truncate(cb.Type, 40))
	}
	team := cb.TeamID
	if team == "" && len(cb.Authorizations) > 0 {
		team = cb.Authorizations[0].TeamID
	}
	var head innerHead
	if err := json.Unmarshal(cb.Event, &head); err != nil {
		return nil, fmt.Errorf("slack: inner event: %w", err)
	}
	if head.Type == "" || !validID(team, teamKinds) {
		return nil, fmt.Errorf("slack: event without type or team")
	}
	in := &inbound{
		team: team, eventID: cb.EventID, eventContext: cb.EventContext,
		typ: head.Type, subtype: head.Subtype, raw: cb.Event,
	}
	var ch string
	if json.Unmarshal(head.Channel, &ch) != nil {
		var obj struct {
			ID string `json:"id"`
		}
		if json.Unmarshal(head.Channel, &obj) == nil {
			ch = obj.ID
		}
	}
	if ch == "" {
		ch = head.Item.Channel
	}
	switch head.Type {
	case "channel_created", "channel_rename", "group_rename":
		// About the workspace's list of conversations: no conversation's
		// members to route by.
		ch = ""
	}
	if ch != "" && !validID(ch, "CDG") {
		return nil, fmt.Errorf("slack: event in conversation %q", truncate(ch, 40))
	}
	in.channel = ch
	return in, nil
}
