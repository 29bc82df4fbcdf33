package faults

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/xgate-im/xgate/store"
	"github.com/xgate-im/xgate/transports/slack/slackfake"
	"github.com/xgate-im/xgate/xmpp"
	"github.com/xgate-im/xgate/xmpp/ejabberdtest"
	"github.com/xgate-im/xgate/xmpp/form"
	"github.com/xgate-im/xgate/xmpp/jid"
	"github.com/xgate-im/xgate/xmpp/prosodytest"
)

// The suite's size. The defaults are CI's short form; the long form is
// written in the package doc.
var (
	flagKills    = flag.Int("faults.kills", 3, "SIGKILLs of xgate in the kill scenario")
	flagMessages = flag.Int("faults.messages", 600, "messages each way in a scenario")
	flagRate     = flag.Int("faults.rate", 500, "messages per second each way")
	flagReplay   = flag.String("faults.replay-confirmed", "", "xgate's [xmpp] replay_confirmed (empty: its default; \"0s\": off, to see what it saves)")
	flagReport   = flag.String("faults.report", "", "append each scenario's tallies to this `FILE` (Markdown rows)")
)

const (
	gwDomain = "slack.localhost"
	gwSecret = "s3cret"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// xgateBinary builds cmd/xgate once per test process.
func xgateBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "xgate-faults-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "xgate")
		out, err := exec.Command("go", "build", "-o", binPath, "../cmd/xgate").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("building xgate: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

func TestMain(m *testing.M) {
	flag.Parse()
	code := m.Run()
	if binPath != "" {
		os.RemoveAll(filepath.Dir(binPath))
	}
	os.Exit(code)
}

// rig is one scenario's world: a real Prosody with alice (allowed) and
// mallory (not allowed), a fake Slack workspace where alice talks to Eliza,
// and xgate as a process of its own between them.
type rig struct {
	t       *testing.T
	p       hostServer
	fake    *slackfake.Server
	dir     string
	config  string
	me      slackfake.User // alice's Slack user
	eliza   slackfake.User
	im      string // alice and Eliza's DM
	token   string
	elizaAt jid.JID // Eliza's contact JID
	alice   *prosodytest.Client

	mu   sync.Mutex
	proc *gatewayProc
	runs int
}

// gatewayProc is one run of the xgate process.
type gatewayProc struct {
	cmd       *exec.Cmd
	connected chan struct{} // closed at its first "component connected"
	exited    chan struct{}
	log       *os.File
}

// hostServer is a real host server run by the test.
type hostServer interface {
	ComponentAddr() string
	C2SAddr() string
	Kill()
	Restart(t prosodytest.TB)
	LogTail(n int) string
}

// A kind of host server, started for a test with the component and the
// users alice and mallory (password "pw").
type hostKind struct {
	name  string
	start func(t *testing.T) hostServer
}

var (
	prosody = hostKind{"Prosody", func(t *testing.T) hostServer {
		return prosodytest.Start(t, prosodytest.Options{
			Components: []prosodytest.Component{{Domain: gwDomain, Secret: gwSecret}},
			Users:      map[string]string{"alice": "pw", "mallory": "pw"},
		})
	}}
	ejabberd = hostKind{"ejabberd", func(t *testing.T) hostServer {
		return ejabberdtest.Start(t, ejabberdtest.Options{
			Components: []ejabberdtest.Component{{Domain: gwDomain, Secret: gwSecret}},
			Users:      map[string]string{"alice": "pw", "mallory": "pw"},
		})
	}}
)

// newRig starts a world around Prosody.
func newRig(t *testing.T) *rig { return newRigOn(t, prosody) }

// newRigOn starts a world around a host server of kind h.
func newRigOn(t *testing.T, h hostKind) *rig {
	t.Helper()
	p := h.start(t)
	fake := slackfake.New(slackfake.WithAckTimeout(2 * time.Second))
	t.Cleanup(fake.Close)
	team := fake.CreateTeam("Acme")
	r := &rig{t: t, p: p, fake: fake, dir: t.TempDir()}
	r.me = fake.CreateUser(team.ID, slackfake.UserSpec{Name: "alice", DisplayName: "Alice"})
	r.eliza = fake.CreateUser(team.ID, slackfake.UserSpec{Name: "eliza", DisplayName: "Eliza"})
	r.im = fake.OpenIM(team.ID, r.me.ID, r.eliza.ID)
	r.token = fake.IssueUserToken(team.ID, r.me.ID)
	r.writeConfig()
	t.Cleanup(r.stop)
	return r
}

func (r *rig) writeConfig() {
	key, err := store.GenerateKey()
	if err != nil {
		r.t.Fatal(err)
	}
	keyPath := filepath.Join(r.dir, "store.key")
	if err := os.WriteFile(keyPath, []byte(key+"\n"), 0o600); err != nil {
		r.t.Fatal(err)
	}
	q := strconv.Quote
	cfg := fmt.Sprintf(`[log]
level = "info"

[store]
path = %s
key_file = %s

[access]
allow = ["alice@localhost"]
# alice sends -faults.rate messages a second, and her receipts and chat
# states: well beyond a person's share, on purpose.
user_rate = 100000

[xmpp]
server = %s
%s

[[slack]]
domain = %s
secret = %s
app_token = %s
api_url = %s
roster = "dms"
presence_poll = "1h"
post_rate = 1000.0
post_burst = 1000
`, q(filepath.Join(r.dir, "xgate.db")), q(keyPath), q(r.p.ComponentAddr()), replayConfirmed(), q(gwDomain), q(gwSecret), q(r.fake.AppToken()), q(r.fake.APIURL()))
	r.config = filepath.Join(r.dir, "config.toml")
	if err := os.WriteFile(r.config, []byte(cfg), 0o600); err != nil {
		r.t.Fatal(err)
	}
}

// replayConfirmed is the [xmpp] line -faults.replay-confirmed asks for.
func replayConfirmed() string {
	if *flagReplay == "" {
		return ""
	}
	return "replay_confirmed = " + strconv.Quote(*flagReplay)
}

// start runs a new xgate process and waits until its component is
// connected.
func (r *rig) start(ctx context.Context) {
	r.t.Helper()
	g := r.launch()
	select {
	case <-g.connected:
	case <-g.exited:
		r.t.Fatalf("xgate exited before connecting: %v\n%s", g.cmd.ProcessState, r.logTail(30))
	case <-ctx.Done():
		r.t.Fatalf("xgate did not connect: %v\n%s", ctx.Err(), r.logTail(30))
	}
}

// launch runs a new xgate process.
func (r *rig) launch() *gatewayProc {
	r.t.Helper()
	r.mu.Lock()
	r.runs++
	logPath := filepath.Join(r.dir, fmt.Sprintf("xgate-%d.log", r.runs))
	r.mu.Unlock()
	logFile, err := os.Create(logPath)
	if err != nil {
		r.t.Fatal(err)
	}
	cmd := exec.Command(xgateBinary(r.t), "run", "-c", r.config)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		r.t.Fatal(err)
	}
	cmd.Stdout = logFile
	g := &gatewayProc{cmd: cmd, connected: make(chan struct{}), exited: make(chan struct{}), log: logFile}
	if err := cmd.Start(); err != nil {
		r.t.Fatal(err)
	}
	go g.watch(stderr)
	r.mu.Lock()
	r.proc = g
	r.mu.Unlock()
	return g
}

// watch copies the process's log to its file and notices the connection.
func (g *gatewayProc) watch(stderr io.Reader) {
	defer close(g.exited)
	sc := bufio.NewScanner(stderr)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	seen := false
	for sc.Scan() {
		line := sc.Text()
		fmt.Fprintln(g.log, line)
		if !seen && strings.Contains(line, "component connected") {
			seen = true
			close(g.connected)
		}
	}
	g.cmd.Wait()
	g.log.Close()
}

// kill ends the running xgate process with SIGKILL and waits for it.
func (r *rig) kill() {
	r.mu.Lock()
	g := r.proc
	r.proc = nil
	r.mu.Unlock()
	if g == nil {
		return
	}
	g.cmd.Process.Kill()
	<-g.exited
}

// stop ends the running xgate process with SIGTERM, as an operator does.
func (r *rig) stop() {
	r.mu.Lock()
	g := r.proc
	r.proc = nil
	r.mu.Unlock()
	if g == nil {
		return
	}
	g.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-g.exited:
	case <-time.After(20 * time.Second):
		g.cmd.Process.Kill()
		<-g.exited
		r.t.Errorf("xgate did not stop on SIGTERM within 20s")
	}
}

// storeReport stops xgate and returns what `xgate store check` says of
// its store: where undelivered items wait, for a failure's message.
func (r *rig) storeReport() string {
	r.stop()
	if d := os.Getenv("XGATE_FAULTS_KEEP"); d != "" {
		exec.Command("cp", "-r", r.dir, d).Run()
	}
	out, err := exec.Command(xgateBinary(r.t), "store", "check", "-c", r.config).CombinedOutput()
	if err != nil {
		return fmt.Sprintf("xgate store check: %v\n%s", err, out)
	}
	return string(out)
}

// logTail returns the last n lines of the newest run's log.
func (r *rig) logTail(n int) string {
	r.mu.Lock()
	path := filepath.Join(r.dir, fmt.Sprintf("xgate-%d.log", r.runs))
	r.mu.Unlock()
	b, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// login connects alice, registers her Slack account through the gateway's
// registration form and accepts the gateway and Eliza as contacts.
func (r *rig) login(ctx context.Context) {
	r.t.Helper()
	c := prosodytest.Dial(ctx, r.t, r.p.C2SAddr(), "alice", "localhost", "pw")
	r.alice = c
	c.Send(&xmpp.Presence{})
	gw := jid.MustParse(gwDomain)
	sub := &form.Form{Type: form.TypeSubmit}
	sub.Set("FORM_TYPE", "jabber:iq:register")
	sub.Set("token", r.token)
	res, err := c.Request(ctx, &xmpp.IQ{Header: xmpp.Header{To: gw, Type: xmpp.IQSet},
		Payload: xmpp.NewElement("jabber:iq:register", "query").Append(sub.Element())})
	if err != nil || res.Type != xmpp.IQResult {
		r.t.Fatalf("register: %v %v\n%s", res, err, r.logTail(20))
	}
	// Eliza's JID is the one whose subscription request carries her nick.
	for r.elizaAt.IsZero() {
		s, err := c.Expect(ctx, func(s xmpp.Stanza) bool {
			p, ok := s.(*xmpp.Presence)
			return ok && p.Type == xmpp.PresenceSubscribe
		})
		if err != nil {
			r.t.Fatalf("no subscription request from Eliza: %v\n%s", err, r.logTail(20))
		}
		p := s.(*xmpp.Presence)
		c.Approve(p.From.Bare())
		c.Subscribe(p.From.Bare())
		for _, x := range p.Extra {
			if x.Name.Local == "nick" && x.Text() == "Eliza" {
				r.elizaAt = p.From.Bare()
			}
		}
	}
}

// bounded returns a context that ends after d or with the test.
func bounded(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), d)
	t.Cleanup(cancel)
	return ctx
}

// report logs a scenario's tallies and appends them to -faults.report.
func report(t *testing.T, scenario string, tallies map[string]Tally) {
	t.Helper()
	for dir, tl := range tallies {
		t.Logf("%s, %s: %v", scenario, dir, tl)
	}
	if *flagReport == "" {
		return
	}
	f, err := os.OpenFile(*flagReport, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, dir := range []string{"network→XMPP", "XMPP→network"} {
		if tl, ok := tallies[dir]; ok {
			fmt.Fprintf(f, "| %s | %s | %d | %d | %d | %d | %d | %d |\n", scenario, dir, tl.Sent, tl.Delivered, tl.Bounced, tl.Lost, tl.Duplicated, tl.Reordered)
		}
	}
}
