package xmpp

import (
	"fmt"

	"example.com/m/bridge"
	"example.com/m/xmpp/jid"
)

var _, _, _ = fmt.Sprint, bridge.X, jid.X
