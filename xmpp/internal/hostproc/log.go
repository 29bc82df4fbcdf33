package hostproc

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"
)

// reportLines is how many lines of each file a Report shows.
const reportLines = 40

// Size returns the size of the file at path, or 0 when it cannot be read
// (it does not exist yet). A server's log is read from there on to see
// only what a new run writes.
func Size(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Size()
}

// ReadFrom returns the file at path from byte offset from, or "" if it is
// unreadable.
func ReadFrom(path string, from int64) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	if _, err := f.Seek(from, io.SeekStart); err != nil {
		return ""
	}
	b, _ := io.ReadAll(f)
	return string(b)
}

// Tail returns the last n lines of text.
func Tail(text string, n int) string {
	lines := strings.Split(strings.TrimRight(text, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// Report describes a server's state for a failure message: the last 40
// lines of its log file, headed "<name> log <logPath>", and of its console
// output, headed "<name> <consoleLabel>", when that is not empty.
func Report(name, logPath, consoleLabel, consolePath string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s log %s (last %d lines):\n%s", name, logPath, reportLines, Tail(ReadFrom(logPath, 0), reportLines))
	if out, err := os.ReadFile(consolePath); err == nil && len(bytes.TrimSpace(out)) > 0 {
		fmt.Fprintf(&b, "\n%s %s:\n%s", name, consoleLabel, Tail(string(out), reportLines))
	}
	return b.String()
}
