package bridge

import (
	"example.com/m/kit/pure"
	"example.com/m/kit/viakit"
	"example.com/m/store"
	"example.com/m/transports/b"
	"example.com/m/xmpp"
)

var _, _, _, _, _ = pure.X, viakit.X, store.X, b.X, xmpp.X
