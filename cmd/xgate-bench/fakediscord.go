package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"github.com/xgate-im/xgate/transports/discord/discordfake"
)

// The fake Discord runs in its own process (`xgate-bench fake-discord`)
// and answers the same line protocol as the fake Slack (fakeslack.go):
// setup, post, count, wait, latencies, quit. Its world: each local user is
// a Discord person with a user token (a personal account in xgate), each
// partner a person who is their friend, with an open DM between them.

// postRoute is the REST route of a message post, named as discordfake
// names routes.
const postRoute = "POST /channels/{channel.id}/messages"

// runFakeDiscord serves requests from in until "quit" or EOF.
func runFakeDiscord(in io.Reader, out io.Writer) error {
	fake := discordfake.New()
	defer fake.Close()
	enc := json.NewEncoder(out)
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 64<<10), 64<<20)
	for sc.Scan() {
		var req fakeRequest
		if err := json.Unmarshal(sc.Bytes(), &req); err != nil {
			return fmt.Errorf("fake-discord: bad request: %w", err)
		}
		if req.Op == "quit" {
			return enc.Encode(fakeAnswer{})
		}
		if err := enc.Encode(serveFakeDiscord(fake, &req)); err != nil {
			return err
		}
	}
	return sc.Err()
}

func serveFakeDiscord(fake *discordfake.Server, req *fakeRequest) fakeAnswer {
	switch req.Op {
	case "setup":
		w := &fakeWorld{APIURL: fake.APIURL()}
		for i := range req.Users {
			u := fake.CreateUser(discordfake.UserSpec{Username: fmt.Sprintf("local%d", i), GlobalName: fmt.Sprintf("Local %d", i)})
			l := fakeLocal{ID: u.ID, Token: fake.IssueUserToken(u.ID)}
			for j := range req.Chats {
				p := fake.CreateUser(discordfake.UserSpec{Username: fmt.Sprintf("peer%d-%d", i, j), GlobalName: fmt.Sprintf("Peer %d-%d", i, j)})
				fake.AddFriend(u.ID, p.ID)
				l.Chats = append(l.Chats, fakeChat{Peer: p.ID, IM: fake.OpenDM(u.ID, p.ID).ID})
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
					time.Sleep(d) // pacing
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
		return fakeAnswer{Count: fake.CallCount(postRoute), Delivered: dispatched(fake)}
	case "wait":
		ctx, cancel := context.WithTimeout(context.Background(), time.Duration(req.TimeoutMS)*time.Millisecond)
		defer cancel()
		err := fake.WaitUntil(ctx, func() bool { return fake.CallCount(postRoute) >= req.N })
		ans := fakeAnswer{Count: fake.CallCount(postRoute)}
		if err != nil {
			ans.Error = fmt.Sprintf("wait: %d of %d posts", ans.Count, req.N)
		}
		return ans
	case "latencies":
		var ans fakeAnswer
		for _, ch := range req.Channels {
			for _, m := range fake.Messages(ch) {
				w, sent, ok := parseLoadText(m.Content)
				if !ok || w != req.Window {
					continue
				}
				// The message's time is its snowflake's: milliseconds.
				at, ok := snowflakeNanos(m.ID)
				if !ok {
					continue
				}
				ans.LastNS = max(ans.LastNS, at)
				if ans.FirstNS == 0 || sent < ans.FirstNS {
					ans.FirstNS = sent
				}
				ans.Latencies = append(ans.Latencies, max(at-sent, 0))
			}
		}
		ans.Count = len(ans.Latencies)
		return ans
	}
	return fakeAnswer{Error: "unknown op " + strconv.Quote(req.Op)}
}

// dispatched counts the Gateway dispatches the fake raised for the
// sessions with a socket: those of the running xgate's personal accounts.
// The sessions of the xgates of earlier runs are left out: Discord keeps a
// session after its socket closed (for a RESUME) and the fake keeps
// raising its dispatches.
func dispatched(fake *discordfake.Server) int {
	n := 0
	for _, s := range fake.Sessions() {
		if s.Connected {
			n += s.Seq
		}
	}
	return n
}

// fakeDiscordMain is `xgate-bench fake-discord`.
func fakeDiscordMain() int {
	if err := runFakeDiscord(os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}
