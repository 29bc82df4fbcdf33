//go:build !linux

package xmpp

import (
	"io"
	"net"
)

// quickAckReader returns conn: TCP_QUICKACK exists on Linux only.
func quickAckReader(conn net.Conn) io.Reader { return conn }
