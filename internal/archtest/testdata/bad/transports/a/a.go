package a

import (
	"example.com/m/bridge"
	"example.com/m/transports/b"
	"example.com/m/xmpp"
)

var _, _, _ = bridge.X, b.X, xmpp.X
