package bridge_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/xgate-im/xgate/bridge"
	"github.com/xgate-im/xgate/bridge/bridgetest"
	"github.com/xgate-im/xgate/store"
	"github.com/xgate-im/xgate/xmpp"
	"github.com/xgate-im/xgate/xmpp/jid"
	"github.com/xgate-im/xgate/xmpp/prosodytest"
)

// TestHelperGatewayProcess is not a test: it is the gateway process that
// TestProsodyGatewaySIGKILL starts and kills.
func TestHelperGatewayProcess(t *testing.T) {
	if os.Getenv("XGATE_HELPER_GATEWAY") != "1" {
		t.Skip("helper process")
	}
	db, err := store.Open(os.Getenv("XGATE_HELPER_DB"), store.Options{Key: testKey(t)})
	if err != nil {
		fmt.Println("OPEN FAILED", err)
		os.Exit(3)
	}
	tr := bridgetest.New()
	connected := make(chan struct{})
	var once sync.Once
	gw, err := bridge.New(bridge.Config{
		Name: "fake",
		Component: xmpp.ComponentConfig{Addr: os.Getenv("XGATE_HELPER_COMPONENT"), Domain: gwDomain, Secret: "s3cret",
			OnState: func(s xmpp.State, _ error) {
				if s == xmpp.StateConnected {
					once.Do(func() { close(connected) })
				}
			}},
		Access: bridge.Access{Allow: []string{"localhost"}},
	}, tr, db, logger(t))
	if err != nil {
		t.Fatal(err)
	}
	go gw.Run(context.Background())
	// Register only once the component is there, or Prosody answers
	// "Component unavailable".
	select {
	case <-connected:
	case <-time.After(30 * time.Second):
		t.Fatal("the component never connected")
	}
	ctx := context.Background()
	c := prosodytest.Dial(ctx, t, os.Getenv("XGATE_HELPER_C2S"), "alice", "localhost", "pw")
	res, err := c.Request(ctx, &xmpp.IQ{Header: xmpp.Header{To: jid.MustParse(gwDomain), Type: xmpp.IQSet}, Payload: xmpp.NewElement(bridge.NSRegister, "query").Append(registerForm("good-alice"))})
	if err != nil || res.Type != xmpp.IQResult {
		t.Fatalf("register %v %v", res, err)
	}
	tr.WaitLogin(ctx, "acct-alice")
	carol := jid.MustParse("carol@" + gwDomain)
	tr.Emit(ctx, "acct-alice", bridge.ContactEvent{Contact: bridge.Contact{ID: "carol", Name: "Carol"}})
	for i := 0; ; i++ {
		c.Send(&xmpp.Message{Header: xmpp.Header{To: carol, Type: xmpp.MessageChat, ID: fmt.Sprint("x", i)}, Body: fmt.Sprint("out ", i)})
		tr.Emit(ctx, "acct-alice", bridge.MessageEvent{Chat: bridge.ChatRef{Peer: "carol"}, Sender: "carol", ID: bridge.MessageID(fmt.Sprint("in", i)), Text: "in"})
		if i == 200 {
			fmt.Println("TRAFFIC")
		}
	}
}

// The gateway process is killed with SIGKILL in the middle of traffic; the
// store opens intact, passes its invariant check, and a new gateway logs
// the account in again.
func TestProsodyGatewaySIGKILL(t *testing.T) {
	p := prosodytest.Start(t, prosodytest.Options{
		Components: []prosodytest.Component{{Domain: gwDomain, Secret: "s3cret"}},
		Users:      map[string]string{"alice": "pw"},
	})
	dbPath := filepath.Join(t.TempDir(), "xgate.db")
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestHelperGatewayProcess$", "-test.v")
	cmd.Env = append(os.Environ(), "XGATE_HELPER_GATEWAY=1", "XGATE_HELPER_DB="+dbPath,
		"XGATE_HELPER_COMPONENT="+p.ComponentAddr(), "XGATE_HELPER_C2S="+p.C2SAddr())
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(out)
	var seen []string
	for sc.Scan() {
		seen = append(seen, sc.Text())
		if sc.Text() == "TRAFFIC" {
			break
		}
	}
	if len(seen) == 0 || seen[len(seen)-1] != "TRAFFIC" {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("helper never reached traffic:\n%s", strings.Join(seen, "\n"))
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()

	db, err := store.Open(dbPath, store.Options{Key: testKey(t), Timeout: time.Second})
	if err != nil {
		t.Fatalf("store does not open after SIGKILL: %v", err)
	}
	if err := db.Verify(); err != nil {
		t.Fatalf("store damaged after SIGKILL: %v", err)
	}
	accts, err := db.Accounts("fake")
	if err != nil || len(accts) != 1 || accts[0].Secrets["token"] != "good-alice" {
		t.Fatalf("accounts after SIGKILL: %+v %v", accts, err)
	}
	// A new gateway on the same store serves the account again.
	tr := bridgetest.New()
	gw, err := bridge.New(bridge.Config{
		Name:      "fake",
		Component: xmpp.ComponentConfig{Addr: p.ComponentAddr(), Domain: gwDomain, Secret: "s3cret"},
		Access:    bridge.Access{Allow: []string{"localhost"}},
	}, tr, db, logger(t))
	if err != nil {
		t.Fatal(err)
	}
	gctx, gcancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- gw.Run(gctx) }()
	if err := tr.WaitLogin(ctx, "acct-alice"); err != nil {
		t.Fatal(err)
	}
	gcancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := db.Verify(); err != nil {
		t.Fatal(err)
	}
	db.Close()
}
