package hostproc_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/xgate-im/xgate/xmpp/internal/hostproc"
)

// childEnv makes TestSkipNoteChild run: it is the package test that
// TestSkipNoteVisible runs through the go command.
const childEnv = "XGATE_HOSTPROC_SKIPNOTE_CHILD"

// Without -v, "go test" shows nothing of a passing package but its "ok"
// line; a package whose integration tests skipped must show one line
// saying so and why (issue 12, bug 8), however many tests skipped.
func TestSkipNoteVisible(t *testing.T) {
	if os.Getenv(childEnv) != "" {
		t.Skip("inside the child run")
	}
	gobin := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(gobin); err != nil {
		t.Skipf("no go command to run the child test: %v", err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, gobin, "test", "-count=1", "-run", "^TestSkipNoteChild$", ".")
	cmd.Env = append(os.Environ(), childEnv+"=1", "XGATE_HOSTPROC_TEST_REQUIRE=")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go test: %v\n%s", err, out)
	}
	const want = "github.com/xgate-im/xgate/xmpp/internal/hostproc: integration tests SKIPPED: server missing: apt-get install server (XGATE_HOSTPROC_TEST_REQUIRE=1 fails them instead)"
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if n := strings.Count(string(out), "SKIPPED"); n != 1 || !strings.Contains(string(out), want+"\n") {
		t.Errorf("go test printed %d skip notes, want exactly this one:\n%s\ngot:\n%s", n, want, out)
	}
	if last := lines[len(lines)-1]; !strings.HasPrefix(last, "ok  \tgithub.com/xgate-im/xgate/xmpp/internal/hostproc") {
		t.Errorf("last line %q, want the package's ok line", last)
	}
}

// TestSkipNoteChild skips two "integration tests" for the same reason.
func TestSkipNoteChild(t *testing.T) {
	if os.Getenv(childEnv) == "" {
		t.Skip("run by TestSkipNoteVisible")
	}
	for _, name := range []string{"first", "second"} {
		t.Run(name, func(t *testing.T) {
			hostproc.SkipOrFail(t, "XGATE_HOSTPROC_TEST_REQUIRE", "server missing: apt-get install server")
			t.Fatal("not skipped")
		})
	}
}
