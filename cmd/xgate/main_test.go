package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/xgate-im/xgate/bridge"
	"github.com/xgate-im/xgate/store"
)

// binDir holds the binary built for the tests that run it.
var binDir string

var (
	buildOnce sync.Once
	buildErr  error
)

// xgateBin builds the binary once per test process (not in fuzz workers or
// runs that do not need it) and returns its path.
func xgateBin(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(binDir, "xgate")
	buildOnce.Do(func() {
		out, err := exec.Command("go", "build", "-ldflags", "-X main.version="+testVersion, "-o", bin, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("building xgate: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return bin
}

// testVersion is injected with -ldflags into the test binary.
const testVersion = "v0.0.0-test"

// helperEnv, when set in a re-executed test binary, makes it hold the store
// at that path open until its stdin closes (see holdStore).
const helperEnv = "XGATE_TEST_HOLD_STORE"

func TestMain(m *testing.M) {
	if path := os.Getenv(helperEnv); path != "" {
		os.Exit(holdStore(path))
	}
	dir, err := os.MkdirTemp("", "xgate-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// holdStore opens the store like a running xgate would, says "ready" and
// keeps it open until stdin is closed.
func holdStore(path string) int {
	key, err := store.ParseKey([]byte(os.Getenv("XGATE_STORE_KEY")))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	db, err := store.Open(path, store.Options{Key: key, NoSync: true})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println("ready")
	_, _ = bufio.NewReader(os.Stdin).ReadString('\n')
	db.Close()
	return 0
}

// testOptions stands for a transport's own configuration in the tests of
// the configuration machinery: a nested table, an embedded struct, an
// untagged field and a TextUnmarshaler.
type testOptions struct {
	Token string `toml:"token"`
	Rate  struct {
		PerSecond int `toml:"per_second"`
	} `toml:"rate"`
	Timeout textDuration `toml:"timeout"`
	Region  string
	testEmbedded
}

type testEmbedded struct {
	Endpoint string `toml:"endpoint"`
}

func (o *testOptions) Validate() error {
	if o.Token == "bad" {
		return errors.Join(errors.New("token: must not be \"bad\""), errors.New("token: really"))
	}
	return nil
}

// textDuration is a duration decoded from a string by go-toml.
type textDuration struct{ d time.Duration }

func (d *textDuration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("timeout: %q is not a duration", b)
	}
	d.d = v
	return nil
}

// stubTransport is the least a bridge.Transport can be: it lets the tests
// of the wiring build and run real gateways. It is not a network.
type stubTransport struct{ network string }

func (s *stubTransport) Info() bridge.Info {
	return bridge.Info{Network: s.network, Name: "Stub", Description: "test stand-in"}
}

func (s *stubTransport) Register(context.Context, map[string]string) (bridge.AccountData, error) {
	return bridge.AccountData{}, bridge.ErrUnsupported
}

func (s *stubTransport) Login(context.Context, bridge.AccountData, bridge.Sink) (bridge.Session, error) {
	return nil, bridge.ErrUnsupported
}

func (s *stubTransport) ContactLocalpart(id bridge.UserID) string { return string(id) }

// testKinds is a transport table for tests: "slack" with testOptions and a
// stub transport. The real table has no rows yet.
func testKinds() []transportKind {
	return []transportKind{
		transportRow("slack", func(inst *instance, opts *testOptions, log *slog.Logger) (bridge.Transport, error) {
			return &stubTransport{network: inst.network}, nil
		}),
	}
}

// testKey returns a fresh store key in text form.
func testKey(t *testing.T) string {
	t.Helper()
	k, err := store.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// writeFile writes a file in dir with mode 0600 and returns its path.
func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// mustContain fails unless s contains every want.
func mustContain(t *testing.T, s string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(s, w) {
			t.Errorf("output lacks %q:\n%s", w, s)
		}
	}
}
