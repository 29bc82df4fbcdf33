package bridge

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/xgate-im/xgate/xmpp/form"
	"github.com/xgate-im/xgate/xmpp/jid"
)

// statistic is one line of the statistics command.
type statistic struct {
	name  string
	value string
}

// runStatistics is the admin "statistics" command: accounts by state,
// contacts in rosters, queued messages in both directions, uptime and the
// gateway's counters since it started.
func runStatistics(_ context.Context, rg *registrar, _ jid.JID, _ *form.Form) (string, *form.Form, error) {
	stats, err := rg.statistics(time.Now())
	if err != nil {
		return "", nil, err
	}
	res := &form.Form{Type: form.TypeResult, Title: rg.info.Name + " gateway statistics",
		Reported: []form.Field{{Var: "name", Label: "Statistic"}, {Var: "value", Label: "Value"}}}
	lines := make([]string, 0, len(stats))
	for _, s := range stats {
		res.Items = append(res.Items, []form.Field{{Var: "name", Values: []string{s.name}}, {Var: "value", Values: []string{s.value}}})
		lines = append(lines, s.name+": "+s.value)
	}
	return strings.Join(lines, "\n"), res, nil
}

// statistics gathers the figures of the statistics command at now.
func (rg *registrar) statistics(now time.Time) ([]statistic, error) {
	accts, err := rg.db.Accounts(rg.cfg.Name)
	if err != nil {
		return nil, fmt.Errorf("bridge: list accounts: %w", err)
	}
	var connected, connecting, loggedOut, disabled int
	users := map[string]bool{}
	for _, a := range accts {
		users[a.User] = true
		acc := rg.accounts.byKey(a.AccountKey)
		if acc == nil {
			if a.Disabled {
				disabled++
			} else {
				loggedOut++
			}
			continue
		}
		switch _, state, _ := acc.snapshot(); state {
		case LoggedIn:
			connected++
		case Connecting:
			connecting++
		default:
			loggedOut++
		}
	}
	contacts := 0
	for u := range users {
		items, err := rg.db.Roster(u, rg.cfg.Name)
		if err != nil {
			return nil, fmt.Errorf("bridge: read roster: %w", err)
		}
		contacts += len(items)
	}
	toXMPP, err := rg.db.OutboxCount(rg.out.queue)
	if err != nil {
		return nil, err
	}
	toNetwork, err := rg.db.OutboxCount("tx" + queueSep + rg.cfg.Name + queueSep)
	if err != nil {
		return nil, err
	}
	m := rg.metrics.Snapshot()
	n := func(v uint64) string { return fmt.Sprint(v) }
	out := []statistic{
		{"users", fmt.Sprint(len(users))},
		{"accounts", fmt.Sprintf("%d (%d connected, %d connecting, %d logged out, %d disabled)", len(accts), connected, connecting, loggedOut, disabled)},
		{"contacts in rosters", fmt.Sprint(contacts)},
		{"queued to the network", fmt.Sprint(toNetwork)},
		{"queued to XMPP", fmt.Sprint(toXMPP)},
		{"uptime", now.Sub(rg.started).Truncate(time.Second).String()},
		{"messages sent to the network", n(m.SentRemote)},
		{"send attempts retried", fmt.Sprintf("%d (%d rate-limited)", m.RetriedRemote, m.RateLimited)},
		{"messages failed for good", n(m.FailedRemote)},
		{"errors bounced to XMPP senders", n(m.Bounces)},
		{"stanzas kept while the host was down", fmt.Sprintf("%d (%d delivered since)", m.QueuedForXMPP, m.FlushedToXMPP)},
		{"login failures", n(m.LoginFailures)},
		{"registrations", fmt.Sprintf("%d (%d removals)", m.Registrations, m.Unregistrations)},
	}
	kinds := make([]string, 0, len(m.Events))
	for k := range m.Events {
		kinds = append(kinds, k)
	}
	slices.Sort(kinds)
	for _, k := range kinds {
		out = append(out, statistic{"events from the network: " + k, n(m.Events[k])})
	}
	return out, nil
}
