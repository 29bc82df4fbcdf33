package ejabberdtest

import (
	"fmt"
	"net"
)

// pickPorts is freePorts; tests replace it to simulate a lost race.
var pickPorts = freePorts

// freePorts returns n distinct TCP ports that were free on 127.0.0.1 a moment
// ago. All n listeners are held open together so the ports differ, then
// closed so ejabberd can bind them. Another process may take a port in
// between; ejabberd then exits and Start retries with new ports.
func freePorts(n int) ([]int, error) {
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
			return nil, fmt.Errorf("ejabberdtest: pick a free port: %w", err)
		}
		ls = append(ls, l)
		out = append(out, l.Addr().(*net.TCPAddr).Port)
	}
	return out, nil
}
