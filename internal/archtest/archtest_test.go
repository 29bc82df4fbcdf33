package archtest

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestModuleImports checks the rules over this module.
func TestModuleImports(t *testing.T) {
	root, module := moduleRoot(t)
	got, err := Check(root, module)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range got {
		t.Errorf("forbidden import (rules: internal/archtest/doc.go, from STYLE.md \"The house\"): %s", v)
	}
}

// TestCheckFindsViolations runs Check on synthetic modules under testdata
// and requires exactly the violations planted there.
func TestCheckFindsViolations(t *testing.T) {
	const (
		cycle     = "bridge imports only kit packages that do not import bridge (a cycle)"
		noCmd     = "nothing imports cmd/..."
		kitRule   = "kit packages import nothing of ours but kit and bridge"
		transport = "a transport never imports another transport"
		xmppStore = "a transport never imports xmpp or store (only its end-to-end tests may)"
	)
	for _, tc := range []struct {
		tree string
		want []string
	}{
		{"good", nil},
		{"bad", []string{
			"bridge/b.go imports example.com/m/kit/viakit: " + cycle,
			"bridge/b.go imports example.com/m/transports/b: bridge never imports a transport",
			"kit/leaky/leaky.go imports example.com/m/store: " + kitRule,
			"store/s.go imports example.com/m/xmpp: store imports nothing of ours outside store/",
			"tools/t.go imports example.com/m/cmd/m: " + noCmd,
			"transports/a/a.go imports example.com/m/transports/b: " + transport,
			"transports/a/a.go imports example.com/m/xmpp: " + xmppStore,
			"transports/a/a_test.go imports example.com/m/transports/b/bfake: " + transport,
			"xmpp/x.go imports example.com/m/bridge: xmpp imports nothing of ours outside xmpp/",
		}},
	} {
		t.Run(tc.tree, func(t *testing.T) {
			vs, err := Check(filepath.Join("testdata", tc.tree), "example.com/m")
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, v := range vs {
				got = append(got, v.String())
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("violations:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}

func TestForbidden(t *testing.T) {
	never := func(string) bool { return false }
	for _, tc := range []struct {
		from, imp string
		test      bool
		want      bool
	}{
		{"xmpp", "xmpp/jid", false, false},
		{"xmpp/prosodytest", "xmpp/internal/hostproc", false, false},
		{"xmpp", "store", false, true},
		{"store", "bridge", true, true},
		{"bridge", "xmpp/disco", false, false},
		{"bridge", "kit/split", false, false},
		{"bridge", "cmd/xgate", false, true},
		{"transports/slack", "bridge", false, false},
		{"transports/slack", "kit/styling", false, false},
		{"transports/slack", "transports/slack/slackfake", false, false},
		{"transports/slack", "store", false, true},
		{"transports/slack", "xmpp/prosodytest", true, false},
		{"transports/slack/slackfake", "transports/discord/discordfake", true, true},
		{"kit/split", "kit/styling", false, false},
		{"kit/ratelimit", "bridge", false, false},
		{"kit/attach", "xmpp", false, true},
		{"kit/attach", "bridge/bridgetest", true, true},
		{"cmd/xgate", "transports/slack", false, false},
		{"internal/archtest", "bridge", false, true},
	} {
		if got := forbidden(tc.from, tc.imp, tc.test, never) != ""; got != tc.want {
			t.Errorf("forbidden(%s → %s, test %v) = %v, want %v", tc.from, tc.imp, tc.test, got, tc.want)
		}
	}
}

// moduleRoot finds the go.mod above the working directory and reads the
// module path from it.
func moduleRoot(t *testing.T) (root, module string) {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		f, err := os.Open(filepath.Join(dir, "go.mod"))
		if err == nil {
			defer f.Close()
			sc := bufio.NewScanner(f)
			for sc.Scan() {
				if m, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "module "); ok {
					return dir, strings.Trim(strings.TrimSpace(m), `"`)
				}
			}
			t.Fatalf("%s/go.mod has no module line", dir)
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the working directory")
		}
		dir = parent
	}
}

// TestBinariesDoNotLinkTesting checks that no command links the testing
// package (through a test server helper, for instance): it registers
// runtime hooks and has no place in a daemon. It asks the go command for
// the dependencies, build tags and all, as the build sees them.
func TestBinariesDoNotLinkTesting(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list over the module")
	}
	root, _ := moduleRoot(t)
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command on PATH")
	}
	for _, cmd := range []string{"./cmd/xgate", "./cmd/xgate-bench"} {
		c := exec.CommandContext(t.Context(), goBin, "list", "-deps", cmd)
		c.Dir = root
		out, err := c.Output()
		if err != nil {
			t.Fatalf("go list -deps %s: %v", cmd, err)
		}
		if slices.Contains(strings.Fields(string(out)), "testing") {
			t.Errorf("%s links the testing package; find the path with: go list -deps -f '{{.ImportPath}}: {{.Imports}}' %s | grep '\"testing\\|testing '", cmd, cmd)
		}
	}
}
