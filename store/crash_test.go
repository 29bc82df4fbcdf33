package store

import (
	"bufio"
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
)

// helperEnv selects the role of a re-executed test binary.
const helperEnv = "XGATE_STORE_HELPER"

// TestHelperProcess is not a test: it is the child process of the tests that
// need a second process (lock held elsewhere, crash). It does nothing unless
// helperEnv is set.
func TestHelperProcess(t *testing.T) {
	mode := os.Getenv(helperEnv)
	if mode == "" {
		return
	}
	path := os.Getenv(helperEnv + "_PATH")
	opts := Options{Key: mustKey(t, testKeyHex), Timeout: 5 * time.Second}
	db, err := Open(path, opts)
	if err != nil {
		fmt.Fprintf(os.Stderr, "helper open: %v\n", err)
		os.Exit(2)
	}
	switch mode {
	case "hold":
		fmt.Println("ready")
		io.Copy(io.Discard, os.Stdin) // until the parent closes stdin or kills us
	case "crash":
		crashWriter(db)
	}
	db.Close()
	os.Exit(0)
}

// crashWriter writes from several goroutines until killed. After every
// Enqueue that returned it prints "enq QUEUE SEQ PAYLOAD".
func crashWriter(db *DB) {
	var mu sync.Mutex
	out := bufio.NewWriter(os.Stdout)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			q := fmt.Sprintf("q%d", g)
			for i := 0; ; i++ {
				payload := fmt.Sprintf("%d-%d-%d", os.Getpid(), g, i)
				seq, err := db.Enqueue(q, []byte(payload))
				if err != nil {
					fmt.Fprintf(os.Stderr, "enqueue: %v\n", err)
					os.Exit(3)
				}
				mu.Lock()
				fmt.Fprintf(out, "enq %s %d %s\n", q, seq, payload)
				out.Flush()
				mu.Unlock()
				id := strconv.Itoa(i)
				_ = db.PutMessageRefs(MessageRef{Scope: q, XMPPID: "x" + id, RemoteID: "r" + id})
				if i%3 == 0 && i > 0 { // acknowledge the previous item, our own
					_ = db.OutboxAck(q, seq-1)
					_ = db.PutContact("t"+q, "R"+payload, "l"+payload)
				}
			}
		})
	}
	wg.Wait()
}

// helperProc is a running child process.
type helperProc struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	lines chan string
	done  chan struct{}
}

// startHelper re-executes the test binary as a helper in mode on path.
func startHelper(t *testing.T, mode, path string) *helperProc {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), helperEnv+"="+mode, helperEnv+"_PATH="+path)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	h := &helperProc{cmd: cmd, stdin: stdin, lines: make(chan string, 1024), done: make(chan struct{})}
	go func() {
		defer close(h.done)
		defer close(h.lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			h.lines <- sc.Text()
		}
	}()
	t.Cleanup(func() { h.kill() })
	return h
}

// next returns the next complete line, or false when the child's output
// ended or the deadline passed.
func (h *helperProc) next(t *testing.T, deadline <-chan time.Time) (string, bool) {
	select {
	case l, ok := <-h.lines:
		return l, ok
	case <-deadline:
		t.Error("timed out waiting for the helper process")
		return "", false
	}
}

// waitLine waits for a line equal to want.
func (h *helperProc) waitLine(t *testing.T, want string) {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		l, ok := h.next(t, deadline)
		if !ok {
			t.Fatalf("helper ended before printing %q", want)
		}
		if l == want {
			return
		}
	}
}

// kill sends SIGKILL and reaps the child.
func (h *helperProc) kill() {
	if h.cmd.ProcessState != nil {
		return
	}
	_ = h.cmd.Process.Signal(syscall.SIGKILL)
	_ = h.cmd.Wait()
}

// stop closes the child's stdin (a "hold" child then exits) and waits.
func (h *helperProc) stop(t *testing.T) {
	t.Helper()
	h.stdin.Close()
	if err := h.cmd.Wait(); err != nil {
		t.Errorf("helper exit: %v", err)
	}
}

// TestCrashSafety kills a writing child process with SIGKILL several times;
// after each kill the file must verify and hold every enqueued item whose
// Enqueue had returned (and was not acknowledged by the child).
func TestCrashSafety(t *testing.T) {
	if testing.Short() {
		t.Skip("re-executes the test binary; skipped in -short mode")
	}
	path := filepath.Join(t.TempDir(), "xgate.db")
	type item struct {
		queue   string
		seq     uint64
		payload string
	}
	var confirmed, late []item // late: printed but read after the kill
	parse := func(l string) (item, bool) {
		f := strings.Fields(l)
		if len(f) != 4 || f[0] != "enq" {
			return item{}, false
		}
		seq, err := strconv.ParseUint(f[2], 10, 64)
		if err != nil {
			t.Fatalf("bad helper line %q", l)
		}
		return item{f[1], seq, f[3]}, true
	}
	for round := range 3 {
		h := startHelper(t, "crash", path)
		deadline := time.After(60 * time.Second)
		n := 0
		for n < 100 {
			l, ok := h.next(t, deadline)
			if !ok {
				t.Fatalf("round %d: helper output ended after %d items", round, n)
			}
			if it, ok := parse(l); ok {
				confirmed = append(confirmed, it)
				n++
			}
		}
		h.kill()
		// The child went on until the kill: an item it printed after the
		// 100th may have acknowledged its predecessor.
		for {
			l, ok := h.next(t, deadline)
			if !ok {
				break
			}
			if it, ok := parse(l); ok {
				late = append(late, it)
			}
		}

		db, err := Open(path, testOptions(t))
		if err != nil {
			t.Fatalf("round %d: reopen after kill: %v", round, err)
		}
		if err := db.Verify(); err != nil {
			t.Errorf("round %d: Verify after kill: %v", round, err)
		}
		checkCounts(t, db, fmt.Sprintf("round %d: after kill", round))
		present := map[string]string{}
		queues, err := db.OutboxQueues()
		if err != nil {
			t.Fatal(err)
		}
		for _, q := range queues {
			items, err := db.OutboxPeek(q, 0)
			if err != nil {
				t.Fatal(err)
			}
			for _, it := range items {
				present[fmt.Sprintf("%s/%d", it.Queue, it.Seq)] = string(it.Payload)
			}
		}
		// The child acknowledges its previous item after every third one, so
		// a confirmed item may be absent only if such an ack followed it.
		acked := map[string]bool{}
		for _, it := range append(confirmed[:len(confirmed):len(confirmed)], late...) {
			if i, _ := strconv.Atoi(it.payload[strings.LastIndexByte(it.payload, '-')+1:]); i%3 == 0 && i > 0 {
				acked[fmt.Sprintf("%s/%d", it.queue, it.seq-1)] = true
			}
		}
		missing := 0
		for _, it := range confirmed {
			key := fmt.Sprintf("%s/%d", it.queue, it.seq)
			got, ok := present[key]
			switch {
			case ok && got != it.payload:
				t.Errorf("round %d: item %s holds %q, want %q", round, key, got, it.payload)
			case !ok && !acked[key]:
				missing++
				if missing <= 5 {
					t.Errorf("round %d: confirmed item %s (%s) lost", round, key, it.payload)
				}
			}
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
	}
	verifyFile(t, path)
}
