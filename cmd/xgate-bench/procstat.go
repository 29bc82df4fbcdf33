package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// clockTick is the unit of utime and stime in /proc/PID/stat (USER_HZ,
// 100 on every Linux this runs on).
const clockTick = 10 * time.Millisecond

// cpuTime returns the CPU time (user and system) a process has used so
// far: the sum of /proc/PID/task/*/schedstat (nanoseconds), checked against
// utime+stime of /proc/PID/stat (clock ticks, which also count threads
// that exited). The precise sum is used unless it disagrees with the tick
// count by more than the ticks' resolution, which happens only when
// threads exited.
func cpuTime(pid int) (time.Duration, error) {
	ticks, err := statCPU(pid)
	if err != nil {
		return 0, err
	}
	precise, err := schedstatCPU(pid)
	if err != nil {
		return ticks, nil
	}
	if d := ticks - precise; d > 2*clockTick+ticks/20 || -d > 2*clockTick+ticks/20 {
		return ticks, nil
	}
	return precise, nil
}

// statCPU reads utime+stime from /proc/PID/stat.
func statCPU(pid int) (time.Duration, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("cpu of %d: %w", pid, err)
	}
	// The command name, in parentheses, may contain spaces.
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return 0, fmt.Errorf("cpu of %d: malformed stat", pid)
	}
	f := strings.Fields(string(data[i+1:]))
	// Fields after the name start at field 3 (state); utime is 14, stime 15.
	if len(f) < 13 {
		return 0, fmt.Errorf("cpu of %d: short stat", pid)
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("cpu of %d: malformed utime/stime", pid)
	}
	return time.Duration(ut+st) * clockTick, nil
}

// schedstatCPU sums the on-CPU nanoseconds of every live thread.
func schedstatCPU(pid int) (time.Duration, error) {
	files, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/schedstat", pid))
	if err != nil || len(files) == 0 {
		return 0, fmt.Errorf("schedstat of %d: none", pid)
	}
	var sum int64
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			continue // the thread exited
		}
		first, _, _ := strings.Cut(string(data), " ")
		ns, err := strconv.ParseInt(first, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("schedstat of %d: %w", pid, err)
		}
		sum += ns
	}
	return time.Duration(sum), nil
}

// memory is a process's resident set: now and the high-water mark.
type memory struct {
	RSS, HWM int64 // bytes
	// Anon and File split RSS: the process's own memory (Go heap and
	// stacks) and pages of mapped files (the store's bbolt mmap).
	Anon, File int64
}

// readMemory reads VmRSS, VmHWM, RssAnon and RssFile from /proc/PID/status.
func readMemory(pid int) (memory, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return memory{}, fmt.Errorf("memory of %d: %w", pid, err)
	}
	var m memory
	for line := range strings.SplitSeq(string(data), "\n") {
		name, rest, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		var dst *int64
		switch name {
		case "VmRSS":
			dst = &m.RSS
		case "VmHWM":
			dst = &m.HWM
		case "RssAnon":
			dst = &m.Anon
		case "RssFile":
			dst = &m.File
		default:
			continue
		}
		f := strings.Fields(rest)
		if len(f) >= 1 {
			kb, _ := strconv.ParseInt(f[0], 10, 64)
			*dst = kb << 10
		}
	}
	return m, nil
}

// machine describes where the figures come from.
type machine struct {
	CPUs      int     `json:"cpus"`
	Model     string  `json:"model"`
	Kernel    string  `json:"kernel"`
	GoVersion string  `json:"go"`
	Prosody   string  `json:"prosody"`
	Load1     float64 `json:"load1_at_start"`
	Load1End  float64 `json:"load1_at_end"`
}

// cpuModel returns the first "model name" of /proc/cpuinfo.
func cpuModel() string {
	data, _ := os.ReadFile("/proc/cpuinfo")
	for line := range strings.SplitSeq(string(data), "\n") {
		if name, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(name) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}

// kernel returns the kernel release.
func kernel() string {
	data, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	return strings.TrimSpace(string(data))
}

// load1 returns the one-minute load average.
func load1() float64 {
	data, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(data))
	if len(f) == 0 {
		return 0
	}
	v, _ := strconv.ParseFloat(f[0], 64)
	return v
}
