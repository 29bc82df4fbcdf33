// Package kanneltest starts a real Kannel (bearerbox + smsbox from the
// Debian package "kannel") for tests, on loopback ports in a temporary
// directory, and plays its SMS centre: Kannel's "fake" SMSC speaks plain
// text lines ("FROM TO TYPE DATA") over TCP, the protocol of fakesmsc from
// kannel-extras, so the test reads what Kannel sends to phones (MT) and
// injects texts from phones (MO) without any other process (fakesmsc
// itself is not needed). Kannel 1.4.5's line types: "text", "data"
// (URL-encoded bytes), "ucs2" from the SMSC and "ucs-2" to it (URL-encoded
// UTF-16BE), "udh UDH data|text DATA" for parts of concatenated texts.
//
// Start skips the test (with the reason) only when bearerbox or smsbox is
// not installed; any other failure fails it. Every process is stopped by
// PID at the end of the test. A Kannel serves one test; its methods are
// safe for concurrent use.
package kanneltest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Options configure a Kannel.
type Options struct {
	// MOURL is the sms-service's get-url (or post-url when MOPost), with
	// Kannel's % escapes, e.g. "http://127.0.0.1:PORT/mo?from=%p&to=%P&text=%a&id=%I&ts=%T".
	// Empty: incoming texts are dropped by Kannel.
	MOURL string
	// MOPost makes MOURL a post-url (text in the body) instead of a get-url.
	MOPost bool
	// MaxParts is the sendsms user's max-messages (parts of a long text); 0
	// means 10.
	MaxParts int
}

// Kannel is a running bearerbox + smsbox pair with its SMSC played by the
// test.
type Kannel struct {
	t       testing.TB
	dir     string
	conf    string
	ports   ports
	mu      sync.Mutex
	bb, sb  *proc
	smsc    net.Conn
	quit    chan struct{} // closed to stop the current reader
	mt      chan Message
	readers sync.WaitGroup
}

type ports struct{ admin, smsbox, smsc, sendsms int }

// Username and Password of the sendsms user.
const (
	Username = "xgate"
	Password = "kannel-test-pw"
	adminPW  = "kannel-admin-pw"
)

// Message is one line of the SMSC protocol: a text Kannel sent to a phone.
type Message struct {
	// From and To are the numbers as Kannel wrote them.
	From, To string
	// Type is "text", "data", "ucs-2", or "udh text" / "udh data" for a
	// part of a concatenated text.
	Type string
	// UDH is the user data header (concatenated parts), decoded.
	UDH []byte
	// Data is the payload, decoded: text as Kannel wrote it, data and
	// ucs-2 as bytes (UCS-2 is big-endian UTF-16).
	Data []byte
}

// Start writes the configuration, starts bearerbox and smsbox, connects the
// SMSC and waits until Kannel reports both online.
func Start(t testing.TB, opts Options) *Kannel {
	t.Helper()
	for _, bin := range []string{"bearerbox", "smsbox"} {
		if _, err := exec.LookPath(bin); err != nil {
			if os.Getenv("XGATE_REQUIRE_KANNEL") == "1" {
				t.Fatalf("kanneltest: %s not installed (Debian package kannel) and XGATE_REQUIRE_KANNEL=1: %v", bin, err)
			}
			t.Skipf("kanneltest: %s not installed (Debian package kannel): %v", bin, err)
		}
	}
	k := &Kannel{t: t, dir: t.TempDir(), mt: make(chan Message, 1024)}
	free := freePorts(t, 4)
	k.ports = ports{admin: free[0], smsbox: free[1], smsc: free[2], sendsms: free[3]}
	k.conf = filepath.Join(k.dir, "kannel.conf")
	if err := os.WriteFile(k.conf, []byte(k.config(opts)), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(k.stop)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := k.start(ctx); err != nil {
		k.dumpLogs()
		t.Fatalf("kanneltest: %v", err)
	}
	return k
}

// SendSMSURL returns smsbox's sendsms endpoint.
func (k *Kannel) SendSMSURL() string {
	return fmt.Sprintf("http://127.0.0.1:%d/cgi-bin/sendsms", k.ports.sendsms)
}

// Dir returns the directory holding the configuration and logs.
func (k *Kannel) Dir() string { return k.dir }

func (k *Kannel) config(opts Options) string {
	maxParts := opts.MaxParts
	if maxParts == 0 {
		maxParts = 10
	}
	var b strings.Builder
	fmt.Fprintf(&b, `group = core
admin-port = %d
admin-password = %q
admin-interface = "127.0.0.1"
admin-allow-ip = "127.0.0.1"
smsbox-port = %d
smsbox-interface = "127.0.0.1"
box-allow-ip = "127.0.0.1"
log-file = %q
log-level = 1
store-type = file
store-location = %q
dlr-storage = internal

group = smsc
smsc = fake
smsc-id = fake
port = %d
our-host = "127.0.0.1"
connect-allow-ip = "127.0.0.1"

group = smsbox
bearerbox-host = "127.0.0.1"
bearerbox-port = %d
sendsms-port = %d
sendsms-interface = "127.0.0.1"
log-file = %q
log-level = 1
mo-recode = true
# A callback answered 5xx (or not answered) is sent again, as the
# gateway's documentation tells operators to configure: without these,
# smsbox drops it.
http-request-retry = 10
http-queue-delay = 1

group = sendsms-user
username = %q
password = %q
max-messages = %d
concatenation = true
`, k.ports.admin, adminPW, k.ports.smsbox, filepath.Join(k.dir, "bearerbox.log"),
		filepath.Join(k.dir, "store"), k.ports.smsc, k.ports.smsbox, k.ports.sendsms,
		filepath.Join(k.dir, "smsbox.log"), Username, Password, maxParts)
	if opts.MOURL != "" {
		kind := "get-url"
		if opts.MOPost {
			kind = "post-url"
		}
		// max-messages = 0: the callback's answer is not sent back as a
		// reply text.
		fmt.Fprintf(&b, "\ngroup = sms-service\nkeyword = default\ncatch-all = true\nmax-messages = 0\n%s = %q\n", kind, opts.MOURL)
	}
	return b.String()
}

func (k *Kannel) start(ctx context.Context) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	var err error
	if k.bb, err = k.spawn("bearerbox"); err != nil {
		return err
	}
	// smsbox gives up when bearerbox does not answer at once: start it
	// once bearerbox's box port is listening.
	probe, err := dialUntil(ctx, fmt.Sprintf("127.0.0.1:%d", k.ports.smsbox))
	if err != nil {
		return fmt.Errorf("bearerbox box port: %w", err)
	}
	probe.Close()
	if k.sb, err = k.spawn("smsbox"); err != nil {
		return err
	}
	conn, err := dialUntil(ctx, fmt.Sprintf("127.0.0.1:%d", k.ports.smsc))
	if err != nil {
		return fmt.Errorf("connect to the fake SMSC port: %w", err)
	}
	k.smsc = conn
	k.quit = make(chan struct{})
	k.readers.Add(1)
	go k.readMT(conn, k.quit)
	return k.waitOnline(ctx)
}

// proc is a started box; exited is closed once it has ended and been
// reaped (by the one goroutine that waits for it).
type proc struct {
	name   string
	cmd    *exec.Cmd
	exited chan struct{}
}

func (k *Kannel) spawn(name string) (*proc, error) {
	out, err := os.Create(filepath.Join(k.dir, name+".out"))
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(name, k.conf)
	cmd.Dir = k.dir
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		out.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	out.Close()
	p := &proc{name: name, cmd: cmd, exited: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(p.exited) }()
	return p, nil
}

// waitOnline polls bearerbox's status page until the SMSC is online and a
// smsbox is connected, and smsbox's sendsms port answers.
func (k *Kannel) waitOnline(ctx context.Context) error {
	status := fmt.Sprintf("http://127.0.0.1:%d/status.txt?password=%s", k.ports.admin, adminPW)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	var last string
	for {
		if body, err := get(ctx, status); err == nil {
			last = body
			if strings.Contains(body, "online") && strings.Contains(body, "smsbox:") {
				if _, err := get(ctx, k.SendSMSURL()); err == nil {
					return nil
				}
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("kannel not online: %w; last status:\n%s", ctx.Err(), last)
		case <-k.bb.exited:
			return errors.New("bearerbox exited during start-up (a port taken?)")
		case <-k.sb.exited:
			return errors.New("smsbox exited during start-up")
		case <-tick.C:
		}
	}
}

// readMT turns the SMSC connection's lines into Messages.
func (k *Kannel) readMT(conn net.Conn, quit <-chan struct{}) {
	defer k.readers.Done()
	r := bufio.NewReader(conn)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		m, err := ParseLine(strings.TrimRight(line, "\r\n"))
		if err != nil {
			k.t.Errorf("kanneltest: %v", err)
			continue
		}
		select {
		case k.mt <- m:
		case <-quit:
			return
		}
	}
}

// ParseLine decodes one line of the fake SMSC protocol.
func ParseLine(line string) (Message, error) {
	f := strings.SplitN(line, " ", 4)
	if len(f) < 4 {
		return Message{}, fmt.Errorf("short SMSC line %q", line)
	}
	if f[0] == "" || f[1] == "" {
		return Message{}, fmt.Errorf("SMSC line without numbers: %q", line)
	}
	m := Message{From: f[0], To: f[1], Type: f[2]}
	data := f[3]
	var err error
	switch m.Type {
	case "text":
		m.Data = []byte(data)
	case "data", "ucs-2":
		m.Data, err = unescape(data)
	case "udh":
		// "udh UDH TYPE DATA"
		g := strings.SplitN(data, " ", 3)
		if len(g) != 3 || (g[1] != "data" && g[1] != "text") {
			return m, fmt.Errorf("bad udh line %q", line)
		}
		if m.UDH, err = unescape(g[0]); err == nil {
			m.Type = "udh " + g[1]
			m.Data, err = unescape(g[2])
		}
	default:
		return m, fmt.Errorf("unknown SMSC line type in %q", line)
	}
	return m, err
}

func unescape(s string) ([]byte, error) {
	v, err := url.QueryUnescape(s)
	return []byte(v), err
}

// NextMT returns the next text Kannel sent to a phone.
func (k *Kannel) NextMT(ctx context.Context) (Message, error) {
	select {
	case m := <-k.mt:
		return m, nil
	case <-ctx.Done():
		return Message{}, fmt.Errorf("kanneltest: no MT message: %w", ctx.Err())
	}
}

// SendMO injects a text from phone from to number to, as a GSM text when
// it is printable ASCII and as UCS-2 otherwise.
func (k *Kannel) SendMO(from, to, text string) error {
	line := fmt.Sprintf("%s %s text %s\n", from, to, text)
	if !printableASCII(text) {
		line = fmt.Sprintf("%s %s ucs2 %s\n", from, to, escapeBytes(utf16BE(text)))
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.smsc == nil {
		return errors.New("kanneltest: SMSC not connected")
	}
	_, err := io.WriteString(k.smsc, line)
	return err
}

// SendMOParts injects a long text from phone from to number to as
// concatenated parts (8-bit data with a concatenation header, reference
// ref), which Kannel joins before calling the sms-service.
func (k *Kannel) SendMOParts(from, to string, ref byte, parts []string) error {
	var b strings.Builder
	for i, p := range parts {
		udh := []byte{5, 0, 3, ref, byte(len(parts)), byte(i + 1)}
		fmt.Fprintf(&b, "%s %s udh %s %s\n", from, to, escapeBytes(udh), escapeBytes([]byte(p)))
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.smsc == nil {
		return errors.New("kanneltest: SMSC not connected")
	}
	_, err := io.WriteString(k.smsc, b.String())
	return err
}

// Stop stops smsbox and bearerbox (SIGTERM, by PID) and disconnects the
// SMSC; Restart brings them back.
func (k *Kannel) Stop() { k.kill() }

// Restart stops bearerbox and smsbox if they run and starts them again
// with the same configuration and store, reconnecting the SMSC; it
// returns once Kannel is online.
func (k *Kannel) Restart(ctx context.Context) error {
	k.kill()
	return k.start(ctx)
}

func (k *Kannel) kill() {
	k.mu.Lock()
	defer k.mu.Unlock()
	// bearerbox first: stopping it hands what it holds for smsbox (DLRs,
	// MO) over while smsbox still listens, and smsbox then ends with it.
	// Stopped the other way round, bearerbox waits for an smsbox that
	// never returns. The SMSC stays connected until bearerbox is gone.
	for _, p := range []*proc{k.bb, k.sb} {
		if p == nil {
			continue
		}
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.exited:
		case <-time.After(10 * time.Second):
			k.t.Logf("kanneltest: %s ignored SIGTERM for 10 s; killing it", p.name)
			_ = p.cmd.Process.Kill()
			<-p.exited
		}
	}
	k.sb, k.bb = nil, nil
	if k.smsc != nil {
		k.smsc.Close()
		close(k.quit)
		k.smsc = nil
	}
	k.readers.Wait()
}

func (k *Kannel) stop() {
	k.kill()
	if k.t.Failed() {
		k.dumpLogs()
	}
}

func (k *Kannel) dumpLogs() {
	for _, name := range []string{"bearerbox.out", "smsbox.out", "bearerbox.log", "smsbox.log"} {
		b, err := os.ReadFile(filepath.Join(k.dir, name))
		if err != nil {
			continue
		}
		if len(b) > 200000 {
			b = b[len(b)-200000:]
		}
		k.t.Logf("kanneltest: tail of %s:\n%s", name, b)
	}
}

func get(ctx context.Context, u string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

func dialUntil(ctx context.Context, addr string) (net.Conn, error) {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		var d net.Dialer
		c, err := d.DialContext(ctx, "tcp", addr)
		if err == nil {
			return c, nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("%w (last: %v)", ctx.Err(), err)
		case <-tick.C:
		}
	}
}

// freePorts returns n distinct free loopback ports. The listeners are all
// held until every port is picked: closed one by one, the system could
// hand the same port out twice (bearerbox then failed to bind smsbox's
// port on the admin port's).
func freePorts(t testing.TB, n int) []int {
	ports := make([]int, 0, n)
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports
}

func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 32 || s[i] > 126 {
			return false
		}
	}
	return true
}

func utf16BE(s string) []byte {
	var b []byte
	for _, r := range s {
		if r >= 0x10000 {
			r -= 0x10000
			hi, lo := 0xD800+(r>>10), 0xDC00+(r&0x3FF)
			b = append(b, byte(hi>>8), byte(hi), byte(lo>>8), byte(lo))
			continue
		}
		b = append(b, byte(r>>8), byte(r))
	}
	return b
}

func escapeBytes(b []byte) string {
	var s strings.Builder
	for _, c := range b {
		fmt.Fprintf(&s, "%%%02X", c)
	}
	return s.String()
}

// SendRaw writes one raw line of the SMSC protocol (ending in "\n"), for
// tests of what SendMO does not produce (data, udh and route lines).
func (k *Kannel) SendRaw(line string) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	_, err := io.WriteString(k.smsc, line)
	return err
}
