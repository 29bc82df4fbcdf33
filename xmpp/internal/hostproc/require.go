package hostproc

import (
	"context"
	"os"
	"os/exec"
)

// TB is the part of testing.TB that the test servers use; testing.TB
// satisfies it. It is declared here so that a program starting a server
// outside a test (xgate demo runs Prosody) does not link the testing
// package, whose flags and runtime hooks have no place in a daemon.
type TB interface {
	Helper()
	Failed() bool
	Fatal(args ...any)
	Fatalf(format string, args ...any)
	Skip(args ...any)
	Logf(format string, args ...any)
	Cleanup(func())
	TempDir() string
	Context() context.Context
}

// Find returns the path of the executable name from PATH, else fallback
// when that is a regular file, else "" (not installed).
func Find(name, fallback string) string {
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	if fi, err := os.Stat(fallback); err == nil && !fi.IsDir() {
		return fallback
	}
	return ""
}

// SkipOrFail skips t with msg, the reason the server cannot run, or fails
// it when the environment variable env is "1" (as in CI, which must not
// pass by skipping). The first skip for each msg in a test binary is also
// announced in one line visible without -v (see skipnote.go), unless t is
// a stand-in (a test of the skipping itself).
func SkipOrFail(t TB, env, msg string) {
	t.Helper()
	if os.Getenv(env) == "1" {
		t.Fatalf("%s (%s=1 requires it)", msg, env)
	} else {
		if isRealTest(t) {
			announceSkip(env, msg)
		}
		t.Skip(msg)
	}
}

// isRealTest reports whether t is a test or benchmark run by the testing
// package rather than a stand-in, which says so with a StandIn method
// (hostproctest.FakeTB).
func isRealTest(t TB) bool {
	_, standIn := t.(interface{ StandIn() })
	return !standIn
}
