package main

import (
	"bytes"
	"maps"
	"runtime"
	"runtime/metrics"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/xgate-im/xgate/bridge"
	"github.com/xgate-im/xgate/store"
	"github.com/xgate-im/xgate/xmpp"
)

// gatewayStatus is what the admin endpoint reports about one gateway.
type gatewayStatus struct {
	Name, Domain, Network string
	Component             xmpp.Stats
	Bridge                bridge.Snapshot
	// Limits is what the inbound limiter held back.
	Limits xmpp.SenderLimiterStats
	// Outbox is the number of items the gateway has queued in the store,
	// or -1 when the bridge cannot tell.
	Outbox int
	// Transport is the transport's own counters (bridge.StatsReporter),
	// nil when it has none.
	Transport map[string]int64 `json:",omitempty"`
}

// metricsData is everything one scrape reports.
type metricsData struct {
	gateways   []gatewayStatus
	groups     []groupStatus
	store      *store.Stats // nil when the store could not be read
	goroutines int
	heapBytes  uint64
	procs      int           // GOMAXPROCS (see [runtime] adaptive_procs)
	narrowed   time.Duration // spent on one processor by adaptive_procs
	version    string
	start      time.Time
}

// processMetrics returns the goroutine count and the bytes of live heap
// objects, without stopping the world as runtime.ReadMemStats does.
func processMetrics() (goroutines int, heapBytes uint64) {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	if s[0].Value.Kind() == metrics.KindUint64 {
		heapBytes = s[0].Value.Uint64()
	}
	return runtime.NumGoroutine(), heapBytes
}

// promWriter writes the Prometheus text exposition format (version 0.0.4).
// Every family is written whole, header first, before the next one starts.
type promWriter struct{ b bytes.Buffer }

// family starts a metric family. typ is "counter" or "gauge".
func (p *promWriter) family(name, typ, help string) {
	p.b.WriteString("# HELP " + name + " " + escapeHelp(help) + "\n")
	p.b.WriteString("# TYPE " + name + " " + typ + "\n")
}

// sample writes one sample; labels are name, value pairs.
func (p *promWriter) sample(name, value string, labels ...string) {
	p.b.WriteString(name)
	if len(labels) > 0 {
		p.b.WriteByte('{')
		for i := 0; i+1 < len(labels); i += 2 {
			if i > 0 {
				p.b.WriteByte(',')
			}
			p.b.WriteString(labels[i] + `="` + escapeLabel(labels[i+1]) + `"`)
		}
		p.b.WriteByte('}')
	}
	p.b.WriteString(" " + value + "\n")
}

var (
	labelEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
	helpEscaper  = strings.NewReplacer(`\`, `\\`, "\n", `\n`)
)

func escapeLabel(s string) string { return labelEscaper.Replace(s) }
func escapeHelp(s string) string  { return helpEscaper.Replace(s) }

func u64(v uint64) string { return strconv.FormatUint(v, 10) }
func itoa(v int) string   { return strconv.Itoa(v) }

func boolGauge(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// gatewayMetric is a per-gateway family with one sample per gateway.
type gatewayMetric struct {
	name, typ, help string
	value           func(g *gatewayStatus) string
}

var gatewayMetrics = []gatewayMetric{
	{"xgate_component_up", "gauge", "Whether the component is connected to the host server (1) or not (0).",
		func(g *gatewayStatus) string { return boolGauge(g.Component.State == xmpp.StateConnected) }},
	{"xgate_component_input_errors_total", "counter", "Malformed input from the host server: stanzas bounced and stream errors raised by xgate.",
		func(g *gatewayStatus) string { return u64(g.Component.ErrorsIn) }},
	{"xgate_component_reconnects_total", "counter", "Times the component connection was lost or could not be made.",
		func(g *gatewayStatus) string { return u64(g.Component.Reconnects) }},
	{"xgate_component_ping_timeouts_total", "counter", "Self-pings through the host server that were not answered in time.",
		func(g *gatewayStatus) string { return u64(g.Component.PingTimeouts) }},
	{"xgate_component_replayed_total", "counter", "Stanzas written again because the connection ended before the host server confirmed processing them.",
		func(g *gatewayStatus) string { return u64(g.Component.Replayed) }},
	{"xgate_component_send_queue_length", "gauge", "Stanzas waiting in the component's outgoing queue.",
		func(g *gatewayStatus) string { return itoa(g.Component.QueueLen) }},
	{"xgate_component_send_queue_capacity", "gauge", "Capacity of the component's outgoing queue.",
		func(g *gatewayStatus) string { return itoa(g.Component.QueueCap) }},
	{"xgate_component_send_queue_high_water", "gauge", "Highest length the component's outgoing queue reached.",
		func(g *gatewayStatus) string { return itoa(g.Component.QueueHigh) }},
	{"xgate_component_send_queue_full_total", "counter", "Times a sender found the component's outgoing queue full (durable stanzas then waited, error replies were stored for later, ephemeral ones were dropped).",
		func(g *gatewayStatus) string { return u64(g.Component.QueueFull) }},
	{"xgate_component_unconfirmed", "gauge", "Stanzas written to the host server and not yet confirmed by a delivery barrier.",
		func(g *gatewayStatus) string { return itoa(g.Component.Unconfirmed) }},
	{"xgate_bridge_limited_answered_total", "counter", "Requests from senders over their rate ([access] user_rate for allowed users, a strict rate for other JIDs) answered resource-constraint.",
		func(g *gatewayStatus) string { return u64(g.Limits.Answered) }},
	{"xgate_bridge_limited_dropped_total", "counter", "Stanzas from senders over their rate dropped without an answer.",
		func(g *gatewayStatus) string { return u64(g.Limits.Dropped) }},
	{"xgate_component_inbox_length", "gauge", "Received stanzas waiting for the gateway.",
		func(g *gatewayStatus) string { return itoa(g.Component.InboxLen) }},
	{"xgate_bridge_bounces_total", "counter", "Stanza errors sent back to XMPP senders.",
		func(g *gatewayStatus) string { return u64(g.Bridge.Bounces) }},
	{"xgate_bridge_dropped_total", "counter", "Ephemeral stanzas (typing, presence, iq answers) dropped because the component could not take them at once (host server unreachable or send queue full).",
		func(g *gatewayStatus) string { return u64(g.Bridge.Dropped) }},
	{"xgate_bridge_dropped_to_network_total", "counter", "Typing notifications and read markers not passed to the remote network because too many were in flight.",
		func(g *gatewayStatus) string { return u64(g.Bridge.DroppedToNetwork) }},
	{"xgate_bridge_queued_for_xmpp_total", "counter", "Stanzas stored in the outbox because the host server was unreachable.",
		func(g *gatewayStatus) string { return u64(g.Bridge.QueuedForXMPP) }},
	{"xgate_bridge_flushed_to_xmpp_total", "counter", "Stored stanzas delivered to the host server later.",
		func(g *gatewayStatus) string { return u64(g.Bridge.FlushedToXMPP) }},
	{"xgate_bridge_sent_remote_total", "counter", "Messages delivered to the remote network.",
		func(g *gatewayStatus) string { return u64(g.Bridge.SentRemote) }},
	{"xgate_bridge_sent_unstored_total", "counter", "Items for the remote network (messages, edits, reactions) sent or bounced from memory within the hold, never written to the outbox.",
		func(g *gatewayStatus) string { return u64(g.Bridge.SentUnstored) }},
	{"xgate_bridge_completion_commits_total", "counter", "Commits that recorded items sent to the remote network (ID pairs, removal from the outbox); compare with xgate_bridge_sent_remote_total for the items per commit.",
		func(g *gatewayStatus) string { return u64(g.Bridge.CompletionCommits) }},
	{"xgate_bridge_retried_remote_total", "counter", "Delivery attempts to the remote network that will be retried.",
		func(g *gatewayStatus) string { return u64(g.Bridge.RetriedRemote) }},
	{"xgate_bridge_rate_limited_total", "counter", "Delivery attempts refused by the remote network's rate limits.",
		func(g *gatewayStatus) string { return u64(g.Bridge.RateLimited) }},
	{"xgate_bridge_failed_remote_total", "counter", "Messages bounced to their sender after failing for good.",
		func(g *gatewayStatus) string { return u64(g.Bridge.FailedRemote) }},
	{"xgate_bridge_login_failures_total", "counter", "Failed logins of stored remote accounts.",
		func(g *gatewayStatus) string { return u64(g.Bridge.LoginFailures) }},
	{"xgate_bridge_after_login_pending", "gauge", "Logged-in accounts whose contact list is still to be fetched and offered to their roster (the work after a login, paced after a start with many accounts).",
		func(g *gatewayStatus) string { return itoa(int(g.Bridge.AfterLoginPending)) }},
	{"xgate_bridge_unknown_iqs_total", "counter", "Iq requests answered service-unavailable.",
		func(g *gatewayStatus) string { return u64(g.Bridge.UnknownStanzas) }},
	{"xgate_bridge_registrations_total", "counter", "Remote accounts registered.",
		func(g *gatewayStatus) string { return u64(g.Bridge.Registrations) }},
	{"xgate_bridge_unregistrations_total", "counter", "Remote accounts removed.",
		func(g *gatewayStatus) string { return u64(g.Bridge.Unregistrations) }},
}

var componentStates = []xmpp.State{xmpp.StateDisconnected, xmpp.StateConnecting, xmpp.StateConnected, xmpp.StateStopped}

// writeMetrics renders one scrape.
func writeMetrics(d metricsData) []byte {
	var p promWriter
	p.family("xgate_build_info", "gauge", "Always 1; the labels say which xgate is running.")
	p.sample("xgate_build_info", "1", "version", d.version, "goversion", runtime.Version())
	p.family("xgate_start_time_seconds", "gauge", "When the process started, in seconds since the Unix epoch.")
	p.sample("xgate_start_time_seconds", strconv.FormatFloat(float64(d.start.UnixMilli())/1000, 'f', -1, 64))

	gwLabels := func(g *gatewayStatus, extra ...string) []string {
		return append([]string{"gateway", g.Name, "network", g.Network}, extra...)
	}
	p.family("xgate_component_state", "gauge", "Connection state of the component: 1 for the current state, 0 for the others.")
	for i := range d.gateways {
		g := &d.gateways[i]
		for _, s := range componentStates {
			p.sample("xgate_component_state", boolGauge(g.Component.State == s), gwLabels(g, "state", s.String())...)
		}
	}
	kinds := []string{"message", "presence", "iq", "other"}
	p.family("xgate_component_stanzas_received_total", "counter", "Stanzas received from the host server, by kind.")
	for i := range d.gateways {
		g := &d.gateways[i]
		c := g.Component
		for k, v := range []uint64{c.MessagesIn, c.PresencesIn, c.IQsIn, c.OtherIn} {
			p.sample("xgate_component_stanzas_received_total", u64(v), gwLabels(g, "kind", kinds[k])...)
		}
	}
	p.family("xgate_component_stanzas_sent_total", "counter", "Stanzas written to the host server, by kind.")
	for i := range d.gateways {
		g := &d.gateways[i]
		c := g.Component
		for k, v := range []uint64{c.MessagesOut, c.PresencesOut, c.IQsOut, c.OtherOut} {
			p.sample("xgate_component_stanzas_sent_total", u64(v), gwLabels(g, "kind", kinds[k])...)
		}
	}
	for _, m := range gatewayMetrics {
		p.family(m.name, m.typ, m.help)
		for i := range d.gateways {
			p.sample(m.name, m.value(&d.gateways[i]), gwLabels(&d.gateways[i])...)
		}
	}
	p.family("xgate_bridge_events_total", "counter", "Events received from the remote network, by kind.")
	for i := range d.gateways {
		g := &d.gateways[i]
		for _, kind := range slices.Sorted(maps.Keys(g.Bridge.Events)) {
			p.sample("xgate_bridge_events_total", u64(g.Bridge.Events[kind]), gwLabels(g, "kind", kind)...)
		}
	}
	p.family("xgate_transport_total", "counter", "The transport's own counters (e.g. SMS sent, failed, segments, inbound, unassigned, webhook rejects), by counter.")
	for i := range d.gateways {
		g := &d.gateways[i]
		for _, name := range slices.Sorted(maps.Keys(g.Transport)) {
			p.sample("xgate_transport_total", strconv.FormatInt(g.Transport[name], 10), gwLabels(g, "counter", name)...)
		}
	}
	p.family("xgate_gateway_outbox_items", "gauge", "Items the gateway has queued in the store's outbox.")
	for i := range d.gateways {
		if g := &d.gateways[i]; g.Outbox >= 0 {
			p.sample("xgate_gateway_outbox_items", itoa(g.Outbox), gwLabels(g)...)
		}
	}

	writeGroupMetrics(&p, d.groups)

	p.family("xgate_store_up", "gauge", "Whether the store's statistics could be read (1) or not (0).")
	p.sample("xgate_store_up", boolGauge(d.store != nil))
	if st := d.store; st != nil {
		for _, m := range []struct {
			name, help string
			v          int64
		}{
			{"xgate_store_outbox_items", "Items waiting in the store's outbox, all queues.", int64(st.OutboxItems)},
			{"xgate_store_accounts", "Remote accounts, all users and transports.", int64(st.Accounts)},
			{"xgate_store_contacts", "Contact ID mappings.", int64(st.Contacts)},
			{"xgate_store_message_refs", "Message ID mappings kept for edits, replies and reactions.", int64(st.MessageRefs)},
			{"xgate_store_file_bytes", "Size of the database file.", st.FileBytes},
		} {
			p.family(m.name, "gauge", m.help)
			p.sample(m.name, strconv.FormatInt(m.v, 10))
		}
		p.family("xgate_store_commits_total", "counter", "Write transactions committed to the store since the start (each may carry several writers' changes).")
		p.sample("xgate_store_commits_total", u64(st.Commits))
	}

	p.family("go_goroutines", "gauge", "Number of goroutines that currently exist.")
	p.sample("go_goroutines", itoa(d.goroutines))
	p.family("go_sched_gomaxprocs_threads", "gauge", "The processors Go schedules goroutines on (GOMAXPROCS): 1 while [runtime] adaptive_procs finds the load light.")
	p.sample("go_sched_gomaxprocs_threads", itoa(d.procs))
	p.family("xgate_procs_narrowed_seconds_total", "counter", "Time [runtime] adaptive_procs kept the process on one processor since the start.")
	p.sample("xgate_procs_narrowed_seconds_total", strconv.FormatFloat(d.narrowed.Seconds(), 'f', -1, 64))
	p.family("go_memstats_heap_alloc_bytes", "gauge", "Bytes of allocated heap objects.")
	p.sample("go_memstats_heap_alloc_bytes", u64(d.heapBytes))
	return p.b.Bytes()
}
