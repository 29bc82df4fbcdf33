package hostproc

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
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
func FreePorts(n int) ([]int, error) {
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
