package store

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// openBenchEnv names the store a re-executed benchmark child opens once.
const openBenchEnv = "XGATE_STORE_OPEN_ONCE"

// buildBigStore writes a store with 10,000 accounts and 200,000
// message-ID mappings.
func buildBigStore(path string, key *Key) error {
	db, err := Open(path, Options{Key: key, NoSync: true, BatchDelay: time.Millisecond})
	if err != nil {
		return err
	}
	defer db.Close()
	for i := range 10_000 {
		a := Account{
			AccountKey: AccountKey{User: fmt.Sprintf("user%d@example.org", i), Transport: "slack", Remote: "T1.U1"},
			Settings:   map[string]string{"team": "T1", "name": "Acme"},
			Secrets:    map[string]string{"token": "xoxp-0123456789abcdef"},
		}
		if err := db.PutAccount(a); err != nil {
			return err
		}
	}
	refs := make([]MessageRef, 0, 1000)
	for i := range 200_000 {
		refs = append(refs, MessageRef{Scope: fmt.Sprintf("slack|user%d@example.org|T1.U1|D%d", i%500, i%37), XMPPID: fmt.Sprint("xmpp-", i), RemoteID: fmt.Sprint("1700000000.", i)})
		if len(refs) == cap(refs) {
			if err := db.PutMessageRefs(refs...); err != nil {
				return err
			}
			refs = refs[:0]
		}
	}
	return nil
}

// TestOpenOnceHelper is not a test: in a child started by BenchmarkOpen it
// opens and closes the store named by openBenchEnv once, so the parent can
// read the child's peak RSS.
func TestOpenOnceHelper(t *testing.T) {
	path := os.Getenv(openBenchEnv)
	if path == "" {
		return
	}
	db, err := Open(path, Options{Key: mustKey(t, testKeyHex)})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	if err := db.Close(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	// VmHWM, not the rusage of the parent's wait: Linux records the
	// parent's peak in the child's rusage when a vfork child execs.
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	for line := range strings.Lines(string(status)) {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			fmt.Print(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")))
		}
	}
	os.Exit(0)
}

// BenchmarkOpen measures a read-write Open (as `xgate run` does) and Close
// of a store with 10k accounts and 200k message-ID mappings. It also
// reports the peak RSS of a child process that does one such Open and
// nothing else.
func BenchmarkOpen(b *testing.B) {
	path := filepath.Join(b.TempDir(), "xgate.db")
	if err := buildBigStore(path, mustKey(b, testKeyHex)); err != nil {
		b.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	opts := Options{Key: mustKey(b, testKeyHex)}
	b.ResetTimer()
	start := time.Now()
	for b.Loop() {
		db, err := Open(path, opts)
		if err != nil {
			b.Fatal(err)
		}
		if err := db.Close(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(time.Since(start).Microseconds())/1000/float64(b.N), "ms/open")
	b.StopTimer()

	// The first Stats after Open reads the counts (later calls do not).
	db, err := Open(path, opts)
	if err != nil {
		b.Fatal(err)
	}
	first := time.Now()
	if _, err := db.Stats(); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(time.Since(first).Microseconds())/1000, "ms-first-Stats")
	if err := db.Close(); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(fi.Size())/(1<<20), "MB-file")

	cmd := exec.Command(os.Args[0], "-test.run=^TestOpenOnceHelper$", "-test.count=1", "-test.bench=^$")
	cmd.Env = append(os.Environ(), openBenchEnv+"="+path)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		b.Fatalf("open in a child: %v", err)
	}
	if kb, err := strconv.Atoi(strings.TrimSpace(string(out))); err == nil {
		b.ReportMetric(float64(kb)/1024, "MB-peak-RSS")
	}
}
