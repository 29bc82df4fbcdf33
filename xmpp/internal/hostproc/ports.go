package hostproc

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"time"
)

const (
	// dialTimeout bounds one readiness dial.
	dialTimeout = 250 * time.Millisecond
	// startAttempts is how many times OnFreePorts picks fresh ports when
	// another process took one of them first.
	startAttempts = 3
)

// FreePorts returns n distinct TCP ports that were free on 127.0.0.1 a
// moment ago. All n listeners are held open together so the ports differ,
// then closed so the server can bind them. Another process may take a port
// in between: the caller must notice the server's bind failure and retry
// with new ports.
//
// The ports are picked below the kernel's ephemeral range when it leaves
// room (Linux: /proc/sys/net/ipv4/ip_local_port_range), so that no
// outgoing connection of another process can take one while a test has
// the server down for a restart on the same ports (a kill-and-restart test
// failed in CI with "port in use" that way). Elsewhere they come from the
// kernel (port 0).
func FreePorts(n int) ([]int, error) {
	if low, ok := ephemeralLow(); ok && low-lowestPort >= 1024 {
		if p, err := freePortsBelow(n, low); err == nil {
			return p, nil
		}
	}
	return kernelPorts(n)
}

// lowestPort is the lowest port FreePorts picks below the ephemeral range.
const lowestPort = 10000

// ephemeralLow returns the first port of the kernel's ephemeral range.
func ephemeralLow() (int, bool) {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return 0, false
	}
	f := strings.Fields(string(b))
	if len(f) != 2 {
		return 0, false
	}
	low, err := strconv.Atoi(f[0])
	return low, err == nil
}

// freePortsBelow picks n free ports at random in [lowestPort, limit).
func freePortsBelow(n, limit int) ([]int, error) {
	out := make([]int, 0, n)
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	for tries := 0; len(out) < n; tries++ {
		if tries == 50*n {
			return nil, fmt.Errorf("hostproc: no free port below %d", limit)
		}
		port := lowestPort + rand.IntN(limit-lowestPort)
		l, err := net.Listen("tcp", Loopback(port))
		if err != nil {
			continue
		}
		ls = append(ls, l)
		out = append(out, port)
	}
	return out, nil
}

// kernelPorts has the kernel pick n ports.
func kernelPorts(n int) ([]int, error) {
	out := make([]int, 0, n)
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("hostproc: pick a free port: %w", err)
		}
		ls = append(ls, l)
		out = append(out, l.Addr().(*net.TCPAddr).Port)
	}
	return out, nil
}

// OnFreePorts picks n ports with pick (FreePorts, or a test's stand-in)
// and calls launch with them and the attempt's number, from 1. When
// launch fails with an error wrapping portInUse, another process having
// taken a port between picking and binding, it tries again with fresh
// ports, three attempts in all. It returns the error of the last launch,
// or pick's.
func OnFreePorts(pick func(n int) ([]int, error), n int, portInUse error, launch func(attempt int, ports []int) error) error {
	for attempt := 1; ; attempt++ {
		p, err := pick(n)
		if err != nil {
			return err
		}
		err = launch(attempt, p)
		if errors.Is(err, portInUse) && attempt < startAttempts {
			continue
		}
		return err
	}
}

// Loopback returns the address "127.0.0.1:port".
func Loopback(port int) string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)) }

// CanDial reports whether addr accepts a TCP connection within a quarter
// of a second (or before ctx ends). The connection is closed at once.
func CanDial(ctx context.Context, addr string) bool {
	ctx, cancel := context.WithTimeout(ctx, dialTimeout)
	defer cancel()
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return false
	}
	c.Close()
	return true
}
