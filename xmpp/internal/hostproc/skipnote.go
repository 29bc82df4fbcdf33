package hostproc

import (
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strings"
	"sync"
)

// A skipped integration test must not pass unnoticed: "go test ./..."
// shows nothing of a passing package but its "ok" line, so t.Skip's
// reason is seen only with -v. The first skip for each reason in a test
// binary therefore prints one line where the person running the tests
// reads it: on the go command's own standard error when the go command
// runs the binary (it is the parent process, and on Linux its descriptor
// is reachable through /proc) and writes to a terminal or a pipe, else on
// the binary's standard error (which go test shows with -v or a failure).
//
// go test caches a passing result and replays no output, so a second
// identical run prints "(cached)" without the note; changing XGATE_REQUIRE_*
// or installing the server invalidates that cache entry (go test records the
// environment variables and files a test reads), and -count=1 re-runs.

var (
	// skipNote writes one announcement line; tests replace it.
	skipNote = writeSkipNote

	// noted holds the reasons announced by this process.
	noted sync.Map
)

// announceSkip prints, once per reason and process, the line that says
// this package's integration tests are being skipped and why.
func announceSkip(env, msg string) {
	if _, dup := noted.LoadOrStore(msg, true); dup {
		return
	}
	skipNote(fmt.Sprintf("%s: integration tests SKIPPED: %s (%s=1 fails them instead)\n", testedPackage(), msg, env))
}

// testedPackage returns the import path of the package under test, from
// the test binary's build info ("example.org/pkg.test").
func testedPackage() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Path != "" {
		return strings.TrimSuffix(bi.Path, ".test")
	}
	return os.Args[0]
}

// writeSkipNote writes line to the go command's standard error when the
// go command is the parent process, else to os.Stderr.
func writeSkipNote(line string) {
	if w := goCommandStderr(); w != nil {
		defer w.Close()
		if _, err := io.WriteString(w, line); err == nil {
			return
		}
	}
	_, _ = io.WriteString(os.Stderr, line)
}

// goCommandStderr opens the standard error of the parent process when it
// is the go command writing to a terminal or a pipe, or returns nil. A
// regular file is left alone: opened anew it would have its own offset,
// and the go command's next writes would overwrite the note.
func goCommandStderr() io.WriteCloser {
	ppid := os.Getppid()
	comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", ppid))
	if err != nil || strings.TrimSpace(string(comm)) != "go" {
		return nil
	}
	path := fmt.Sprintf("/proc/%d/fd/2", ppid)
	if fi, err := os.Stat(path); err != nil || fi.Mode().IsRegular() {
		return nil
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return nil
	}
	return f
}
