package xmpp

import (
	"io"
	"net"
	"syscall"
)

// quickAckReader returns a reader of conn that re-arms TCP_QUICKACK after
// every read, so the kernel acknowledges the server's segments at once
// instead of delaying the ACK by up to 40 ms. A host server that writes
// with Nagle's algorithm on (Prosody's default) holds its next small
// segment until the previous one is acknowledged; when this side has
// nothing to send back (a barrier routed home), the delayed ACK would be
// the only thing releasing it. Linux clears the flag by itself, hence the
// re-arming.
func quickAckReader(conn net.Conn) io.Reader {
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return conn
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return conn
	}
	return &quickAck{r: conn, raw: raw}
}

type quickAck struct {
	r   io.Reader
	raw syscall.RawConn
}

func (q *quickAck) Read(p []byte) (int, error) {
	n, err := q.r.Read(p)
	if n > 0 {
		_ = q.raw.Control(func(fd uintptr) {
			_ = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_QUICKACK, 1)
		})
	}
	return n, err
}
