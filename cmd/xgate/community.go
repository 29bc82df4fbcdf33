package main

import (
	"context"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"time"

	"github.com/xgate-im/xgate/bridge"
	"github.com/xgate-im/xgate/bridge/community"
	"github.com/xgate-im/xgate/store"
	"github.com/xgate-im/xgate/xmpp/jid"
)

// bridgeGroupSection is one [[bridge_group]] table: a room on the host
// server's MUC service bridged with a Slack channel and/or a Discord
// channel through the apps' bots (bridge/community).
type bridgeGroupSection struct {
	Name           string `toml:"name"`
	Room           string `toml:"room"`
	Slack          string `toml:"slack"`
	SlackChannel   string `toml:"slack_channel"`
	Discord        string `toml:"discord"`
	DiscordChannel string `toml:"discord_channel"`
	ListenerNick   string `toml:"listener_nick"`
	IdleTimeout    string `toml:"idle_timeout"`
	SelfPing       string `toml:"self_ping"`
}

// bridgeGroup is a validated [[bridge_group]].
type bridgeGroup struct {
	name         string
	room         jid.JID
	members      []groupMember
	listenerNick string
	idleTimeout  time.Duration
	selfPing     time.Duration
}

// groupMember is one channel of a bridge group: an instance and its
// channel.
type groupMember struct {
	instance string
	channel  string
}

var groupName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// validateBridgeGroups checks the [[bridge_group]] tables against the
// instances.
func validateBridgeGroups(c *checker, cfg *config, groups []bridgeGroupSection) {
	names, rooms := map[string]bool{}, map[jid.JID]bool{}
	for i, g := range groups {
		path := fmt.Sprintf("bridge_group[%d]", i)
		bg := &bridgeGroup{name: g.Name, listenerNick: g.ListenerNick}
		ok := true
		switch {
		case !groupName.MatchString(g.Name):
			c.errorf(path+".name", "%q is not a valid group name (letters, digits, '.', '_' and '-', at most 64); it keys the group's data: never change it", g.Name)
			ok = false
		case names[strings.ToLower(g.Name)]:
			c.errorf(path+".name", "bridge group %q is declared twice", g.Name)
			ok = false
		}
		names[strings.ToLower(g.Name)] = true
		room, err := jid.Parse(g.Room)
		switch {
		case g.Room == "":
			c.errorf(path+".room", "missing: the room's bare JID on the host server's MUC service (room@conference.example.org)")
			ok = false
		case err != nil || room.Local() == "" || room.Resource() != "":
			c.errorf(path+".room", "%q is not a bare room JID (room@conference.example.org)", g.Room)
			ok = false
		case rooms[room]:
			c.errorf(path+".room", "room %s is in two bridge groups", room)
			ok = false
		default:
			bg.room = room
			rooms[room] = true
		}
		for _, m := range []struct{ network, inst, channel, instKey, chanKey string }{
			{"slack", g.Slack, g.SlackChannel, "slack", "slack_channel"},
			{"discord", g.Discord, g.DiscordChannel, "discord", "discord_channel"},
		} {
			if m.channel == "" {
				if m.inst != "" {
					c.errorf(path+"."+m.chanKey, "missing: %s names an instance but no channel", m.instKey)
					ok = false
				}
				continue
			}
			inst, found := groupInstance(cfg, m.network, m.inst)
			if !found {
				if m.inst == "" {
					c.errorf(path+"."+m.instKey, "missing: name the [[%s]] instance whose bot bridges the channel (there is not exactly one)", m.network)
				} else {
					c.errorf(path+"."+m.instKey, "%q is not the name of a [[%s]] instance", m.inst, m.network)
				}
				ok = false
				continue
			}
			bg.members = append(bg.members, groupMember{instance: inst, channel: m.channel})
		}
		if g.SlackChannel == "" && g.DiscordChannel == "" {
			c.errorf(path, "no channel: set slack_channel and/or discord_channel")
			ok = false
		}
		bg.idleTimeout = c.duration(path+".idle_timeout", g.IdleTimeout, community.DefaultIdleTimeout)
		bg.selfPing = c.duration(path+".self_ping", g.SelfPing, community.DefaultSelfPing)
		if ok {
			cfg.groups = append(cfg.groups, bg)
		}
	}
}

// groupInstance finds the instance of a network by name, or the only one
// when name is empty.
func groupInstance(cfg *config, network, name string) (string, bool) {
	var found []string
	for _, inst := range cfg.instances {
		if inst.network != network {
			continue
		}
		if name != "" && strings.EqualFold(inst.Name, name) {
			return inst.Name, true
		}
		found = append(found, inst.Name)
	}
	if name == "" && len(found) == 1 {
		return found[0], true
	}
	return "", false
}

// newHubs builds the hubs of the bridge groups over the gateways, and
// routes their rooms' stanzas through mux.
func newHubs(cfg *config, gws []*bridge.Gateway, trs []bridge.Transport, mux *community.Mux, db *store.DB, log *slog.Logger) ([]*community.Hub, error) {
	var hubs []*community.Hub
	for _, g := range cfg.groups {
		hc := community.Config{
			Name: g.name, Room: g.room, ListenerNick: g.listenerNick,
			IdleTimeout: g.idleTimeout, SelfPing: g.selfPing,
		}
		for _, m := range g.members {
			i := instanceIndex(cfg, m.instance)
			br, ok := trs[i].(bridge.CommunityBridger)
			if !ok {
				return nil, fmt.Errorf("bridge group %s: the %s transport cannot bridge channels", g.name, cfg.instances[i].network)
			}
			hc.Networks = append(hc.Networks, community.Network{
				Name: m.instance, Channel: bridge.ChatID(m.channel), Bridger: br,
				Component: gws[i].Component(), Localpart: trs[i].ContactLocalpart,
			})
		}
		if len(g.members) > 0 {
			hc.Uploader = gws[instanceIndex(cfg, g.members[0].instance)].AvatarUploader()
		}
		h, err := community.New(hc, db, log.With("component", "community"))
		if err != nil {
			return nil, err
		}
		if err := mux.Add(h); err != nil {
			return nil, err
		}
		hubs = append(hubs, h)
	}
	return hubs, nil
}

func instanceIndex(cfg *config, name string) int {
	for i, inst := range cfg.instances {
		if inst.Name == name {
			return i
		}
	}
	return -1
}

// runHubs runs the hubs until ctx is done.
func runHubs(ctx context.Context, hubs []*community.Hub, log *slog.Logger) {
	done := make(chan struct{}, len(hubs))
	for _, h := range hubs {
		go func() {
			if err := h.Run(ctx); err != nil {
				log.Error("bridge group stopped", "bridge_group", h.Name(), "err", err)
			}
			done <- struct{}{}
		}()
	}
	for range hubs {
		<-done
	}
}

// groupStatus is one bridge group's counters, for /metrics.
type groupStatus struct {
	Name  string
	Stats community.Stats
}

// groupStatuses reads the hubs' counters.
func groupStatuses(hubs []*community.Hub) func() []groupStatus {
	return func() []groupStatus {
		out := make([]groupStatus, len(hubs))
		for i, h := range hubs {
			out[i] = groupStatus{Name: h.Name(), Stats: h.Stats()}
		}
		return out
	}
}

// groupMetrics are the per-group families of /metrics.
var groupMetrics = []struct {
	name, typ, help string
	value           func(st community.Stats) string
}{
	{"xgate_bridge_group_delivered_total", "counter", "Posts of a bridge group (messages, corrections, retractions) delivered to one member (the room or a channel).",
		func(st community.Stats) string { return u64(st.Delivered) }},
	{"xgate_bridge_group_dropped_total", "counter", "Posts of a bridge group given up for one member: room or channel gone, puppet kicked or banned (see the log).",
		func(st community.Stats) string { return u64(st.Dropped) }},
	{"xgate_bridge_group_rejoins_total", "counter", "Times a bridge group's listener found itself out of the room (restart of the MUC or host server) and joined again.",
		func(st community.Stats) string { return u64(st.Rejoins) }},
	{"xgate_bridge_group_puppets_barred_total", "counter", "Puppets of a bridge group kicked or banned from the room; they are not joined again.",
		func(st community.Stats) string { return u64(st.Barred) }},
	{"xgate_bridge_group_gone_total", "counter", "A bridge group's room or channel found gone or unreachable for good; posts to it are dropped.",
		func(st community.Stats) string { return u64(st.Gone) }},
	{"xgate_bridge_group_queued", "gauge", "Posts of a bridge group waiting in the store.",
		func(st community.Stats) string { return itoa(st.Queued) }},
}

// writeGroupMetrics writes the bridge groups' families, none when there
// are no groups.
func writeGroupMetrics(p *promWriter, groups []groupStatus) {
	if len(groups) == 0 {
		return
	}
	for _, m := range groupMetrics {
		p.family(m.name, m.typ, m.help)
		for _, g := range groups {
			p.sample(m.name, m.value(g.Stats), "group", g.Name)
		}
	}
}
