package main

import (
	"strings"
	"testing"
	"time"

	"github.com/xgate-im/xgate/bridge/community"
	"github.com/xgate-im/xgate/xmpp/jid"
)

func TestBridgeGroupConfig(t *testing.T) {
	group := "[[bridge_group]]\nname = \"general\"\nroom = \"general@conference.example.org\"\n"
	second := "[[slack]]\nname = \"work\"\ndomain = \"work.example.org\"\nsecret_env = \"XGATE_TEST_SECRET\"\n"
	cases := []struct {
		name string
		doc  string
		want []string // substrings of the error; none: valid
	}{
		{"the only slack instance", minimal + slackInstance + group + "slack_channel = \"C1\"\n", nil},
		{"named instance", minimal + slackInstance + second + group + "slack_channel = \"C1\"\nslack = \"work\"\n", nil},
		{"which instance", minimal + slackInstance + second + group + "slack_channel = \"C1\"\n",
			[]string{"bridge_group[0].slack: missing: name the [[slack]] instance"}},
		{"unknown instance", minimal + slackInstance + group + "slack_channel = \"C1\"\nslack = \"nope\"\n",
			[]string{`bridge_group[0].slack: "nope" is not the name of a [[slack]] instance`}},
		{"no channel", minimal + slackInstance + group, []string{"bridge_group[0]: no channel"}},
		{"instance without channel", minimal + slackInstance + group + "slack = \"slack\"\n", []string{"bridge_group[0].slack_channel: missing"}},
		{"no discord instance", minimal + slackInstance + group + "discord_channel = \"123\"\n",
			[]string{"bridge_group[0].discord: missing: name the [[discord]] instance"}},
		{"bad room", minimal + slackInstance + "[[bridge_group]]\nname = \"g\"\nroom = \"conference.example.org\"\nslack_channel = \"C1\"\n",
			[]string{`bridge_group[0].room: "conference.example.org" is not a bare room JID`}},
		{"missing room and name", minimal + slackInstance + "[[bridge_group]]\nslack_channel = \"C1\"\n",
			[]string{`bridge_group[0].name: "" is not a valid group name`, "bridge_group[0].room: missing"}},
		{"room twice", minimal + slackInstance + group + "slack_channel = \"C1\"\n" + strings.Replace(group, "general\"\n", "other\"\n", 1) + "slack_channel = \"C2\"\n",
			[]string{"bridge_group[1].room: room general@conference.example.org is in two bridge groups"}},
		{"bad durations", minimal + slackInstance + group + "slack_channel = \"C1\"\nidle_timeout = \"soon\"\nself_ping = \"-1s\"\n",
			[]string{`bridge_group[0].idle_timeout: "soon" is not a duration`, "bridge_group[0].self_ping: must be positive"}},
		{"unknown key", minimal + slackInstance + group + "slack_chanel = \"C1\"\n", []string{`unknown key bridge_group.slack_chanel (did you mean "slack_channel"?)`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := parseConfig(cfgName, []byte(tc.doc), testKinds())
			if tc.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				if len(c.groups) != 1 || c.groups[0].members[0].channel != "C1" {
					t.Fatalf("groups %+v", c.groups)
				}
				return
			}
			if err == nil {
				t.Fatal("no error")
			}
			mustContain(t, err.Error(), tc.want...)
		})
	}
}

func TestBridgeGroupDefaults(t *testing.T) {
	doc := minimal + slackInstance + "[[bridge_group]]\nname = \"general\"\nroom = \"General@conference.example.org\"\nslack_channel = \"C1\"\n"
	c, err := parseConfig(cfgName, []byte(doc), testKinds())
	if err != nil {
		t.Fatal(err)
	}
	g := c.groups[0]
	if g.room != jid.MustParse("general@conference.example.org") || g.idleTimeout != community.DefaultIdleTimeout ||
		g.selfPing != time.Minute || g.members[0].instance != "slack" || g.listenerNick != "" {
		t.Errorf("group %+v", g)
	}
}
