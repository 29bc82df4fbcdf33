package main

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/xgate-im/xgate/transports/slack"
)

// network is what the bench needs to know of one network: its fake (a
// child process speaking the line protocol of fakeslack.go), the gateway
// instance xgate runs for it, the names of the two directions and how the
// report calls things. The windows, the floors and the report are the same
// for every network.
type network struct {
	Name     string // "slack", "discord": the -network flag and xgate's instance name
	fakeCmd  string // the bench's subcommand that runs the fake
	domain   string // the gateway's component domain on Prosody
	toXMPP   string // direction network → XMPP
	toNet    string // direction XMPP → network
	fakeName string // "fake Slack", in log lines and the report
	// events names what the fake counts as Delivered in the report:
	// Slack's Socket Mode envelopes, Discord's Gateway dispatches.
	events string
}

// networks are the networks the bench drives.
var networks = []network{
	{Name: "slack", fakeCmd: "fake-slack", domain: "slack.localhost", toXMPP: dirToXMPP, toNet: dirToSlack,
		fakeName: "fake Slack", events: "Socket Mode envelopes/msg"},
	{Name: "discord", fakeCmd: "fake-discord", domain: "discord.localhost", toXMPP: dirDiscordToXMPP, toNet: dirToDiscord,
		fakeName: "fake Discord", events: "Gateway dispatches/msg"},
}

// networkByName finds a network.
func networkByName(name string) (network, bool) {
	for _, n := range networks {
		if strings.EqualFold(n.Name, strings.TrimSpace(name)) {
			return n, true
		}
	}
	return network{}, false
}

// parseDirections reads the -dirs flag for a network: its two directions
// by name, both when list is empty.
func (n network) parseDirections(list string) ([]string, error) {
	if strings.TrimSpace(list) == "" {
		return []string{n.toXMPP, n.toNet}, nil
	}
	var out []string
	for d := range strings.SplitSeq(list, ",") {
		d = strings.TrimSpace(d)
		if d != n.toXMPP && d != n.toNet {
			return nil, fmt.Errorf("unknown direction %q for %s (%s or %s)", d, n.Name, n.toXMPP, n.toNet)
		}
		out = append(out, d)
	}
	return out, nil
}

// peerJID is the JID under which xgate shows a partner of the network.
func (n network) peerJID(w *fakeWorld, member string) string {
	if n.Name == "discord" {
		return member + "@" + n.domain // the user snowflake (transports/discord/id.go)
	}
	return slack.ContactLocalpart(slack.MakeUserID(w.Team, member)) + "@" + n.domain
}

// snowflakeNanos returns the creation time of a Discord snowflake (the
// milliseconds since 2015 in its top 42 bits) in Unix nanoseconds.
func snowflakeNanos(id string) (int64, bool) {
	v, err := strconv.ParseUint(id, 10, 64)
	if err != nil || v == 0 {
		return 0, false
	}
	const discordEpochMS = 1420070400000
	return (int64(v>>22) + discordEpochMS) * 1e6, true
}

// echoPostArgs are the flags of the floor's echo that make its POST for
// the network: one call to the fake with the token of the first load
// chat's user, which makes the fake send xgate nothing.
func echoPostArgs(n network, w *fakeWorld, c loadChat) []string {
	tok := w.Users[c.user].Token
	if n.Name == "discord" {
		return []string{"-post", w.APIURL + "users/@me/channels", "-auth", tok, "-json", `{"recipient_id":"` + c.peer + `"}`}
	}
	return []string{"-post", w.APIURL + "auth.test", "-token", tok}
}
