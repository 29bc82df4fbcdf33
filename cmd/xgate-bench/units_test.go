package main

import (
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestLoadText(t *testing.T) {
	tests := []struct {
		in     string
		window int
		sent   int64
		ok     bool
	}{
		{loadText(7, 1733300000123456789), 7, 1733300000123456789, true},
		{"b 0 1", 0, 1, true},
		{"b 1", 0, 0, false},
		{"a 1 2", 0, 0, false},
		{"b x 2", 0, 0, false},
		{"b 1 2 3", 0, 0, false},
		{"hello", 0, 0, false},
	}
	for _, tt := range tests {
		w, sent, ok := parseLoadText(tt.in)
		if ok != tt.ok || (ok && (w != tt.window || sent != tt.sent)) {
			t.Errorf("parseLoadText(%q) = %d, %d, %v; want %d, %d, %v", tt.in, w, sent, ok, tt.window, tt.sent, tt.ok)
		}
	}
}

func TestTSNanos(t *testing.T) {
	tests := []struct {
		ts   string
		want int64
		ok   bool
	}{
		{"1700000000.000100", 1700000000_000100000, true},
		{"1700000000.999999", 1700000000_999999000, true},
		{"1700000000.1", 0, false},
		{"1700000000", 0, false},
		{"x.000001", 0, false},
	}
	for _, tt := range tests {
		got, ok := tsNanos(tt.ts)
		if ok != tt.ok || got != tt.want {
			t.Errorf("tsNanos(%q) = %d, %v; want %d, %v", tt.ts, got, ok, tt.want, tt.ok)
		}
	}
}

func TestStatOf(t *testing.T) {
	tests := []struct {
		in   []float64
		want stat
	}{
		{nil, stat{}},
		{[]float64{5}, stat{5, 5}},
		{[]float64{3, 1, 2}, stat{1, 2}},
		{[]float64{4, 1, 3, 2}, stat{1, 2.5}},
	}
	for _, tt := range tests {
		if got := statOf(tt.in); got != tt.want {
			t.Errorf("statOf(%v) = %+v, want %+v", tt.in, got, tt.want)
		}
	}
}

func TestPercentiles(t *testing.T) {
	lat := make([]int64, 100)
	for i := range lat {
		lat[i] = int64(100-i) * 1e6 // 100 ms down to 1 ms
	}
	got := percentiles(lat)
	if want := [3]float64{50, 99, 100}; got != want {
		t.Errorf("percentiles = %v, want %v", got, want)
	}
	if got := percentiles(nil); got != [3]float64{} {
		t.Errorf("percentiles(nil) = %v", got)
	}
}

func TestCollectorCountsOnlyItsWindow(t *testing.T) {
	var col collector
	col.expect(2, 2)
	col.add(1, 0, 10) // an earlier window's straggler
	col.add(2, 0, 5)
	col.add(2, 1, 7)
	col.add(2, 1, 9) // more than expected
	lat, last, err := col.wait(t.Context())
	if err != nil || len(lat) != 2 || lat[0] != 5 || lat[1] != 6 || last != 7 {
		t.Errorf("wait = %v, %d, %v; want [5 6], 7, nil", lat, last, err)
	}
}

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"-scenarios", "nope"},
		{"-dirs", "sideways"},
		{"-rates", "fast"},
		{"-n", "0"},
		{"-network", "irc"},
		{"-network", "discord", "-dirs", dirToSlack},
		{"-network", "slack", "-dirs", dirDiscordToXMPP},
	} {
		var stderr strings.Builder
		if code := runMain(args, io.Discard, &stderr); code != 2 {
			t.Errorf("runMain(%q) = %d, want 2 (%s)", args, code, stderr.String())
		}
	}
}

func TestNoProsody(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	old := prosodyFallback
	prosodyFallback = "/nonexistent/prosody"
	t.Cleanup(func() { prosodyFallback = old })
	var stderr strings.Builder
	if code := runMain([]string{"-scenarios", "1u1c"}, io.Discard, &stderr); code != exitNoProsody {
		t.Errorf("runMain without prosody = %d, want %d (%s)", code, exitNoProsody, stderr.String())
	}
	if !strings.Contains(stderr.String(), "prosody is not installed") {
		t.Errorf("stderr %q does not say why", stderr.String())
	}
}

func TestNetworkDirections(t *testing.T) {
	tests := []struct {
		network, dirs string
		want          []string
		ok            bool
	}{
		{"slack", "", []string{dirToXMPP, dirToSlack}, true},
		{"discord", "", []string{dirDiscordToXMPP, dirToDiscord}, true},
		{"Discord", " xmpp-to-discord ", []string{dirToDiscord}, true},
		{"discord", "xmpp-to-discord,discord-to-xmpp", []string{dirToDiscord, dirDiscordToXMPP}, true},
		{"discord", "slack-to-xmpp", nil, false},
		{"slack", "xmpp-to-discord", nil, false},
		{"slack", "sideways", nil, false},
	}
	for _, tt := range tests {
		n, ok := networkByName(tt.network)
		if !ok {
			t.Fatalf("networkByName(%q) not found", tt.network)
		}
		got, err := n.parseDirections(tt.dirs)
		if (err == nil) != tt.ok || !slices.Equal(got, tt.want) {
			t.Errorf("%s parseDirections(%q) = %v, %v; want %v, ok %v", tt.network, tt.dirs, got, err, tt.want, tt.ok)
		}
	}
	if _, ok := networkByName("irc"); ok {
		t.Error("networkByName(irc) found a network")
	}
}

func TestSnowflakeNanos(t *testing.T) {
	tests := []struct {
		id   string
		want int64
		ok   bool
	}{
		{"175928847299117063", 1462015105796_000000, true}, // Discord's documented example: 2016-04-30 11:18:25.796 UTC
		{"4194304", 1420070400001_000000, true},            // one millisecond after the epoch
		{"0", 0, false},
		{"", 0, false},
		{"12a", 0, false},
		{"-1", 0, false},
	}
	for _, tt := range tests {
		got, ok := snowflakeNanos(tt.id)
		if ok != tt.ok || got != tt.want {
			t.Errorf("snowflakeNanos(%q) = %d, %v; want %d, %v", tt.id, got, ok, tt.want, tt.ok)
		}
	}
}

func TestNetworkTables(t *testing.T) {
	w := &fakeWorld{APIURL: "http://127.0.0.1:1/api/v9/", AppToken: "xapp-1", Team: "T01",
		Users: []fakeLocal{{ID: "42", Token: "tok", Chats: []fakeChat{{Peer: "43", IM: "44"}}}}}
	tests := []struct {
		network  string
		table    []string
		echoArgs []string
		member   string
		peer     string
	}{
		{"slack", []string{"[[slack]]", `domain = "slack.localhost"`, `app_token = "xapp-1"`, "post_rate = 1000"},
			[]string{"-post", "http://127.0.0.1:1/api/v9/auth.test", "-token", "tok"}, "U043", "u043.t01@slack.localhost"},
		{"discord", []string{"[[discord]]", `domain = "discord.localhost"`, "personal_accounts = true", `catch_up = "0s"`, `api_url = "http://127.0.0.1:1/api/v9/"`},
			[]string{"-post", "http://127.0.0.1:1/api/v9/users/@me/channels", "-auth", "tok", "-json", `{"recipient_id":"43"}`}, "43", "43@discord.localhost"},
	}
	for _, tt := range tests {
		n, _ := networkByName(tt.network)
		table := networkTable(n, w, 1000)
		for _, line := range tt.table {
			if !strings.Contains(table, line+"\n") {
				t.Errorf("%s table lacks %q:\n%s", tt.network, line, table)
			}
		}
		if got := echoPostArgs(n, w, loadChat{user: 0, peer: "43"}); !slices.Equal(got, tt.echoArgs) {
			t.Errorf("%s echo args %q, want %q", tt.network, got, tt.echoArgs)
		}
		if got := n.peerJID(w, tt.member); got != tt.peer {
			t.Errorf("%s peer JID %q, want %q", tt.network, got, tt.peer)
		}
	}
}

// TestFakeDiscordProtocol drives the fake Discord's line protocol in
// process: setup builds friends with open DMs, post makes messages whose
// latencies come back from their snowflakes, and count and wait see
// xgate's posts (here a post by the local user through REST).
func TestFakeDiscordProtocol(t *testing.T) {
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	done := make(chan error, 1)
	go func() { done <- runFakeDiscord(inR, outW); outW.Close() }()
	fc := &fakeClient{enc: jsonEncoder(inW), dec: jsonDecoder(outR)}
	ans, err := fc.do(fakeRequest{Op: "setup", Users: 2, Chats: 3})
	if err != nil {
		t.Fatal(err)
	}
	w := ans.World
	if len(w.Users) != 2 || len(w.Users[1].Chats) != 3 || w.Users[0].Token == "" || !strings.HasSuffix(w.APIURL, "/api/v9/") {
		t.Fatalf("world %+v", w)
	}
	c := w.Users[1].Chats[2]
	if ans, err = fc.do(fakeRequest{Op: "post", Window: 7, Targets: []fakeTarget{{User: c.Peer, Channel: c.IM}}, N: 5}); err != nil || ans.Count != 5 {
		t.Fatalf("post: %+v, %v", ans, err)
	}
	if ans, err = fc.do(fakeRequest{Op: "latencies", Window: 7, Channels: []string{c.IM, w.Users[0].Chats[0].IM}}); err != nil || ans.Count != 5 {
		t.Fatalf("latencies: %+v, %v", ans, err)
	}
	for _, l := range ans.Latencies {
		if l < 0 || l > int64(time.Minute) {
			t.Errorf("latency %d ns", l)
		}
	}
	if ans, err = fc.do(fakeRequest{Op: "latencies", Window: 8, Channels: []string{c.IM}}); err != nil || ans.Count != 0 {
		t.Fatalf("another window's latencies: %+v, %v", ans, err)
	}
	if ans, err = fc.do(fakeRequest{Op: "count"}); err != nil || ans.Count != 0 {
		t.Fatalf("count before any REST post: %+v, %v", ans, err)
	}
	req, _ := http.NewRequest(http.MethodPost, w.APIURL+"channels/"+c.IM+"/messages", strings.NewReader(`{"content":"hi"}`))
	req.Header.Set("Authorization", w.Users[1].Token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("post as the local user: %s", resp.Status)
	}
	if ans, err = fc.do(fakeRequest{Op: "wait", N: 1, TimeoutMS: 10000}); err != nil || ans.Count != 1 {
		t.Fatalf("wait: %+v, %v", ans, err)
	}
	if _, err := fc.do(fakeRequest{Op: "nope"}); err == nil {
		t.Error("an unknown op was answered")
	}
	if _, err := fc.do(fakeRequest{Op: "quit"}); err != nil {
		t.Fatal(err)
	}
	inW.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestMetricValue(t *testing.T) {
	const text = `# HELP xgate_store_commits_total Write transactions committed.
# TYPE xgate_store_commits_total counter
xgate_store_commits_total_extra 9
xgate_store_commits 8
xgate_store_commits_total 1234
xgate_bridge_sent_remote_total{gateway="slack"} 77
xgate_bridge_sent_remote_total{gateway="sl ack} 2"} 3
xgate_bridge_after_login_pending{gateway="slack"} 0
`
	tests := []struct {
		name string
		want float64
		ok   bool
	}{
		{"xgate_store_commits_total", 1234, true},
		{"xgate_store_commits", 8, true},
		{"xgate_bridge_sent_remote_total", 80, true}, // summed over labels, even odd ones
		{"xgate_bridge_after_login_pending", 0, true},
		{"xgate_bridge_after_login", 0, false},
		{"xgate_missing", 0, false},
	}
	for _, tt := range tests {
		if got, ok := metricValue(text, tt.name); got != tt.want || ok != tt.ok {
			t.Errorf("metricValue(%q) = %v, %v; want %v, %v", tt.name, got, ok, tt.want, tt.ok)
		}
	}
	if _, ok := metricValue("xgate_store_commits_total NaNx\n", "xgate_store_commits_total"); ok {
		t.Error("a malformed value was read")
	}
}
