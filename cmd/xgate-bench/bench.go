package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/xgate-im/xgate/xmpp/jid"
)

// bench is one invocation: the built binaries and the work directory.
type bench struct {
	o      options
	log    io.Writer
	dir    string
	xgate  string // the built xgate
	self   string // this binary, for the fake network and the echo
	window int
}

func (b *bench) logf(format string, args ...any) {
	fmt.Fprintf(b.log, "%s "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
}

// runBench runs every scenario and returns the report.
func runBench(ctx context.Context, o options, log io.Writer) (*report, error) {
	if prosodyBinary() == "" {
		return nil, errNoProsody
	}
	root, err := moduleRoot(o.src)
	if err != nil {
		return nil, err
	}
	dir := o.keep
	if dir == "" {
		if dir, err = os.MkdirTemp("", "xgate-bench-"); err != nil {
			return nil, err
		}
		defer os.RemoveAll(dir)
	} else if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	b := &bench{o: o, log: log, dir: dir, self: self}
	b.logf("building cmd/xgate of %s", root)
	if b.xgate, err = buildXgate(root, dir); err != nil {
		return nil, err
	}
	rep := &report{Machine: newMachine(), Settings: settingsOf(o)}
	for _, sc := range o.scenarios {
		sr, err := b.scenario(ctx, sc)
		if err != nil {
			return nil, fmt.Errorf("scenario %s: %w", sc.Name, err)
		}
		if rep.Machine.Prosody == "" {
			rep.Machine.Prosody = sr.prosody
		}
		rep.Scenarios = append(rep.Scenarios, sr.summarize())
	}
	rep.Machine.Load1End = load1()
	return rep, nil
}

// scenarioRuns is what the runs of one scenario measured.
type scenarioRuns struct {
	sc      scenario
	prosody string
	runs    []runResult
}

// runResult is one run of a scenario: a fresh xgate.
type runResult struct {
	StartupMS  float64        `json:"startup_ms"`
	LoginMS    float64        `json:"logins_ms"`
	LoggedIn   int            `json:"logged_in"`
	IdleRSSMB  float64        `json:"idle_rss_mb"`
	PeakRSSMB  float64        `json:"peak_rss_mb"`
	IdleCPUPct float64        `json:"idle_cpu_pct"`
	Windows    []windowResult `json:"windows,omitempty"`
}

// windowResult is one direction at one rate in one run, with its floor.
type windowResult struct {
	Direction string             `json:"direction"`
	Rate      float64            `json:"rate"` // 0: maximum
	Metrics   map[string]float64 `json:"metrics"`
}

func (b *bench) scenario(ctx context.Context, sc scenario) (*scenarioRuns, error) {
	sdir := filepath.Join(b.dir, sc.Name)
	if err := os.MkdirAll(sdir, 0o700); err != nil {
		return nil, err
	}
	nw := b.o.net
	b.logf("%s: starting the %s with %d users × %d chats", sc.Name, nw.fakeName, sc.Users, sc.Chats)
	fp, in, out, err := pipeChild(nw.fakeCmd, exec.Command(b.self, nw.fakeCmd), filepath.Join(sdir, "fake.log"))
	if err != nil {
		return nil, err
	}
	defer fp.stop(5 * time.Second)
	defer in.Close()
	// A request the fake never answers must not outlive the bench.
	stopFake := context.AfterFunc(ctx, func() { _ = fp.cmd.Process.Kill() })
	defer stopFake()
	fake := &fakeClient{proc: fp, enc: jsonEncoder(in), dec: jsonDecoder(out)}
	ans, err := fake.do(fakeRequest{Op: "setup", Users: sc.Users, Chats: sc.Chats})
	if err != nil {
		return nil, err
	}
	world := ans.World
	b.logf("%s: starting Prosody with %d accounts", sc.Name, sc.Users)
	pr, err := startProsody(ctx, filepath.Join(sdir, "prosody"), map[string]string{nw.domain: gwSecret, echoDomain: echoSecret, "echopost.localhost": echoSecret}, append(accountsFor(sc.Users), accountSpec{user: loaderUser, password: "pw"}), b.o.nagleOff)
	if err != nil {
		return nil, err
	}
	defer pr.stop()
	seed := filepath.Join(sdir, "seed.db")
	b.logf("%s: seeding the store (%d accounts, %d contacts, %d message IDs)", sc.Name, sc.Users, sc.Contacts, sc.MessageRefs)
	if err := seedStore(ctx, nw, seed, sc, world); err != nil {
		return nil, err
	}
	res := &scenarioRuns{sc: sc, prosody: pr.version}
	for run := range b.o.runs {
		r, err := b.run(ctx, sc, run, sdir, seed, pr, fake, world)
		if err != nil {
			return nil, fmt.Errorf("run %d: %w", run+1, err)
		}
		res.runs = append(res.runs, r)
	}
	return res, nil
}

// run starts a fresh xgate on a copy of the seeded store and measures it.
func (b *bench) run(ctx context.Context, sc scenario, run int, sdir, seed string, pr *prosody, fake *fakeClient, world *fakeWorld) (runResult, error) {
	var r runResult
	rdir := filepath.Join(sdir, fmt.Sprintf("run%d", run+1))
	if err := os.MkdirAll(rdir, 0o700); err != nil {
		return r, err
	}
	dbPath := filepath.Join(rdir, "xgate.db")
	if err := copyFile(dbPath, seed); err != nil {
		return r, err
	}
	ports, err := freePorts(1)
	if err != nil {
		return r, err
	}
	adminAddr := fmt.Sprintf("127.0.0.1:%d", ports[0])
	cfg, err := writeXgateConfig(b.o.net, rdir, pr.componentAddr(), dbPath, adminAddr, world, b.o.postRate)
	if err != nil {
		return r, err
	}
	x, err := startXgate(b.xgate, cfg, rdir, withProcs(b.o.xgateProcs))
	if err != nil {
		return r, err
	}
	x.adminAddr = adminAddr
	defer x.proc.stop(30 * time.Second)
	pid := x.proc.pid()
	hctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	hs, err := x.waitHandshake(hctx)
	if err != nil {
		return r, err
	}
	r.StartupMS = ms(hs)
	// Logins that fail (the fake, starved of CPU, can time out) are
	// retried by xgate; past the deadline the run goes on with the
	// accounts that made it, and says how many.
	lctx, lcancel := context.WithTimeout(ctx, 5*time.Minute)
	defer lcancel()
	if err := x.waitLoggedIn(lctx, sc.Users); err != nil {
		if ctx.Err() != nil || x.proc.exited() {
			return r, err
		}
		b.logf("%s run %d: %v; going on", sc.Name, run+1, err)
	}
	r.LoginMS = ms(time.Since(x.started))
	r.LoggedIn = x.loggedInCount()
	// The contact syncs that follow the logins (half a core for 20–40 s
	// with 10k accounts, with lulls that a CPU reading takes for quiet)
	// must be over before anything is measured.
	if err := waitAfterLogin(lctx, adminAddr); err != nil {
		b.logf("%s run %d: %v; going on", sc.Name, run+1, err)
	}
	if err := waitQuiet(hctx, pid, startupQuiet, 3); err != nil {
		b.logf("%s: %v; measuring anyway", sc.Name, err)
	}
	const idleSpan = 2 * time.Second
	c0, _ := cpuTime(pid)
	time.Sleep(idleSpan) // the idle CPU is measured over this span
	c1, _ := cpuTime(pid)
	r.IdleCPUPct = 100 * (c1 - c0).Seconds() / idleSpan.Seconds()
	mem, err := readMemory(pid)
	if err != nil {
		return r, err
	}
	r.IdleRSSMB = mb(mem.RSS)
	if b.o.profile != "" && run == 0 && x.hookAddr != "" {
		// What holds the idle memory: a heap profile once logged in.
		path := filepath.Join(b.o.profile, sc.Name+"-idle-heap.pprof")
		if err := saveHeapProfile(x.hookAddr, path); err != nil {
			b.logf("%s: heap profile: %v", sc.Name, err)
		}
		// The same as text, with the runtime's memory statistics at the end.
		if err := fetchProfile(fmt.Sprintf("http://%s/debug/pprof/heap?debug=1", x.hookAddr), strings.TrimSuffix(path, ".pprof")+".txt"); err != nil {
			b.logf("%s: heap statistics: %v", sc.Name, err)
		}
		// And the goroutines by stack (a crowd of them holds stack memory).
		if err := fetchProfile(fmt.Sprintf("http://%s/debug/pprof/goroutine?debug=1", x.hookAddr), filepath.Join(b.o.profile, sc.Name+"-idle-goroutines.txt")); err != nil {
			b.logf("%s: goroutines: %v", sc.Name, err)
		}
	}
	b.logf("%s run %d: handshake %.0f ms, %d logins by %.0f ms, idle RSS %.1f MB (anonymous %.1f, files %.1f), peak %.1f MB",
		sc.Name, run+1, r.StartupMS, sc.Users, r.LoginMS, r.IdleRSSMB, mb(mem.Anon), mb(mem.File), mb(mem.HWM))
	if !sc.StartupOnly {
		ws, err := b.traffic(ctx, sc, run, rdir, pr, fake, world, x, r.IdleCPUPct/100)
		if err != nil {
			return r, err
		}
		r.Windows = ws
	}
	if mem, err = readMemory(pid); err == nil {
		r.PeakRSSMB = mb(mem.HWM)
	}
	return r, nil
}

// withProcs returns the environment of a child run with GOMAXPROCS=n, or
// nil (the bench's own environment) when n is 0.
func withProcs(n int) []string {
	if n <= 0 {
		return nil
	}
	return append(os.Environ(), fmt.Sprintf("GOMAXPROCS=%d", n))
}

// traffic runs every direction and rate against xgate and the floor; idle
// is xgate's idle CPU, a share of one core.
func (b *bench) traffic(ctx context.Context, sc scenario, run int, rdir string, pr *prosody, fake *fakeClient, world *fakeWorld, x *xgateProc, idle float64) ([]windowResult, error) {
	chats := loadChats(b.o.net, sc, world)
	echoCmd := exec.Command(b.self, "echo", "-server", pr.componentAddr(), "-domain", echoDomain, "-secret", echoSecret)
	echoCmd.Env = withProcs(b.o.floorProcs)
	echo, err := startChild("echo", echoCmd, filepath.Join(rdir, "echo.log"))
	if err != nil {
		return nil, err
	}
	defer echo.stop(5 * time.Second)
	echoPostCmd := exec.Command(b.self, append([]string{"echo", "-server", pr.componentAddr(), "-domain", "echopost.localhost", "-secret", echoSecret},
		echoPostArgs(b.o.net, world, chats[0])...)...)
	echoPostCmd.Env = withProcs(b.o.floorProcs)
	echoPost, err := startChild("echo-post", echoPostCmd, filepath.Join(rdir, "echo-post.log"))
	if err != nil {
		return nil, err
	}
	defer echoPost.stop(5 * time.Second)

	var users []int
	for _, c := range chats {
		if len(users) == 0 || users[len(users)-1] != c.user {
			users = append(users, c.user)
		}
	}
	col := &collector{}
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	clients, err := connectClients(cctx, pr.c2sAddr(), users, col)
	if err != nil {
		return nil, err
	}
	defer closeClients(clients)
	loader, err := connectLoader(cctx, pr.c2sAddr())
	if err != nil {
		return nil, err
	}
	defer loader.c.Close()
	clientOf := map[int]*loadClient{}
	for i, u := range users {
		clientOf[u] = clients[i]
	}
	var toPeers, toEcho, toEchoPost []sendTarget
	var fakeTargets []fakeTarget
	var ims []string
	for _, c := range chats {
		cl := clientOf[c.user]
		toPeers = append(toPeers, sendTarget{client: cl, to: jid.MustParse(c.peerJID)})
		fakeTargets = append(fakeTargets, fakeTarget{User: c.peer, Channel: c.im})
		ims = append(ims, c.im)
	}
	for _, cl := range clients {
		// The receiver only receives, as in the network's windows
		// (its client writing too would let its TCP acknowledgements
		// ride on its own data and hide Prosody's Nagle delays), and
		// gets the copy at its bare JID, as xgate sends.
		toEcho = append(toEcho, sendTarget{client: loader, to: jid.MustParse("echo@" + echoDomain), replyTo: cl.jid.Bare()})
		toEchoPost = append(toEchoPost, sendTarget{client: cl, to: jid.MustParse("echo@echopost.localhost")})
	}
	if err := waitEchoes(ctx, rdir); err != nil {
		return nil, err
	}
	l := &loads{b: b, fake: fake, col: col, admin: x.adminAddr, others: map[string]int{"fake": fake.proc.pid(), "prosody": pr.proc.pid()}, fakeTargets: fakeTargets, toPeers: toPeers, toEcho: toEcho, toEchoPost: toEchoPost, ims: ims, idle: idle}

	// Warm-up: every chat once in each direction, through xgate and the echoes.
	// The network's direction comes first even when it is not measured:
	// xgate knows a contact's JID once the account's contact sync or a
	// message from the contact mapped it, and with 10,000 accounts the
	// syncs may not have reached the load users when the windows start.
	warm := 2 * len(chats)
	warmDirs := append([]string{b.o.net.toXMPP}, slices.DeleteFunc(slices.Clone(b.o.dirs), func(d string) bool { return d == b.o.net.toXMPP })...)
	for _, d := range warmDirs {
		if _, err := l.measure(ctx, d, false, warm, 0, x.proc.pid(), x.hookAddr, ""); err != nil {
			return nil, fmt.Errorf("warm-up %s: %w", d, err)
		}
		fl := echo.pid()
		if d == b.o.net.toNet {
			fl = echoPost.pid()
		}
		if _, err := l.measure(ctx, d, true, warm, 0, fl, "", ""); err != nil {
			return nil, fmt.Errorf("warm-up floor %s: %w", d, err)
		}
	}
	var out []windowResult
	for _, d := range b.o.dirs {
		for _, rate := range b.o.rates {
			prof := ""
			if b.o.profile != "" && run == 0 {
				prof = filepath.Join(b.o.profile, fmt.Sprintf("%s-%s-%s.pprof", sc.Name, d, strings.ReplaceAll(rateName(rate), "/", "-")))
			}
			xr, err := l.measure(ctx, d, false, b.o.n, rate, x.proc.pid(), x.hookAddr, prof)
			if err != nil {
				return nil, fmt.Errorf("%s at %s: %w", d, rateName(rate), err)
			}
			fl := echo.pid()
			if d == b.o.net.toNet {
				fl = echoPost.pid()
			}
			fr, err := l.measure(ctx, d, true, b.o.n, rate, fl, "", "")
			if err != nil {
				return nil, fmt.Errorf("floor %s at %s: %w", d, rateName(rate), err)
			}
			m := map[string]float64{}
			for k, v := range xr {
				m[k] = v
			}
			for k, v := range fr {
				if !strings.HasPrefix(k, "alloc") {
					m["floor_"+k] = v
				}
			}
			if m["floor_cpu_us"] > 0 {
				m["ratio"] = m["cpu_us"] / m["floor_cpu_us"]
			}
			if mem, err := readMemory(x.proc.pid()); err == nil {
				m["rss_mb"] = mb(mem.RSS)
			}
			b.logf("%s run %d %s %s: %.1f µs/msg (floor %.1f, ×%.2f), %.0f B/msg, p99 %.2f ms (floor %.2f), %.0f msg/s",
				sc.Name, run+1, d, rateName(rate), m["cpu_us"], m["floor_cpu_us"], m["ratio"], m["alloc_bytes"], m["p99_ms"], m["floor_p99_ms"], m["msg_per_s"])
			out = append(out, windowResult{Direction: d, Rate: rate, Metrics: m})
		}
	}
	return out, nil
}

// waitEchoes waits until both echo components have completed their
// handshake (they say so on stderr).
func waitEchoes(ctx context.Context, rdir string) error {
	deadline := time.Now().Add(20 * time.Second)
	for _, f := range []string{"echo.log", "echo-post.log"} {
		for {
			data, _ := os.ReadFile(filepath.Join(rdir, f))
			if strings.Contains(string(data), "handshake accepted") {
				break
			}
			if time.Now().After(deadline) || ctx.Err() != nil {
				return fmt.Errorf("echo component: no handshake: %s", data)
			}
			time.Sleep(5 * time.Millisecond) // polling a log file
		}
	}
	return nil
}

// loads runs measurement windows.
type loads struct {
	b                           *bench
	others                      map[string]int // processes whose CPU is also reported, by name
	fake                        *fakeClient
	admin                       string // xgate's admin endpoint, for its store commits
	col                         *collector
	fakeTargets                 []fakeTarget
	toPeers, toEcho, toEchoPost []sendTarget
	ims                         []string
	idle                        float64 // xgate's idle CPU, a share of one core
}

// measure sends n messages in direction d at rate through xgate (or the
// floor) and returns the CPU of process pid per message, its allocations
// when hook is set, and the latencies. With prof set it also saves a CPU
// profile of xgate taken during the window.
func (l *loads) measure(ctx context.Context, d string, floor bool, n int, rate float64, pid int, hook, prof string) (map[string]float64, error) {
	l.b.window++
	w := l.b.window
	wctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	var a0, a1 allocCounters
	var err error
	if hook != "" {
		if a0, err = readAllocs(hook); err != nil {
			return nil, err
		}
	}
	profDone := make(chan error, 1)
	if prof != "" && hook != "" {
		secs := l.b.o.profileS
		if secs == 0 {
			secs = 1
			if rate > 0 {
				secs = max(1, int(float64(n)/rate))
			}
		}
		go func() { profDone <- saveProfile(hook, prof, secs) }()
	} else {
		profDone <- nil
	}
	// The store's commits, when this xgate counts them (not before
	// 293bb27: -src may name an older tree).
	commits0, commitsOK := -1.0, false
	var narrowed0 float64
	narrowedOK := false
	wall0 := time.Now()
	if !floor {
		commits0, commitsOK = readMetric(l.admin, "xgate_store_commits_total")
		narrowed0, narrowedOK = readMetric(l.admin, "xgate_procs_narrowed_seconds_total")
	}
	c0, err := cpuTime(pid)
	if err != nil {
		return nil, err
	}
	var env0 fakeAnswer
	if !floor {
		if env0, err = l.fake.do(fakeRequest{Op: "count"}); err != nil {
			return nil, err
		}
	}
	others0 := map[string]time.Duration{}
	for name, opid := range l.others {
		others0[name], _ = cpuTime(opid)
	}
	var lat []int64
	var firstNS, lastNS int64
	switch {
	case d == l.b.o.net.toXMPP && !floor:
		l.col.expect(w, n)
		ans, err := l.fake.do(fakeRequest{Op: "post", Window: w, Targets: l.fakeTargets, N: n, Rate: rate})
		if err != nil {
			return nil, err
		}
		firstNS = ans.FirstNS
		if lat, lastNS, err = l.col.wait(wctx); err != nil {
			return nil, err
		}
	case d == l.b.o.net.toXMPP && floor:
		l.col.expect(w, n)
		if firstNS, err = sendLoad(l.toEcho, w, n, rate); err != nil {
			return nil, err
		}
		if lat, lastNS, err = l.col.wait(wctx); err != nil {
			return nil, err
		}
	case d == l.b.o.net.toNet && floor:
		// The echo answers once its POST has returned: the latency is
		// the round trip.
		l.col.expect(w, n)
		if firstNS, err = sendLoad(l.toEchoPost, w, n, rate); err != nil {
			return nil, err
		}
		if lat, lastNS, err = l.col.wait(wctx); err != nil {
			return nil, err
		}
	default:
		base, err := l.fake.do(fakeRequest{Op: "count"})
		if err != nil {
			return nil, err
		}
		if firstNS, err = sendLoad(l.toPeers, w, n, rate); err != nil {
			return nil, err
		}
		if err := l.waitPosts(base.Count+n, 5*time.Minute); err != nil {
			return nil, err
		}
		ans, err := l.fake.do(fakeRequest{Op: "latencies", Window: w, Channels: l.ims})
		if err != nil {
			return nil, err
		}
		if ans.Count != n {
			return nil, fmt.Errorf("%d of %d messages found at the fake", ans.Count, n)
		}
		lat, lastNS = ans.Latencies, ans.LastNS
	}
	// Work that follows the last delivery (acknowledgements, commits)
	// belongs to the window; the process's idle share does not stop it.
	idle := 0.0
	if !floor {
		idle = l.idle
	}
	if err := waitQuiet(wctx, pid, windowQuiet(idle), 2); err != nil {
		l.b.logf("window %d: %v; counting what it used", w, err)
	}
	c1, err := cpuTime(pid)
	if err != nil {
		return nil, err
	}
	if err := <-profDone; err != nil {
		return nil, err
	}
	m := map[string]float64{"n": float64(n), "cpu_us": float64((c1 - c0).Microseconds()) / float64(n)}
	for name, opid := range l.others {
		if c, err := cpuTime(opid); err == nil {
			m["cpu_us_"+name] = float64((c - others0[name]).Microseconds()) / float64(n)
		}
	}
	if !floor {
		env1, err := l.fake.do(fakeRequest{Op: "count"})
		if err != nil {
			return nil, err
		}
		// One per message when nothing is redelivered: the event in
		// slack-to-xmpp, the copy of xgate's own post in xmpp-to-slack.
		m["envelopes_per_msg"] = float64(env1.Delivered-env0.Delivered) / float64(n)
		if commits1, ok := readMetric(l.admin, "xgate_store_commits_total"); ok && commitsOK {
			m["commits_per_msg"] = (commits1 - commits0) / float64(n)
		}
		// The share of the window xgate spent on one processor, when it
		// says ([runtime] adaptive_procs; not before this counter).
		if narrowed1, ok := readMetric(l.admin, "xgate_procs_narrowed_seconds_total"); ok && narrowedOK {
			m["narrowed_pct"] = 100 * (narrowed1 - narrowed0) / time.Since(wall0).Seconds()
		}
	}
	if hook != "" {
		if a1, err = readAllocs(hook); err != nil {
			return nil, err
		}
		m["alloc_bytes"] = float64(a1.Bytes-a0.Bytes) / float64(n)
		m["alloc_objects"] = float64(a1.Objects-a0.Objects) / float64(n)
	}
	if lastNS > firstNS {
		m["msg_per_s"] = float64(n) / (float64(lastNS-firstNS) / 1e9)
	}
	p := percentiles(lat)
	m["p50_ms"], m["p99_ms"], m["max_ms"] = p[0], p[1], p[2]
	return m, nil
}

// readMetric reads an unlabelled sample from xgate's /metrics at addr;
// ok is false when it cannot, or xgate does not report it.
func readMetric(addr, name string) (v float64, ok bool) {
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		return 0, false
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		return 0, false
	}
	return metricValue(string(body), name)
}

// metricValue returns the sum of a metric's samples in a Prometheus text
// exposition, whatever their labels (the bench runs one gateway), and
// whether there was any. xgate writes no timestamps, so a sample's value
// is its last field.
func metricValue(text, name string) (float64, bool) {
	sum, found := 0.0, false
	for line := range strings.Lines(text) {
		rest, ok := strings.CutPrefix(line, name)
		if !ok || rest == "" || (rest[0] != ' ' && rest[0] != '{') {
			continue
		}
		rest = strings.TrimSpace(rest)
		v, err := strconv.ParseFloat(rest[strings.LastIndexByte(rest, ' ')+1:], 64)
		if err != nil {
			return 0, false
		}
		sum, found = sum+v, true
	}
	return sum, found
}

// saveProfile fetches a CPU profile of secs seconds from a hooked xgate.
func saveProfile(hook, path string, secs int) error {
	return fetchProfile(fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", hook, secs), path)
}

// saveHeapProfile fetches a heap profile from a hooked xgate, after a
// garbage collection (what is live, not what was allocated since the last
// one).
func saveHeapProfile(hook, path string) error {
	return fetchProfile(fmt.Sprintf("http://%s/debug/pprof/heap?gc=1", hook), path)
}

// fetchProfile saves what url answers into path.
func fetchProfile(url, path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	resp, err := http.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func ms(d time.Duration) float64 { return float64(d) / 1e6 }
func mb(b int64) float64         { return float64(b) / (1 << 20) }

func rateName(r float64) string {
	if r == 0 {
		return "max"
	}
	return fmt.Sprintf("%g/s", r)
}

// waitPosts waits until the fake has n posts, at most limit, and gives up
// at once when xgate refused load messages (they would never arrive).
func (l *loads) waitPosts(n int, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		_, err := l.fake.do(fakeRequest{Op: "wait", N: n, TimeoutMS: 1000})
		if err == nil {
			return nil
		}
		if r := refusals.Load(); r > 0 {
			return fmt.Errorf("%w (xgate refused %d load messages; see above)", err, r)
		}
		if time.Now().After(deadline) {
			return err
		}
	}
}
