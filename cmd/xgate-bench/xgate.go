package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Names the bench gives the gateway and the echo on the host server (the
// gateway's domain is its network's, see networks).
const (
	gwSecret    = "bench-gw"
	echoDomain  = "echo.localhost"
	echoSecret  = "bench-echo"
	storeKeyHex = "5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a"
)

// writeXgateConfig writes xgate's store key and configuration into dir for
// the network's fake at w.APIURL and returns the configuration's path.
// Slack's per-conversation rate limit is postRate (-post-rate, 1,000,000
// messages a second by default, which lifts it: the bench measures xgate,
// not Slack's limits; xgate accepted at most 1,000 before dfd1be4). Its
// admin endpoint listens on adminAddr.
// Discord's instance takes personal accounts and reads no history at
// login (catch_up = "0s": the DMs hold the earlier runs' messages); its
// global limit of 50 requests a second per token is the transport's own
// and stays. Everything else is the default.
func writeXgateConfig(n network, dir, server, storePath, adminAddr string, w *fakeWorld, postRate float64) (string, error) {
	keyPath := filepath.Join(dir, "store.key")
	if err := os.WriteFile(keyPath, []byte(storeKeyHex+"\n"), 0o600); err != nil {
		return "", err
	}
	q := strconv.Quote
	cfg := fmt.Sprintf(`# Written by xgate-bench.
[log]
level = "info"
format = "text"

[store]
path = %s
key_file = %s

[access]
allow = ["*"]
# The load is one user sending far above a person's rate (default 50/s).
user_rate = 1000000

[xmpp]
server = %s

[admin]
# The bench reads the store's commits from /metrics around each window.
listen = %s

%s`, q(storePath), q(keyPath), q(server), q(adminAddr), networkTable(n, w, postRate))
	path := filepath.Join(dir, "xgate.toml")
	return path, os.WriteFile(path, []byte(cfg), 0o600)
}

// networkTable is the network's instance table of xgate's configuration.
func networkTable(n network, w *fakeWorld, postRate float64) string {
	q := strconv.Quote
	if n.Name == "discord" {
		return fmt.Sprintf(`
[[discord]]
domain = %s
secret = %s
api_url = %s
personal_accounts = true
catch_up = "0s"
`, q(n.domain), q(gwSecret), q(w.APIURL))
	}
	return fmt.Sprintf(`
[[slack]]
domain = %s
secret = %s
app_token = %s
api_url = %s
post_rate = %g
post_burst = %d
`, q(n.domain), q(gwSecret), q(w.AppToken), q(w.APIURL), postRate, int(postRate))
}

// xgateProc is a running xgate and what its log has said.
type xgateProc struct {
	proc      *child
	hookAddr  string
	adminAddr string // its admin endpoint (/metrics)
	started   time.Time
	handshake chan time.Duration // receives the time from start to the first "component connected"

	mu       sync.Mutex
	loggedIn int
	lastLine string
	changed  chan struct{}
}

// startXgate runs `xgate run -c cfg` and follows its log. env, when not
// nil, is its environment (without the bench's hook, added here).
func startXgate(bin, cfg, dir string, env []string) (*xgateProc, error) {
	hookFile := filepath.Join(dir, "hook.addr")
	os.Remove(hookFile)
	cmd := exec.Command(bin, "run", "-c", cfg)
	if env == nil {
		env = os.Environ()
	}
	cmd.Env = append(env, "XGATE_BENCH_HOOK="+hookFile)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	logf, err := os.Create(filepath.Join(dir, "xgate.log"))
	if err != nil {
		return nil, err
	}
	cmd.Stdout = logf
	x := &xgateProc{handshake: make(chan time.Duration, 1), changed: make(chan struct{})}
	x.started = time.Now()
	x.proc, err = startChild("xgate", cmd, "")
	if err != nil {
		logf.Close()
		return nil, err
	}
	go func() {
		defer logf.Close()
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		once := false
		for sc.Scan() {
			line := sc.Text()
			if !once && strings.Contains(line, "component connected") {
				once = true
				x.handshake <- time.Since(x.started)
			}
			logf.WriteString(line + "\n")
			x.mu.Lock()
			if strings.Contains(line, `msg="logged in"`) {
				x.loggedIn++
			}
			x.lastLine = line
			close(x.changed)
			x.changed = make(chan struct{})
			x.mu.Unlock()
		}
	}()
	// The hook writes its address during package initialization.
	deadline := time.Now().Add(10 * time.Second)
	for {
		if b, err := os.ReadFile(hookFile); err == nil && len(b) > 0 {
			x.hookAddr = string(b)
			break
		}
		if x.proc.exited() || time.Now().After(deadline) {
			x.proc.stop(time.Second)
			return nil, fmt.Errorf("xgate did not start: %v; log:\n%s", x.proc.err, tail(filepath.Join(dir, "xgate.log"), 20))
		}
		time.Sleep(time.Millisecond) // the file appears within milliseconds of exec
	}
	return x, nil
}

// waitHandshake waits for the component handshake and returns how long it
// took from exec.
func (x *xgateProc) waitHandshake(ctx context.Context) (time.Duration, error) {
	select {
	case d := <-x.handshake:
		return d, nil
	case <-x.proc.done:
		return 0, fmt.Errorf("xgate exited before its handshake: %v", x.proc.err)
	case <-ctx.Done():
		return 0, fmt.Errorf("xgate: no handshake: %w", ctx.Err())
	}
}

// waitLoggedIn waits until n accounts have logged in.
func (x *xgateProc) waitLoggedIn(ctx context.Context, n int) error {
	for {
		x.mu.Lock()
		got, ch, last := x.loggedIn, x.changed, x.lastLine
		x.mu.Unlock()
		if got >= n {
			return nil
		}
		select {
		case <-ch:
		case <-x.proc.done:
			return fmt.Errorf("xgate exited: %v (last log line: %s)", x.proc.err, last)
		case <-ctx.Done():
			return fmt.Errorf("%d of %d accounts logged in (last log line: %s): %w", got, n, last, ctx.Err())
		}
	}
}

// loggedInCount returns how many accounts have logged in so far.
func (x *xgateProc) loggedInCount() int {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.loggedIn
}

// waitAfterLogin waits until xgate's admin endpoint at addr reports no
// account waiting for its work after login. An xgate without that metric
// (an older one built with -src) is not waited for.
func waitAfterLogin(ctx context.Context, addr string) error {
	for {
		n, ok := readMetric(addr, "xgate_bridge_after_login_pending")
		if !ok || n == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%.0f accounts still syncing their contacts: %w", n, ctx.Err())
		case <-time.After(200 * time.Millisecond): // polling a gauge
		}
	}
}

// startupQuiet is the share of a core under which xgate counts as done
// with its start-up work: the paced work after 10k logins runs at about
// half a core, and an idle xgate with 10k accounts at about 3%.
const startupQuiet = 0.05

// windowQuiet returns the share of a core under which xgate counts as done
// with a window's trailing work (acknowledgements, commits), given its idle
// share: two points above idle. A fixed 2% was below the idle share of 10k
// accounts (2.6%), so the wait ran until its timeout and charged up to a
// minute of idle CPU to the window: 400–530 µs per message instead of ~230.
func windowQuiet(idle float64) float64 {
	return max(0.02, idle+0.02)
}

// waitQuiet waits until the process uses less than limit (a share of one
// core) in each of quietSpans 300 ms spans in a row. Before the windows it
// keeps start-up work out of them: with one span, a lull in the paced work
// after 10k logins ended the wait once, the idle CPU read next was 31%,
// and the first window cost 388 µs per message against 226–262 in other
// runs. After a window it keeps the trailing work in.
func waitQuiet(ctx context.Context, pid int, limit float64, quietSpans int) error {
	const span = 300 * time.Millisecond
	budget := time.Duration(limit * float64(span))
	quiet := 0
	prev, err := cpuTime(pid)
	if err != nil {
		return err
	}
	for {
		select {
		case <-ctx.Done():
			return fmt.Errorf("process %d did not settle under %.0f%% of a core: %w", pid, 100*limit, ctx.Err())
		case <-time.After(span):
		}
		cur, err := cpuTime(pid)
		if err != nil {
			return err
		}
		if cur-prev < budget {
			if quiet++; quiet == quietSpans {
				return nil
			}
		} else {
			quiet = 0
		}
		prev = cur
	}
}
