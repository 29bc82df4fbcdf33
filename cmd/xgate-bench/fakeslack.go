package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/xgate-im/xgate/transports/slack/slackfake"
)

// The fake Slack runs in its own process (`xgate-bench fake-slack`), so
// that its CPU is not counted with the driver's or xgate's. The driver
// talks to it with one JSON request per line on its stdin and reads one
// JSON answer per line on its stdout; requests are served one at a time.

// fakeRequest is one request to the fake Slack process.
type fakeRequest struct {
	Op string `json:"op"` // setup, post, count, wait, latencies, quit

	// setup: Users local Slack users, each with Chats direct-message
	// partners of their own.
	Users int `json:"users,omitempty"`
	Chats int `json:"chats,omitempty"`

	// post: N messages "b WINDOW UNIXNANO" by the partners, round-robin
	// over Targets, at Rate per second (0: as fast as possible).
	Window  int          `json:"window,omitempty"`
	Targets []fakeTarget `json:"targets,omitempty"`
	N       int          `json:"n,omitempty"`
	Rate    float64      `json:"rate,omitempty"`

	// wait: until chat.postMessage was called at least N times, or
	// TimeoutMS passes.
	TimeoutMS int `json:"timeout_ms,omitempty"`

	// latencies: of the messages of Window in Channels.
	Channels []string `json:"channels,omitempty"`
}

// fakeTarget is a conversation and the member who posts in it.
type fakeTarget struct {
	User    string `json:"user"`
	Channel string `json:"channel"`
}

// fakeWorld is what setup built.
type fakeWorld struct {
	APIURL   string      `json:"api_url"`
	AppToken string      `json:"app_token"`
	Team     string      `json:"team"`
	Users    []fakeLocal `json:"users"`
}

// fakeLocal is the Slack account of one XMPP user and its chats.
type fakeLocal struct {
	ID    string     `json:"id"`
	Token string     `json:"token"`
	Chats []fakeChat `json:"chats"`
}

// fakeChat is a direct message with a partner.
type fakeChat struct {
	Peer string `json:"peer"`
	IM   string `json:"im"`
}

// fakeAnswer is the answer to one request.
type fakeAnswer struct {
	Error     string     `json:"error,omitempty"`
	World     *fakeWorld `json:"world,omitempty"`
	Count     int        `json:"count,omitempty"`
	FirstNS   int64      `json:"first_ns,omitempty"`
	LastNS    int64      `json:"last_ns,omitempty"`
	Latencies []int64    `json:"latencies,omitempty"`
	// Delivered counts the Socket Mode envelopes written to xgate,
	// redeliveries of unacknowledged ones included (answer to count).
	Delivered int `json:"delivered,omitempty"`
}

// runFakeSlack serves requests from in until "quit" or EOF.
func runFakeSlack(in io.Reader, out io.Writer) error {
	fake := slackfake.New()
	defer fake.Close()
	team := fake.CreateTeam("Bench")
	fake.InstallApp(team.ID)
	enc := json.NewEncoder(out)
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 64<<10), 64<<20)
	for sc.Scan() {
		var req fakeRequest
		if err := json.Unmarshal(sc.Bytes(), &req); err != nil {
			return fmt.Errorf("fake-slack: bad request: %w", err)
		}
		if req.Op == "quit" {
			return enc.Encode(fakeAnswer{})
		}
		ans := serveFake(fake, team.ID, &req)
		if err := enc.Encode(ans); err != nil {
			return err
		}
	}
	return sc.Err()
}

func serveFake(fake *slackfake.Server, teamID string, req *fakeRequest) fakeAnswer {
	switch req.Op {
	case "setup":
		w := &fakeWorld{APIURL: fake.APIURL(), AppToken: fake.AppToken(), Team: teamID}
		for i := range req.Users {
			u := fake.CreateUser(teamID, slackfake.UserSpec{Name: fmt.Sprintf("local%d", i), DisplayName: fmt.Sprintf("Local %d", i)})
			l := fakeLocal{ID: u.ID, Token: fake.IssueUserToken(teamID, u.ID)}
			for j := range req.Chats {
				p := fake.CreateUser(teamID, slackfake.UserSpec{Name: fmt.Sprintf("peer%d-%d", i, j), DisplayName: fmt.Sprintf("Peer %d-%d", i, j)})
				l.Chats = append(l.Chats, fakeChat{Peer: p.ID, IM: fake.OpenIM(teamID, u.ID, p.ID)})
			}
			w.Users = append(w.Users, l)
		}
		return fakeAnswer{World: w}
	case "post":
		if len(req.Targets) == 0 {
			return fakeAnswer{Error: "post: no targets"}
		}
		var interval time.Duration
		if req.Rate > 0 {
			interval = time.Duration(float64(time.Second) / req.Rate)
		}
		start := time.Now()
		var first, last int64
		for i := range req.N {
			if interval > 0 {
				if d := time.Until(start.Add(time.Duration(i) * interval)); d > 0 {
					time.Sleep(d)
				}
			}
			t := req.Targets[i%len(req.Targets)]
			now := time.Now().UnixNano()
			if i == 0 {
				first = now
			}
			last = now
			fake.Post(t.User, t.Channel, loadText(req.Window, now))
		}
		return fakeAnswer{Count: req.N, FirstNS: first, LastNS: last}
	case "count":
		return fakeAnswer{Count: fake.CallCount("chat.postMessage"), Delivered: fake.Delivered()}
	case "wait":
		ctx, cancel := context.WithTimeout(context.Background(), time.Duration(req.TimeoutMS)*time.Millisecond)
		defer cancel()
		err := fake.WaitUntil(ctx, func() bool { return fake.CallCount("chat.postMessage") >= req.N })
		ans := fakeAnswer{Count: fake.CallCount("chat.postMessage")}
		if err != nil {
			ans.Error = fmt.Sprintf("wait: %d of %d posts", ans.Count, req.N)
		}
		return ans
	case "latencies":
		var ans fakeAnswer
		for _, ch := range req.Channels {
			for _, m := range fake.Messages(ch) {
				w, sent, ok := parseLoadText(m.Text)
				if !ok || w != req.Window {
					continue
				}
				at, ok := tsNanos(m.TS)
				if !ok {
					continue
				}
				if ans.LastNS < at {
					ans.LastNS = at
				}
				if ans.FirstNS == 0 || sent < ans.FirstNS {
					ans.FirstNS = sent
				}
				ans.Latencies = append(ans.Latencies, at-sent)
			}
		}
		ans.Count = len(ans.Latencies)
		return ans
	}
	return fakeAnswer{Error: "unknown op " + strconv.Quote(req.Op)}
}

// loadText is the body of a load message: its window and when it was sent.
func loadText(window int, sentNS int64) string {
	return "b " + strconv.Itoa(window) + " " + strconv.FormatInt(sentNS, 10)
}

// parseLoadText reads a loadText.
func parseLoadText(s string) (window int, sentNS int64, ok bool) {
	f := strings.Fields(s)
	if len(f) != 3 || f[0] != "b" {
		return 0, 0, false
	}
	w, err1 := strconv.Atoi(f[1])
	ns, err2 := strconv.ParseInt(f[2], 10, 64)
	return w, ns, err1 == nil && err2 == nil
}

// tsNanos converts a Slack timestamp ("1700000000.000100", microseconds)
// to Unix nanoseconds.
func tsNanos(ts string) (int64, bool) {
	sec, frac, ok := strings.Cut(ts, ".")
	if !ok || len(frac) != 6 {
		return 0, false
	}
	s, err1 := strconv.ParseInt(sec, 10, 64)
	us, err2 := strconv.ParseInt(frac, 10, 64)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	return s*1e9 + us*1e3, true
}

// fakeClient is the driver's end of a fake Slack process.
type fakeClient struct {
	proc *child
	enc  *json.Encoder
	dec  *json.Decoder
}

// do sends one request and reads its answer.
func (f *fakeClient) do(req fakeRequest) (fakeAnswer, error) {
	if err := f.enc.Encode(req); err != nil {
		return fakeAnswer{}, fmt.Errorf("fake-slack %s: %w", req.Op, err)
	}
	var ans fakeAnswer
	if err := f.dec.Decode(&ans); err != nil {
		return fakeAnswer{}, fmt.Errorf("fake-slack %s: %w", req.Op, err)
	}
	if ans.Error != "" {
		return ans, fmt.Errorf("fake-slack %s: %s", req.Op, ans.Error)
	}
	return ans, nil
}

// fakeSlackMain is `xgate-bench fake-slack`.
func fakeSlackMain() int {
	if err := runFakeSlack(os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}
